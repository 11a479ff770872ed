import Bottleneck from 'bottleneck';
import Redis from 'ioredis';
import type { Logger } from '../logger';

/** What the Leap client and the webhook sender need from a rate limiter. */
export interface RateLimiter {
  schedule<T>(job: () => Promise<T>): Promise<T>;
  /** Jobs waiting or running through this limiter in this process. */
  pending(): number;
  /** New settings (a reloaded destination): queued jobs keep their place and go at the new pace. */
  update(settings: Omit<LimitSettings, 'margin'>): void;
  stop(): Promise<void>;
}

export interface LimitSettings {
  /** Requests per second across every replica. */
  ratePerSecond: number;
  /** Requests in flight at once across every replica. */
  maxConcurrent: number;
  /** Starts are spaced this much wider than 1/rate (jitter between replicas must not make a burst). */
  margin: number;
}

/** Errors of bottleneck's Redis scripts after Redis lost its keys (a restart without persistence, a flush). */
const LOST_STATE = /SETTINGS_KEY_NOT_FOUND|UNKNOWN_CLIENT/;

/** Redis-backed limits are spaced wider than local ones: replicas start requests a few ms apart from what Redis decided. */
export const SHARED_RATE_MARGIN = 1.05;

/** Run a bottleneck teardown call, which may or may not return a promise, ignoring its failure. */
async function settle(f: () => unknown): Promise<void> {
  try {
    await f();
  } catch {
    // already gone
  }
}

function bottleneckOptions(s: LimitSettings): Bottleneck.ConstructorOptions {
  return { maxConcurrent: s.maxConcurrent, minTime: (1000 * s.margin) / s.ratePerSecond };
}

/**
 * A rate limit shared by every replica through Redis (bottleneck's clustering): each limiter id
 * (Leap, or one destination) allows its rate and concurrency across all processes together.
 *
 * Redis is a helper, never a single point of failure: while it is unreachable, calls go through
 * a local limiter with the same settings (each replica then keeps the limit on its own, and the
 * remote side's 429s, which are honoured, cover the difference), and when Redis comes back empty
 * the shared limiter is set up again.
 */
export class SharedLimiter implements RateLimiter {
  private shared: Bottleneck;
  private readonly local: Bottleneck;
  private inProcess = 0;
  private stopped = false;
  private lastWarning = 0;

  constructor(
    private readonly limits: SharedLimits,
    private readonly id: string,
    private settings: LimitSettings,
  ) {
    this.shared = this.connect();
    this.local = new Bottleneck(bottleneckOptions(settings));
  }

  private connect(): Bottleneck {
    const limiter = new Bottleneck({ ...bottleneckOptions(this.settings), id: this.id, datastore: 'ioredis', connection: this.limits.connection, clearDatastore: false });
    // Settings are kept in Redis: a replica started with new settings (a reloaded destination) makes them everyone's.
    Promise.resolve()
      .then(() => limiter.updateSettings(bottleneckOptions(this.settings)))
      .catch(() => undefined);
    limiter.on('error', (err: unknown) => this.warn('shared rate limiter error', err));
    return limiter;
  }

  async schedule<T>(job: () => Promise<T>): Promise<T> {
    if (this.stopped) throw new Error('rate limiter stopped');
    this.inProcess += 1;
    try {
      if (!this.limits.available()) return await this.local.schedule(job);
      let started = false;
      const run = () => {
        started = true;
        return job();
      };
      try {
        return await this.shared.schedule(run);
      } catch (err) {
        // The job's own failure is the caller's; only the limiter's failure is handled here.
        if (started || this.stopped) throw err;
        if (LOST_STATE.test(err instanceof Error ? err.message : String(err))) {
          this.warn('the shared rate limiter lost its state in Redis; setting it up again', err);
          const old = this.shared;
          this.shared = this.connect();
          void settle(() => old.disconnect(false));
          return await this.shared.schedule(run).catch((again: unknown) => {
            if (started) throw again;
            return this.local.schedule(job);
          });
        }
        this.warn('the shared rate limiter is unavailable; limiting in this process only', err);
        return await this.local.schedule(job);
      }
    } finally {
      this.inProcess -= 1;
    }
  }

  pending(): number {
    return this.inProcess;
  }

  /**
   * One limiter per id in a process: bottleneck's shared connection keeps one limiter per id, so a
   * second one with the same id would take the first one's Redis messages and leave its queue stuck.
   */
  update(settings: Omit<LimitSettings, 'margin'>): void {
    this.settings = { ...settings, margin: this.settings.margin };
    const options = bottleneckOptions(this.settings);
    this.local.updateSettings(options);
    void settle(() => this.shared.updateSettings(options));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.limits.forget(this);
    // The connection is the process's, shared: disconnecting a limiter only takes it off it.
    await Promise.all([settle(() => this.local.stop({ dropWaitingJobs: true })), settle(() => this.shared.disconnect(false))]);
  }

  private warn(message: string, err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarning < 60_000) return;
    this.lastWarning = now;
    this.limits.logger.warn(message, { limiter: this.id, err: err instanceof Error ? err.message : String(err) });
  }
}

/** One Redis connection for every shared limiter of this process. */
export class SharedLimits {
  readonly connection: Bottleneck.IORedisConnection;
  private readonly client: Redis;
  private readonly limiters = new Set<SharedLimiter>();

  constructor(
    url: string,
    private readonly prefix: string,
    readonly logger: Logger,
  ) {
    // Commands fail at once while Redis is away (the local limiter takes over) instead of queueing.
    this.client = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5000, retryStrategy: (times) => Math.min(times * 500, 5000) });
    this.client.on('error', () => undefined); // reported by the limiters that fail, at most once a minute each
    this.connection = new Bottleneck.IORedisConnection({ client: this.client });
    this.connection.on('error', () => undefined);
  }

  /** Redis answers now; otherwise calls are limited locally. */
  available(): boolean {
    return this.client.status === 'ready';
  }

  /** Wait (briefly) for the first connection, so the first calls already share the limit. */
  async ready(timeoutMs = 5000): Promise<boolean> {
    if (this.available()) return true;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      t.unref();
      this.client.once('ready', () => {
        clearTimeout(t);
        resolve();
      });
    });
    return this.available();
  }

  limiter(name: string, settings: Omit<LimitSettings, 'margin'>): SharedLimiter {
    const limiter = new SharedLimiter(this, `${this.prefix}:${name}`, { ...settings, margin: SHARED_RATE_MARGIN });
    this.limiters.add(limiter);
    return limiter;
  }

  /** Limiters in use (a stopped one is let go). */
  get size(): number {
    return this.limiters.size;
  }

  forget(limiter: SharedLimiter): void {
    this.limiters.delete(limiter);
  }

  async close(): Promise<void> {
    await Promise.all([...this.limiters].map((l) => l.stop()));
    this.limiters.clear();
    await settle(() => this.connection.disconnect(false));
    this.client.disconnect();
  }
}
