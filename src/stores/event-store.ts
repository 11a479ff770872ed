import type { Knex } from 'knex';
import { fromDbInt, fromDbJson, fromDbTime, toDbJson, toDbTime } from '../db/dialect';
import { insertRows, type BulkInsert } from '../db/bulk';
import type { Change, EventOrigin, MeterEvent, MeterEventType, MeterView } from '../domain/events';
import type { ReadinessView } from '../domain/readiness';
import type { MeterStore } from './meter-store';

export interface NewMeterEvent {
  meter_id: string;
  sequence: number;
  type: MeterEventType;
  occurred_at: Date;
  origin: EventOrigin;
  sync_run_id: string | null;
  changes: Change[] | null;
  /** A readiness event's readiness, as it was delivered (the meter's snapshots hold Leap's side only). */
  readiness?: ReadinessView;
}

export interface EventFilter {
  meterId?: string;
  type?: string;
  syncRunId?: string;
  /** Only events with a larger id (for paging). */
  afterId?: number;
}

interface EventRow {
  id: number | string;
  meter_ref: number | string;
  meter_id: string;
  sequence: number | string;
  type: string;
  occurred_at: string | Date;
  origin: string;
  sync_run_id: string | null;
  meter_json: string | null;
  changes_json: string | null;
  readiness_json?: string | null;
}

function toEvent(row: EventRow): MeterEvent {
  return {
    id: fromDbInt(row.id),
    meter_id: row.meter_id,
    sequence: fromDbInt(row.sequence),
    type: row.type as MeterEventType,
    occurred_at: fromDbTime(row.occurred_at)!.toISOString(),
    origin: row.origin as EventOrigin,
    sync_run_id: row.sync_run_id,
    meter: withReadiness(fromDbJson<MeterView>(row.meter_json) as MeterView, fromDbJson<ReadinessView>(row.readiness_json ?? null)),
    changes: fromDbJson<Change[]>(row.changes_json),
  };
}

const withReadiness = (meter: MeterView, readiness: ReadinessView | null): MeterView => (readiness ? { ...meter, readiness } : meter);

const EVENTS_INSERT: BulkInsert = { table: 'meter_events', columns: ['meter_ref', 'meter_id', 'sequence', 'type', 'occurred_at', 'origin', 'sync_run_id', 'meter_json', 'changes_json', 'readiness_json'] };

/** The row numbers of the meters named by a filter (one at most), for a query on meter_events. */
const refsOf = (db: Knex, meterId: string): Knex.QueryBuilder => db('meters').select('id').where('meter_id', meterId);

/** A meter's last event and the meter as it stood then, kept before the meter changes. */
export interface KeptSnapshot {
  ref: number;
  sequence: number;
  meter: MeterView;
}

/**
 * meter_events: append-only; (meter, sequence) is unique, so no change is recorded twice.
 *
 * Each event shows its meter after the change. That is, for the events of a meter's latest read,
 * the meter as stored: they are appended without a snapshot (`meter_json` null), and the last of
 * them gets one only when the meter next changes (`keepSnapshots`). A null snapshot is the next
 * snapshot of the same meter, or the meter as stored when no later event has one. A first sync
 * thus stores each meter's state once, in its raw parts, instead of a second time in its events.
 */
export class EventStore {
  constructor(
    private readonly db: Knex,
    private readonly meters: MeterStore,
  ) {}

  /**
   * Appends events of the meters in `refs` (meter_id → row number) and returns their ids, in the
   * order given. Called in the transaction that stores the state the events describe.
   */
  async append(trx: Knex.Transaction, events: readonly NewMeterEvent[], refs: ReadonlyMap<string, number>): Promise<number[]> {
    if (!events.length) return [];
    const refOf = (meterId: string): number => {
      const ref = refs.get(meterId);
      if (ref === undefined) throw new Error(`an event of meter ${meterId}, which is not stored`);
      return ref;
    };
    const rows = events.map((e) => [refOf(e.meter_id), e.meter_id, e.sequence, e.type, toDbTime(e.occurred_at), e.origin, e.sync_run_id, null, toDbJson(e.changes), e.readiness ? toDbJson(e.readiness) : null]);
    await insertRows(trx, EVENTS_INSERT, rows);
    // Re-select: MySQL has no RETURNING, and multi-row inserts report only the first id there.
    const ids = new Map<string, number>();
    const byMeter = [...new Set(events.map((e) => refOf(e.meter_id)))];
    const from = Math.min(...events.map((e) => e.sequence));
    for (let i = 0; i < byMeter.length; i += 500) {
      const found = (await trx('meter_events')
        .select('id', 'meter_ref', 'sequence')
        .whereIn('meter_ref', byMeter.slice(i, i + 500))
        .where('sequence', '>=', from)) as { id: number | string; meter_ref: number | string; sequence: number | string }[];
      for (const f of found) ids.set(`${fromDbInt(f.meter_ref)}#${fromDbInt(f.sequence)}`, fromDbInt(f.id));
    }
    return events.map((e) => ids.get(`${refOf(e.meter_id)}#${e.sequence}`)!);
  }

  /**
   * Before meters change: each one's last event keeps the state it showed (written once; an
   * event that has its snapshot already keeps it). One statement per 200 meters.
   */
  async keepSnapshots(trx: Knex.Transaction, kept: readonly KeptSnapshot[]): Promise<void> {
    for (let i = 0; i < kept.length; i += 200) {
      const part = kept.slice(i, i + 200);
      const cases = part.map(() => 'WHEN ? THEN ?').join(' ');
      await trx.raw(
        `UPDATE meter_events SET meter_json = CASE meter_ref ${cases} END WHERE meter_json IS NULL AND meter_ref IN (${part.map(() => '?').join(', ')}) AND sequence = CASE meter_ref ${cases} END`,
        [...part.flatMap((k) => [k.ref, toDbJson(k.meter)]), ...part.map((k) => k.ref), ...part.flatMap((k) => [k.ref, k.sequence])],
      );
    }
  }

  /** Oldest first (paging on with afterId), or the newest `limit` events, newest first. */
  async list(filter: EventFilter, limit: number, order: 'oldest' | 'newest' = 'oldest'): Promise<MeterEvent[]> {
    const q = this.db('meter_events').select('*');
    if (filter.meterId !== undefined) q.whereIn('meter_ref', refsOf(this.db, filter.meterId));
    if (filter.type !== undefined) q.where('type', filter.type);
    if (filter.syncRunId !== undefined) q.where('sync_run_id', filter.syncRunId);
    if (filter.afterId !== undefined) q.where('id', '>', filter.afterId);
    const rows = (await q.orderBy('id', order === 'newest' ? 'desc' : 'asc').limit(limit)) as EventRow[];
    return this.withSnapshots(rows);
  }

  async get(id: number): Promise<MeterEvent | undefined> {
    const row = (await this.db('meter_events').where({ id }).first()) as EventRow | undefined;
    return row && (await this.withSnapshots([row]))[0];
  }

  /** Resolve null snapshots: the meter's next event that has one, or else the meter as stored. */
  private async withSnapshots(rows: EventRow[]): Promise<MeterEvent[]> {
    const open = new Map<number, EventRow[]>();
    for (const r of rows) if (r.meter_json === null) open.set(fromDbInt(r.meter_ref), [...(open.get(fromDbInt(r.meter_ref)) ?? []), r]);
    const unresolved = new Map<number, EventRow[]>();
    for (const [ref, events] of open) {
      const first = Math.min(...events.map((r) => fromDbInt(r.sequence)));
      // Which later events have a snapshot (sequences only), then the snapshots needed.
      const sequences = ((await this.db('meter_events').select('sequence').where('meter_ref', ref).where('sequence', '>', first).whereNotNull('meter_json').orderBy('sequence')) as { sequence: number | string }[]).map((f) => fromDbInt(f.sequence));
      const next = new Map(events.map((r) => [r, sequences.find((q) => q > fromDbInt(r.sequence))]));
      const wanted = [...new Set([...next.values()].filter((q) => q !== undefined))];
      const found = new Map(
        ((await this.db('meter_events').select('sequence', 'meter_json').where('meter_ref', ref).whereIn('sequence', wanted)) as { sequence: number | string; meter_json: string }[]).map((f) => [fromDbInt(f.sequence), f.meter_json]),
      );
      for (const [r, q] of next) {
        if (q === undefined) unresolved.set(ref, [...(unresolved.get(ref) ?? []), r]);
        else r.meter_json = found.get(q)!;
      }
    }
    for (const [ref, view] of await this.meters.views([...unresolved.keys()])) for (const r of unresolved.get(ref)!) r.meter_json = toDbJson(view);
    return rows.map(toEvent);
  }

  async count(filter: EventFilter = {}): Promise<number> {
    const q = this.db('meter_events');
    if (filter.meterId !== undefined) q.whereIn('meter_ref', refsOf(this.db, filter.meterId));
    if (filter.syncRunId !== undefined) q.where('sync_run_id', filter.syncRunId);
    const rows = (await q.count({ n: '*' })) as { n: number | string }[];
    return fromDbInt(rows[0]?.n);
  }
}
