import type { Knex } from 'knex';
import { fromDbInt, fromDbJson, fromDbTime, toDbJson, toDbTime } from '../db/dialect';
import { insertRows, type BulkInsert } from '../db/bulk';
import type { Change, EventOrigin, MeterEvent, MeterEventType, MeterView } from '../domain/events';

export interface NewMeterEvent {
  meter_id: string;
  sequence: number;
  type: MeterEventType;
  occurred_at: Date;
  origin: EventOrigin;
  sync_run_id: string | null;
  meter: MeterView;
  changes: Change[] | null;
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
}

/** Both events describe the same meter state (the same object, or the same read). */
function sameState(a: NewMeterEvent, b: NewMeterEvent): boolean {
  return a.meter === b.meter;
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
    meter: fromDbJson<MeterView>(row.meter_json) as MeterView,
    changes: fromDbJson<Change[]>(row.changes_json),
  };
}

const EVENTS_INSERT: BulkInsert = { table: 'meter_events', columns: ['meter_ref', 'meter_id', 'sequence', 'type', 'occurred_at', 'origin', 'sync_run_id', 'meter_json', 'changes_json'] };

/** The row numbers of the meters named by a filter (one at most), for a query on meter_events. */
const refsOf = (db: Knex, meterId: string): Knex.QueryBuilder => db('meters').select('id').where('meter_id', meterId);

/** meter_events: append-only; (meter, sequence) is unique, so no change is recorded twice. */
export class EventStore {
  constructor(private readonly db: Knex) {}

  /** Appends events of the meters in `refs` (meter_id → row number) and returns their ids, in the order given. */
  async append(trx: Knex.Transaction, events: readonly NewMeterEvent[], refs: ReadonlyMap<string, number>): Promise<number[]> {
    if (!events.length) return [];
    const refOf = (meterId: string): number => {
      const ref = refs.get(meterId);
      if (ref === undefined) throw new Error(`an event of meter ${meterId}, which is not stored`);
      return ref;
    };
    // Events from one read of a meter share its state: only the last of them stores the snapshot.
    const lastOfMeter = new Map<string, number>();
    events.forEach((e, i) => {
      const j = lastOfMeter.get(e.meter_id);
      if (j === undefined || events[j]!.sequence < e.sequence) lastOfMeter.set(e.meter_id, i);
    });
    const rows = events.map((e, i) => [
      refOf(e.meter_id),
      e.meter_id,
      e.sequence,
      e.type,
      toDbTime(e.occurred_at),
      e.origin,
      e.sync_run_id,
      lastOfMeter.get(e.meter_id) === i || !sameState(e, events[lastOfMeter.get(e.meter_id)!]!) ? toDbJson(e.meter) : null,
      toDbJson(e.changes),
    ]);
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

  async list(filter: EventFilter, limit: number): Promise<MeterEvent[]> {
    const q = this.db('meter_events').select('*');
    if (filter.meterId !== undefined) q.whereIn('meter_ref', refsOf(this.db, filter.meterId));
    if (filter.type !== undefined) q.where('type', filter.type);
    if (filter.syncRunId !== undefined) q.where('sync_run_id', filter.syncRunId);
    if (filter.afterId !== undefined) q.where('id', '>', filter.afterId);
    const rows = (await q.orderBy('id').limit(limit)) as EventRow[];
    return this.withSnapshots(rows);
  }

  async get(id: number): Promise<MeterEvent | undefined> {
    const row = (await this.db('meter_events').where({ id }).first()) as EventRow | undefined;
    return row && (await this.withSnapshots([row]))[0];
  }

  /** Fill in the snapshot of events that share it with a later event of the same meter. */
  private async withSnapshots(rows: EventRow[]): Promise<MeterEvent[]> {
    for (const row of rows) {
      if (row.meter_json !== null) continue;
      const later = (await this.db('meter_events')
        .select('meter_json')
        .where({ meter_ref: row.meter_ref })
        .where('sequence', '>', row.sequence)
        .whereNotNull('meter_json')
        .orderBy('sequence')
        .first()) as { meter_json: string } | undefined;
      row.meter_json = later?.meter_json ?? null;
    }
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
