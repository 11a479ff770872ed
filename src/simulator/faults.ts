/**
 * Injected faults and rate limiting. Rates are probabilities per request drawn from a seeded RNG,
 * so a given seed and request sequence fail the same way every run.
 */
import { Rng, salt } from './random';

/**
 * Body of `POST /_sim/faults` and argument of `Simulator.setFaults`. Rates are probabilities per
 * request (0–1); at most one of the response faults applies to a request, and their rates must
 * sum to at most 1. Latency is drawn separately and adds to any of them.
 */
export interface FaultConfig {
  /** 429 with `Retry-After: <seconds>`. */
  rateLimited?: number;
  /** 429 with `Retry-After: <HTTP date>`. */
  rateLimitedHttpDate?: number;
  /** 429 without `Retry-After`. */
  rateLimitedNoRetryAfter?: number;
  /** 500: the bare JSON string on meter endpoints, `{error, message}` on the webhooks API. */
  serverError?: number;
  /** 200 with a body that is not JSON. */
  malformedJson?: number;
  /** 200 with the real body cut short. */
  truncatedJson?: number;
  /** 400 "Page token expired"; only requests that carry a page_token. */
  expiredPageToken?: number;
  /** Probability of added latency. */
  latency?: number;
  /** Latency in ms: fixed, or [min, max] (default [50, 250]). */
  latencyMs?: number | [number, number];
  /** Retry-After seconds for injected and rate-limit 429s (default 1). */
  retryAfterSeconds?: number;
  /** Path prefixes faults apply to (default: all Leap API paths, never /_sim). */
  paths?: string[];
  /** Requests per second before 429 with Retry-After; null lifts the limit; absent keeps the current one. */
  rateLimit?: number | null;
}

export const RESPONSE_FAULTS = ['rateLimited', 'rateLimitedHttpDate', 'rateLimitedNoRetryAfter', 'serverError', 'malformedJson', 'truncatedJson', 'expiredPageToken'] as const;
export type ResponseFault = (typeof RESPONSE_FAULTS)[number];
export type FaultKind = ResponseFault | 'latency' | 'rateLimit';

const KNOWN_KEYS = new Set<string>([...RESPONSE_FAULTS, 'latency', 'latencyMs', 'retryAfterSeconds', 'paths', 'rateLimit']);

/** Checks a fault body; returns the errors by field, or none. */
export function validateFaultConfig(body: unknown): { ok: true; config: FaultConfig } | { ok: false; errors: Record<string, string> } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { ok: false, errors: { body: 'must be a JSON object' } };
  const src = body as Record<string, unknown>;
  const errors: Record<string, string> = {};
  const config: FaultConfig = {};
  for (const key of Object.keys(src)) if (!KNOWN_KEYS.has(key)) errors[key] = 'is not a known fault setting';
  let sum = 0;
  for (const key of [...RESPONSE_FAULTS, 'latency'] as const) {
    const v = src[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      errors[key] = 'must be a probability between 0 and 1';
      continue;
    }
    config[key] = v;
    if (key !== 'latency') sum += v;
  }
  if (sum > 1 + 1e-9) errors.rates = 'response fault rates must sum to at most 1';
  const lat = src.latencyMs;
  if (lat !== undefined) {
    const okMs = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0 && x <= 60_000;
    if (okMs(lat)) config.latencyMs = lat;
    else if (Array.isArray(lat) && lat.length === 2 && okMs(lat[0]) && okMs(lat[1]) && lat[0] <= lat[1]) config.latencyMs = [lat[0], lat[1]];
    else errors.latencyMs = 'must be milliseconds (0-60000) or [min, max]';
  }
  const ra = src.retryAfterSeconds;
  if (ra !== undefined) {
    if (typeof ra === 'number' && Number.isInteger(ra) && ra >= 0 && ra <= 3600) config.retryAfterSeconds = ra;
    else errors.retryAfterSeconds = 'must be an integer between 0 and 3600';
  }
  const paths = src.paths;
  if (paths !== undefined) {
    if (Array.isArray(paths) && paths.every((p) => typeof p === 'string' && p.startsWith('/'))) config.paths = paths as string[];
    else errors.paths = 'must be an array of path prefixes starting with /';
  }
  const rl = src.rateLimit;
  if (rl !== undefined) {
    if (rl === null) config.rateLimit = null;
    else if (typeof rl === 'number' && Number.isFinite(rl) && rl > 0) config.rateLimit = rl;
    else errors.rateLimit = 'must be a positive number of requests per second, or null';
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, config };
}

/** Requests per second in fixed one-second windows. */
export class RateLimiter {
  private windowStart = 0;
  private used = 0;

  constructor(public limit: number | null) {}

  /** 0 when the request may pass, else the seconds until the next window. */
  take(nowMs: number): number {
    if (this.limit === null) return 0;
    const window = Math.floor(nowMs / 1000) * 1000;
    if (window !== this.windowStart) {
      this.windowStart = window;
      this.used = 0;
    }
    this.used++;
    if (this.used <= this.limit) return 0;
    return Math.max(1, Math.ceil((window + 1000 - nowMs) / 1000));
  }
}

export interface FaultDecision {
  fault: ResponseFault | null;
  latencyMs: number;
}

export class Faults {
  private config: FaultConfig = {};
  private readonly rng: Rng;
  readonly limiter: RateLimiter;
  readonly injected: Record<FaultKind, number> = {
    rateLimited: 0,
    rateLimitedHttpDate: 0,
    rateLimitedNoRetryAfter: 0,
    serverError: 0,
    malformedJson: 0,
    truncatedJson: 0,
    expiredPageToken: 0,
    latency: 0,
    rateLimit: 0,
  };

  constructor(
    seed: number,
    private readonly defaultRateLimit: number | null,
  ) {
    this.rng = new Rng(seed, salt('faults'));
    this.limiter = new RateLimiter(defaultRateLimit);
  }

  set(config: FaultConfig): void {
    const { rateLimit, ...rest } = config;
    this.config = rest;
    if (rateLimit !== undefined) this.limiter.limit = rateLimit;
  }

  /** Removes injected faults; the rate limit returns to the simulator's option. */
  clear(): void {
    this.config = {};
    this.limiter.limit = this.defaultRateLimit;
  }

  current(): FaultConfig & { rateLimit: number | null } {
    return { ...this.config, rateLimit: this.limiter.limit };
  }

  retryAfterSeconds(): number {
    return this.config.retryAfterSeconds ?? 1;
  }

  applies(path: string): boolean {
    const prefixes = this.config.paths;
    return !prefixes || prefixes.some((p) => path.startsWith(p));
  }

  /** Draws this request's fault; `hasPageToken` gates the expired-token fault. */
  decide(path: string, hasPageToken: boolean): FaultDecision {
    const c = this.config;
    if (!this.applies(path)) return { fault: null, latencyMs: 0 };
    let latencyMs = 0;
    if (c.latency && this.rng.chance(c.latency)) {
      const spec = c.latencyMs ?? [50, 250];
      latencyMs = typeof spec === 'number' ? spec : spec[0] + this.rng.int(spec[1] - spec[0] + 1);
      this.injected.latency++;
    }
    let fault: ResponseFault | null = null;
    let x = this.rng.next();
    for (const kind of RESPONSE_FAULTS) {
      const rate = c[kind] ?? 0;
      if (x < rate) {
        fault = kind;
        break;
      }
      x -= rate;
    }
    if (fault === 'expiredPageToken' && !hasPageToken) fault = null;
    if (fault) this.injected[fault]++;
    return { fault, latencyMs };
  }

  /** Where to cut a body for `truncatedJson`: somewhere inside, never the whole. */
  cutPoint(length: number): number {
    return length <= 1 ? 0 : 1 + this.rng.int(length - 1);
  }
}
