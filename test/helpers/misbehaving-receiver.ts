import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A partner endpoint that misbehaves on purpose, for delivery tests: a real HTTP server on port 0
 * that answers each request from a one-shot queue, then from rules, then from a default, and
 * records everything it was sent.
 *
 * It checks every Standard Webhooks signature with its own HMAC code (deliberately not
 * src/domain/signing.ts), so a bug in the product's signer shows up here instead of being
 * agreed with.
 *
 * @example
 * const partner = await startMisbehavingReceiver({ secrets: [secret] });
 * partner.queue({ kind: 'status', status: 503 }, { kind: 'retryAfter', status: 429, after: 2 });
 * partner.setRule({ meterId: 'm-7', answer: { kind: 'sleep', ms: 15_000 } });
 * // ... point a destination at partner.url and run the delivery worker ...
 * await partner.waitFor(3, 5_000);
 * assert.ok(partner.requests.every((r) => r.signature.valid));
 * assert.deepEqual(partner.byMeter('m-1').map((r) => r.sequence), [1, 2, 3]);
 * await partner.close();
 */

/** What the receiver does with one request. */
export type Answer =
  /** A plain status (200/201/204, 400/404/410/413/422, 500/502/503...) with an optional body and headers. */
  | { kind: 'status'; status: number; body?: string | object; headers?: Record<string, string> }
  /**
   * 429 or 503 with `Retry-After`: a number is seconds, a Date is sent as an HTTP date, a string
   * is sent verbatim (for malformed values).
   */
  | { kind: 'retryAfter'; status: 429 | 503; after: number | Date | string; body?: string | object }
  /** Hold the request this long, then answer `then` (default 200): provokes the sender's timeout. */
  | { kind: 'sleep'; ms: number; then?: Answer }
  /** Hold the request until `release()`, then answer `then` (default 200): concurrency tests without clocks. */
  | { kind: 'hold'; then?: Answer }
  /**
   * Reset the TCP connection (RST) instead of answering. `after: 'request'` (default) resets once
   * the request body has been read and nothing was answered; `'headers'` sends the status line,
   * headers and part of the body first.
   */
  | { kind: 'reset'; after?: 'request' | 'headers' }
  /** A redirect with Location (default: this server's `/redirected`); a sender must not follow it. */
  | { kind: 'redirect'; status: 301 | 302 | 303 | 307 | 308; location?: string }
  /**
   * A body no sender should choke on: `nonJson` text, a `huge` body (default 64 KiB, more than
   * 16 KB), or `invalidUtf8` bytes labelled as UTF-8 JSON.
   */
  | { kind: 'garbage'; form: 'nonJson' | 'huge' | 'invalidUtf8'; status?: number; bytes?: number }
  /** Headers at once, then the body a chunk at a time: `chunks` writes, `intervalMs` apart. */
  | { kind: 'drip'; chunks: number; intervalMs: number; status?: number };

/** A request-dependent answer. */
export type AnswerFn = (request: RecordedRequest) => Answer;

/** Chooses an answer for the requests it matches; rules are tried in the order they were set. */
export interface Rule {
  /** Only requests for this meter (`data.meter_id`). */
  meterId?: string;
  /** Only this event type (`type`). */
  type?: string;
  /** Only this path. */
  path?: string;
  /** Any other condition. */
  when?: (request: RecordedRequest) => boolean;
  answer: Answer | AnswerFn;
  /** Applies to this many matching requests, then retires (default: forever). */
  times?: number;
}

export type SignatureProblem = 'missing_headers' | 'invalid_timestamp' | 'timestamp_too_old' | 'timestamp_too_new' | 'no_matching_signature';

export interface SignatureCheck {
  valid: boolean;
  problem: SignatureProblem | null;
  /** Indexes (into `secrets`) of the secrets some `v1` entry matched: both during a rotation. */
  matchedSecrets: number[];
  /** How many `v1,` entries the header carried. */
  v1Entries: number;
}

/** One request, in arrival order. */
export interface RecordedRequest {
  /** 0-based arrival order over the receiver's life (`reset()` does not restart it). */
  index: number;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The body bytes exactly as received. */
  rawBody: Buffer;
  bodyText: string;
  /** The body parsed as JSON, or undefined. */
  json: unknown;
  webhookId: string | null;
  /** `webhook-timestamp` as sent (Unix seconds), or null. */
  timestamp: number | null;
  type: string | null;
  meterId: string | null;
  sequence: number | null;
  signature: SignatureCheck;
  /** Requests in flight when this one arrived, itself included. */
  concurrency: number;
  /** What the receiver did, and the status it sent (null for a reset). */
  answer: Answer;
  status: number | null;
  /** Answered 2xx: the partner "processed" it. */
  accepted: boolean;
  /** An accepted request whose `webhook-id` was accepted before. */
  duplicate: boolean;
  /** An accepted request with a lower sequence than one accepted earlier for the same meter. */
  outOfOrder: boolean;
  /** Set by the rate limit mode. */
  rateLimited: boolean;
  /** performance.now() at arrival and once the response finished or the socket was dropped. */
  arrivedAt: number;
  finishedAt: number | null;
}

export interface MisbehavingReceiverOptions {
  /** `whsec_` secrets the signatures are checked against. */
  secrets: string[];
  /** Default ±300 s, as the reference libraries. */
  toleranceSeconds?: number;
  /** Answer invalid signatures 401 before any scripted answer (default true: a signer bug fails loudly). */
  rejectInvalidSignatures?: boolean;
  /** Answer when no queued answer or rule applies (default 200). */
  defaultAnswer?: Answer | AnswerFn;
  /** For timestamp tolerance tests. */
  now?: () => Date;
}

const HUGE_DEFAULT_BYTES = 64 * 1024;

/**
 * The receiver's own Standard Webhooks HMAC: base64(HMAC-SHA256(base64-decoded secret,
 * `${id}.${timestamp}.${body}`)), prefixed `v1,`. Tests can use it to sign requests they send.
 */
export function computeSignature(secret: string, webhookId: string, timestamp: number | string, body: Buffer | string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${webhookId}.${timestamp}.`).update(body).digest('base64')}`;
}

/** Checks `webhook-*` headers against the secrets, per the Standard Webhooks specification. */
export function checkSignature(
  secrets: readonly string[],
  headers: http.IncomingHttpHeaders | Record<string, string | undefined>,
  body: Buffer | string,
  now: Date,
  toleranceSeconds = 300,
): SignatureCheck {
  const one = (name: string): string | undefined => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const id = one('webhook-id');
  const ts = one('webhook-timestamp');
  const sig = one('webhook-signature');
  const fail = (problem: SignatureProblem, v1Entries = 0): SignatureCheck => ({ valid: false, problem, matchedSecrets: [], v1Entries });
  if (!id || !ts || !sig) return fail('missing_headers');
  if (!/^\d+$/.test(ts)) return fail('invalid_timestamp');
  const entries = sig.split(' ').filter((e) => e.startsWith('v1,'));
  const age = Math.floor(now.getTime() / 1000) - Number(ts);
  if (age > toleranceSeconds) return fail('timestamp_too_old', entries.length);
  if (age < -toleranceSeconds) return fail('timestamp_too_new', entries.length);
  const presented = entries.map((e) => Buffer.from(e.slice(3), 'base64'));
  const matched: number[] = [];
  secrets.forEach((secret, i) => {
    const expected = Buffer.from(computeSignature(secret, id, ts, body).slice(3), 'base64');
    if (presented.some((p) => p.length === expected.length && timingSafeEqual(p, expected))) matched.push(i);
  });
  return matched.length ? { valid: true, problem: null, matchedSecrets: matched, v1Entries: entries.length } : fail('no_matching_signature', entries.length);
}

interface LiveRule extends Rule {
  remaining: number;
}

export class MisbehavingReceiver {
  /** Every request since start or the last `reset()`, in arrival order. */
  requests: RecordedRequest[] = [];
  /** Most requests in flight at one moment (the sender's effective concurrency). */
  maxConcurrency = 0;
  /** How many 429s the rate limit mode gave. */
  rateLimited = 0;
  /** Requests to a Location this receiver redirected to: a sender that follows redirects shows up here. */
  redirectsFollowed = 0;
  url = '';
  port = 0;

  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private oneShots: (Answer | AnswerFn)[] = [];
  private rules: LiveRule[] = [];
  private defaultAnswer: Answer | AnswerFn;
  private secrets: string[];
  private inFlight = 0;
  private arrivals = 0;
  private limit: { perSecond: number; retryAfter: 'seconds' | 'httpDate'; window: number[] } | null = null;
  private readonly redirectTargets = new Set<string>();
  private readonly acceptedIds = new Set<string>();
  private readonly highestAccepted = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private reopenTimer: NodeJS.Timeout | undefined;
  private held: (() => void)[] = [];

  constructor(private readonly options: MisbehavingReceiverOptions) {
    this.secrets = [...options.secrets];
    this.defaultAnswer = options.defaultAnswer ?? { kind: 'status', status: 200, body: { ok: true } };
  }

  /** Listens on port 0 (or `port`, used by `reopen()`), 127.0.0.1. */
  async start(port = 0): Promise<this> {
    const server = http.createServer((req, res) => this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await listen(server, port);
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  /** One-shot answers, consumed in order by the next requests (before any rule). */
  queue(...answers: (Answer | AnswerFn)[]): this {
    this.oneShots.push(...answers);
    return this;
  }

  /** Adds a rule after the existing ones; returns a function that removes it. */
  setRule(rule: Rule): () => void {
    const live: LiveRule = { ...rule, remaining: rule.times ?? Number.POSITIVE_INFINITY };
    this.rules.push(live);
    return () => {
      this.rules = this.rules.filter((r) => r !== live);
    };
  }

  clearRules(): this {
    this.rules = [];
    return this;
  }

  /** The answer when nothing queued or ruled applies. */
  setDefault(answer: Answer | AnswerFn): this {
    this.defaultAnswer = answer;
    return this;
  }

  /** Replace the secrets signatures are checked against (a rotation on the partner's side). */
  setSecrets(secrets: string[]): this {
    this.secrets = [...secrets];
    return this;
  }

  /**
   * Rate limit mode: at most `perSecond` requests in any sliding second are answered normally; the
   * rest get 429 with Retry-After (seconds until the window frees, at least 1, or as an HTTP date).
   * `null` turns it off. 429s are counted in `rateLimited`.
   */
  setRateLimit(perSecond: number | null, retryAfter: 'seconds' | 'httpDate' = 'seconds'): this {
    this.limit = perSecond === null ? null : { perSecond, retryAfter, window: [] };
    return this;
  }

  /**
   * Resolves once `count` requests were recorded, or `predicate(this)` holds; rejects after
   * `timeoutMs` with a summary of what did arrive. Re-checked on every arrival and every finished answer.
   */
  waitFor(target: number | ((receiver: this) => boolean), timeoutMs = 5000): Promise<void> {
    const done = typeof target === 'number' ? () => this.requests.length >= target : () => target(this);
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const seen = this.requests.map((r) => `${r.status ?? 'reset'} ${r.type ?? '-'} ${r.meterId ?? '-'}#${r.sequence ?? '-'}`).join(', ');
        reject(new Error(`waitFor(${typeof target === 'number' ? target : 'predicate'}) timed out after ${timeoutMs} ms; ${this.requests.length} requests: ${seen}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Answers every request held by a `hold` answer; returns how many were released. */
  release(): number {
    const held = this.held;
    this.held = [];
    for (const go of held) go();
    return held.length;
  }

  /** Requests held by a `hold` answer right now. */
  holding(): number {
    return this.held.length;
  }

  /** Requests about one meter, in arrival order (`acceptedOnly`: those answered 2xx). */
  byMeter(meterId: string, opts: { acceptedOnly?: boolean } = {}): RecordedRequest[] {
    return this.requests.filter((r) => r.meterId === meterId && (!opts.acceptedOnly || r.accepted));
  }

  /** Requests answered 2xx, first acceptance of each `webhook-id` only. */
  accepted(): RecordedRequest[] {
    return this.requests.filter((r) => r.accepted && !r.duplicate);
  }

  /** Requests whose signature did not verify. */
  invalidSignatures(): RecordedRequest[] {
    return this.requests.filter((r) => !r.signature.valid);
  }

  outOfOrder(): RecordedRequest[] {
    return this.requests.filter((r) => r.outOfOrder);
  }

  /** Forgets requests, queued answers, rules, counters and order tracking; keeps secrets and listening. */
  reset(): this {
    this.requests = [];
    this.oneShots = [];
    this.rules = [];
    this.maxConcurrency = this.inFlight;
    this.rateLimited = 0;
    this.redirectsFollowed = 0;
    this.acceptedIds.clear();
    this.highestAccepted.clear();
    if (this.limit) this.limit.window = [];
    return this;
  }

  /**
   * Stops listening and drops every connection: new connections are refused (ECONNREFUSED) until
   * `reopen()`. Pending sleeps, holds and drips are cancelled. As after a real restart, a client's
   * pooled keep-alive socket may fail once with ECONNRESET ("socket hang up") on its next use.
   * Safe to call twice; it is also the final teardown.
   */
  async close(): Promise<void> {
    clearTimeout(this.reopenTimer);
    this.held = [];
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Listens again on the same port (the URL the sender knows stays valid). */
  async reopen(): Promise<void> {
    if (this.server) return;
    await this.start(this.port);
  }

  /** Refuses connections for `ms`, then reopens on the same port; resolves once closed. */
  async refuseFor(ms: number): Promise<void> {
    await this.close();
    this.reopenTimer = setTimeout(() => void this.reopen(), ms);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.inFlight += 1;
    this.maxConcurrency = Math.max(this.maxConcurrency, this.inFlight);
    const concurrency = this.inFlight;
    const arrivedAt = performance.now();
    let record: RecordedRequest | undefined;
    // 'close' fires once the answer is out or the connection is gone, whichever comes first.
    res.once('close', () => {
      this.inFlight -= 1;
      if (record) record.finishedAt = performance.now();
      this.notify();
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      record = this.record(req, Buffer.concat(chunks), concurrency, arrivedAt);
      this.respond(req, res, record);
      this.notify();
    });
  }

  private record(req: http.IncomingMessage, rawBody: Buffer, concurrency: number, arrivedAt: number): RecordedRequest {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (this.redirectTargets.has(path)) this.redirectsFollowed += 1;
    const bodyText = rawBody.toString('utf8');
    let json: unknown;
    try {
      json = bodyText ? (JSON.parse(bodyText) as unknown) : undefined;
    } catch {
      json = undefined;
    }
    const data = isObject(json) && isObject(json.data) ? json.data : {};
    const tsHeader = firstHeader(req.headers, 'webhook-timestamp');
    const now = this.options.now?.() ?? new Date();
    const record: RecordedRequest = {
      index: this.arrivals++,
      method: req.method ?? '',
      path,
      headers: req.headers,
      rawBody,
      bodyText,
      json,
      webhookId: firstHeader(req.headers, 'webhook-id'),
      timestamp: tsHeader !== null && /^\d+$/.test(tsHeader) ? Number(tsHeader) : null,
      type: isObject(json) && typeof json.type === 'string' ? json.type : null,
      meterId: typeof data.meter_id === 'string' ? data.meter_id : null,
      sequence: typeof data.sequence === 'number' ? data.sequence : null,
      signature: checkSignature(this.secrets, req.headers, rawBody, now, this.options.toleranceSeconds ?? 300),
      concurrency,
      answer: { kind: 'status', status: 200 },
      status: null,
      accepted: false,
      duplicate: false,
      outOfOrder: false,
      rateLimited: false,
      arrivedAt,
      finishedAt: null,
    };
    this.requests.push(record);
    return record;
  }

  /** Rate limit, then signature, then the queue, then rules, then the default. */
  private choose(record: RecordedRequest): Answer {
    if (this.limit) {
      const now = performance.now();
      const w = this.limit.window;
      while (w.length && (w[0] ?? 0) <= now - 1000) w.shift();
      if (w.length >= this.limit.perSecond) {
        this.rateLimited += 1;
        record.rateLimited = true;
        const waitSeconds = Math.max(1, Math.ceil(((w[0] ?? now) + 1000 - now) / 1000));
        const after = this.limit.retryAfter === 'seconds' ? waitSeconds : new Date(Date.now() + waitSeconds * 1000);
        return { kind: 'retryAfter', status: 429, after, body: { reason: 'rate_limited' } };
      }
      w.push(now);
    }
    if (!record.signature.valid && (this.options.rejectInvalidSignatures ?? true)) {
      return { kind: 'status', status: 401, body: { reason: record.signature.problem } };
    }
    const queued = this.oneShots.shift();
    if (queued) return typeof queued === 'function' ? queued(record) : queued;
    for (const rule of this.rules) {
      if (rule.remaining <= 0) continue;
      if (rule.meterId !== undefined && rule.meterId !== record.meterId) continue;
      if (rule.type !== undefined && rule.type !== record.type) continue;
      if (rule.path !== undefined && rule.path !== record.path) continue;
      if (rule.when && !rule.when(record)) continue;
      rule.remaining -= 1;
      return typeof rule.answer === 'function' ? rule.answer(record) : rule.answer;
    }
    return typeof this.defaultAnswer === 'function' ? this.defaultAnswer(record) : this.defaultAnswer;
  }

  private respond(req: http.IncomingMessage, res: http.ServerResponse, record: RecordedRequest): void {
    const answer = this.choose(record);
    record.answer = answer;
    this.play(req, res, record, answer);
  }

  private play(req: http.IncomingMessage, res: http.ServerResponse, record: RecordedRequest, answer: Answer): void {
    switch (answer.kind) {
      case 'sleep':
        // The answer is recorded only when it is sent, so a test can tell a request still held.
        this.later(answer.ms, () => this.play(req, res, record, answer.then ?? { kind: 'status', status: 200, body: { ok: true } }));
        return;
      case 'hold':
        this.held.push(() => this.play(req, res, record, answer.then ?? { kind: 'status', status: 200, body: { ok: true } }));
        this.notify();
        return;
      case 'reset':
        record.status = null;
        if (answer.after === 'headers') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
          res.write('{"ok":tr');
          // Let the partial answer leave before the reset, so the sender sees headers then an abort.
          this.later(20, () => req.socket.resetAndDestroy());
        } else req.socket.resetAndDestroy();
        return;
      case 'status':
        return this.send(res, record, answer.status, answer.body, answer.headers);
      case 'retryAfter': {
        const value = typeof answer.after === 'number' ? String(answer.after) : answer.after instanceof Date ? answer.after.toUTCString() : answer.after;
        return this.send(res, record, answer.status, answer.body ?? { reason: 'try_later' }, { 'retry-after': value });
      }
      case 'redirect': {
        const location = answer.location ?? `${this.url}/redirected`;
        this.redirectTargets.add(new URL(location, this.url).pathname);
        return this.send(res, record, answer.status, '', { location });
      }
      case 'garbage': {
        const status = answer.status ?? 200;
        if (answer.form === 'nonJson') return this.send(res, record, status, '<html><body>Service temporarily confused</body></html>', { 'content-type': 'application/json' });
        if (answer.form === 'invalidUtf8') return this.send(res, record, status, Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]), { 'content-type': 'application/json; charset=utf-8' });
        return this.send(res, record, status, Buffer.alloc(answer.bytes ?? HUGE_DEFAULT_BYTES, 'x'), { 'content-type': 'text/plain' });
      }
      case 'drip': {
        const status = answer.status ?? 200;
        this.mark(record, status);
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.flushHeaders();
        let sent = 0;
        const tick = (): void => {
          if (res.destroyed) return;
          sent += 1;
          if (sent >= answer.chunks) {
            res.end('.');
            return;
          }
          res.write('.');
          this.later(answer.intervalMs, tick);
        };
        this.later(answer.intervalMs, tick);
        return;
      }
    }
  }

  private send(res: http.ServerResponse, record: RecordedRequest, status: number, body: string | object | Buffer | undefined, headers: Record<string, string> = {}): void {
    if (res.destroyed) return;
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
    this.mark(record, status);
    res.writeHead(status, { 'content-type': 'application/json', ...headers, 'content-length': String(bytes.length) });
    res.end(bytes);
  }

  /** Settles status, acceptance, duplicate and order flags as the answer goes out. */
  private mark(record: RecordedRequest, status: number): void {
    record.status = status;
    record.accepted = status >= 200 && status < 300;
    if (!record.accepted) return;
    if (record.webhookId !== null) {
      record.duplicate = this.acceptedIds.has(record.webhookId);
      this.acceptedIds.add(record.webhookId);
    }
    if (record.meterId !== null && record.sequence !== null && !record.duplicate) {
      const key = `${record.path}\u0000${record.meterId}`;
      const highest = this.highestAccepted.get(key);
      if (highest !== undefined && record.sequence < highest) record.outOfOrder = true;
      else this.highestAccepted.set(key, record.sequence);
    }
    this.notify();
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** Starts a misbehaving receiver on a free port of 127.0.0.1. */
export function startMisbehavingReceiver(options: MisbehavingReceiverOptions): Promise<MisbehavingReceiver> {
  return new MisbehavingReceiver(options).start();
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function firstHeader(headers: http.IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? null;
}

async function listen(server: http.Server, port: number): Promise<void> {
  // The old socket's port can linger for a moment after a close; a few quick retries cover it.
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0 || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
