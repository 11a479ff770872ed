/** What happened to one delivery, and what the connector does about it: pure rules, no I/O. */

export type DeliveryStatus = 'pending' | 'delivering' | 'delivered' | 'dead';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivering', 'delivered', 'dead'];

export type AttemptTrigger = 'scheduled' | 'manual' | 'replay' | 'probe';

/** How a request failed before any HTTP status arrived (or why a status is a failure). */
export type ErrorClass = 'timeout' | 'dns' | 'refused' | 'tls' | 'reset' | 'redirect' | 'network';

export interface AttemptResult {
  startedAt: Date;
  durationMs: number;
  status: number | null;
  responseHeaders: Record<string, string> | null;
  /** At most 16 KB of what the receiver answered. */
  responseBody: string | null;
  errorClass: ErrorClass | null;
  errorMessage: string | null;
  /** Retry-After of a 429 or 503, in milliseconds from now. */
  retryAfterMs: number | null;
}

export interface RetryPolicy {
  /** Delay before each retry: the first retry waits schedule[0]. */
  scheduleMs: readonly number[];
  /** ±fraction of uniform jitter (0.2 = ±20 %). */
  jitter: number;
  /** Statuses that make a delivery dead at once. */
  deadOn: readonly number[];
}

export type Outcome = 'delivered' | 'retry' | 'dead' | 'throttled' | 'paused';

export interface Decision {
  outcome: Outcome;
  /** When to try again (retry, throttled, paused: at once once resumed). */
  nextAttemptAt: Date | null;
  /** Position in the retry schedule after this attempt. */
  retryIndex: number;
  /** Counts toward the destination's run of consecutive failures. */
  failure: boolean;
  /** The destination must pause (410 Gone). */
  pauseDestination: boolean;
  deadReason: string | null;
}

/** A throttled send waits for Retry-After, else this long (Svix's floor for 429). */
export const THROTTLE_DEFAULT_MS = 60_000;
const RETRY_AFTER_MAX_MS = 6 * 3_600_000;

export function withJitter(ms: number, jitter: number, random: () => number): number {
  return Math.max(0, Math.round(ms * (1 + (random() * 2 - 1) * jitter)));
}

/**
 * Decide the next step after an attempt. 2xx delivers; 429 throttles without using an attempt;
 * 410 pauses the destination and keeps the delivery waiting; a `dead_on` status is dead at once;
 * anything else follows the retry schedule (503 honours Retry-After) until it runs out.
 */
export function decide(result: AttemptResult, retryIndex: number, policy: RetryPolicy, now: Date, random: () => number = Math.random): Decision {
  const at = (ms: number) => new Date(now.getTime() + ms);
  const s = result.status;
  if (s !== null && s >= 200 && s < 300) return { outcome: 'delivered', nextAttemptAt: null, retryIndex, failure: false, pauseDestination: false, deadReason: null };
  if (s === 429) {
    const wait = result.retryAfterMs !== null ? clamp(result.retryAfterMs, 1000, RETRY_AFTER_MAX_MS) : THROTTLE_DEFAULT_MS;
    return { outcome: 'throttled', nextAttemptAt: at(wait), retryIndex, failure: false, pauseDestination: false, deadReason: null };
  }
  if (s === 410) return { outcome: 'paused', nextAttemptAt: now, retryIndex, failure: true, pauseDestination: true, deadReason: null };
  if (s !== null && policy.deadOn.includes(s)) return { outcome: 'dead', nextAttemptAt: null, retryIndex, failure: true, pauseDestination: false, deadReason: `status_${s}` };
  if (retryIndex >= policy.scheduleMs.length) return { outcome: 'dead', nextAttemptAt: null, retryIndex, failure: true, pauseDestination: false, deadReason: 'retries_exhausted' };
  let delay = withJitter(policy.scheduleMs[retryIndex]!, policy.jitter, random);
  // A 503's Retry-After is honoured, but never beyond twice the scheduled wait (as Svix does).
  if (s === 503 && result.retryAfterMs !== null) delay = clamp(result.retryAfterMs, Math.min(1000, 2 * policy.scheduleMs[retryIndex]!), 2 * policy.scheduleMs[retryIndex]!);
  return { outcome: 'retry', nextAttemptAt: at(delay), retryIndex: retryIndex + 1, failure: true, pauseDestination: false, deadReason: null };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** Probe a paused destination after 30 s, then 1, 2, 4 ... minutes, at most hourly. */
export function nextProbeBackoff(previousMs: number): number {
  return previousMs <= 0 ? 30_000 : Math.min(previousMs * 2, 3_600_000);
}

/** Does an event type match a subscription pattern (`meter.created`, `meter.enrollment.*`, `*`)? */
export function eventMatches(pattern: string, type: string): boolean {
  if (pattern === '*' || pattern === type) return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return false;
}
