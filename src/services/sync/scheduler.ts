import type { Clock } from '../../domain/clock';
import type { Schedule } from '../../domain/schedule';
import { errorMessage } from '../../errors';
import type { Logger } from '../../logger';
import type { SyncRun, SyncRunStore } from '../../stores/sync-run-store';
import { SyncBusyError, SyncStoppedError } from './sync-errors';
import type { SyncOptions, SyncResult, SyncService } from './sync-service';

export interface SyncSchedulerDeps {
  sync: SyncService;
  runs: SyncRunStore;
  clock: Clock;
  logger: Logger;
  incremental: Schedule;
  full: Schedule;
  /** How often to check whether a pass is due. */
  tickMs?: number;
}

export interface StartRunOptions {
  kind: 'incremental' | 'full';
  since?: string;
  trigger: string;
}

/**
 * Runs the incremental pass and the full reconcile when due, and starts runs on request. Due
 * times come from the runs recorded in the database, so replicas and restarts agree; the sync
 * lease lets only one of them run at a time.
 */
export class SyncScheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<SyncResult | null> | null = null;
  private stopRun: AbortController | null = null;
  private failures = 0;
  private lastFailureAt: Date | null = null;
  private stopped = false;
  private readonly tickMs: number;

  constructor(private readonly deps: SyncSchedulerDeps) {
    this.tickMs = deps.tickMs ?? 15_000;
  }

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.tick().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.tickMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  /** Stop scheduling; a run in progress stops after its current page and resumes next time. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopRun?.abort();
    await this.running?.catch(() => undefined);
  }

  /** Is a run in progress in this process? */
  get busy(): boolean {
    return this.running !== null;
  }

  /** What is due now, if anything: the full reconcile first, then an incremental pass. */
  async due(now: Date): Promise<'full' | 'incremental' | null> {
    if (this.lastFailureAt && this.failures > 0) {
      // After a failure, wait 1, 2, 4 ... minutes (at most an hour) before trying again.
      const backoff = Math.min(60_000 * 2 ** (this.failures - 1), 3_600_000);
      if (now.getTime() - this.lastFailureAt.getTime() < backoff) return null;
    }
    const [lastFull, firstAny, lastAny] = await Promise.all([this.deps.runs.startOf('last', 'full'), this.deps.runs.startOf('first', null), this.deps.runs.startOf('last', null)]);
    // The very first pass walks everything anyway; the reconcile clock starts with it.
    const fullBase = lastFull ?? firstAny;
    if (fullBase && this.deps.full.nextAfter(fullBase, now) <= now) return 'full';
    if (this.deps.incremental.nextAfter(lastAny, now) <= now) return 'incremental';
    return null;
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    try {
      const kind = await this.due(this.deps.clock.now());
      if (!kind) return;
      await this.startRun({ kind, trigger: 'schedule' }).catch((err: unknown) => {
        if (!(err instanceof SyncBusyError)) throw err;
      });
    } catch (err) {
      this.deps.logger.error('scheduled sync could not start', { err: errorMessage(err) });
    }
  }

  /**
   * Start a run in the background; resolves with the run as soon as it is recorded, or rejects
   * (SyncBusyError when another sync holds the lease).
   */
  startRun(opts: StartRunOptions, extra: Pick<SyncOptions, 'onProgress' | 'onEvent'> = {}): Promise<SyncRun> {
    if (this.running) return Promise.reject(new SyncBusyError('this process', null));
    return new Promise<SyncRun>((resolve, reject) => {
      let started = false;
      const stop = new AbortController();
      this.stopRun = stop;
      const p = this.deps.sync
        .run({
          ...opts,
          ...extra,
          signal: stop.signal,
          onStart: (run) => {
            started = true;
            resolve(run);
          },
        })
        .then(
          (result) => {
            this.failures = 0;
            this.lastFailureAt = null;
            return result;
          },
          (err: unknown) => {
            if (!started) reject(err);
            if (!(err instanceof SyncBusyError) && !(err instanceof SyncStoppedError)) {
              this.failures += 1;
              this.lastFailureAt = this.deps.clock.now();
              this.deps.logger.error('sync run failed', { err: errorMessage(err), code: (err as { code?: string }).code });
            }
            return null;
          },
        )
        .finally(() => {
          this.running = null;
          this.stopRun = null;
        });
      this.running = p;
    });
  }

  /** Wait for the run in progress (tests, graceful stop). */
  async idle(): Promise<void> {
    await this.running;
  }
}
