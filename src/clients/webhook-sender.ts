import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Bottleneck from 'bottleneck';
import type { AttemptResult } from '../domain/delivery';
import type { RateLimiter } from './shared-limits';
import type { FromPostThread, PostAnswer, PostJob, ToPostThread } from './webhook-post-thread';

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
    // Under tsx (the TypeScript sources) the thread registers it too; compiled, it loads the .js.
    const file = path.join(__dirname, `webhook-post-thread${path.extname(__filename)}`);
    const source = `${file.endsWith('.ts') ? "require('tsx/cjs');" : ''}require(${JSON.stringify(file)}).servePosts(require('node:worker_threads').parentPort);`;
    const worker = new Worker(source, { eval: true });
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
      for (const id of [...this.waiting.keys()]) this.answer({ id, durationMs: 0, status: null, responseHeaders: null, responseBody: null, errorClass: 'network', errorMessage: `the sending thread stopped (exit code ${code})`, retryAfter: null });
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
      const a = await this.posts.post({ url: target.url, timeoutMs: target.timeoutMs, headers: req.headers, body: req.body });
      const result: AttemptResult = {
        startedAt,
        durationMs: a.durationMs,
        status: a.status,
        responseHeaders: a.responseHeaders,
        responseBody: a.responseBody,
        errorClass: a.errorClass,
        errorMessage: a.errorMessage,
        retryAfterMs: a.status === 429 || a.status === 503 ? retryAfterMs(a.retryAfter ?? undefined, this.now()) : null,
      };
      return { request: req, result };
    });
  }

  /** Requests waiting in a destination's limiter or in flight. */
  queued(name: string): number {
    return this.limiters.get(name)?.gate.size() ?? 0;
  }

  async close(): Promise<void> {
    await Promise.all([...this.limiters.values()].map((l) => l.gate.stop()));
    this.limiters.clear();
    await this.posts.close();
  }
}
