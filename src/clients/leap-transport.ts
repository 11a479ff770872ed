import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import Bottleneck from 'bottleneck';
import type { Logger } from '../logger';
import { anySignal, raceAbort } from './abort-signals';
import { clientError, parseEnvelope, SecretScrubber } from './leap-error-answers';
import { LeapAbortedError, LeapMalformedPageError, type LeapPageProblem, type LeapRequestContext, LeapUnavailableError } from './leap-errors';
import { type DecodedAnswer, parseJson } from './leap-validate';
import { abortableSleep, backoffDelay, parseRetryAfter, type RetryPolicy, retryAfterCapMs } from './retry';
import type { RateLimiter } from './shared-limits';

/** What the transport needs of the client's configuration. */
export interface LeapTransportConfig {
  baseUrl: string;
  apiKey: string;
  /** Per attempt, from the moment the request leaves the limiter until the whole body is read. */
  timeoutMs: number;
  rateLimit: { requestsPerSecond: number; maxConcurrent: number };
  retry: RetryPolicy;
  userAgent?: string;
}

export interface LeapClientOptions {
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  /** A limiter shared beyond this client (e.g. clustered through Redis); the caller owns and stops it. */
  limiter?: Pick<RateLimiter, 'schedule'>;
  /** Told of every attempt's answer (metrics). */
  observer?: LeapCallObserver;
}

/** One attempt's answer: an HTTP status, or no answer at all. */
export type LeapCallStatus = number | 'network_error' | 'timeout';

export interface LeapCallObserver {
  /** `endpoint` is a route template (`v2.meters.search`), never a path with ids in it. */
  answered(endpoint: LeapEndpoint, status: LeapCallStatus, seconds: number): void;
}

/** Every call the client makes, by name; a path it does not know is `other`. */
const ENDPOINTS: readonly [RegExp, string, LeapEndpoint][] = [
  [/^\/v2\/meters\/search$/, 'POST', 'v2.meters.search'],
  [/^\/v2\/meters\/enrollments\/search$/, 'POST', 'v2.meters.enrollments.search'],
  [/^\/v2\/meters\/[^/]+\/enrollments$/, 'GET', 'v2.meters.enrollments.get'],
  [/^\/v2\/meters\/[^/]+$/, 'GET', 'v2.meters.get'],
  [/^\/v1\.1\/account\/[^/]+\/meters\/search$/, 'POST', 'v1.meters.search'],
  [/^\/v1\.1\/account\/[^/]+\/meters\/[^/]+$/, 'GET', 'v1.meters.get'],
  [/^\/v1\.1\/webhooks$/, 'GET', 'v1.webhooks.list'],
  [/^\/v1\.1\/webhooks$/, 'POST', 'v1.webhooks.create'],
  [/^\/v1\.1\/webhooks\/[^/]+$/, 'PUT', 'v1.webhooks.update'],
  [/^\/v1\.1\/webhooks\/[^/]+$/, 'DELETE', 'v1.webhooks.delete'],
  [/^\/v1\.1\/webhooks\/[^/]+\/test$/, 'POST', 'v1.webhooks.test'],
];

export const LEAP_ENDPOINTS = [
  'v2.meters.search',
  'v2.meters.enrollments.search',
  'v2.meters.enrollments.get',
  'v2.meters.get',
  'v1.meters.search',
  'v1.meters.get',
  'v1.webhooks.list',
  'v1.webhooks.create',
  'v1.webhooks.update',
  'v1.webhooks.delete',
  'v1.webhooks.test',
  'other',
] as const;
export type LeapEndpoint = (typeof LEAP_ENDPOINTS)[number];

export function leapEndpoint(method: RequestSpec['method'], path: string): LeapEndpoint {
  return ENDPOINTS.find(([pattern, m]) => m === method && pattern.test(path))?.[2] ?? 'other';
}

/** Counters for progress lines and benchmarks; monotonic for the life of the client. */
export interface LeapClientStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  retries: number;
  throttled429: number;
  serverErrors: number;
  networkErrors: number;
  timeouts: number;
  /** 2xx answers whose body was not JSON (truncated, garbled). */
  malformedResponses: number;
  pages: number;
  items: number;
  /** Total time spent waiting between attempts. */
  retryWaitMs: number;
}

/** One call to Leap, as the API modules describe it. */
export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  body?: unknown;
  pageNumber?: number;
  /** Safe to send twice: searches, gets, PUT and DELETE. A create is retried only when Leap surely did not act. */
  idempotent: boolean;
  signal?: AbortSignal;
  /** The request carried a page token, so a 400 about tokens means the token expired. */
  hasPageToken?: boolean;
  /** What a 404 means for this call. */
  notFound?: { meterId?: string; webhookId?: string };
}

type AttemptOutcome =
  | { kind: 'response'; status: number; text: string; retryAfter?: string; location?: string }
  | { kind: 'network'; code: string; cause: string; timedOut: boolean; permanent: boolean }
  | { kind: 'aborted' };

interface RetryableFailure {
  kind: 'status' | 'network' | 'malformed';
  status?: number;
  code?: string;
  cause: string;
  bodyExcerpt?: string;
  problems?: LeapPageProblem[];
  retryAfterMs?: number | null;
}

/** Network failures worth retrying for a non-idempotent call: the request never reached Leap. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);
/** Configuration or TLS trust problems: retrying cannot fix them. */
const PERMANENT_CODE = /^(ERR_INVALID_URL|ERR_BAD_OPTION|ERR_BAD_OPTION_VALUE|ERR_NOT_SUPPORT|ERR_INVALID_ARG|CERT_|ERR_TLS_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT)/;

/**
 * Every request to Leap: one bottleneck limiter, retries on network errors, timeouts, 429, 5xx
 * and unparseable 2xx bodies with capped, jittered backoff (honouring Retry-After), and a typed
 * LeapError for every failure. The only holder of the axios instance: no AxiosError gets past it.
 */
export class LeapTransport {
  private readonly http: AxiosInstance;
  private readonly limiter: Pick<RateLimiter, 'schedule'>;
  /** The limiter this transport made (none when it was given a shared one). */
  private readonly ownLimiter: Bottleneck | null;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly sleepFn: ((ms: number) => Promise<void>) | undefined;
  private readonly observer: LeapCallObserver | undefined;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly scrubber: SecretScrubber;
  /** Aborts in-flight requests and backoff waits when the client closes. */
  private readonly closing = new AbortController();
  private readonly counters: LeapClientStats = {
    requests: 0,
    retries: 0,
    throttled429: 0,
    serverErrors: 0,
    networkErrors: 0,
    timeouts: 0,
    malformedResponses: 0,
    pages: 0,
    items: 0,
    retryWaitMs: 0,
  };

  constructor(
    private readonly cfg: LeapTransportConfig,
    private readonly logger: Logger,
    opts: LeapClientOptions,
  ) {
    this.scrubber = new SecretScrubber(cfg.apiKey);
    this.sleepFn = opts.sleep;
    this.observer = opts.observer;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    const maxSockets = Math.max(4, cfg.rateLimit.maxConcurrent * 2);
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets });
    this.http = axios.create({
      baseURL: cfg.baseUrl,
      timeout: cfg.timeoutMs,
      headers: {
        Authorization: `Bearer ${cfg.apiKey}`,
        Accept: 'application/json',
        'User-Agent': cfg.userAgent ?? 'leap-connector',
      },
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      // The raw text is kept so a truncated body is detected here, not hidden by axios's parser.
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      // A redirect would re-send the bearer key to wherever it points; it is reported instead.
      maxRedirects: 0,
    });
    this.ownLimiter = opts.limiter
      ? null
      : new Bottleneck({
          id: 'leap',
          maxConcurrent: cfg.rateLimit.maxConcurrent,
          // 2 % under the limit: calls started evenly still arrive bunched by a few ms of jitter.
          minTime: (1000 * 1.02) / cfg.rateLimit.requestsPerSecond,
        });
    this.limiter = opts.limiter ?? this.ownLimiter!;
  }

  /** One call with its retries; answers Leap's parsed JSON or throws a LeapError. */
  send(spec: RequestSpec): Promise<unknown> {
    return this.exchange(spec, (text) => Promise.resolve(parseJson(text)));
  }

  /** One call with its retries; answers what `decode` makes of the body, or throws a LeapError. */
  async exchange<T>(spec: RequestSpec, decode: (text: string) => Promise<DecodedAnswer<T>>): Promise<T> {
    const { maxAttempts } = this.cfg.retry;
    let last: RetryableFailure | undefined;
    let previousDelay: number | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const outcome = await this.scheduleAttempt(spec);
      if (outcome.kind === 'aborted') throw new LeapAbortedError(this.context(spec, attempt));
      const result = this.classify(spec, outcome, attempt);
      if (result.done) {
        if (result.text === undefined) return undefined as T;
        const answer = await decode(result.text);
        if (answer.ok) return answer.value;
        if ('problems' in answer) throw this.malformed(spec, answer.problems, answer.excerpt);
        last = this.notJson(result.status, result.text, answer.notJson);
      } else last = result.failure;
      const retryable = spec.idempotent || last.status === 429 || (last.kind === 'network' && last.code !== undefined && NOT_SENT_CODES.has(last.code));
      if (!retryable || attempt === maxAttempts) return this.giveUp(spec, last, attempt, retryable);
      const delay = this.delayFor(last, attempt, previousDelay);
      previousDelay = delay;
      this.counters.retries += 1;
      this.counters.retryWaitMs += delay;
      const level = last.status === 429 ? 'debug' : 'warn';
      this.logger[level]('Leap call failed; retrying', {
        method: spec.method,
        path: spec.path,
        page: spec.pageNumber,
        attempt,
        max_attempts: maxAttempts,
        status: last.status,
        cause: last.cause,
        delay_ms: delay,
        retry_after_ms: last.retryAfterMs ?? undefined,
      });
      await this.pause(delay, spec, attempt);
    }
    // Unreachable while maxAttempts >= 1 (LeapClient checks it at construction); kept for the type checker.
    throw new LeapUnavailableError(this.context(spec, maxAttempts), last?.cause ?? 'no attempt made');
  }

  /** A 2xx answer Leap's contract does not allow; `answer` is the part of it to quote. */
  malformed(spec: RequestSpec, problems: LeapPageProblem[], answer?: unknown): LeapMalformedPageError {
    const text = answer === undefined ? undefined : this.scrubber.excerpt(JSON.stringify(answer) ?? '');
    const clean = problems.map((p) => ({
      ...p,
      pointer: this.scrubber.text(p.pointer),
      message: this.scrubber.text(p.message),
      ...(p.meter_id === undefined ? {} : { meter_id: this.scrubber.text(p.meter_id) }),
    }));
    return new LeapMalformedPageError(this.context(spec, undefined, 200, text), clean);
  }

  /** A search page was handed on with this many meters. */
  countPage(items: number): void {
    this.counters.pages += 1;
    this.counters.items += items;
  }

  stats(): LeapClientStats {
    return { ...this.counters };
  }

  /** Aborts in-flight calls, stops the limiter this transport created, and closes idle sockets. */
  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort(new Error('LeapClient closed'));
    if (this.ownLimiter) await this.ownLimiter.stop({ dropWaitingJobs: true });
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private giveUp(spec: RequestSpec, failure: RetryableFailure, attempt: number, retryable: boolean): never {
    const ctx = this.context(spec, attempt, failure.status, failure.bodyExcerpt);
    if (failure.kind === 'malformed') throw new LeapMalformedPageError(ctx, failure.problems ?? []);
    const hint = !retryable
      ? 'not retried because Leap may have acted on it: check its state (e.g. list webhooks) before trying again'
      : failure.code && NOT_SENT_CODES.has(failure.code)
        ? 'check LEAP_BASE_URL'
        : undefined;
    throw new LeapUnavailableError(ctx, failure.cause, hint);
  }

  private delayFor(failure: RetryableFailure, attempt: number, previousDelay: number | undefined): number {
    if (failure.retryAfterMs !== undefined && failure.retryAfterMs !== null) {
      return Math.min(failure.retryAfterMs, retryAfterCapMs(this.cfg.retry));
    }
    return backoffDelay(this.cfg.retry, attempt, this.random, previousDelay);
  }

  private async pause(ms: number, spec: RequestSpec, attempt: number): Promise<void> {
    const signal = anySignal(spec.signal, this.closing.signal);
    try {
      if (this.sleepFn) await raceAbort(this.sleepFn(ms), signal.signal);
      else await abortableSleep(ms, signal.signal);
    } catch (err) {
      if (signal.signal.aborted) throw new LeapAbortedError(this.context(spec, attempt));
      throw err;
    } finally {
      signal.dispose();
    }
  }

  private async scheduleAttempt(spec: RequestSpec): Promise<AttemptOutcome> {
    if (spec.signal?.aborted || this.closing.signal.aborted) return { kind: 'aborted' };
    try {
      return await this.limiter.schedule(() => this.attempt(spec));
    } catch (err) {
      // The limiter was stopped (client closed) while this call waited in its queue.
      if (this.closing.signal.aborted) return { kind: 'aborted' };
      // A shared limiter's own failure (its Redis gone) must not surface as a bare library error.
      const reason = err instanceof Error ? err.message : String(err);
      throw new LeapUnavailableError(this.context(spec, 0), this.scrubber.text(`rate limiter failed: ${reason}`).slice(0, 300), 'check the shared rate limiter (Redis)');
    }
  }

  /** One HTTP exchange. Never throws: every failure becomes a plain outcome, never an AxiosError. */
  private async attempt(spec: RequestSpec): Promise<AttemptOutcome> {
    if (spec.signal?.aborted || this.closing.signal.aborted) return { kind: 'aborted' };
    this.counters.requests += 1;
    // The deadline covers the whole exchange; axios's own timeout only watches socket inactivity.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.cfg.timeoutMs);
    const signal = anySignal(spec.signal, this.closing.signal, deadline.signal);
    const started = performance.now();
    const observe = (status: LeapCallStatus) => this.observer?.answered(leapEndpoint(spec.method, spec.path), status, (performance.now() - started) / 1000);
    try {
      const res = await this.http.request<string>({ method: spec.method, url: spec.path, data: spec.body, signal: signal.signal });
      observe(res.status);
      return {
        kind: 'response',
        status: res.status,
        text: typeof res.data === 'string' ? res.data : res.data === undefined || res.data === null ? '' : String(res.data),
        retryAfter: headerText(res.headers, 'retry-after'),
        location: headerText(res.headers, 'location'),
      };
    } catch (err) {
      if (spec.signal?.aborted || this.closing.signal.aborted) return { kind: 'aborted' };
      const outcome: AttemptOutcome = deadline.signal.aborted
        ? { kind: 'network', code: 'ETIMEDOUT', cause: `timeout: no complete answer within ${this.cfg.timeoutMs} ms`, timedOut: true, permanent: false }
        : this.networkOutcome(err);
      observe(outcome.kind === 'network' && outcome.timedOut ? 'timeout' : 'network_error');
      return outcome;
    } finally {
      clearTimeout(timer);
      signal.dispose();
    }
  }

  private networkOutcome(err: unknown): AttemptOutcome {
    // Only the code and message are read from the axios error; its config (with the key) is dropped here.
    let code = 'ERR_NETWORK';
    let message = 'network error';
    if (isAxiosError(err)) {
      const causeCode = (err.cause as { code?: unknown } | undefined)?.code;
      code = typeof causeCode === 'string' && err.code === 'ERR_BAD_RESPONSE' ? causeCode : (err.code ?? (typeof causeCode === 'string' ? causeCode : code));
      message = err.message;
    } else if (err instanceof Error) {
      const errCode = (err as { code?: unknown }).code;
      code = typeof errCode === 'string' ? errCode : err.name;
      message = err.message;
    }
    const timedOut = code === 'ECONNABORTED' && /timeout/i.test(message);
    return { kind: 'network', code: timedOut ? 'ETIMEDOUT' : code, cause: this.scrubber.text(`${code}: ${message}`).slice(0, 300), timedOut, permanent: PERMANENT_CODE.test(code) };
  }

  /** Success, a retryable failure, or (thrown) a typed error that retrying cannot fix. */
  private classify(spec: RequestSpec, outcome: Exclude<AttemptOutcome, { kind: 'aborted' }>, attempt: number): { done: true; status: number; text: string | undefined } | { done: false; failure: RetryableFailure } {
    if (outcome.kind === 'network') {
      if (outcome.timedOut) this.counters.timeouts += 1;
      else this.counters.networkErrors += 1;
      if (outcome.permanent) throw new LeapUnavailableError(this.context(spec, attempt), outcome.cause, 'check LEAP_BASE_URL and its TLS certificate');
      return { done: false, failure: { kind: 'network', code: outcome.code, cause: outcome.cause } };
    }
    const { status, text } = outcome;
    if (status >= 200 && status < 300) {
      // Only a short body can be blank; trimming a megabyte page would copy it.
      if (text.length < 64 && text.trim() === '') {
        if (spec.method === 'DELETE') return { done: true, status, text: undefined };
        this.counters.malformedResponses += 1;
        return { done: false, failure: { kind: 'malformed', status, cause: `HTTP ${status} with an empty body`, problems: [{ pointer: '', message: 'is empty, expected JSON' }] } };
      }
      return { done: true, status, text };
    }
    if (status === 429 || status === 408 || status >= 500) {
      if (status === 429) this.counters.throttled429 += 1;
      else this.counters.serverErrors += 1;
      const envelope = parseEnvelope(text);
      return {
        done: false,
        failure: {
          kind: 'status',
          status,
          cause: `HTTP ${status}${envelope.title ? ` "${this.scrubber.text(envelope.title).slice(0, 200)}"` : ''}`,
          bodyExcerpt: this.scrubber.excerpt(text),
          retryAfterMs: parseRetryAfter(outcome.retryAfter, this.now()),
        },
      };
    }
    throw clientError(this.context(spec, attempt, status, this.scrubber.excerpt(text)), spec, status, text, outcome.location, this.scrubber);
  }

  /** A 2xx body that is not JSON (truncated, garbled): retried. */
  private notJson(status: number, text: string, reason: string): RetryableFailure {
    this.counters.malformedResponses += 1;
    return {
      kind: 'malformed',
      status,
      cause: `HTTP ${status} with a body that is not JSON (${reason})`,
      bodyExcerpt: this.scrubber.excerpt(text),
      problems: [{ pointer: '', message: `is not valid JSON (${reason}; ${Buffer.byteLength(text)} bytes received)` }],
    };
  }

  private context(spec: RequestSpec, attempts?: number, status?: number, bodyExcerpt?: string): LeapRequestContext {
    return { method: spec.method, path: this.scrubber.text(spec.path), pageNumber: spec.pageNumber, attempts, status, bodyExcerpt };
  }
}

function headerText(headers: unknown, name: string): string | undefined {
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) return undefined;
  const v = (headers as Record<string, unknown>)[name];
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  if (typeof v === 'number') return String(v);
  return undefined;
}
