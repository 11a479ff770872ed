import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { urlToHttpOptions } from 'node:url';
import zlib from 'node:zlib';
import Bottleneck from 'bottleneck';
import type { AttemptResult, ErrorClass } from '../domain/delivery';
import type { RateLimiter } from './shared-limits';

/**
 * Requests are spaced this much wider than the partner's rate limit. A request can leave later
 * than its limiter started it (a busy event loop), which brings it closer to the next one; 4 %
 * absorbs 40 ms of such delay in any second before a strict sliding-window limit would see R + 1.
 */
const RATE_MARGIN = 1.04;

/** How often a gate replaced by a hot reload is checked for work still queued in it. */
const RETIRE_CHECK_MS = 1000;

/** Response bodies are kept up to this size in the attempt log. */
export const RESPONSE_BODY_LIMIT = 16 * 1024;

export interface SendTarget {
  /** Limits are per destination name. */
  name: string;
  url: string;
  timeoutMs: number;
  /** Requests per second; null for no rate limit. */
  ratePerSecond: number | null;
  concurrency: number;
}

export interface SendRequest {
  headers: Record<string, string>;
  body: string;
}

export interface SenderOptions {
  /**
   * A limiter shared with other replicas for a rate-limited destination (clustered through
   * Redis), or undefined to limit in this process.
   */
  limiterFactory?: (target: SendTarget) => RateLimiter | undefined;
  now?: () => number;
}

/** Runs a job now or when the destination allows: a rate limiter, or only a concurrency cap. */
interface Gate {
  schedule<T>(job: () => Promise<T>): Promise<T>;
  size(): number;
  /**
   * Take a reloaded destination's settings in place, queued jobs included; false when the new
   * settings need another kind of gate (a rate limit added or removed).
   */
  update(target: SendTarget): boolean;
  stop(): Promise<void>;
}

interface LimiterEntry {
  gate: Gate;
  key: string;
}

/**
 * At most `max` jobs at once, the rest in arrival order. Destinations without a rate limit use
 * this rather than bottleneck, whose per-job scheduling caps a limiter at a few hundred jobs a
 * second (SGrondin/bottleneck#144): too slow for a fast receiver.
 */
class ConcurrencyGate implements Gate {
  /** Jobs holding a slot: running, or woken and about to run. */
  private running = 0;
  /** Waiting jobs in arrival order; `head` is the next (Array.shift would copy a long queue each time). */
  private waiting: (() => void)[] = [];
  private head = 0;
  private stopped = false;
  constructor(private max: number) {}

  async schedule<T>(job: () => Promise<T>): Promise<T> {
    if (this.stopped) throw new Error('sender stopped');
    // A finished job hands its slot to the next waiting one, so a newcomer never jumps the queue.
    if (this.running < this.max && !this.hasWaiting()) this.running += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (this.stopped) throw new Error('sender stopped');
    try {
      return await job();
    } finally {
      if (this.running <= this.max && this.hasWaiting()) this.wakeNext();
      else this.running -= 1;
    }
  }

  update(target: SendTarget): boolean {
    if (target.ratePerSecond) return false;
    // A lower limit takes effect as jobs finish; a higher one wakes waiting jobs at once.
    this.max = target.concurrency;
    while (this.running < this.max && this.hasWaiting()) {
      this.running += 1;
      this.wakeNext();
    }
    return true;
  }

  private hasWaiting(): boolean {
    return this.head < this.waiting.length;
  }

  private wakeNext(): void {
    const wake = this.waiting[this.head]!;
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    wake();
  }

  size(): number {
    return this.running + this.waiting.length - this.head;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const waiting = this.waiting.slice(this.head);
    this.waiting = [];
    this.head = 0;
    for (const w of waiting) w();
  }
}

/** Slower than the limit by RATE_MARGIN: evenly spaced starts still arrive bunched by delays on the way out. */
function localRate(t: SendTarget): Bottleneck.ConstructorOptions {
  return { maxConcurrent: t.concurrency, minTime: (1000 * RATE_MARGIN) / t.ratePerSecond! };
}

function sharedGate(limiter: RateLimiter): Gate {
  return {
    schedule: (job) => limiter.schedule(job),
    size: () => limiter.pending(),
    update: (t) => {
      if (!t.ratePerSecond) return false;
      limiter.update({ ratePerSecond: t.ratePerSecond, maxConcurrent: t.concurrency });
      return true;
    },
    stop: () => limiter.stop(),
  };
}

function bottleneckGate(limiter: Bottleneck): Gate {
  return {
    schedule: (job) => limiter.schedule(job),
    size: () => {
      const c = limiter.counts();
      return (c.QUEUED ?? 0) + (c.RUNNING ?? 0) + (c.EXECUTING ?? 0);
    },
    update: (t) => {
      if (!t.ratePerSecond) return false;
      limiter.updateSettings(localRate(t));
      return true;
    },
    stop: () => limiter.stop({ dropWaitingJobs: true }).catch(() => undefined),
  };
}

function retryAfterMs(value: string | undefined, now: number): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

function classify(code: string | undefined, message: string): ErrorClass {
  const c = code ?? '';
  if (c === 'ETIMEDOUT' || c === 'ESOCKETTIMEDOUT' || /timeout/i.test(message)) return 'timeout';
  if (c === 'ENOTFOUND' || c === 'EAI_AGAIN' || c === 'EAI_NONAME') return 'dns';
  if (c === 'ECONNREFUSED') return 'refused';
  if (c === 'ECONNRESET' || c === 'EPIPE' || c === 'ERR_STREAM_PREMATURE_CLOSE' || /socket hang up|aborted/i.test(message)) return 'reset';
  if (/CERT|SSL|TLS|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(c) || /certificate|ssl|tls/i.test(message)) return 'tls';
  return 'network';
}

/** Up to `limit` bytes of a response as text; the rest is read and dropped so the connection stays reusable. */
function readLimited(stream: Readable, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      if (size < limit) chunks.push(chunk.subarray(0, limit - size));
      size += chunk.length;
    });
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

function decoded(res: http.IncomingMessage): Readable {
  const enc = String(res.headers['content-encoding'] ?? '').toLowerCase();
  if (enc === 'gzip' || enc === 'x-gzip') return res.pipe(zlib.createGunzip());
  if (enc === 'deflate') return res.pipe(zlib.createInflate());
  if (enc === 'br') return res.pipe(zlib.createBrotliDecompress());
  return res;
}

class AttemptTimeout extends Error {
  readonly code = 'ETIMEDOUT';
}

/**
 * POSTs signed webhooks to partner endpoints: keep-alive connections, no redirects (a 3xx is a
 * failure), a timeout per destination, each destination's own rate and concurrency limit.
 * Failures come back as an AttemptResult, never as a thrown axios error.
 */
export class WebhookSender {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
  private readonly limiters = new Map<string, LimiterEntry>();
  private readonly now: () => number;

  /** Request options per destination URL, parsed once. */
  private readonly endpoints = new Map<string, { secure: boolean; options: http.RequestOptions }>();

  constructor(private readonly opts: SenderOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  private gate(target: SendTarget): Gate {
    const key = `${target.ratePerSecond ?? 'none'}/${target.concurrency}`;
    const existing = this.limiters.get(target.name);
    if (existing && existing.key === key) return existing.gate;
    // Settings changed (hot reload): the gate takes them in place, for the sends queued in it too
    // (a shared limiter for every replica: a second one with the same id would strand the first).
    if (existing?.gate.update(target)) {
      existing.key = key;
      return existing.gate;
    }
    // A rate limit added or removed: new work goes through a new gate; work queued in the old one
    // finishes there, and the old gate is then stopped.
    if (existing) this.retire(existing.gate);
    const shared = target.ratePerSecond ? this.opts.limiterFactory?.(target) : undefined;
    const gate = shared
      ? sharedGate(shared)
      : target.ratePerSecond
        ? bottleneckGate(new Bottleneck(localRate(target)))
        : new ConcurrencyGate(target.concurrency);
    this.limiters.set(target.name, { gate, key });
    return gate;
  }

  private retire(gate: Gate): void {
    const check = () => {
      if (gate.size() === 0) void gate.stop();
      else setTimeout(check, RETIRE_CHECK_MS).unref();
    };
    check();
  }

  /** Sends now that the destination's limiter allows it; `onStart` fires when the request leaves. */
  async send(target: SendTarget, request: () => SendRequest, onStart?: (req: SendRequest, at: Date) => void): Promise<{ request: SendRequest; result: AttemptResult }> {
    return this.gate(target).schedule(async () => {
      // Headers are built at the moment of sending, so the signature's timestamp is fresh.
      const req = request();
      const startedAt = new Date(this.now());
      onStart?.(req, startedAt);
      const t0 = performance.now();
      const result = await this.post(target, req, startedAt);
      result.durationMs = performance.now() - t0;
      return { request: req, result };
    });
  }

  /**
   * One POST over node's own HTTP client: per-request overhead matters at thousands of deliveries
   * a second. Redirects are never followed (node does not follow them); the timeout covers the
   * whole exchange, a receiver that drips its answer included.
   */
  private post(target: SendTarget, req: SendRequest, startedAt: Date): Promise<AttemptResult> {
    const base: AttemptResult = { startedAt, durationMs: 0, status: null, responseHeaders: null, responseBody: null, errorClass: null, errorMessage: null, retryAfterMs: null };
    let endpoint = this.endpoints.get(target.url);
    if (!endpoint) {
      const url = new URL(target.url);
      endpoint = { secure: url.protocol === 'https:', options: urlToHttpOptions(url) };
      this.endpoints.set(target.url, endpoint);
    }
    const { secure } = endpoint;
    return new Promise<AttemptResult>((resolve) => {
      let status: number | null = null;
      let headers: Record<string, string> | null = null;
      let settled = false;
      const finish = (r: AttemptResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const request = (secure ? https : http).request(
        { ...endpoint.options, method: 'POST', agent: secure ? this.httpsAgent : this.httpAgent, headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) } },
        (res) => {
          status = res.statusCode ?? 0;
          headers = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
          readLimited(decoded(res), RESPONSE_BODY_LIMIT).then(
            (body) => {
              const s = status!;
              const redirect = s >= 300 && s < 400;
              finish({
                ...base,
                status: s,
                responseHeaders: headers,
                responseBody: body,
                errorClass: redirect ? 'redirect' : null,
                errorMessage: redirect ? `redirect to ${headers!.location ?? '(no location)'} not followed` : null,
                retryAfterMs: s === 429 || s === 503 ? retryAfterMs(headers!['retry-after'], this.now()) : null,
              });
            },
            (err: Error) => finish({ ...base, status, responseHeaders: headers, errorClass: classify((err as { code?: string }).code, err.message), errorMessage: `answer cut off: ${err.message}`.slice(0, 500) }),
          );
        },
      );
      const timer = setTimeout(() => request.destroy(new AttemptTimeout(`no complete answer within ${target.timeoutMs} ms`)), target.timeoutMs);
      request.on('error', (err: Error & { code?: string }) => {
        if (err instanceof AttemptTimeout) {
          finish({ ...base, status, responseHeaders: headers, errorClass: 'timeout', errorMessage: err.message });
          return;
        }
        // Only the code and message are kept: nothing of the request (its headers) travels with them.
        finish({ ...base, status, responseHeaders: headers, errorClass: classify(err.code, err.message), errorMessage: `${err.code ?? 'error'}: ${err.message}`.slice(0, 500) });
      });
      request.end(req.body);
    });
  }

  /** Requests waiting in a destination's limiter or in flight. */
  queued(name: string): number {
    return this.limiters.get(name)?.gate.size() ?? 0;
  }

  async close(): Promise<void> {
    await Promise.all([...this.limiters.values()].map((l) => l.gate.stop()));
    this.limiters.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
