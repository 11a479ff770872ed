import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import Bottleneck from 'bottleneck';
import type { AttemptResult, ErrorClass } from '../domain/delivery';

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
  /** Shared limiter factory, e.g. bottleneck clustered through Redis so replicas share a destination's rate. */
  limiterFactory?: (target: SendTarget) => Bottleneck;
  now?: () => number;
}

interface LimiterEntry {
  limiter: Bottleneck;
  key: string;
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
  if (c === 'ECONNABORTED' || c === 'ETIMEDOUT' || c === 'ESOCKETTIMEDOUT' || /timeout/i.test(message)) return 'timeout';
  if (c === 'ENOTFOUND' || c === 'EAI_AGAIN' || c === 'EAI_NONAME') return 'dns';
  if (c === 'ECONNREFUSED') return 'refused';
  if (c === 'ECONNRESET' || c === 'EPIPE' || c === 'ERR_STREAM_PREMATURE_CLOSE' || /socket hang up|aborted/i.test(message)) return 'reset';
  if (/CERT|SSL|TLS|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(c) || /certificate|ssl|tls/i.test(message)) return 'tls';
  return 'network';
}

/** Read at most `limit` characters of a response stream; the rest is discarded. */
async function readLimited(stream: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    if (size < limit) chunks.push(buf.subarray(0, limit - size));
    size += buf.length;
    if (size >= limit) {
      stream.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * POSTs signed webhooks to partner endpoints: keep-alive connections, no redirects (a 3xx is a
 * failure), a timeout per destination, each destination's own rate and concurrency limit.
 * Failures come back as an AttemptResult, never as a thrown axios error.
 */
export class WebhookSender {
  private readonly http: AxiosInstance;
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
  private readonly limiters = new Map<string, LimiterEntry>();
  private readonly now: () => number;

  constructor(private readonly opts: SenderOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.http = axios.create({
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      maxRedirects: 0,
      validateStatus: () => true,
      responseType: 'stream',
      decompress: true,
      transitional: { clarifyTimeoutError: true },
    });
  }

  private limiter(target: SendTarget): Bottleneck {
    const key = `${target.ratePerSecond ?? 'none'}/${target.concurrency}`;
    const existing = this.limiters.get(target.name);
    if (existing && existing.key === key) return existing.limiter;
    // Settings changed (hot reload): new work goes through a limiter with the new settings.
    if (existing) void existing.limiter.stop({ dropWaitingJobs: false });
    const limiter =
      this.opts.limiterFactory?.(target) ??
      new Bottleneck({
        maxConcurrent: target.concurrency,
        minTime: target.ratePerSecond ? Math.ceil(1000 / target.ratePerSecond) : 0,
      });
    this.limiters.set(target.name, { limiter, key });
    return limiter;
  }

  /** Sends now that the destination's limiter allows it; `onStart` fires when the request leaves. */
  async send(target: SendTarget, request: () => SendRequest, onStart?: (req: SendRequest, at: Date) => void): Promise<{ request: SendRequest; result: AttemptResult }> {
    return this.limiter(target).schedule(async () => {
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

  private async post(target: SendTarget, req: SendRequest, startedAt: Date): Promise<AttemptResult> {
    const base: AttemptResult = { startedAt, durationMs: 0, status: null, responseHeaders: null, responseBody: null, errorClass: null, errorMessage: null, retryAfterMs: null };
    const abort = new AbortController();
    // The timeout covers the whole exchange, including a receiver that drips its answer.
    const timer = setTimeout(() => abort.abort(), target.timeoutMs);
    try {
      const res = await this.http.post<Readable>(target.url, req.body, { headers: req.headers, signal: abort.signal, timeout: target.timeoutMs });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && v !== null) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
      let body: string | null = null;
      try {
        body = await readLimited(res.data, RESPONSE_BODY_LIMIT);
      } catch (err) {
        if (abort.signal.aborted) return { ...base, status: res.status, responseHeaders: headers, errorClass: 'timeout', errorMessage: `no complete answer within ${target.timeoutMs} ms` };
        body = null;
        void err;
      }
      const redirect = res.status >= 300 && res.status < 400;
      return {
        ...base,
        status: res.status,
        responseHeaders: headers,
        responseBody: body,
        errorClass: redirect ? 'redirect' : null,
        errorMessage: redirect ? `redirect to ${headers.location ?? '(no location)'} not followed` : null,
        retryAfterMs: res.status === 429 || res.status === 503 ? retryAfterMs(headers['retry-after'], this.now()) : null,
      };
    } catch (err) {
      if (abort.signal.aborted) return { ...base, errorClass: 'timeout', errorMessage: `no answer within ${target.timeoutMs} ms` };
      const code = isAxiosError(err) ? err.code : (err as { code?: string }).code;
      const message = err instanceof Error ? err.message : String(err);
      // Only the code and message leave: an axios error carries the request, and with it the headers.
      return { ...base, errorClass: classify(code, message), errorMessage: `${code ?? 'error'}: ${message}`.slice(0, 500) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Requests waiting in a destination's limiter or in flight. */
  queued(name: string): number {
    const l = this.limiters.get(name)?.limiter;
    return l ? l.counts().QUEUED + l.counts().RUNNING + l.counts().EXECUTING : 0;
  }

  async close(): Promise<void> {
    await Promise.all([...this.limiters.values()].map((l) => l.limiter.stop({ dropWaitingJobs: true }).catch(() => undefined)));
    this.limiters.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
