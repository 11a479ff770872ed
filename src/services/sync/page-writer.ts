import type { Clock } from '../../domain/clock';
import { meterView, type MeterEvent, type MeterView } from '../../domain/events';
import type { Meter } from '../../domain/meter';
import type { EventStore, KeptSnapshot, NewMeterEvent } from '../../stores/event-store';
import type { LeaseStore } from '../../stores/lease-store';
import type { MeterStore, MeterWrite, StoredMeter } from '../../stores/meter-store';
import type { SyncKind } from '../../stores/sync-run-store';
import type { Transactor, Tx } from '../../stores/transaction';
import { archiveOutcome, outcomeOf, storedMeter, unchanged, type PartUpdate } from './compare';
import { SYNC_LEASE, SyncLeaseLostError } from './sync-errors';

/** Receives the events of each committed unit of work, inside its transaction (the outbox). */
export interface EventSink {
  enqueue(tx: Tx, events: readonly MeterEvent[]): Promise<void>;
  /** Whether events of this type may be rendered anywhere (their meter read); absent: assume so. */
  wants?(type: string): boolean;
}

/** A meter the unit wrote, as it was before and is now, with its sequence after the unit's events. */
export interface WrittenMeter {
  ref: number;
  meterId: string;
  sequence: number;
  before: Meter | MeterView | null;
  view: () => MeterView;
}

/** Runs after a unit's meters and events are written, in its transaction; answers the events it added. */
export interface MeterWriteHook {
  /** `runId`: the sync run the unit belongs to (its events carry it), null for a targeted refresh. */
  afterWrite(tx: Tx, written: readonly WrittenMeter[], now: Date, runId: string | null): Promise<MeterEvent[]>;
}

/** Hooks run one after another; each sees the sequences the earlier ones moved on. */
export function inTurn(...hooks: MeterWriteHook[]): MeterWriteHook {
  return {
    async afterWrite(tx: Tx, written: readonly WrittenMeter[], now: Date, runId: string | null) {
      const all: MeterEvent[] = [];
      let current = written;
      for (const hook of hooks) {
        const events = await hook.afterWrite(tx, current, now, runId);
        if (!events.length) continue;
        all.push(...events);
        const last = new Map<string, number>();
        for (const e of events) last.set(e.meter_id, Math.max(last.get(e.meter_id) ?? 0, e.sequence));
        current = current.map((w) => (last.has(w.meterId) ? { ...w, sequence: last.get(w.meterId)! } : w));
      }
      return all;
    },
  };
}

/** What one pass (or a targeted refresh) writes under. */
export interface RunContext {
  /** A dry run does all its work in this one transaction, rolled back at the end. */
  tx?: Tx;
  runId: string | null;
  kind: SyncKind;
  dryRun: boolean;
  origin: 'poll' | 'reconcile' | 'leap_event';
  signal: AbortSignal;
  onEvent?: (e: MeterEvent) => void;
  /**
   * When the run started: a meter already read since then (its other part, on v2) is not counted
   * as seen again. Null: every meter read counts (a targeted refresh).
   */
  seenSince: Date | null;
}

export interface UnitResult {
  metersSeen: number;
  metersChanged: number;
  /** Meters stored for the first time. */
  metersNew: number;
  events: MeterEvent[];
}

/** Stop before writing another page when the lease was lost or a shutdown began. */
export function checkRun(ctx: RunContext): void {
  if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new SyncLeaseLostError();
}

/** One turn of the event loop: sockets are read (the next pages arrive) and timers run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A turn of the event loop once `everyMs` have passed since the last one, else nothing. Leap's
 * pages come one after another (each needs its predecessor's token) and each is read only when
 * the event loop turns: comparing a page without a turn left the next one unread until the page
 * was committed, and the sync waited for it, page after page.
 */
function turnsEvery(everyMs: number): () => Promise<void> | null {
  let last = performance.now();
  return () => {
    const now = performance.now();
    if (now - last < everyMs) return null;
    last = now;
    return turn();
  };
}

/** How long a page is compared before the event loop gets a turn. */
const COMPARE_SLICE_MS = 5;

/** A new event of a meter, with the meter it shows (built when first read). */
interface NewEvent {
  e: NewMeterEvent;
  view: () => MeterView;
}

/** The events of a committed write, as the outbox and `onEvent` receive them; the meter is built when read. */
function toMeterEvents(pending: readonly NewEvent[], ids: readonly number[]): MeterEvent[] {
  return pending.map(({ e, view }, i) => ({
    id: ids[i]!,
    meter_id: e.meter_id,
    sequence: e.sequence,
    type: e.type,
    occurred_at: e.occurred_at.toISOString(),
    origin: e.origin,
    sync_run_id: e.sync_run_id,
    get meter() {
      return view();
    },
    changes: e.changes,
  }));
}

export interface PageWriterDeps {
  transactor: Transactor;
  meters: MeterStore;
  events: EventStore;
  leases: LeaseStore;
  clock: Clock;
  /** Who holds the sync lease a run's pages commit under. */
  owner: string;
  leaseTtlMs: number;
  sink?: EventSink;
  /** Readiness follows Leap's side in the same transaction. */
  afterWrite?: MeterWriteHook;
}

/**
 * Writes a unit of the sync (a page, a batch of refreshed or archived meters) in one transaction:
 * the meters that changed, their events, the outbox, and whatever the caller adds (the page's
 * position). A run's units commit only while it holds the sync lease.
 */
export class PageWriter {
  constructor(private readonly deps: PageWriterDeps) {}

  /**
   * One unit of work: its own transaction (retried whole on a lock conflict), or, in a dry run,
   * the run's single transaction, so later pages see what earlier ones would have written.
   */
  unit<T>(ctx: RunContext, work: (tx: Tx) => Promise<T>): Promise<T> {
    if (ctx.tx) return work(ctx.tx);
    if (!ctx.runId) return this.deps.transactor.run(work);
    // A run's pages commit only while it holds the lease: renewing inside the transaction, as its
    // last statement, fences a holder that stalled past its expiry (another process may have taken
    // over meanwhile). Last, so that the work before it holds no write lock on SQLite while it
    // gives the event loop its turns.
    return this.deps.transactor.run(async (tx) => {
      const result = await work(tx);
      const held = await this.deps.leases.renew(SYNC_LEASE, this.deps.owner, this.deps.leaseTtlMs, this.deps.clock.now(), tx);
      if (!held) throw new SyncLeaseLostError();
      return result;
    });
  }

  /**
   * Compare, write and emit for a set of meter parts, in one transaction (retried whole on a
   * lock conflict or a concurrent writer). `extra` runs inside the same transaction.
   */
  async write(parts: PartUpdate[], ctx: RunContext, extra?: (tx: Tx, r: UnitResult) => Promise<void>): Promise<UnitResult> {
    return this.unit(ctx, async (tx) => {
      checkRun(ctx);
      const now = this.deps.clock.now();
      // The last read of a meter wins if one unit holds it twice.
      const byId = new Map<string, PartUpdate>();
      for (const p of parts) byId.set(p.meterId, { ...byId.get(p.meterId), ...p });
      // Most re-read meters are unchanged: compare hashes first, load raw JSON only for the rest.
      const heads = await this.deps.meters.getHeads([...byId.keys()], tx);
      // SQLite answers synchronously: the pages being fetched get turns of the event loop while
      // this one is compared, before anything is written.
      const due = turnsEvery(COMPARE_SLICE_MS);
      await turn();
      const touched: number[] = [];
      const toCompare: PartUpdate[] = [];
      for (const part of byId.values()) {
        const head = heads.get(part.meterId);
        if (head && unchanged(part, head)) touched.push(head.ref);
        else toCompare.push(part);
      }
      // Heads read above (locked on MySQL) are completed with their raw parts; the meters rows are not read again.
      const stored = new Map((await this.deps.meters.withRaw(toCompare.flatMap((p) => heads.get(p.meterId) ?? []), tx)).map((m) => [m.meterId, m]));
      const writes: MeterWrite[] = [];
      const newEvents: NewEvent[] = [];
      const kept: KeptSnapshot[] = [];
      const written: Omit<WrittenMeter, 'ref'>[] = [];
      for (const part of toCompare) {
        const pause = due();
        if (pause) await pause;
        const prior = stored.get(part.meterId) ?? null;
        const outcome = outcomeOf(part, prior);
        if (!outcome) {
          touched.push(prior!.ref);
          continue;
        }
        writes.push(outcome.write);
        if (outcome.write.changed || !prior) written.push({ meterId: part.meterId, sequence: outcome.write.sequence, before: outcome.before, view: outcome.view });
        // The meter's last event showed it as stored until now: it keeps that state for good.
        if (prior && prior.sequence > 0) kept.push({ ref: prior.ref, sequence: prior.sequence, meter: meterView(outcome.before ?? storedMeter(prior)) });
        outcome.events.forEach((e, i) =>
          newEvents.push({
            e: {
              meter_id: part.meterId,
              sequence: outcome.write.sequence - outcome.events.length + i + 1,
              type: e.type,
              occurred_at: now,
              origin: ctx.origin,
              sync_run_id: ctx.runId,
              changes: e.changes,
            },
            view: outcome.view,
          }),
        );
      }
      await turn();
      await this.deps.events.keepSnapshots(tx, kept);
      const refs = await this.deps.meters.write(tx, writes, now);
      // And between the meters and their events: pages and the page thread's answers wait for turns.
      await turn();
      await this.deps.meters.touch(tx, touched, now);
      const events = await this.appendEvents(tx, newEvents, refs);
      events.push(...(await this.followUp(tx, written, refs, now, ctx.runId)));
      // Distinct meters: on v2 a meter read in the details search is read again in the enrollment search.
      const since = ctx.seenSince;
      const seen = since
        ? [...byId.keys()].filter((id) => {
            const head = heads.get(id);
            return !head || head.lastSeenAt.getTime() < since.getTime();
          }).length
        : byId.size;
      const result: UnitResult = { metersSeen: seen, metersChanged: writes.filter((w) => w.changed).length, metersNew: writes.filter((w) => w.ref === null).length, events };
      if (extra) await extra(tx, result);
      if (ctx.onEvent) for (const e of events) ctx.onEvent(e);
      return result;
    });
  }

  /** Archive stored meters a complete full walk no longer found, in one transaction. */
  async archive(gone: readonly StoredMeter[], ctx: RunContext, extra?: (tx: Tx, r: UnitResult) => Promise<void>): Promise<UnitResult> {
    return this.unit(ctx, async (tx) => {
      checkRun(ctx);
      const now = this.deps.clock.now();
      const writes: MeterWrite[] = [];
      const newEvents: NewEvent[] = [];
      const kept: KeptSnapshot[] = [];
      const written: Omit<WrittenMeter, 'ref'>[] = [];
      for (const s of gone) {
        const { write, meter, archived, emit } = archiveOutcome(s, now);
        if (s.sequence > 0) kept.push({ ref: s.ref, sequence: s.sequence, meter: meterView(meter) });
        writes.push(write);
        const view = meterView(archived);
        written.push({ meterId: s.meterId, sequence: emit ? s.sequence + 1 : s.sequence, before: meter, view: () => view });
        if (emit)
          newEvents.push({
            e: {
              meter_id: s.meterId,
              sequence: s.sequence + 1,
              type: 'meter.archived',
              occurred_at: now,
              origin: 'reconcile',
              sync_run_id: ctx.runId,
              changes: [{ path: 'is_archived', from: false, to: true }],
            },
            view: () => view,
          });
      }
      await this.deps.events.keepSnapshots(tx, kept);
      const refs = await this.deps.meters.write(tx, writes, now);
      const events = await this.appendEvents(tx, newEvents, refs);
      events.push(...(await this.followUp(tx, written, refs, now, ctx.runId)));
      const result: UnitResult = { metersSeen: 0, metersChanged: writes.length, metersNew: 0, events };
      if (extra) await extra(tx, result);
      if (ctx.onEvent) for (const e of events) ctx.onEvent(e);
      return result;
    });
  }

  /** What follows Leap's changes in the same transaction (readiness), with the meters' row numbers. */
  private async followUp(tx: Tx, written: readonly Omit<WrittenMeter, 'ref'>[], refs: ReadonlyMap<string, number>, now: Date, runId: string | null): Promise<MeterEvent[]> {
    if (!this.deps.afterWrite || !written.length) return [];
    return this.deps.afterWrite.afterWrite(
      tx,
      written.map((w) => ({ ...w, ref: refs.get(w.meterId)! })),
      now,
      runId,
    );
  }

  /** The new events, stored and handed to the outbox in the unit's transaction. */
  private async appendEvents(tx: Tx, newEvents: readonly NewEvent[], refs: ReadonlyMap<string, number>): Promise<MeterEvent[]> {
    const ids = await this.deps.events.append(
      tx,
      newEvents.map((n) => n.e),
      refs,
    );
    const events = toMeterEvents(newEvents, ids);
    if (this.deps.sink && events.length) await this.deps.sink.enqueue(tx, events);
    return events;
  }
}
