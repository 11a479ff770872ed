import { Cron } from 'croner';
import { isDuration, parseDuration } from './duration';

/** When something recurring is next due: every N (a duration) or on a cron expression (UTC). */
export interface Schedule {
  readonly text: string;
  /** The first due time after `last` (or now, if it never ran). */
  nextAfter(last: Date | null, now: Date): Date;
}

export function parseSchedule(text: string): Schedule {
  if (isDuration(text)) {
    const every = parseDuration(text);
    return { text, nextAfter: (last, now) => (last ? new Date(last.getTime() + every) : now) };
  }
  const cron = new Cron(text, { paused: true, timezone: 'UTC' });
  return {
    text,
    nextAfter: (last, now) => (last ? (cron.nextRun(last) ?? new Date(8.64e15)) : now),
  };
}
