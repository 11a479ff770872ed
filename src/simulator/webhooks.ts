/**
 * Leap's general webhook platform: subscriptions (the v1.1 Webhook Subscription API) and
 * delivery of `{webhook_event_id, payload}` envelopes to each subscribed receiver, with the
 * subscription's static headers (names lower-cased), success = 2xx within 10 s, and Leap's retry
 * schedule (immediately, 1, 2, 4, 8, 16, 29, 60, 120, 240 min) multiplied by a time scale.
 */
import type { Logger } from '../logger';
import { Rng, salt, seededUuid } from './random';
import type { LeapEventPayload } from './render-events';

export const WEBHOOK_EVENT_TYPES = [
  'meter.created',
  'connect_session.updated',
  'connect_session.authorization_updated',
  'meter.enrollment.global-status.updated',
  'meter.enrollment.participation-status.updated',
  'meter.enrollment.required-actions.updated',
  'meter.enrollment.group.updated',
] as const;

/** Minutes to wait before each of the ten attempts. */
export const RETRY_SCHEDULE_MINUTES = [0, 1, 2, 4, 8, 16, 29, 60, 120, 240] as const;
const SUCCESS_WITHIN_MS = 10_000;
const CONCURRENCY_PER_SUBSCRIPTION = 4;
const RECENT_LIMIT = 200;
const EVENT_LOG_LIMIT = 2000;

export interface WebhookHeader {
  name: string;
  value: string;
}

export interface WebhookSubscription {
  webhook_id: string;
  event_types: string[];
  headers: WebhookHeader[];
  receiver_url: string;
}

export interface WebhookRequestBody {
  event_types: string[];
  receiver_url: string;
  headers?: WebhookHeader[];
}

export interface LeapEnvelope {
  webhook_event_id: string;
  payload: LeapEventPayload | Record<string, unknown>;
}

export interface DeliveryRecord {
  webhookEventId: string;
  eventType: string;
  webhookId: string;
  attempt: number;
  ok: boolean;
  status?: number;
  error?: string;
  durationMs: number;
  at: string;
}

export interface WebhookStats {
  subscriptions: number;
  eventsEmitted: number;
  eventsByType: Record<string, number>;
  delivered: number;
  failedAttempts: number;
  gaveUp: number;
  pending: number;
  recent: DeliveryRecord[];
}

interface Delivery {
  webhookId: string;
  eventId: string;
  eventType: string;
  body: string;
  attempt: number;
}

interface SubscriptionQueue {
  queue: Delivery[];
  inFlight: number;
}

export function validateWebhookRequest(body: unknown): { ok: true; request: WebhookRequestBody } | { ok: false; message: string } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { ok: false, message: 'Request body must be a JSON object' };
  const b = body as Record<string, unknown>;
  if (!Array.isArray(b.event_types) || b.event_types.some((t) => typeof t !== 'string' || !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(t))) {
    return { ok: false, message: `event_types must be an array of: ${WEBHOOK_EVENT_TYPES.join(', ')}` };
  }
  if (typeof b.receiver_url !== 'string' || !/^https?:\/\/[^\s]+$/.test(b.receiver_url)) return { ok: false, message: 'receiver_url must be an http(s) URL' };
  const headers = b.headers ?? [];
  if (!Array.isArray(headers) || headers.some((h) => h === null || typeof h !== 'object' || typeof (h as WebhookHeader).name !== 'string' || typeof (h as WebhookHeader).value !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test((h as WebhookHeader).name))) {
    return { ok: false, message: 'headers must be an array of {name, value} strings with valid header names' };
  }
  return {
    ok: true,
    request: {
      event_types: [...(b.event_types as string[])],
      receiver_url: b.receiver_url,
      headers: (headers as WebhookHeader[]).map((h) => ({ name: h.name, value: h.value })),
    },
  };
}

export class LeapWebhooks {
  private readonly subscriptions = new Map<string, WebhookSubscription>();
  private readonly queues = new Map<string, SubscriptionQueue>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly abort = new AbortController();
  private readonly listeners = new Set<(envelope: LeapEnvelope) => void>();
  private readonly log: LeapEnvelope[] = [];
  private readonly recent: DeliveryRecord[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private readonly eventsByType: Record<string, number> = {};
  private eventCounter = 0;
  private subscriptionCounter = 0;
  private waitingRetries = 0;
  private delivered = 0;
  private failedAttempts = 0;
  private gaveUp = 0;
  private closed = false;
  private readonly eventPurpose = salt('webhook-event-id');
  private readonly subscriptionPurpose = salt('webhook-id');
  private readonly testRng: Rng;

  constructor(
    private readonly seed: number,
    private readonly timeScale: number,
    private readonly logger: Logger,
  ) {
    this.testRng = new Rng(seed, salt('webhook-test'));
  }

  list(): WebhookSubscription[] {
    return [...this.subscriptions.values()].map((s) => ({ ...s, event_types: [...s.event_types], headers: s.headers.map((h) => ({ ...h })) }));
  }

  get(id: string): WebhookSubscription | undefined {
    return this.subscriptions.get(id);
  }

  create(request: WebhookRequestBody): WebhookSubscription {
    const id = seededUuid(this.seed, this.subscriptionPurpose, ++this.subscriptionCounter);
    const sub: WebhookSubscription = { webhook_id: id, event_types: request.event_types, headers: request.headers ?? [], receiver_url: request.receiver_url };
    this.subscriptions.set(id, sub);
    this.queues.set(id, { queue: [], inFlight: 0 });
    return sub;
  }

  /** Replaces every setting (Leap's PUT does not merge). */
  update(id: string, request: WebhookRequestBody): boolean {
    if (!this.subscriptions.has(id)) return false;
    this.subscriptions.set(id, { webhook_id: id, event_types: request.event_types, headers: request.headers ?? [], receiver_url: request.receiver_url });
    return true;
  }

  /** Deletes the subscription; its queued and retrying deliveries are dropped. */
  delete(id: string): boolean {
    if (!this.subscriptions.delete(id)) return false;
    const q = this.queues.get(id);
    if (q) q.queue.length = 0;
    this.queues.delete(id);
    this.checkIdle();
    return true;
  }

  /** Called in-process for every event (tests use it to see events without a receiver). */
  onEvent(listener: (envelope: LeapEnvelope) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Wraps a payload in Leap's envelope and queues it for every subscription that wants its type. */
  emit(payload: LeapEventPayload): LeapEnvelope {
    const envelope: LeapEnvelope = { webhook_event_id: seededUuid(this.seed, this.eventPurpose, ++this.eventCounter), payload };
    const type = payload.webhook_event_type;
    this.eventsByType[type] = (this.eventsByType[type] ?? 0) + 1;
    this.log.push(envelope);
    if (this.log.length > EVENT_LOG_LIMIT) this.log.splice(0, this.log.length - EVENT_LOG_LIMIT);
    for (const l of this.listeners) l(envelope);
    if (this.closed) return envelope;
    let body: string | undefined;
    for (const sub of this.subscriptions.values()) {
      if (!sub.event_types.includes(type)) continue;
      body ??= JSON.stringify(envelope);
      this.enqueue({ webhookId: sub.webhook_id, eventId: envelope.webhook_event_id, eventType: type, body, attempt: 0 });
    }
    return envelope;
  }

  /** The most recent events (up to 2000), oldest first. */
  events(): LeapEnvelope[] {
    return [...this.log];
  }

  stats(): WebhookStats {
    return {
      subscriptions: this.subscriptions.size,
      eventsEmitted: this.eventCounter,
      eventsByType: { ...this.eventsByType },
      delivered: this.delivered,
      failedAttempts: this.failedAttempts,
      gaveUp: this.gaveUp,
      pending: this.pending(),
      recent: [...this.recent],
    };
  }

  /** Resolves once no delivery is queued, in flight or waiting for a retry. */
  idle(): Promise<void> {
    if (this.pending() === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** One delivery of a test event to the subscription's receiver, no retries (testWebhook). */
  async test(id: string, payload: Record<string, unknown>): Promise<{ is_successful: boolean; status_code?: number; response_time_ms?: number; error?: string } | null> {
    const sub = this.subscriptions.get(id);
    if (!sub) return null;
    const eventId = seededUuid(this.seed, salt('webhook-test-event'), this.testRng.nextU32());
    const result = await this.post(sub, JSON.stringify({ webhook_event_id: eventId, payload }));
    const out: { is_successful: boolean; status_code?: number; response_time_ms?: number; error?: string } = { is_successful: result.ok, response_time_ms: result.durationMs };
    if (result.status !== undefined) out.status_code = result.status;
    if (!result.ok) out.error = result.error ?? `Receiver answered ${result.status ?? 'nothing'}`;
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.waitingRetries = 0;
    for (const q of this.queues.values()) q.queue.length = 0;
    this.abort.abort();
    this.checkIdle();
  }

  private pending(): number {
    let n = this.waitingRetries;
    for (const q of this.queues.values()) n += q.queue.length + q.inFlight;
    return n;
  }

  private enqueue(d: Delivery): void {
    const q = this.queues.get(d.webhookId);
    if (!q || this.closed) return;
    q.queue.push(d);
    this.pump(d.webhookId);
  }

  private pump(webhookId: string): void {
    const q = this.queues.get(webhookId);
    if (!q) return;
    while (q.inFlight < CONCURRENCY_PER_SUBSCRIPTION && q.queue.length > 0) {
      const d = q.queue.shift() as Delivery;
      q.inFlight++;
      void this.attempt(d).finally(() => {
        q.inFlight--;
        this.pump(webhookId);
        this.checkIdle();
      });
    }
  }

  private async attempt(d: Delivery): Promise<void> {
    const sub = this.subscriptions.get(d.webhookId);
    if (!sub || this.closed) return;
    d.attempt++;
    const result = await this.post(sub, d.body);
    if (this.closed) return;
    this.record({ webhookEventId: d.eventId, eventType: d.eventType, webhookId: d.webhookId, attempt: d.attempt, ok: result.ok, status: result.status, error: result.error, durationMs: result.durationMs, at: new Date().toISOString() });
    if (result.ok) {
      this.delivered++;
      return;
    }
    this.failedAttempts++;
    if (d.attempt >= RETRY_SCHEDULE_MINUTES.length) {
      this.gaveUp++;
      this.logger.warn('Leap webhook delivery gave up', { webhook_id: d.webhookId, webhook_event_id: d.eventId, attempts: d.attempt });
      return;
    }
    const delay = RETRY_SCHEDULE_MINUTES[d.attempt] * 60_000 * this.timeScale;
    this.waitingRetries++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.waitingRetries--;
      this.enqueue(d);
      this.checkIdle();
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  private async post(sub: WebhookSubscription, body: string): Promise<{ ok: boolean; status?: number; error?: string; durationMs: number }> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Leap-Webhooks-Simulator/1.0' };
    for (const h of sub.headers) headers[h.name.toLowerCase()] = h.value;
    const started = performance.now();
    try {
      const res = await fetch(sub.receiver_url, { method: 'POST', headers, body, signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(SUCCESS_WITHIN_MS)]) });
      await res.arrayBuffer().catch(() => undefined);
      const durationMs = Math.round(performance.now() - started);
      const ok = res.status >= 200 && res.status < 300 && durationMs <= SUCCESS_WITHIN_MS;
      return ok ? { ok, status: res.status, durationMs } : { ok, status: res.status, error: `HTTP ${res.status}`, durationMs };
    } catch (err) {
      const durationMs = Math.round(performance.now() - started);
      const name = err instanceof Error ? err.name : '';
      const error = name === 'TimeoutError' ? `no answer within ${SUCCESS_WITHIN_MS / 1000} s` : err instanceof Error ? err.message : String(err);
      return { ok: false, error, durationMs };
    }
  }

  private record(r: DeliveryRecord): void {
    this.recent.push(r);
    if (this.recent.length > RECENT_LIMIT) this.recent.shift();
  }

  private checkIdle(): void {
    if (this.idleWaiters.length === 0 || (this.pending() > 0 && !this.closed)) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
