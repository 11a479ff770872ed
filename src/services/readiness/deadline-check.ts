import type { Clock } from '../../domain/clock';
import { meterView } from '../../domain/events';
import { deadlineMove, expiryMove, syncMove, type ReadinessMove } from '../../domain/readiness';
import { errorMessage } from '../../errors';
import type { Logger } from '../../logger';
import type { IdempotencyStore } from '../../stores/idempotency-store';
import type { LeaseStore } from '../../stores/lease-store';
import type { MeterStore, StoredMeter } from '../../stores/meter-store';
import type { ReadinessStore, StoredReadiness } from '../../stores/readiness-store';
import type { Transactor } from '../../stores/transaction';
import { storedMeter } from '../sync/compare';
import { IDEMPOTENCY_TTL_MS } from './readiness-service';
import type { ReadinessChange, ReadinessWriter } from './readiness-writer';

export const READINESS_LEASE = 'readiness-deadlines';

/** Meters per transaction. */
const BATCH = 500;

export interface DeadlineOutcome {
  /** Meters stored before readiness was tracked that now have a record. */
  tracked: number;
  overdue: number;
  /** Meters whose upcoming market groups all passed. */
  ended: number;
  idempotencyKeysPurged: number;
}

/**
 * What time alone changes: an awaiting meter past `overdue_after` is overdue, a requirement that
 * came from market groups ends with their last trade date, meters stored before readiness was
 * tracked get their record, and stored Idempotency-Key answers expire. Runs on a timer in `serve`;
 * across replicas one at a time, under a lease.
 */
export class ReadinessDeadlineCheck {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  /** The row number the backfill of untracked meters has reached (it finds each meter once). */
  private backfilledTo = 0;

  constructor(
    private readonly deps: {
      transactor: Transactor;
      meters: MeterStore;
      readiness: ReadinessStore;
      idempotency: IdempotencyStore;
      leases: LeaseStore;
      writer: ReadinessWriter;
      clock: Clock;
      logger: Logger;
      owner: string;
      overdueAfterMs: number;
      everyMs: number;
    },
  ) {}

  start(): void {
    if (this.timer) return;
    const tick = (): void => {
      this.running ??= this.runOnce()
        .catch((err: unknown) => this.deps.logger.error('readiness deadline check failed; trying again at the next tick', { err: errorMessage(err) }))
        .finally(() => {
          this.running = null;
        });
    };
    this.timer = setInterval(tick, this.deps.everyMs);
    this.timer.unref();
    tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One check, if this process holds (or takes) the lease; null when another replica holds it. */
  async runOnce(): Promise<DeadlineOutcome | null> {
    const { leases, owner, clock, everyMs } = this.deps;
    // Held a little longer than the period: the holder keeps it from tick to tick.
    if (!(await leases.acquire(READINESS_LEASE, owner, Math.max(everyMs * 3, 30_000), clock.now()))) return null;
    const out: DeadlineOutcome = { tracked: await this.backfill(), overdue: 0, ended: 0, idempotencyKeysPurged: 0 };
    out.ended = await this.sweep((now) => this.deps.readiness.requirementEnded(now, BATCH), (r, now) => expiryMove(r, now));
    out.overdue = await this.sweep(
      (now) => this.deps.readiness.awaitingSince(new Date(now.getTime() - this.deps.overdueAfterMs), BATCH),
      (r, now) => deadlineMove(r, this.deps.overdueAfterMs, now),
    );
    out.idempotencyKeysPurged = await this.deps.idempotency.purge(new Date(clock.now().getTime() - IDEMPOTENCY_TTL_MS));
    if (out.tracked || out.overdue || out.ended) this.deps.logger.info('readiness deadlines checked', { ...out });
    return out;
  }

  /** Meters found by `find`, moved by `move`, a batch per transaction until none is left. */
  private async sweep(find: (now: Date) => Promise<number[]>, move: (r: StoredReadiness, now: Date) => ReadinessMove | null): Promise<number> {
    let total = 0;
    for (;;) {
      const now = this.deps.clock.now();
      const refs = await find(now);
      if (!refs.length) return total;
      const moved = await this.deps.transactor.run(async (tx) => {
        const heads = await this.deps.meters.headsByRef(refs, tx);
        const records = await this.deps.readiness.getMany(refs, tx);
        const full = new Map((await this.deps.meters.withRaw(heads, tx)).map((m) => [m.ref, m]));
        const changes: ReadinessChange[] = [];
        for (const h of heads) {
          const record = records.get(h.ref);
          const m = record && move(record, now);
          if (m) changes.push(change(h, full.get(h.ref)!, record, m));
        }
        await this.deps.writer.apply(tx, changes, now);
        return changes.length;
      });
      total += moved;
      // Found but not moved (a partner answered meanwhile): the next tick looks again.
      if (moved < refs.length) return total;
    }
  }

  /** Records for meters stored before readiness was tracked (or whose sync predates it). */
  private async backfill(): Promise<number> {
    let total = 0;
    for (;;) {
      const now = this.deps.clock.now();
      const refs = await this.deps.readiness.untracked(now, this.backfilledTo, BATCH);
      if (!refs.length) return total;
      this.backfilledTo = refs[refs.length - 1]!;
      total += await this.deps.transactor.run(async (tx) => {
        const heads = await this.deps.meters.withRaw(await this.deps.meters.headsByRef(refs, tx), tx);
        const records = await this.deps.readiness.getMany(refs, tx);
        const changes: ReadinessChange[] = [];
        for (const h of heads) {
          const record = records.get(h.ref) ?? null;
          const m = syncMove(record, null, storedMeter(h), now);
          if (m) changes.push(change(h, h, record, m));
        }
        await this.deps.writer.apply(tx, changes, now);
        return changes.length;
      });
    }
  }
}

function change(head: StoredMeter, full: StoredMeter, current: StoredReadiness | null, move: ReadinessMove): ReadinessChange {
  let view: ReturnType<typeof meterView> | undefined;
  return { ref: head.ref, meterId: head.meterId, sequence: head.sequence, view: () => (view ??= meterView(storedMeter(full))), current, move };
}
