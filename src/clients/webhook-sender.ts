import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import Bottleneck from 'bottleneck';
import type { AttemptResult } from '../domain/delivery';
import { webhookHeaders, type SigningSecret } from '../domain/signing';
import { startThread } from '../worker-thread';
import type { RateLimiter } from './shared-limits';
import { Poster, type FromPostThread, type PostAnswer, type PostJob, type ToPostThread } from './webhook-post-thread';

export { RESPONSE_BODY_LIMIT } from './webhook-post-thread';

/**
 * Requests are spaced this much wider than the partner's rate limit. A request can leave later
 * than its limiter started it (a busy event loop), which brings it closer to the next one; 4 %
 * absorbs 40 ms of such delay in any second before a strict sliding-window limit would see R + 1.
 */
const RATE_MARGIN = 1.04;

/** How often a gate replaced by a hot reload is checked for work still queued in it. */
const RETIRE_CHECK_MS = 1000;

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
  /**
   * Add the Standard Webhooks headers (this webhook-id, the secrets active then) when the request
   * is handed over to be sent: as its rate limiter starts it, or as it joins its destination's
   * line in the sending thread, which holds at most a round or two of the destination's
   * concurrency (or a tenth of a second of a fast receiver's pace) before it.
   */
  sign?: { id: string; secrets: SigningSecret[] };
}

export interface SenderOptions {
  /**
   * A limiter shared with other replicas for a rate-limited destination (clustered through
   * Redis), or undefined to limit in this process.
   */
  limiterFactory?: (target: SendTarget) => RateLimiter | undefined;
  now?: () => number;
}

/**
 * A rate-limited destination's limiter: runs a job when the rate (and its concurrency) allows.
 * Destinations without a rate limit are limited in the sending thread's line instead.
 */
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

/**
 * The worker thread that makes the HTTP requests (webhook-post-thread.ts), started at the first
 * send. Jobs go over in one message per turn of this thread's event loop; a thread that dies
 * (it should not) fails the requests it held as network errors, and the next send starts another.
 */
class PostThread {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, (answer: PostAnswer) => void>();
  private nextId = 1;
  private outbox: PostJob[] = [];
  private closed: (() => void) | null = null;

  post(job: Omit<PostJob, 'id'>): Promise<PostAnswer> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      // Held only while it has work: a connector that is otherwise done is not kept alive by it.
      if (this.waiting.size === 1) this.thread().ref();
      this.outbox.push({ ...job, id });
      if (this.outbox.length === 1) queueMicrotask(() => this.flush());
    });
  }

  private flush(): void {
    const jobs = this.outbox;
    this.outbox = [];
    if (jobs.length) this.thread().postMessage({ jobs } satisfies ToPostThread);
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = startThread(path.join(__dirname, 'webhook-post-thread'), 'servePosts');
    worker.on('message', (m: FromPostThread) => {
      if ('closed' in m) {
        this.closed?.();
        return;
      }
      for (const a of m.answers) this.answer(a);
    });
    worker.on('error', () => undefined);
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = null;
      // Whatever it still held failed with it; the receiver may have had it (it dedupes on webhook-id).
      for (const id of [...this.waiting.keys()]) this.answer({ id, queuedMs: 0, durationMs: 0, status: null, responseHeaders: null, responseBody: null, errorClass: 'network', errorMessage: `the sending thread stopped (exit code ${code})`, retryAfter: null });
      this.closed?.();
    });
    this.worker = worker;
    return worker;
  }

  private answer(a: PostAnswer): void {
    const resolve = this.waiting.get(a.id);
    if (!resolve) return;
    this.waiting.delete(a.id);
    resolve(a);
    if (this.waiting.size === 0) this.worker?.unref();
  }

  /** Close its connections (requests in flight end as failed attempts, answered), then stop it. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.flush();
    await new Promise<void>((resolve) => {
      this.closed = resolve;
      worker.postMessage({ close: true } satisfies ToPostThread);
    });
    this.closed = null;
    this.worker = null;
    await worker.terminate();
  }
}

/**
 * POSTs signed webhooks to partner endpoints: keep-alive connections, no redirects (a 3xx is a
 * failure), a timeout per destination, each destination's own rate and concurrency limit. The
 * limits are kept here; the requests are made by a thread of their own (PostThread). Failures
 * come back as an AttemptResult, never as a thrown error.
 */
export class WebhookSender {
  private readonly limiters = new Map<string, LimiterEntry>();
  private readonly now: () => number;
  private readonly posts = new PostThread();
  /** Rate-limited destinations' requests, made on this thread. */
  private local: Poster | null = null;
  /** Per destination without a rate limit: requests handed to the sending thread, not yet answered. */
  private readonly lined = new Map<string, number>();
  private closed = false;

  constructor(private readonly opts: SenderOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * The rate limiter of a rate-limited destination, or null: without a rate limit, the sending
   * thread's line keeps to the destination's concurrency (a finished request hands its place to
   * the next at once; bottleneck's per-job scheduling caps a limiter at a few hundred jobs a
   * second, SGrondin/bottleneck#144).
   */
  private gate(target: SendTarget): Gate | null {
    const existing = this.limiters.get(target.name);
    if (!target.ratePerSecond) {
      // A rate limit removed: work queued in the old limiter finishes there, and it is then stopped.
      if (existing) {
        this.limiters.delete(target.name);
        this.retire(existing.gate);
      }
      return null;
    }
    const key = `${target.ratePerSecond}/${target.concurrency}`;
    if (existing && existing.key === key) return existing.gate;
    // Settings changed (hot reload): the gate takes them in place, for the sends queued in it too
    // (a shared limiter for every replica: a second one with the same id would strand the first).
    if (existing?.gate.update(target)) {
      existing.key = key;
      return existing.gate;
    }
    const shared = this.opts.limiterFactory?.(target);
    const gate = shared ? sharedGate(shared) : bottleneckGate(new Bottleneck(localRate(target)));
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

  /**
   * Sends once the destination's limits allow it, signed (`request.sign`) as it is handed over.
   * The answer's request carries the headers it was sent with.
   */
  async send(target: SendTarget, request: SendRequest): Promise<{ request: SendRequest; result: AttemptResult }> {
    const gate = this.gate(target);
    return gate ? gate.schedule(() => this.post(target, request, null)) : this.post(target, request, { name: target.name, concurrency: target.concurrency });
  }

  private async post(target: SendTarget, request: SendRequest, line: PostJob['line']): Promise<{ request: SendRequest; result: AttemptResult }> {
    if (this.closed) throw new Error('sender stopped');
    const clockMs = this.now();
    const sent: SendRequest = { headers: request.sign ? { ...request.headers, ...webhookHeaders(request.sign.secrets, request.sign.id, request.body, new Date(clockMs)) } : request.headers, body: request.body };
    if (line) this.lined.set(line.name, (this.lined.get(line.name) ?? 0) + 1);
    let a: PostAnswer;
    try {
      const job = { url: target.url, timeoutMs: target.timeoutMs, headers: sent.headers, body: request.body, line };
      // A rate-limited request leaves from here, right as its limiter starts it.
      a = line ? await this.posts.post(job) : await new Promise<PostAnswer>((resolve) => (this.local ??= new Poster()).post({ ...job, id: 0 }, 0, resolve));
    } finally {
      if (line) this.lined.set(line.name, this.lined.get(line.name)! - 1);
    }
    if (a.stopped) throw new Error('sender stopped');
    const result: AttemptResult = {
      startedAt: new Date(clockMs + a.queuedMs),
      durationMs: a.durationMs,
      status: a.status,
      responseHeaders: a.responseHeaders,
      responseBody: a.responseBody,
      errorClass: a.errorClass,
      errorMessage: a.errorMessage,
      retryAfterMs: a.status === 429 || a.status === 503 ? retryAfterMs(a.retryAfter ?? undefined, this.now()) : null,
    };
    return { request: sent, result };
  }

  /** Requests waiting in a destination's limiter or line, or in flight. */
  queued(name: string): number {
    return (this.limiters.get(name)?.gate.size() ?? 0) + (this.lined.get(name) ?? 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.limiters.values()].map((l) => l.gate.stop()));
    this.limiters.clear();
    this.local?.close();
    await this.posts.close();
  }
}
