import { InvalidArgumentError } from 'commander';
import { METER_EVENT_TYPES } from '../domain/events';
import { canonicalInstant } from '../domain/timestamps';

/** Argument parsers shared by the commands: each names what is wrong with the value it refuses. */

export function integer(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

export const port = integer('port', 0, 65535);

export function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function instant(value: string): string {
  if (!canonicalInstant(value)) throw new InvalidArgumentError(`not an ISO 8601 time: ${value} (e.g. 2026-11-01T00:00:00Z)`);
  return value;
}

export function eventType(value: string): string {
  if (!(METER_EVENT_TYPES as readonly string[]).includes(value)) throw new InvalidArgumentError(`not an event type: ${value} (one of ${METER_EVENT_TYPES.join(', ')})`);
  return value;
}

/** The value of the program's `--config`, read when a command runs (after parsing). */
export type ConfigFile = () => string | undefined;
