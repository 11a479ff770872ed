import type { TransformName } from './destination-schema';
import { toBoolean } from './expressions';

/**
 * `map` and `transform`, the DSL stages that are plain functions. They run inside each field's
 * JSONata expression as one registered helper: written as JSONata stages (`$map`, lambdas,
 * `$type` checks) they cost eight times more per field, for the same result.
 */

export class TransformError extends Error {
  readonly code = 'LC110';
}

/** What JSONata's `$string` gives: text as is, JSON for everything else. */
export function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TransformError(`cannot turn ${value} into text`);
  return JSON.stringify(value) ?? '';
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

export function asNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && NUMBER.test(value.trim())) return Number(value.trim());
  throw new TransformError(`cannot read ${JSON.stringify(value)} as a number`);
}

/** Round half to even, as JSONata's `$round` does (2.5 → 2, 3.5 → 4). */
export function roundHalfEven(value: number, digits: number): number {
  const shifted = Number(`${value}e${digits}`);
  const floor = Math.floor(shifted);
  const diff = shifted - floor;
  const rounded = diff > 0.5 || (diff === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
  return Number(`${rounded}e${-digits}`);
}

/** Apply to a value, or to each item of a list. */
function each(value: unknown, f: (v: unknown) => unknown): unknown {
  return Array.isArray(value) ? value.map(f) : f(value);
}

const PER_VALUE: Record<Exclude<TransformName, 'join' | 'first' | 'last'>, (v: unknown) => unknown> = {
  lowercase: (v) => asText(v).toLowerCase(),
  uppercase: (v) => asText(v).toUpperCase(),
  trim: (v) => asText(v).trim(),
  string: asText,
  number: asNumber,
  boolean: toBoolean,
};

/** One `transform` step: a name, `{join: sep}` or `{round: digits}` (validated by the schema). */
export function transformStep(step: unknown): (value: unknown) => unknown {
  const join = (sep: string) => (value: unknown) => {
    const items = (Array.isArray(value) ? value : [value]).map(asText);
    return items.length ? items.join(sep) : undefined;
  };
  if (step === 'join') return join(', ');
  if (step === 'first') return (v) => (Array.isArray(v) ? v[0] : v);
  if (step === 'last') return (v) => (Array.isArray(v) ? v[v.length - 1] : v);
  if (step === 'round') return (v) => each(v, (x) => roundHalfEven(asNumber(x), 0));
  if (typeof step === 'string') {
    const f = PER_VALUE[step as keyof typeof PER_VALUE];
    return (v) => each(v, f);
  }
  const s = step as { join?: string; round?: number };
  if (s.join !== undefined) return join(s.join);
  const digits = Number(s.round ?? 0);
  return (v) => each(v, (x) => roundHalfEven(asNumber(x), digits));
}

/** `map`: a value (or each item) looked up by its text; a value the map does not list is missing. */
export function mapStep(map: Record<string, unknown>): (value: unknown) => unknown {
  const lookup = (v: unknown) => (Object.prototype.hasOwnProperty.call(map, asText(v)) ? map[asText(v)] : undefined);
  return (value) => (Array.isArray(value) ? value.map(lookup).filter((v) => v !== undefined) : lookup(value));
}
