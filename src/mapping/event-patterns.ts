import { METER_EVENT_TYPES } from '../domain/events';

/**
 * Subscriptions name event types exactly or with `*`, which stands for any text, dots included:
 * `meter.enrollment.*` is every enrollment event, `*.updated` every update, `*` everything.
 */
export function patternRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

export function compileEventPatterns(patterns: readonly string[]): (type: string) => boolean {
  const res = patterns.map(patternRegExp);
  return (type) => res.some((re) => re.test(type));
}

/** The known event types a pattern selects; none means a typo worth reporting. */
export function typesMatching(pattern: string): string[] {
  const re = patternRegExp(pattern);
  return METER_EVENT_TYPES.filter((t) => re.test(t));
}
