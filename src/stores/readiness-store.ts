import type { Knex } from 'knex';
import { insertRows, type BulkInsert } from '../db/bulk';
import { forUpdate, fromDbBool, fromDbInt, fromDbJson, fromDbTime, toDbBool, toDbJson, toDbTime, toDbTimeOrNull } from '../db/dialect';
import type { ReadinessRecord, ReadinessSource, ReadinessState, RequiredBy } from '../domain/readiness';

type Db = Knex | Knex.Transaction;

interface ReadinessRow {
  meter_ref: number | string;
  meter_id: string;
  state: string;
  since: string | Date;
  source: string;
  reason: string | null;
  device_ids_json: string | null;
  effective_at: string | Date | null;
  required_by: string | null;
  required_until: string | Date | null;
  device_key: string | null;
  overdue_notified: unknown;
}

const COLUMNS = ['meter_ref', 'meter_id', 'state', 'since', 'source', 'reason', 'device_ids_json', 'effective_at', 'required_by', 'required_until', 'device_key', 'overdue_notified'];

function toRecord(r: ReadinessRow): ReadinessRecord {
  return {
    state: r.state as ReadinessState,
    since: fromDbTime(r.since)!,
    source: r.source as ReadinessSource,
    reason: r.reason,
    deviceIds: fromDbJson<string[]>(r.device_ids_json),
    effectiveAt: fromDbTime(r.effective_at),
    requiredBy: r.required_by as RequiredBy | null,
    requiredUntil: fromDbTime(r.required_until),
    deviceKey: r.device_key,
    overdueNotified: fromDbBool(r.overdue_notified),
  };
}

/** A meter's readiness with the keys it is stored under. */
export interface StoredReadiness extends ReadinessRecord {
  ref: number;
  meterId: string;
}

/** One transition, as history keeps it. */
export interface ReadinessTransition {
  at: string;
  from: ReadinessState;
  to: ReadinessState;
  source: string;
  reason: string | null;
  device_ids: string[] | null;
  effective_at: string | null;
}

/** A write of a meter's readiness: the new record and the transition it makes (null: bookkeeping only). */
export interface ReadinessWrite {
  ref: number;
  meterId: string;
  next: ReadinessRecord;
  from: ReadinessState | null;
}

const UPSERT: BulkInsert = {
  table: 'meter_readiness',
  columns: [...COLUMNS, 'updated_at'],
  conflict: { keys: ['meter_ref'], merge: COLUMNS.filter((c) => c !== 'meter_ref').concat('updated_at') },
};

const HISTORY: BulkInsert = { table: 'readiness_history', columns: ['meter_ref', 'at', 'from_state', 'to_state', 'source', 'reason', 'device_ids_json', 'effective_at'] };

const chunks = <T>(xs: readonly T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

/** Per-meter readiness (`meter_readiness`) and its history (`readiness_history`). */
export class ReadinessStore {
  constructor(private readonly db: Knex) {}

  /** The stored readiness of these meters (by row number); in a transaction on MySQL the rows stay locked. */
  async getMany(refs: readonly number[], trx: Db = this.db): Promise<Map<number, StoredReadiness>> {
    const out = new Map<number, StoredReadiness>();
    for (const part of chunks([...new Set(refs)], 500)) {
      const q = trx('meter_readiness').select(COLUMNS).whereIn('meter_ref', part);
      const rows = (await (trx === this.db ? q : forUpdate(this.db, q))) as ReadinessRow[];
      for (const r of rows) out.set(fromDbInt(r.meter_ref), { ...toRecord(r), ref: fromDbInt(r.meter_ref), meterId: r.meter_id });
    }
    return out;
  }

  async get(ref: number, trx: Db = this.db): Promise<StoredReadiness | undefined> {
    return (await this.getMany([ref], trx)).get(ref);
  }

  /** Store each record and, where the state moved, its transition in the history. */
  async write(trx: Knex.Transaction, writes: readonly ReadinessWrite[], now: Date): Promise<void> {
    if (!writes.length) return;
    const at = toDbTime(now);
    await insertRows(
      trx,
      UPSERT,
      writes.map(({ ref, meterId, next: r }) => [
        ref,
        meterId,
        r.state,
        toDbTime(r.since),
        r.source,
        r.reason,
        toDbJson(r.deviceIds),
        toDbTimeOrNull(r.effectiveAt),
        r.requiredBy,
        toDbTimeOrNull(r.requiredUntil),
        r.deviceKey,
        toDbBool(r.overdueNotified),
        at,
      ]),
    );
    await insertRows(
      trx,
      HISTORY,
      writes
        .filter((w) => w.from !== null)
        .map(({ ref, from, next: r }) => [ref, toDbTime(r.since), from, r.state, r.source, r.reason, toDbJson(r.deviceIds), toDbTimeOrNull(r.effectiveAt)]),
    );
  }

  /** A meter's transitions, newest first. */
  async history(ref: number, limit = 50): Promise<ReadinessTransition[]> {
    const rows = (await this.db('readiness_history').select('at', 'from_state', 'to_state', 'source', 'reason', 'device_ids_json', 'effective_at').where('meter_ref', ref).orderBy('id', 'desc').limit(limit)) as {
      at: string | Date;
      from_state: string;
      to_state: string;
      source: string;
      reason: string | null;
      device_ids_json: string | null;
      effective_at: string | Date | null;
    }[];
    return rows.map((r) => ({
      at: fromDbTime(r.at)!.toISOString(),
      from: r.from_state as ReadinessState,
      to: r.to_state as ReadinessState,
      source: r.source,
      reason: r.reason,
      device_ids: fromDbJson<string[]>(r.device_ids_json),
      effective_at: fromDbTime(r.effective_at)?.toISOString() ?? null,
    }));
  }

  /** Meters in a state, in meter id order, after a meter id (paging). */
  async listByState(state: ReadinessState, limit: number, after?: string): Promise<(StoredReadiness & { partnerReference: string | null })[]> {
    const q = this.db('meter_readiness as r')
      .join('meters as m', 'm.id', 'r.meter_ref')
      .select(COLUMNS.map((c) => `r.${c}`).concat('m.partner_reference'))
      .where('r.state', state)
      .orderBy('r.meter_id')
      .limit(limit);
    if (after) q.where('r.meter_id', '>', after);
    const rows = (await q) as (ReadinessRow & { partner_reference: string | null })[];
    return rows.map((r) => ({ ...toRecord(r), ref: fromDbInt(r.meter_ref), meterId: r.meter_id, partnerReference: r.partner_reference }));
  }

  /** Meters in a state, the longest in it first. */
  async oldestIn(state: ReadinessState, limit: number): Promise<(StoredReadiness & { partnerReference: string | null })[]> {
    const rows = (await this.db('meter_readiness as r')
      .join('meters as m', 'm.id', 'r.meter_ref')
      .select(COLUMNS.map((c) => `r.${c}`).concat('m.partner_reference'))
      .where('r.state', state)
      .orderBy([{ column: 'r.since' }, { column: 'r.meter_id' }])
      .limit(limit)) as (ReadinessRow & { partner_reference: string | null })[];
    return rows.map((r) => ({ ...toRecord(r), ref: fromDbInt(r.meter_ref), meterId: r.meter_id, partnerReference: r.partner_reference }));
  }

  /** How many meters are in each stored state. */
  async counts(): Promise<Partial<Record<ReadinessState, number>>> {
    const rows = (await this.db('meter_readiness').select('state').count({ n: '*' }).groupBy('state')) as { state: string; n: number | string }[];
    return Object.fromEntries(rows.map((r) => [r.state, fromDbInt(r.n)]));
  }

  /** Awaiting meters whose wait began at or before `cutoff`, oldest first. */
  async awaitingSince(cutoff: Date, limit: number, trx: Db = this.db): Promise<number[]> {
    const rows = (await trx('meter_readiness').select('meter_ref').where('state', 'awaiting').where('since', '<=', toDbTime(cutoff)).orderBy('since').limit(limit)) as { meter_ref: number | string }[];
    return rows.map((r) => fromDbInt(r.meter_ref));
  }

  /** Meters required by market groups alone whose last assignment has ended. */
  async requirementEnded(now: Date, limit: number, trx: Db = this.db): Promise<number[]> {
    const rows = (await trx('meter_readiness').select('meter_ref').where('required_until', '<=', toDbTime(now)).whereNot('state', 'not_required').orderBy('required_until').limit(limit)) as { meter_ref: number | string }[];
    return rows.map((r) => fromDbInt(r.meter_ref));
  }

  /**
   * Meters that may need readiness but have no record: ACTIVE, or with a market group assignment
   * that has not ended. Finds what was stored before readiness was tracked; after `afterRef`.
   */
  async untracked(now: Date, afterRef: number, limit: number): Promise<number[]> {
    const today = now.toISOString().slice(0, 10);
    const rows = (await this.db('meters as m')
      .select('m.id')
      .where('m.id', '>', afterRef)
      .where('m.is_archived', false)
      .where((w) =>
        w.where('m.enrollment_status', 'ACTIVE').orWhereExists((g) =>
          g
            .select(this.db.raw('1'))
            .from('meter_group_assignments as g')
            .whereRaw('g.meter_ref = m.id')
            .where((d) => d.where('g.trade_date', '>=', today).orWhere('g.ends_at', '>', toDbTime(now)).orWhere((o) => o.whereNull('g.trade_date').whereNull('g.ends_at').whereNotNull('g.starts_at'))),
        ),
      )
      .whereNotExists((r) => r.select(this.db.raw('1')).from('meter_readiness as r').whereRaw('r.meter_ref = m.id'))
      .orderBy('m.id')
      .limit(limit)) as { id: number | string }[];
    return rows.map((r) => fromDbInt(r.id));
  }
}
