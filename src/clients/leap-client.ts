import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import Bottleneck from 'bottleneck';
import type { RateLimiter } from './shared-limits';
import type {
  LeapMeterDetails,
  LeapMeterEnrollment,
  LeapPage,
  LeapSearchFilter,
  LeapV1Meter,
  LeapV1SearchFilter,
} from '../domain/leap-types';
import { ConfigError } from '../errors';
import type { Logger } from '../logger';
import {
  LeapAbortedError,
  LeapBadRequestError,
  type LeapError,
  LeapForbiddenError,
  LeapMalformedPageError,
  LeapNotFoundError,
  type LeapPageProblem,
  LeapPageTokenExpiredError,
  type LeapRequestContext,
  LeapUnauthorizedError,
  LeapUnavailableError,
  LeapUnexpectedStatusError,
} from './leap-errors';
import { type DecodedAnswer, type DecodedPage, decodePage, type LeapItemKind, type LeapItemTypes, parseJson, validateItem } from './leap-validate';
import type { LeapWebhookSubscription, LeapWebhookSubscriptionInput, LeapWebhookTestPayload, LeapWebhookTestResult } from './leap-webhook-types';
import { abortableSleep, backoffDelay, parseRetryAfter, type RetryPolicy, retryAfterCapMs } from './retry';

export type { DecodedAnswer, DecodedPage } from './leap-validate';

export interface LeapClientConfig {
  baseUrl: string;
  apiKey: string;
  apiVersion: 'v1' | 'v2';
  /** Leap's Account ID; v1 paths carry it, v2 does not. */
  accountId?: string;
  /** 1..500; Leap's maximum (500) means the fewest calls. */
  pageSize: number;
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
}

export interface LeapSearchOptions {
  /** Resume a search at a stored position: the `next_page_token` of the last page processed. */
  pageToken?: string;
  pageSize?: number;
  signal?: AbortSignal;
  /** Number of the first page fetched, when resuming (so errors name the page within the whole search); default 1. */
  firstPageNumber?: number;
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

/** Parses and checks a search answer's text, e.g. off the main thread; see `searchDecoded`. */
export type PageDecoder<P> = (kind: LeapItemKind, text: string) => Promise<DecodedAnswer<DecodedPage<P>>>;

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface RequestSpec {
  method: Method;
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

const MAX_PAGE_SIZE = 500;
const EXCERPT_BYTES = 1024;
/** Network failures worth retrying for a non-idempotent call: the request never reached Leap. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);
/** Configuration or TLS trust problems: retrying cannot fix them. */
const PERMANENT_CODE = /^(ERR_INVALID_URL|ERR_BAD_OPTION|ERR_BAD_OPTION_VALUE|ERR_NOT_SUPPORT|ERR_INVALID_ARG|CERT_|ERR_TLS_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT)/;

/**
 * Leap's meters API (v2 details and enrollments, v1 meters) and webhook subscription API.
 * Every request passes through one bottleneck limiter, is retried on network errors, timeouts,
 * 429, 5xx and unparseable 2xx bodies with capped, jittered backoff (honouring Retry-After),
 * and fails with a typed LeapError. Searches are async generators: one request in flight per
 * search and nothing kept between pages.
 */
export class LeapClient {
  private readonly http: AxiosInstance;
  private readonly limiter: Pick<RateLimiter, 'schedule'>;
  /** The limiter this client made (none when it was given a shared one). */
  private readonly ownLimiter: Bottleneck | null;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly sleepFn: ((ms: number) => Promise<void>) | undefined;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly secrets: string[];
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
    private readonly cfg: LeapClientConfig,
    private readonly logger: Logger,
    opts: LeapClientOptions = {},
  ) {
    checkConfig(cfg);
    this.sleepFn = opts.sleep;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
    this.secrets = secretVariants(cfg.apiKey);
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

  // ---- v2 ---------------------------------------------------------------------------------

  /** `POST /v2/meters/search`, page by page. */
  searchDetails(filter: LeapSearchFilter, opts: LeapSearchOptions = {}): AsyncGenerator<LeapPage<LeapMeterDetails>, void, undefined> {
    return this.paginate('details', '/v2/meters/search', filter, opts);
  }

  /** `POST /v2/meters/enrollments/search`, page by page. */
  searchEnrollments(filter: LeapSearchFilter, opts: LeapSearchOptions = {}): AsyncGenerator<LeapPage<LeapMeterEnrollment>, void, undefined> {
    return this.paginate('enrollment', '/v2/meters/enrollments/search', filter, opts);
  }

  /**
   * A v2 search whose answers are parsed and checked by `decode` (the sync's page thread) instead
   * of here: what it keeps of each page is answered with the paging token. Requests, limits and
   * retries are the same as `searchDetails` / `searchEnrollments`.
   */
  searchDecoded<P>(kind: 'details' | 'enrollment', filter: LeapSearchFilter, decode: PageDecoder<P>, opts: LeapSearchOptions = {}): AsyncGenerator<DecodedPage<P> & { pageNumber: number }, void, undefined> {
    return this.pages(kind === 'details' ? '/v2/meters/search' : '/v2/meters/enrollments/search', filter, opts, (text) => decode(kind, text));
  }

  /** `GET /v2/meters/{id}`; an unknown meter is LeapNotFoundError. */
  getDetails(meterId: string, opts: { signal?: AbortSignal } = {}): Promise<LeapMeterDetails> {
    return this.getMeter('details', `/v2/meters/${encodeURIComponent(meterId)}`, meterId, opts.signal);
  }

  /** `GET /v2/meters/{id}/enrollments`. */
  getEnrollment(meterId: string, opts: { signal?: AbortSignal } = {}): Promise<LeapMeterEnrollment> {
    return this.getMeter('enrollment', `/v2/meters/${encodeURIComponent(meterId)}/enrollments`, meterId, opts.signal);
  }

  // ---- v1 ---------------------------------------------------------------------------------

  /** `POST /v1.1/account/{account_id}/meters/search`, page by page. */
  searchMetersV1(filter: LeapV1SearchFilter, opts: LeapSearchOptions = {}): AsyncGenerator<LeapPage<LeapV1Meter>, void, undefined> {
    return this.paginate('v1', `${this.v1Base()}/meters/search`, filter, opts);
  }

  /** `GET /v1.1/account/{account_id}/meters/{meter_id}`. */
  getMeterV1(meterId: string, opts: { signal?: AbortSignal } = {}): Promise<LeapV1Meter> {
    return this.getMeter('v1', `${this.v1Base()}/meters/${encodeURIComponent(meterId)}`, meterId, opts.signal);
  }

  // ---- Leap's webhook subscriptions (/v1.1/webhooks) -----------------------------------------

  async listWebhooks(): Promise<LeapWebhookSubscription[]> {
    const spec: RequestSpec = { method: 'GET', path: '/v1.1/webhooks', idempotent: true };
    const body = await this.send(spec);
    const list = isObject(body) ? body.webhooks : undefined;
    if (!Array.isArray(list)) throw this.malformed(spec, [{ pointer: '/webhooks', message: 'must be an array' }]);
    const bad = list.findIndex((w) => !isObject(w) || typeof w.webhook_id !== 'string');
    if (bad >= 0) throw this.malformed(spec, [{ index: bad, pointer: `/webhooks/${bad}/webhook_id`, message: 'must be a string' }]);
    return list as LeapWebhookSubscription[];
  }

  /** Leap has no idempotency key: a create is retried only when Leap surely never saw it. */
  async createWebhook(input: LeapWebhookSubscriptionInput): Promise<{ webhook_id: string }> {
    return this.webhookIdAnswer({ method: 'POST', path: '/v1.1/webhooks', body: input, idempotent: false });
  }

  /** PUT replaces every setting of the subscription; nothing is merged. */
  async updateWebhook(webhookId: string, input: LeapWebhookSubscriptionInput): Promise<{ webhook_id: string }> {
    const path = `/v1.1/webhooks/${encodeURIComponent(webhookId)}`;
    return this.webhookIdAnswer({ method: 'PUT', path, body: input, idempotent: true, notFound: { webhookId } });
  }

  async deleteWebhook(webhookId: string): Promise<void> {
    await this.send({ method: 'DELETE', path: `/v1.1/webhooks/${encodeURIComponent(webhookId)}`, idempotent: true, notFound: { webhookId } });
  }

  /** Asks Leap to send a test event to the subscription's receiver and reports how it went. */
  async testWebhook(webhookId: string, payload: LeapWebhookTestPayload): Promise<LeapWebhookTestResult> {
    const spec: RequestSpec = { method: 'POST', path: `/v1.1/webhooks/${encodeURIComponent(webhookId)}/test`, body: payload, idempotent: false, notFound: { webhookId } };
    const body = await this.send(spec);
    if (!isObject(body) || typeof body.is_successful !== 'boolean') throw this.malformed(spec, [{ pointer: '/is_successful', message: 'must be a boolean' }]);
    return body as LeapWebhookTestResult;
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  stats(): LeapClientStats {
    return { ...this.counters };
  }

  /** Aborts in-flight calls, stops the limiter this client created, and closes idle sockets. */
  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort(new Error('LeapClient closed'));
    if (this.ownLimiter) await this.ownLimiter.stop({ dropWaitingJobs: true });
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  // ---- internals ---------------------------------------------------------------------------

  private v1Base(): string {
    if (!this.cfg.accountId) throw new ConfigError(['accountId is required for Leap API v1 (the Account ID on the Partner account page)']);
    return `/v1.1/account/${encodeURIComponent(this.cfg.accountId)}`;
  }

  private async *paginate<K extends LeapItemKind>(
    kind: K,
    path: string,
    filter: object,
    opts: LeapSearchOptions,
  ): AsyncGenerator<LeapPage<LeapItemTypes[K]>, void, undefined> {
    for await (const p of this.pages(path, filter, opts, (text) => Promise.resolve(decodePage(kind, text)))) yield { items: p.page, nextPageToken: p.nextPageToken, pageNumber: p.pageNumber };
  }

  /** Page after page of one search, each answer decoded by `decode` within its attempt's retries. */
  private async *pages<P>(
    path: string,
    filter: object,
    opts: LeapSearchOptions,
    decode: (text: string) => Promise<DecodedAnswer<DecodedPage<P>>>,
  ): AsyncGenerator<DecodedPage<P> & { pageNumber: number }, void, undefined> {
    const pageSize = opts.pageSize ?? this.cfg.pageSize;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new ConfigError([`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${String(pageSize)}`]);
    }
    let token: string | null = opts.pageToken ? opts.pageToken : null;
    let pageNumber = Math.max(1, Math.floor(opts.firstPageNumber ?? 1)) - 1;
    do {
      pageNumber += 1;
      // Leap's tokens are tied to their filters: the same filters go with every page.
      const body = { ...filter, page_size: pageSize, ...(token ? { page_token: token } : {}) };
      const spec: RequestSpec = { method: 'POST', path, body, pageNumber, idempotent: true, signal: opts.signal, hasPageToken: token !== null };
      const page = await this.exchange(spec, decode);
      if (page.nextPageToken !== null && page.nextPageToken === token) {
        // The same token twice would page forever; stop loudly instead.
        throw this.malformed(spec, [{ pointer: '/next_page_token', message: 'repeats the token that requested this page' }], { next_page_token: token });
      }
      this.counters.pages += 1;
      this.counters.items += page.items;
      token = page.nextPageToken;
      yield { ...page, pageNumber };
    } while (token !== null);
  }

  private async getMeter<K extends LeapItemKind>(kind: K, path: string, meterId: string, signal: AbortSignal | undefined): Promise<LeapItemTypes[K]> {
    const spec: RequestSpec = { method: 'GET', path, idempotent: true, signal, notFound: { meterId } };
    const answer = await this.send(spec);
    const result = validateItem(kind, answer);
    if (!result.ok) throw this.malformed(spec, result.problems, answer);
    return result.item;
  }

  private async webhookIdAnswer(spec: RequestSpec): Promise<{ webhook_id: string }> {
    const body = await this.send(spec);
    if (!isObject(body) || typeof body.webhook_id !== 'string') throw this.malformed(spec, [{ pointer: '/webhook_id', message: 'must be a string' }]);
    return { webhook_id: body.webhook_id };
  }

  /** One call with its retries; answers Leap's parsed JSON or throws a LeapError. */
  private send(spec: RequestSpec): Promise<unknown> {
    return this.exchange(spec, (text) => Promise.resolve(parseJson(text)));
  }

  /** One call with its retries; answers what `decode` makes of the body, or throws a LeapError. */
  private async exchange<T>(spec: RequestSpec, decode: (text: string) => Promise<DecodedAnswer<T>>): Promise<T> {
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
    // Unreachable while maxAttempts >= 1 (checked at construction); kept for the type checker.
    throw new LeapUnavailableError(this.context(spec, maxAttempts), last?.cause ?? 'no attempt made');
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
      throw new LeapUnavailableError(this.context(spec, 0), this.scrub(`rate limiter failed: ${reason}`).slice(0, 300), 'check the shared rate limiter (Redis)');
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
    try {
      const res = await this.http.request<string>({ method: spec.method, url: spec.path, data: spec.body, signal: signal.signal });
      return {
        kind: 'response',
        status: res.status,
        text: typeof res.data === 'string' ? res.data : res.data === undefined || res.data === null ? '' : String(res.data),
        retryAfter: headerText(res.headers, 'retry-after'),
        location: headerText(res.headers, 'location'),
      };
    } catch (err) {
      if (spec.signal?.aborted || this.closing.signal.aborted) return { kind: 'aborted' };
      if (deadline.signal.aborted) return { kind: 'network', code: 'ETIMEDOUT', cause: `timeout: no complete answer within ${this.cfg.timeoutMs} ms`, timedOut: true, permanent: false };
      return this.networkOutcome(err);
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
    return { kind: 'network', code: timedOut ? 'ETIMEDOUT' : code, cause: this.scrub(`${code}: ${message}`).slice(0, 300), timedOut, permanent: PERMANENT_CODE.test(code) };
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
          cause: `HTTP ${status}${envelope.title ? ` "${this.scrub(envelope.title).slice(0, 200)}"` : ''}`,
          bodyExcerpt: this.excerpt(text),
          retryAfterMs: parseRetryAfter(outcome.retryAfter, this.now()),
        },
      };
    }
    throw this.clientError(spec, status, text, attempt, outcome.location);
  }

  /** A 2xx body that is not JSON (truncated, garbled): retried. */
  private notJson(status: number, text: string, reason: string): RetryableFailure {
    this.counters.malformedResponses += 1;
    return {
      kind: 'malformed',
      status,
      cause: `HTTP ${status} with a body that is not JSON (${reason})`,
      bodyExcerpt: this.excerpt(text),
      problems: [{ pointer: '', message: `is not valid JSON (${reason}; ${Buffer.byteLength(text)} bytes received)` }],
    };
  }

  /** 3xx/4xx: typed errors whose messages say what to check. Never retried. */
  private clientError(spec: RequestSpec, status: number, text: string, attempt: number, location: string | undefined): LeapError {
    const ctx = this.context(spec, attempt, status, this.excerpt(text));
    const envelope = parseEnvelope(text);
    const title = envelope.title === undefined ? undefined : this.scrub(envelope.title).slice(0, 500);
    const details = envelope.details === undefined ? undefined : this.scrubDetails(envelope.details);
    const tokenProblem = spec.hasPageToken === true && /page[\s_-]*token|cursor/i.test(`${title ?? ''} ${JSON.stringify(details ?? '')}`);
    switch (status) {
      case 400:
        return tokenProblem ? new LeapPageTokenExpiredError(ctx, title, details) : new LeapBadRequestError(ctx, title, details);
      case 401:
        return new LeapUnauthorizedError(ctx, title);
      case 403:
        return new LeapForbiddenError(ctx, title);
      case 404:
        return new LeapNotFoundError(ctx, { ...spec.notFound, leapTitle: title });
      case 410:
        return spec.hasPageToken ? new LeapPageTokenExpiredError(ctx, title, details) : new LeapBadRequestError(ctx, title, details);
      default:
        if (status >= 400 && status < 500) return new LeapBadRequestError(ctx, title ?? `HTTP ${status}`, details);
        return new LeapUnexpectedStatusError(ctx, title, location === undefined ? undefined : this.scrub(location).slice(0, 300));
    }
  }

  /** Leap's `details`, secrets removed; very large ones are cut to text rather than kept whole. */
  private scrubDetails(details: unknown): unknown {
    const text = this.scrub(JSON.stringify(details) ?? 'null');
    if (text.length > 4000) return `${text.slice(0, 4000)}…`;
    return JSON.parse(text) as unknown;
  }

  private malformed(spec: RequestSpec, problems: LeapPageProblem[], answer?: unknown): LeapMalformedPageError {
    const text = answer === undefined ? undefined : this.excerpt(JSON.stringify(answer) ?? '');
    const clean = problems.map((p) => ({
      ...p,
      pointer: this.scrub(p.pointer),
      message: this.scrub(p.message),
      ...(p.meter_id === undefined ? {} : { meter_id: this.scrub(p.meter_id) }),
    }));
    return new LeapMalformedPageError(this.context(spec, undefined, 200, text), clean);
  }

  private context(spec: RequestSpec, attempts?: number, status?: number, bodyExcerpt?: string): LeapRequestContext {
    return { method: spec.method, path: this.scrub(spec.path), pageNumber: spec.pageNumber, attempts, status, bodyExcerpt };
  }

  /** Removes the API key (whole or either half) and any bearer token from text bound for errors and logs. */
  private scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('[REDACTED]');
    return out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/:=-]+/gi, '$1 [REDACTED]');
  }

  /** At most 1 KB of an answer, secrets removed, cut on a character boundary. */
  private excerpt(text: string): string | undefined {
    if (text === '') return undefined;
    const clean = this.scrub(text);
    if (Buffer.byteLength(clean) <= EXCERPT_BYTES) return clean;
    const cut = Buffer.from(clean).subarray(0, EXCERPT_BYTES - 3).toString('utf8').replace(/\uFFFD+$/, '');
    return `${cut}…`;
  }
}

function checkConfig(cfg: LeapClientConfig): void {
  const problems: string[] = [];
  let url: URL | null = null;
  try {
    url = new URL(cfg.baseUrl);
  } catch {
    problems.push(`baseUrl must be an absolute http(s) URL, got ${JSON.stringify(cfg.baseUrl)}`);
  }
  if (url && url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`baseUrl must use http or https, got ${url.protocol}`);
  if (!cfg.apiKey) problems.push('apiKey is empty: set LEAP_API_KEY');
  if (cfg.apiVersion !== 'v1' && cfg.apiVersion !== 'v2') problems.push(`apiVersion must be v1 or v2, got ${JSON.stringify(cfg.apiVersion)}`);
  if (cfg.apiVersion === 'v1' && !cfg.accountId) problems.push('accountId is required for Leap API v1 (the Account ID on the Partner account page)');
  if (!Number.isInteger(cfg.pageSize) || cfg.pageSize < 1 || cfg.pageSize > MAX_PAGE_SIZE) problems.push(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${cfg.pageSize}`);
  if (!(cfg.timeoutMs > 0)) problems.push(`timeoutMs must be positive, got ${cfg.timeoutMs}`);
  if (!(cfg.rateLimit.requestsPerSecond > 0)) problems.push(`rateLimit.requestsPerSecond must be positive, got ${cfg.rateLimit.requestsPerSecond}`);
  if (!Number.isInteger(cfg.rateLimit.maxConcurrent) || cfg.rateLimit.maxConcurrent < 1) problems.push(`rateLimit.maxConcurrent must be an integer of at least 1, got ${cfg.rateLimit.maxConcurrent}`);
  if (!Number.isInteger(cfg.retry.maxAttempts) || cfg.retry.maxAttempts < 1) problems.push(`retry.maxAttempts must be an integer of at least 1, got ${cfg.retry.maxAttempts}`);
  if (!(cfg.retry.baseDelayMs >= 0)) problems.push(`retry.baseDelayMs must be 0 or more, got ${cfg.retry.baseDelayMs}`);
  if (!(cfg.retry.maxDelayMs >= cfg.retry.baseDelayMs)) problems.push(`retry.maxDelayMs must be at least retry.baseDelayMs, got ${cfg.retry.maxDelayMs}`);
  if (problems.length > 0) throw new ConfigError(problems, 'Invalid Leap client configuration');
}

/** The key and, for Leap's `id:secret` keys, each half long enough to be recognisable. */
function secretVariants(apiKey: string): string[] {
  const parts = apiKey.split(':').filter((p) => p.length >= 8);
  return [apiKey, ...(parts.length > 1 ? parts : [])].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
}

/** Leap's error bodies: `{title,status,details}` (meters), `{error,message}` (webhooks), `{code,message}` (dispatch), a bare JSON string (500). */
function parseEnvelope(text: string): { title?: string; details?: unknown } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return text.trim() ? { title: text.trim().slice(0, 500) } : {};
  }
  if (typeof body === 'string') return { title: body };
  if (!isObject(body)) return {};
  const title = firstString(body.title, body.message, body.error);
  const details = body.details !== undefined ? body.details : body.error_code !== undefined ? { error_code: body.error_code } : undefined;
  return { ...(title !== undefined ? { title } : {}), ...(details !== undefined ? { details } : {}) };
}

function firstString(...values: unknown[]): string | undefined {
  for (const v of values) if (typeof v === 'string' && v !== '') return v;
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function headerText(headers: unknown, name: string): string | undefined {
  if (!isObject(headers)) return undefined;
  const v = headers[name];
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  if (typeof v === 'number') return String(v);
  return undefined;
}

/** A signal that aborts when any input does; `dispose` detaches listeners so nothing leaks across calls. */
function anySignal(...inputs: (AbortSignal | undefined)[]): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const detach: (() => void)[] = [];
  for (const input of inputs) {
    if (!input) continue;
    if (input.aborted) {
      controller.abort(input.reason);
      break;
    }
    const onAbort = (): void => controller.abort(input.reason);
    input.addEventListener('abort', onAbort, { once: true });
    detach.push(() => input.removeEventListener('abort', onAbort));
  }
  return { signal: controller.signal, dispose: () => detach.forEach((d) => d()) };
}

function raceAbort(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
