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
import { type LeapSearchOptions, MAX_PAGE_SIZE, type MeterSearchOptions } from './leap-meter-reads';
import * as v1 from './leap-meters-v1';
import * as v2 from './leap-meters-v2';
import { type LeapClientOptions, type LeapClientStats, LeapTransport, type LeapTransportConfig } from './leap-transport';
import type { DecodedPage } from './leap-validate';
import type { LeapWebhookSubscription, LeapWebhookSubscriptionInput, LeapWebhookTestPayload, LeapWebhookTestResult } from './leap-webhook-types';
import * as webhooks from './leap-webhooks';

export type { LeapSearchOptions } from './leap-meter-reads';
export type { PageDecoder } from './leap-meters-v2';
export type { LeapCallObserver, LeapCallStatus, LeapClientOptions, LeapClientStats, LeapEndpoint } from './leap-transport';
export { LEAP_ENDPOINTS, leapEndpoint } from './leap-transport';
export type { DecodedAnswer, DecodedPage } from './leap-validate';

export interface LeapClientConfig extends LeapTransportConfig {
  apiVersion: 'v1' | 'v2';
  /** Leap's Account ID; v1 paths carry it, v2 does not. */
  accountId?: string;
  /** 1..500; Leap's maximum (500) means the fewest calls. */
  pageSize: number;
}

/**
 * Leap's meters API (v2 details and enrollments, v1 meters) and webhook subscription API.
 * Every request goes through one LeapTransport: one limiter, retries with capped, jittered
 * backoff, a typed LeapError for every failure. Searches are async generators: one request in
 * flight per search and nothing kept between pages.
 */
export class LeapClient {
  private readonly transport: LeapTransport;

  constructor(
    private readonly cfg: LeapClientConfig,
    logger: Logger,
    opts: LeapClientOptions = {},
  ) {
    checkConfig(cfg);
    this.transport = new LeapTransport(cfg, logger, opts);
  }

  // ---- v2 ---------------------------------------------------------------------------------

  /** `POST /v2/meters/search`, page by page. */
  searchDetails(filter: LeapSearchFilter, opts: LeapSearchOptions = {}): AsyncGenerator<LeapPage<LeapMeterDetails>, void, undefined> {
    return v2.searchDetails(this.transport, filter, this.withPageSize(opts));
  }

  /** `POST /v2/meters/enrollments/search`, page by page. */
  searchEnrollments(filter: LeapSearchFilter, opts: LeapSearchOptions = {}): AsyncGenerator<LeapPage<LeapMeterEnrollment>, void, undefined> {
    return v2.searchEnrollments(this.transport, filter, this.withPageSize(opts));
  }

  /**
   * A v2 search whose answers are parsed and checked by `decode` (the sync's page thread) instead
   * of here: what it keeps of each page is answered with the paging token. Requests, limits and
   * retries are the same as `searchDetails` / `searchEnrollments`.
   */
  searchDecoded<P>(kind: 'details' | 'enrollment', filter: LeapSearchFilter, decode: v2.PageDecoder<P>, opts: LeapSearchOptions = {}): AsyncGenerator<DecodedPage<P> & { pageNumber: number }, void, undefined> {
    return v2.searchDecoded(this.transport, kind, filter, decode, this.withPageSize(opts));
  }

  /** `GET /v2/meters/{id}`; an unknown meter is LeapNotFoundError. */
  getDetails(meterId: string, opts: { signal?: AbortSignal } = {}): Promise<LeapMeterDetails> {
    return v2.getDetails(this.transport, meterId, opts.signal);
  }

  /** `GET /v2/meters/{id}/enrollments`. */
  getEnrollment(meterId: string, opts: { signal?: AbortSignal } = {}): Promise<LeapMeterEnrollment> {
    return v2.getEnrollment(this.transport, meterId, opts.signal);
  }

  // ---- v1 ---------------------------------------------------------------------------------

  /** `POST /v1.1/account/{account_id}/meters/search`, page by page. */
  searchMetersV1(filter: LeapV1SearchFilter, opts: LeapSearchOptions = {}): AsyncGenerator<LeapPage<LeapV1Meter>, void, undefined> {
    return v1.searchMeters(this.transport, this.cfg.accountId, filter, this.withPageSize(opts));
  }

  /** `GET /v1.1/account/{account_id}/meters/{meter_id}`. */
  getMeterV1(meterId: string, opts: { signal?: AbortSignal } = {}): Promise<LeapV1Meter> {
    return v1.getMeter(this.transport, this.cfg.accountId, meterId, opts.signal);
  }

  // ---- Leap's webhook subscriptions (/v1.1/webhooks) -----------------------------------------

  async listWebhooks(): Promise<LeapWebhookSubscription[]> {
    return webhooks.list(this.transport);
  }

  /** Leap has no idempotency key: a create is retried only when Leap surely never saw it. */
  async createWebhook(input: LeapWebhookSubscriptionInput): Promise<{ webhook_id: string }> {
    return webhooks.create(this.transport, input);
  }

  /** PUT replaces every setting of the subscription; nothing is merged. */
  async updateWebhook(webhookId: string, input: LeapWebhookSubscriptionInput): Promise<{ webhook_id: string }> {
    return webhooks.update(this.transport, webhookId, input);
  }

  async deleteWebhook(webhookId: string): Promise<void> {
    await webhooks.remove(this.transport, webhookId);
  }

  /** Asks Leap to send a test event to the subscription's receiver and reports how it went. */
  async testWebhook(webhookId: string, payload: LeapWebhookTestPayload): Promise<LeapWebhookTestResult> {
    return webhooks.test(this.transport, webhookId, payload);
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  stats(): LeapClientStats {
    return this.transport.stats();
  }

  /** Aborts in-flight calls, stops the limiter this client created, and closes idle sockets. */
  close(): Promise<void> {
    return this.transport.close();
  }

  /** The caller's page size, or the configured one. */
  private withPageSize(opts: LeapSearchOptions): MeterSearchOptions {
    return { ...opts, pageSize: opts.pageSize ?? this.cfg.pageSize };
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
