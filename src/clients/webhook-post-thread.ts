import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { urlToHttpOptions } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import zlib from 'node:zlib';
import type { AttemptResult, ErrorClass } from '../domain/delivery';

/**
 * The HTTP side of the webhook sender, run in a worker thread of its own: each destination's
 * line (its concurrency, in order), the request, answer, timeout and error class. The connector's thread keeps the delivery queue, rate limits and the
 * database, and hands each POST over in a message; at thousands of deliveries a second, node's
 * HTTP client alone took more of that thread than all the rest. A line's next request starts as
 * soon as one ends, without waiting for the connector's thread to hear of it. Rate-limited
 * destinations are sent from the connector's thread (Poster alone): a hop between threads would
 * add its own delay between the limiter's start and the request, bunching requests a strict
 * receiver counts in one second.
 */

/** Response bodies are kept up to this size in the attempt log. */
export const RESPONSE_BODY_LIMIT = 16 * 1024;

export interface PostJob {
  id: number;
  url: string;
  timeoutMs: number;
  headers: Record<string, string>;
  body: string;
  /** Queue in this destination's line, at most `concurrency` at once; null: start now. */
  line: { name: string; concurrency: number } | null;
}

/** What came back for a job; `retryAfter` is the raw header, read by the caller against its own clock. */
export interface PostAnswer extends Pick<AttemptResult, 'durationMs' | 'status' | 'responseHeaders' | 'responseBody' | 'errorClass' | 'errorMessage'> {
  id: number;
  /** The job never started: the sender closed first. */
  stopped?: true;
  /** How long it waited in its line before it started. */
  queuedMs: number;
  retryAfter: string | null;
}

/** Main thread → post thread. */
export type ToPostThread = { jobs: PostJob[] } | { close: true };
/** Post thread → main thread. */
export type FromPostThread = { answers: PostAnswer[] } | { closed: true };

export function classifyError(code: string | undefined, message: string): ErrorClass {
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
    stream.on('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
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
 * One POST over node's own HTTP client, keep-alive (used by the sending thread, and by the
 * connector's thread for rate-limited destinations). Redirects are never followed (node does not
 * follow them; a 3xx is a failure); the timeout covers the whole exchange, a receiver that drips
 * its answer included.
 */
export class Poster {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
  /** Request options per destination URL, parsed once. */
  private readonly endpoints = new Map<string, { secure: boolean; options: http.RequestOptions }>();

  post(job: PostJob, queuedMs: number, done: (answer: PostAnswer) => void): void {
    const t0 = performance.now();
    let status: number | null = null;
    let headers: Record<string, string> | null = null;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (a: Pick<PostAnswer, 'responseBody' | 'errorClass' | 'errorMessage'> & { status?: number | null }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const s = a.status === undefined ? status : a.status;
      done({ id: job.id, queuedMs, durationMs: performance.now() - t0, status: s, responseHeaders: headers, responseBody: a.responseBody, errorClass: a.errorClass, errorMessage: a.errorMessage, retryAfter: headers?.['retry-after'] ?? null });
    };
    try {
      let endpoint = this.endpoints.get(job.url);
      if (!endpoint) {
        const url = new URL(job.url);
        endpoint = { secure: url.protocol === 'https:', options: urlToHttpOptions(url) };
        this.endpoints.set(job.url, endpoint);
      }
      const { secure } = endpoint;
      const request = (secure ? https : http).request(
        { ...endpoint.options, method: 'POST', agent: secure ? this.httpsAgent : this.httpAgent, headers: { ...job.headers, 'content-length': String(Buffer.byteLength(job.body)) } },
        (res) => {
          status = res.statusCode ?? 0;
          headers = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
          readLimited(decoded(res), RESPONSE_BODY_LIMIT).then(
            (body) => {
              const s = status!;
              const redirect = s >= 300 && s < 400;
              finish({
                responseBody: body,
                errorClass: redirect ? 'redirect' : null,
                errorMessage: redirect ? `redirect to ${headers!.location ?? '(no location)'} not followed` : null,
              });
            },
            (err: Error) => finish({ responseBody: null, errorClass: classifyError((err as { code?: string }).code, err.message), errorMessage: `answer cut off: ${err.message}`.slice(0, 500) }),
          );
        },
      );
      timer = setTimeout(() => request.destroy(new AttemptTimeout(`no complete answer within ${job.timeoutMs} ms`)), job.timeoutMs);
      request.on('error', (err: Error & { code?: string }) => {
        if (err instanceof AttemptTimeout) finish({ responseBody: null, errorClass: 'timeout', errorMessage: err.message });
        // Only the code and message are kept: nothing of the request (its headers) travels with them.
        else finish({ responseBody: null, errorClass: classifyError(err.code, err.message), errorMessage: `${err.code ?? 'error'}: ${err.message}`.slice(0, 500) });
      });
      request.end(job.body);
    } catch (err) {
      // A request node refuses to start (a malformed URL or header): a failed attempt like any other.
      const e = err as Error & { code?: string };
      finish({ status: null, responseBody: null, errorClass: 'network', errorMessage: `${e.code ?? 'error'}: ${e.message}`.slice(0, 500) });
    }
  }

  /** Every connection closed: requests in flight end as failed attempts. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** A destination's jobs waiting for a free place among its `concurrency`, in arrival order. */
interface Line {
  concurrency: number;
  running: number;
  waiting: { job: PostJob; at: number }[];
  /** Index of the next waiting job (Array.shift would copy a long line each time). */
  head: number;
}

/** The post thread's loop: jobs in, answers out, a message per turn of its event loop each way. */
export function servePosts(port: MessagePort): void {
  const poster = new Poster();
  const lines = new Map<string, Line>();
  let answers: PostAnswer[] = [];
  let scheduled = false;
  let closing = false;
  let open = 0;
  const flush = () => {
    scheduled = false;
    const batch = answers;
    answers = [];
    if (batch.length) port.postMessage({ answers: batch } satisfies FromPostThread);
    if (closing && open === 0) port.postMessage({ closed: true } satisfies FromPostThread);
  };
  const done = (a: PostAnswer) => {
    open -= 1;
    answers.push(a);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  const start = (job: PostJob, receivedAt: number, line: Line | null) => {
    if (line) line.running += 1;
    poster.post(job, performance.now() - receivedAt, (a) => {
      if (line) {
        line.running -= 1;
        pump(line);
      }
      done(a);
    });
  };
  /** Start what the line has room for: a finished job hands its place to the next in line. */
  const pump = (line: Line) => {
    while (line.running < line.concurrency && line.head < line.waiting.length) {
      const next = line.waiting[line.head]!;
      line.head += 1;
      if (line.head > 1024 && line.head * 2 > line.waiting.length) {
        line.waiting = line.waiting.slice(line.head);
        line.head = 0;
      }
      start(next.job, next.at, line);
    }
  };
  port.on('message', (m: ToPostThread) => {
    if ('close' in m) {
      closing = true;
      // What has not started never will: answered as stopped. What is in flight fails as its connection closes.
      for (const line of lines.values()) {
        for (const w of line.waiting.slice(line.head)) done({ id: w.job.id, stopped: true, queuedMs: 0, durationMs: 0, status: null, responseHeaders: null, responseBody: null, errorClass: null, errorMessage: null, retryAfter: null });
        line.waiting = [];
        line.head = 0;
      }
      poster.close();
      if (!scheduled) flush();
      return;
    }
    const now = performance.now();
    const touched = new Set<Line>();
    for (const job of m.jobs) {
      open += 1;
      if (!job.line) {
        start(job, now, null);
        continue;
      }
      let line = lines.get(job.line.name);
      if (!line) lines.set(job.line.name, (line = { concurrency: job.line.concurrency, running: 0, waiting: [], head: 0 }));
      // A reloaded concurrency applies to the whole line: a higher one starts waiting jobs at once.
      line.concurrency = job.line.concurrency;
      line.waiting.push({ job, at: now });
      touched.add(line);
    }
    for (const line of touched) pump(line);
  });
}
