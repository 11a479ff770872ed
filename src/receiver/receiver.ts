/**
 * The sample partner receiver: what a partner's endpoint should do with the connector's webhooks.
 * It verifies every Standard Webhooks signature against the raw body bytes, de-duplicates on
 * `webhook-id`, watches per-meter sequence order, and answers quickly. The demo, the docs and the
 * benchmarks run it; `GET /_receiver/state` shows what arrived, `DELETE /_receiver/state` forgets it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_TOLERANCE_SECONDS, secretProblem, verify } from '../domain/signing';
import type { Logger } from '../logger';
import { DeliveryLedger, type DeliveryListener, type ReceivedDelivery, type ReceiverStats, type RejectReason } from './ledger';
import { type ConfirmerStats, type ReadinessConfirmation, ReadinessConfirmer } from './readiness-confirmer';

export type { DeliveryListener, OutOfOrderArrival, ReceivedDelivery, ReceiverStats, RejectReason } from './ledger';

export const RECEIVER_STATE_PATH = '/_receiver/state';
const DEFAULT_KEEP = 1000;
const DEFAULT_STATE_LIMIT = 50;
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_SEEN_IDS = 100_000;
const DEFAULT_TRACKED_METERS = 100_000;

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
  /** Confirm dispatch readiness to the connector for the meters it hears activated. */
  confirmReadiness?: ReadinessConfirmation;
}

/** The receiver: verifies, answers and records each delivery; independent of the HTTP server so it can be read in-process. */
export class SampleReceiver {
  private readonly secrets: string[];
  private readonly maxBodyBytes: number;
  private readonly toleranceSeconds: number;
  private readonly now: () => Date;
  private readonly ledger: DeliveryLedger;
  private confirmer: ReadinessConfirmer | null = null;

  constructor(private readonly options: ReceiverOptions) {
    if (!options.secrets.length) throw new Error('the receiver needs at least one whsec_ secret');
    for (const s of options.secrets) {
      const problem = secretProblem(s);
      if (problem) throw new Error(`receiver secret ${problem}`);
    }
    this.secrets = [...options.secrets];
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.toleranceSeconds = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
    this.now = options.now ?? (() => new Date());
    if (options.confirmReadiness) this.confirmer = new ReadinessConfirmer(options.confirmReadiness);
    this.ledger = new DeliveryLedger({ keep: options.keep ?? DEFAULT_KEEP, seenIds: options.seenIds ?? DEFAULT_SEEN_IDS, trackedMeters: options.trackedMeters ?? DEFAULT_TRACKED_METERS, logger: options.logger });
  }

  /** The last deliveries (up to `keep`), oldest first. */
  received(): ReceivedDelivery[] {
    return this.ledger.received();
  }

  stats(): ReceiverStats {
    return this.ledger.stats();
  }

  /** Called for every delivery after it is recorded; returns an unsubscribe function. */
  onDelivery(listener: DeliveryListener): () => void {
    return this.ledger.onDelivery(listener);
  }

  /** From now on, confirm readiness for the meters heard activated (the demo learns the connector's URL late). */
  confirmReadinessVia(c: ReadinessConfirmation): void {
    void this.confirmer?.close();
    this.confirmer = new ReadinessConfirmer(c);
  }

  /** What the readiness confirmer did; null when it is off. */
  confirmations(): ConfirmerStats | null {
    return this.confirmer?.stats() ?? null;
  }

  /** Stops confirming; waits for confirmations in flight. */
  async close(): Promise<void> {
    await this.confirmer?.close();
  }

  /** Forgets deliveries, counters, seen ids and sequence positions. */
  reset(): void {
    this.ledger.reset();
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
    this.ledger.arrived();

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
      this.ledger.reject(delivery, reason);
      this.options.logger?.warn('receiver rejected a delivery', { reason, webhook_id: id, path });
      sendJson(res, delivery.status, { reason, message: REASON_TEXT[reason] });
      return;
    }

    delivery.valid = true;
    this.ledger.verified();
    if (this.ledger.isRepeat(id)) {
      // Already processed: a partner acknowledges a repeat without acting on it again.
      delivery.duplicate = true;
      this.ledger.repeat(delivery);
      sendJson(res, 200, { ok: true, duplicate: true });
      return;
    }
    const custom = this.options.behaviour?.respond?.(delivery);
    const status = custom?.status ?? this.options.behaviour?.status ?? 200;
    const delayMs = custom?.delayMs ?? this.options.behaviour?.delayMs ?? 0;
    delivery.status = status;
    const ok = status >= 200 && status < 300;
    if (ok) {
      this.ledger.accept(delivery);
      this.confirmer?.heard(delivery);
    }
    else this.ledger.refuse(delivery);
    const answer = (): void => sendJson(res, status, ok ? { ok: true, duplicate: false } : { reason: 'refused_by_behaviour', message: 'the receiver is configured to refuse this delivery' });
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
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
    const last = this.ledger.last(limit);
    sendJson(res, 200, {
      ...this.ledger.stats(),
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
        server.close(() => void receiver.close().then(resolve));
        // Idle keep-alive sockets from the sender would otherwise hold the close open.
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
