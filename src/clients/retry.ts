/**
 * Backoff schedule and Retry-After parsing for outbound calls. Pure functions: the caller
 * injects `random` and `now`, so schedules are tested without sleeping.
 */

export interface RetryPolicy {
  /** Total attempts, the first included; 1 means never retry. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** `full` (default): uniform in [0, base·2^n]; `decorrelated`: uniform in [base, 3·previous]. */
  jitter?: 'full' | 'decorrelated';
}

/**
 * Delay before retry number `retry` (1 = the first retry), capped at maxDelayMs.
 * `previousDelayMs` feeds decorrelated jitter; full jitter ignores it.
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number, previousDelayMs?: number): number {
  const base = Math.max(0, policy.baseDelayMs);
  const cap = Math.max(base, policy.maxDelayMs);
  if (policy.jitter === 'decorrelated') {
    const prev = Math.max(base, previousDelayMs ?? base);
    const upper = Math.min(cap, prev * 3);
    return Math.round(Math.min(cap, base + random() * Math.max(0, upper - base)));
  }
  // 2^30 already exceeds any sane cap; clamping the exponent keeps the arithmetic finite.
  const ceiling = Math.min(cap, base * 2 ** Math.min(Math.max(retry - 1, 0), 30));
  return Math.round(random() * ceiling);
}

/**
 * Retry-After as milliseconds from `nowMs`: delta-seconds (`120`) or an HTTP date
 * (`Wed, 21 Oct 2026 07:28:00 GMT`). Null when absent or unreadable; a date in the past is 0.
 */
export function parseRetryAfter(value: string | string[] | undefined | null, nowMs: number): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw === null) return null;
  const text = raw.trim();
  if (text === '') return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // Only date-shaped text: Date.parse would otherwise accept "1" or "-5" as years.
  if (!/[a-z]/i.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}

/** The longest a Retry-After is obeyed: twice the backoff cap, never under 1 s nor over 5 min. */
export function retryAfterCapMs(policy: RetryPolicy): number {
  return Math.min(300_000, Math.max(1_000, 2 * policy.maxDelayMs));
}

/** A sleep that ends early, rejecting, when the signal aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
