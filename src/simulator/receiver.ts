/**
 * The sample partner receiver: what a partner's endpoint should do with the connector's webhooks.
 * It verifies every Standard Webhooks signature against the raw body bytes, de-duplicates on
 * `webhook-id`, watches per-meter sequence order, and answers quickly. The demo, the docs and the
 * benchmarks run it; `GET /_receiver/state` shows what arrived, `DELETE /_receiver/state` forgets it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_TOLERANCE_SECONDS, secretProblem, verify, type VerifyFailure } from '../domain/signing';
import type { Logger } from '../logger';

export const RECEIVER_STATE_PATH = '/_receiver/state';
const DEFAULT_KEEP = 1000;
const DEFAULT_STATE_LIMIT = 50;
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_SEEN_IDS = 100_000;
const DEFAULT_TRACKED_METERS = 100_000;
const OUT_OF_ORDER_KEEP = 200;

export type RejectReason = VerifyFailure | 'invalid_json' | 'body_too_large';

/** One POST the receiver saw, signed or not. */
export interface ReceivedDelivery {
  /** `webhook-id`, the idempotency key (null when the header is missing). */
  id: string | null;
  /** `webhook-timestamp` as sent: Unix seconds of this attempt. */
  timestamp: number | null;
  type: string | null;
  meterId: string | null;
  sequence: number | null;
  /** The URL path it was posted to; one receiver can stand in for several destinations. */
  path: string;
  /** The raw body, exactly as received. */
  body: string;
  headers: http.IncomingHttpHeaders;
  /** When it arrived, ISO 8601. */
  receivedAt: string;
  valid: boolean;
  /** Why it was rejected (signature, JSON or size); null when accepted. */
  reason: RejectReason | null;
  /** A valid repeat of a `webhook-id` already accepted: answered 2xx, not counted again. */
  duplicate: boolean;
  /** A lower sequence than one already accepted for the same meter on the same path. */
  outOfOrder: boolean;
  /** The HTTP status the receiver answered. */
  status: number;
}

export interface OutOfOrderArrival {
  path: string;
  meterId: string;
  sequence: number;
  /** The highest sequence already accepted for that meter on that path. */
  afterSequence: number;
  id: string | null;
  receivedAt: string;
}

export interface ReceiverStats {
  /** Every delivery POST, whatever became of it. */
  received: number;
  valid: number;
  invalid: number;
  duplicates: number;
  /** Valid, first-seen deliveries answered 2xx: what the partner actually processed. */
  accepted: number;
  /** Valid deliveries the configured behaviour answered with a non-2xx status. */
  refused: number;
  out_of_order: number;
  /** Accepted deliveries by event type (duplicates not counted twice). */
  by_type: Record<string, number>;
  /** Invalid deliveries by reason. */
  invalid_by_reason: Partial<Record<RejectReason, number>>;
  /** The last out-of-order arrivals (at most 200). */
  out_of_order_recent: OutOfOrderArrival[];
  since: string;
}

/** How the receiver answers a valid delivery: by default 200 at once. */
export interface ReceiverBehaviour {
  /** Status for valid deliveries (default 200); a non-2xx leaves the id unseen so a retry counts. */
  status?: number;
  /** Wait this long before answering (a slow partner). */
  delayMs?: number;
  /** Per-delivery override, e.g. fail every tenth meter; wins over `status` and `delayMs`. */
  respond?: (delivery: ReceivedDelivery) => { status?: number; delayMs?: number } | undefined;
}

export interface ReceiverOptions {
  /** `whsec_` secrets; a delivery is valid when any `v1` signature matches any of them (rotation). */
  secrets: string[];
  port?: number;
  host?: string;
  logger?: Logger;
  /** Accepted clock skew of `webhook-timestamp` (default 300 s, the reference libraries' value). */
  toleranceSeconds?: number;
  behaviour?: ReceiverBehaviour;
  /** How many deliveries to keep for `received()` and the state page (default 1000). */
  keep?: number;
  /** How many accepted `webhook-id`s to remember for de-duplication (default 100,000). */
  seenIds?: number;
  /** How many (path, meter) sequence positions to remember (default 100,000). */
  trackedMeters?: number;
  /** Larger bodies are answered 413 (default 1 MiB). */
  maxBodyBytes?: number;
  /** For tests of the timestamp tolerance. */
  now?: () => Date;
}

export type DeliveryListener = (delivery: ReceivedDelivery) => void;

/** A capacity-bounded set that forgets its oldest entries first. */
class BoundedSet {
  private readonly items = new Set<string>();
  constructor(private readonly capacity: number) {}
  has(value: string): boolean {
    return this.items.has(value);
  }
  add(value: string): void {
    this.items.add(value);
    if (this.items.size > this.capacity) this.items.delete(this.items.values().next().value as string);
  }
  clear(): void {
    this.items.clear();
  }
}

/** The receiver's bookkeeping, independent of the HTTP server so it can be read in-process. */
export class SampleReceiver {
  private readonly secrets: string[];
  private readonly keep: number;
  private readonly maxBodyBytes: number;
  private readonly toleranceSeconds: number;
  private readonly now: () => Date;
  private readonly seen: BoundedSet;
  /** Highest accepted sequence per `path\0meter`; re-inserted on update so eviction drops the stalest. */
  private readonly positions = new Map<string, number>();
  private readonly trackedMeters: number;
  private readonly listeners = new Set<DeliveryListener>();
  private recent: ReceivedDelivery[] = [];
  private counts!: Omit<ReceiverStats, 'out_of_order_recent' | 'since'>;
  private outOfOrderRecent: OutOfOrderArrival[] = [];
  private since = new Date();

  constructor(private readonly options: ReceiverOptions) {
    if (!options.secrets.length) throw new Error('the receiver needs at least one whsec_ secret');
    for (const s of options.secrets) {
      const problem = secretProblem(s);
      if (problem) throw new Error(`receiver secret ${problem}`);
    }
    this.secrets = [...options.secrets];
    this.keep = options.keep ?? DEFAULT_KEEP;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.toleranceSeconds = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
    this.now = options.now ?? (() => new Date());
    this.seen = new BoundedSet(options.seenIds ?? DEFAULT_SEEN_IDS);
    this.trackedMeters = options.trackedMeters ?? DEFAULT_TRACKED_METERS;
    this.resetCounts();
  }

  /** The last deliveries (up to `keep`), oldest first. */
  received(): ReceivedDelivery[] {
    return this.lastDeliveries(this.keep);
  }

  private lastDeliveries(n: number): ReceivedDelivery[] {
    return this.recent.slice(Math.max(0, this.recent.length - n));
  }

  stats(): ReceiverStats {
    return {
      ...this.counts,
      by_type: { ...this.counts.by_type },
      invalid_by_reason: { ...this.counts.invalid_by_reason },
      out_of_order_recent: [...this.outOfOrderRecent],
      since: this.since.toISOString(),
    };
  }

  /** Called for every delivery after it is recorded; returns an unsubscribe function. */
  onDelivery(listener: DeliveryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forgets deliveries, counters, seen ids and sequence positions. */
  reset(): void {
    this.recent = [];
    this.outOfOrderRecent = [];
    this.seen.clear();
    this.positions.clear();
    this.resetCounts();
    this.since = new Date();
  }

  /** The node:http handler; exposed so the receiver can share a server with something else. */
  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const path = pathOf(req.url);
    if (path === RECEIVER_STATE_PATH) {
      this.stateRoute(req, res);
      // Drain any request body so the keep-alive connection stays usable.
      req.resume();
      return;
    }
    if (req.method !== 'POST') {
      req.resume();
      sendJson(res, 405, { reason: 'method_not_allowed', message: 'deliveries are POSTs' }, { allow: 'POST' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > this.maxBodyBytes) {
        tooLarge = true;
        chunks.length = 0;
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      // Too large: keep nothing of the body, so a flood of big posts cannot grow memory.
      const raw = tooLarge ? Buffer.alloc(0) : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      this.deliver(req, res, path, raw, tooLarge);
    });
    req.on('error', () => res.destroy());
  };

  private deliver(req: http.IncomingMessage, res: http.ServerResponse, path: string, raw: Buffer, tooLarge: boolean): void {
    const headers = req.headers;
    const id = header(headers, 'webhook-id');
    const tsText = header(headers, 'webhook-timestamp');
    const ts = tsText !== null && /^\d+$/.test(tsText) ? Number(tsText) : null;
    const body = raw.toString('utf8');
    const now = this.now();
    const delivery: ReceivedDelivery = {
      id,
      timestamp: ts,
      type: null,
      meterId: null,
      sequence: null,
      path,
      body,
      headers,
      receivedAt: now.toISOString(),
      valid: false,
      reason: null,
      duplicate: false,
      outOfOrder: false,
      status: 200,
    };
    this.counts.received += 1;

    // Signature first, over the raw bytes: a body is never trusted (or parsed) before it is verified.
    const failure: RejectReason | null = tooLarge ? 'body_too_large' : verify(this.secrets, headers, raw, now, this.toleranceSeconds);
    let parsed: unknown;
    let reason: RejectReason | null = failure;
    if (!reason) {
      try {
        parsed = JSON.parse(body);
      } catch {
        reason = 'invalid_json';
      }
    }
    if (parsed !== null && typeof parsed === 'object') readEnvelope(parsed as Record<string, unknown>, delivery);
    if (reason) {
      delivery.reason = reason;
      delivery.status = reason === 'body_too_large' ? 413 : reason === 'invalid_json' ? 400 : 401;
      this.counts.invalid += 1;
      this.counts.invalid_by_reason[reason] = (this.counts.invalid_by_reason[reason] ?? 0) + 1;
      this.record(delivery);
      this.options.logger?.warn('receiver rejected a delivery', { reason, webhook_id: id, path });
      sendJson(res, delivery.status, { reason, message: REASON_TEXT[reason] });
      return;
    }

    delivery.valid = true;
    this.counts.valid += 1;
    if (id !== null && this.seen.has(id)) {
      // Already processed: a partner acknowledges a repeat without acting on it again.
      delivery.duplicate = true;
      this.counts.duplicates += 1;
      this.record(delivery);
      sendJson(res, 200, { ok: true, duplicate: true });
      return;
    }
    const custom = this.options.behaviour?.respond?.(delivery);
    const status = custom?.status ?? this.options.behaviour?.status ?? 200;
    const delayMs = custom?.delayMs ?? this.options.behaviour?.delayMs ?? 0;
    delivery.status = status;
    const ok = status >= 200 && status < 300;
    if (ok) {
      // Only an answered 2xx marks the id as seen: a refused delivery's retry is its first acceptance.
      if (id !== null) this.seen.add(id);
      this.counts.accepted += 1;
      const type = delivery.type ?? '(none)';
      this.counts.by_type[type] = (this.counts.by_type[type] ?? 0) + 1;
      this.trackSequence(delivery);
    } else {
      this.counts.refused += 1;
    }
    this.record(delivery);
    const answer = (): void => sendJson(res, status, ok ? { ok: true, duplicate: false } : { reason: 'refused_by_behaviour', message: 'the receiver is configured to refuse this delivery' });
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  }

  private trackSequence(d: ReceivedDelivery): void {
    if (d.meterId === null || d.sequence === null) return;
    const key = `${d.path}\u0000${d.meterId}`;
    const highest = this.positions.get(key);
    if (highest !== undefined && d.sequence < highest) {
      d.outOfOrder = true;
      this.counts.out_of_order += 1;
      this.outOfOrderRecent.push({ path: d.path, meterId: d.meterId, sequence: d.sequence, afterSequence: highest, id: d.id, receivedAt: d.receivedAt });
      if (this.outOfOrderRecent.length > OUT_OF_ORDER_KEEP) this.outOfOrderRecent.shift();
      this.options.logger?.warn('receiver saw a meter sequence out of order', { path: d.path, meter_id: d.meterId, sequence: d.sequence, after: highest });
      return;
    }
    if (highest !== undefined) this.positions.delete(key);
    this.positions.set(key, d.sequence);
    if (this.positions.size > this.trackedMeters) this.positions.delete(this.positions.keys().next().value as string);
  }

  private record(d: ReceivedDelivery): void {
    this.recent.push(d);
    // Trim in batches so the list costs O(1) per delivery on average.
    if (this.recent.length > this.keep + Math.max(64, this.keep)) this.recent.splice(0, this.recent.length - this.keep);
    for (const l of this.listeners) {
      try {
        l(d);
      } catch (err) {
        this.options.logger?.error('receiver delivery listener failed', { err });
      }
    }
  }

  private stateRoute(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method === 'DELETE') {
      this.reset();
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'GET') {
      sendJson(res, 405, { reason: 'method_not_allowed', message: 'GET or DELETE' }, { allow: 'GET, DELETE' });
      return;
    }
    const limitText = new URL(req.url ?? '/', 'http://receiver').searchParams.get('limit');
    const limit = limitText !== null && /^\d+$/.test(limitText) ? Number(limitText) : DEFAULT_STATE_LIMIT;
    const last = this.lastDeliveries(Math.min(limit, this.keep));
    sendJson(res, 200, {
      ...this.stats(),
      deliveries: last.map((d) => ({
        id: d.id,
        timestamp: d.timestamp,
        type: d.type,
        meter_id: d.meterId,
        sequence: d.sequence,
        path: d.path,
        received_at: d.receivedAt,
        valid: d.valid,
        reason: d.reason,
        duplicate: d.duplicate,
        out_of_order: d.outOfOrder,
        status: d.status,
        headers: d.headers,
        body: d.body,
      })),
    });
  }

  private resetCounts(): void {
    this.counts = { received: 0, valid: 0, invalid: 0, duplicates: 0, accepted: 0, refused: 0, out_of_order: 0, by_type: {}, invalid_by_reason: {} };
  }
}

const REASON_TEXT: Record<RejectReason, string> = {
  missing_headers: 'webhook-id, webhook-timestamp and webhook-signature are required',
  invalid_timestamp: 'webhook-timestamp must be Unix seconds',
  timestamp_too_old: 'webhook-timestamp is older than the tolerance',
  timestamp_too_new: 'webhook-timestamp is further in the future than the tolerance',
  no_matching_signature: 'no v1 signature matches any of the receiver secrets',
  invalid_json: 'the signed body is not JSON',
  body_too_large: 'the body is larger than the receiver accepts',
};

function header(headers: http.IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? null;
}

function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q < 0 ? u : u.slice(0, q);
}

/** Fills type, meter and sequence from `{type, data: {meter_id, sequence}}`, ignoring anything else. */
function readEnvelope(body: Record<string, unknown>, d: ReceivedDelivery): void {
  if (typeof body.type === 'string') d.type = body.type;
  const data = body.data;
  if (data === null || typeof data !== 'object') return;
  const { meter_id: meterId, sequence } = data as Record<string, unknown>;
  if (typeof meterId === 'string') d.meterId = meterId;
  if (typeof sequence === 'number' && Number.isFinite(sequence)) d.sequence = sequence;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export interface RunningReceiver {
  /** Base URL, e.g. `http://127.0.0.1:4020`; deliveries may be posted to any path under it. */
  url: string;
  port: number;
  receiver: SampleReceiver;
  close(): Promise<void>;
}

/** Starts the sample receiver on a real port (0 picks a free one). */
export async function startReceiver(options: ReceiverOptions): Promise<RunningReceiver> {
  const receiver = new SampleReceiver(options);
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer({ keepAliveTimeout: 30_000 }, receiver.handle);
  // A benchmark opens many keep-alive sockets at once; the default backlog would refuse some.
  server.listen({ port: options.port ?? 0, host, backlog: 1024 });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    receiver,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets from the sender would otherwise hold the close open.
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
