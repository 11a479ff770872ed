import type { Knex } from 'knex';
import { forUpdate, fromDbBool, fromDbInt, fromDbJson, fromDbTime, isUniqueViolation, toDbBool, toDbTime, toDbTimeOrNull } from '../db/dialect';
import type { GroupAssignment, Meter, MeterRaw } from '../domain/meter';
import { meterView, type MeterView } from '../domain/events';
import { meterFromRaw } from '../domain/normalize';
import { AppError } from '../errors';
import { insertRows, type BulkInsert } from '../db/bulk';

/** A meter as stored: Leap's raw parts (the normalized meter is derived from them) and bookkeeping. */
export interface StoredMeter {
  meterId: string;
  /** The meter's row number: its raw parts and assignments are stored under it. */
  ref: number;
  source: 'v1' | 'v2';
  raw: MeterRaw;
  /** The raw parts' JSON text as stored (v1: in `details`), so an unchanged part is not serialized again. */
  rawText: { details: string | null; enrollment: string | null };
  detailsHash: string | null;
  enrollmentHash: string | null;
  contentHash: string;
  sequence: number;
  isArchived: boolean;
  leapUpdatedAt: string | null;
  firstSeenAt: Date;
  lastSeenAt: Date;
  lastChangedAt: Date;
  /** Set when a full reconcile no longer found the meter at Leap. */
  missingSince: Date | null;
}

export interface MeterWrite {
  meterId: string;
  /** The columns derived from the normalized meter (`meterColumns`). */
  columns: unknown[];
  /** Its market group assignments (`groupRows`), written when the meter is new or changed. */
  assignments: unknown[][];
  /** The stored meter's row number; null for a meter not stored yet. */
  ref: number | null;
  detailsHash: string | null;
  enrollmentHash: string | null;
  /**
   * Raw parts to store, as JSON text (v1: the whole meter as `details`): a part present here is
   * written (null deletes it), a part left out keeps what is stored.
   */
  rawParts: Partial<Record<RawPart, string | null>>;
  contentHash: string;
  leapUpdatedAt: string | null;
  /** When the meter last changed, kept when this write changes nothing a partner sees. */
  previousChangedAt: Date | null;
  sequence: number;
  /** The normalized meter changed (not only a raw part or its hash). */
  changed: boolean;
  missingSince: Date | null;
}

export interface MeterFilter {
  partnerReference?: string;
  status?: string;
  marketGroupId?: string;
  tradeDate?: string;
  transmissionRegion?: string;
  partnerActionRequired?: boolean;
  archived?: boolean;
}

/** Another writer changed the meter between our read and our write; the caller retries its transaction. */
export class ConcurrentMeterChangeError extends AppError {
  constructor(meterId: string) {
    super(409, 'meter_changed_concurrently', `meter ${meterId} was changed by another writer`, { meter_id: meterId });
  }
}

/** The parts of a meter kept as Leap sent them, in `meter_raw_parts`. */
export type RawPart = 'details' | 'enrollment';
const RAW_PARTS: readonly RawPart[] = ['details', 'enrollment'];

interface MeterRow {
  id: number | string;
  meter_id: string;
  source: string;
  details_hash: string | null;
  enrollment_hash: string | null;
  content_hash: string;
  sequence: number | string;
  is_archived: number | boolean;
  leap_updated_at: string | null;
  first_seen_at: string | Date;
  last_seen_at: string | Date;
  last_changed_at: string | Date;
  missing_since: string | Date | null;
}

const COLUMNS = [
  'id',
  'meter_id',
  'source',
  'details_hash',
  'enrollment_hash',
  'content_hash',
  'sequence',
  'is_archived',
  'leap_updated_at',
  'first_seen_at',
  'last_seen_at',
  'last_changed_at',
  'missing_since',
];

function textOf(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

type RawTexts = Record<RawPart, string | null>;
const NO_PARTS: RawTexts = { details: null, enrollment: null };

/** The row's bookkeeping; `raw` and `rawText` stay empty until `withParts`. */
function toHead(row: MeterRow): StoredMeter {
  return {
    meterId: row.meter_id,
    ref: fromDbInt(row.id),
    source: row.source === 'v1' ? 'v1' : 'v2',
    raw: { details: null, enrollment: null, v1: null },
    rawText: { ...NO_PARTS },
    detailsHash: row.details_hash,
    enrollmentHash: row.enrollment_hash,
    contentHash: row.content_hash,
    sequence: fromDbInt(row.sequence),
    isArchived: fromDbBool(row.is_archived),
    leapUpdatedAt: row.leap_updated_at,
    firstSeenAt: fromDbTime(row.first_seen_at)!,
    lastSeenAt: fromDbTime(row.last_seen_at)!,
    lastChangedAt: fromDbTime(row.last_changed_at)!,
    missingSince: fromDbTime(row.missing_since),
  };
}

function withParts(head: StoredMeter, parts: RawTexts): StoredMeter {
  const details = fromDbJson<Record<string, unknown>>(parts.details);
  return {
    ...head,
    raw: head.source === 'v1' ? { details: null, enrollment: null, v1: details } : { details, enrollment: fromDbJson<Record<string, unknown>>(parts.enrollment), v1: null },
    rawText: { ...parts },
  };
}

/** The meters columns a write sets, in the order `meterValues` gives them. */
const METER_COLUMNS = [
  'meter_id',
  'source',
  'partner_reference',
  'transmission_region',
  'meter_type',
  'customer_classification',
  'utility_name',
  'customer_group',
  'enrollment_status',
  'participation_preference',
  'partner_action_required',
  'is_archived',
  'leap_created_at',
  'leap_updated_at',
  'details_hash',
  'enrollment_hash',
  'content_hash',
  'sequence',
  'missing_since',
  'first_seen_at',
  'last_seen_at',
  'last_changed_at',
] as const;

/** The columns a meter's normalized form gives, `meter_id` to `leap_created_at`. */
export function meterColumns(m: Meter): unknown[] {
  return [
    m.meter_id,
    m.source,
    m.partner_reference,
    m.transmission_region,
    m.meter_type,
    m.customer_classification,
    m.utility_name,
    m.customer_group,
    m.enrollment?.status ?? null,
    m.enrollment?.participation_preference ?? null,
    toDbBool(m.enrollment?.partner_action_required ?? false),
    toDbBool(m.is_archived),
    toDbTimeOrNull(m.created_at && !Number.isNaN(Date.parse(m.created_at)) ? m.created_at : null),
  ];
}

function meterValues(w: MeterWrite, at: string, lastChangedAt: string): unknown[] {
  return [...w.columns, w.leapUpdatedAt, w.detailsHash, w.enrollmentHash, w.contentHash, w.sequence, toDbTimeOrNull(w.missingSince), at, at, lastChangedAt];
}

/** Everything a re-read may change; first_seen_at stays as it was. */
const UPSERT_COLUMNS = METER_COLUMNS.filter((c) => c !== 'meter_id' && c !== 'first_seen_at');

const METERS_INSERT: BulkInsert = { table: 'meters', columns: METER_COLUMNS };
const METERS_UPSERT: BulkInsert = { table: 'meters', columns: METER_COLUMNS, conflict: { keys: ['meter_id'], merge: UPSERT_COLUMNS } };
const RAW_PARTS_UPSERT: BulkInsert = { table: 'meter_raw_parts', columns: ['meter_ref', 'part', 'json'], conflict: { keys: ['meter_ref', 'part'], merge: ['json'] } };
const ASSIGNMENTS_INSERT: BulkInsert = {
  table: 'meter_group_assignments',
  columns: ['meter_ref', 'assignment_key', 'market_group_id', 'market_group_name', 'trade_date', 'program_identifier', 'delivery_period', 'starts_at', 'ends_at'],
};

/** A meter's market group assignments as rows, without the meter's row number (`write` puts it first). */
export function groupRows(groups: GroupAssignment[]): unknown[][] {
  return groups.map((g) => [g.key, g.market_group_id, g.market_group_name, g.trade_date, g.program_identifier, g.delivery_period, safeTime(g.starts_at), safeTime(g.ends_at)]);
}

function safeTime(iso: string | null): string | null {
  return iso && !Number.isNaN(Date.parse(iso)) ? toDbTime(iso) : null;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class MeterStore {
  constructor(private readonly db: Knex) {}

  /** Meters read with `getHeads`, completed with their raw parts (one query per 500 meters). */
  async withRaw(heads: readonly StoredMeter[], trx: Knex | Knex.Transaction = this.db): Promise<StoredMeter[]> {
    const texts = new Map<number, RawTexts>();
    for (const part of chunks(heads.map((h) => h.ref), 500)) {
      const found = (await trx('meter_raw_parts').select('meter_ref', 'part', 'json').whereIn('meter_ref', part)) as { meter_ref: number | string; part: string; json: unknown }[];
      for (const f of found) {
        if (!RAW_PARTS.includes(f.part as RawPart)) continue;
        const ref = fromDbInt(f.meter_ref);
        const t = texts.get(ref) ?? { ...NO_PARTS };
        t[f.part as RawPart] = textOf(f.json);
        texts.set(ref, t);
      }
    }
    return heads.map((h) => withParts(h, texts.get(h.ref) ?? NO_PARTS));
  }

  /**
   * Bookkeeping only (hashes, sequence), without the raw parts: enough to see that a re-read meter
   * has not changed, which is most meters on most passes. `raw` is empty in what this returns.
   */
  async getHeads(ids: readonly string[], trx: Knex | Knex.Transaction = this.db): Promise<Map<string, StoredMeter>> {
    const out = new Map<string, StoredMeter>();
    for (const part of chunks([...new Set(ids)], 500)) {
      const q = trx('meters').select(COLUMNS).whereIn('meter_id', part);
      // In a transaction on MySQL the rows stay locked until it commits: the write that follows is safe.
      const rows = (await (trx === this.db ? q : forUpdate(this.db, q))) as MeterRow[];
      for (const row of rows) out.set(row.meter_id, toHead(row));
    }
    return out;
  }

  /** The meters with these row numbers as stored now, as events show them. */
  async views(refs: readonly number[]): Promise<Map<number, MeterView>> {
    const heads: StoredMeter[] = [];
    for (const part of chunks([...refs], 500)) heads.push(...((await this.db('meters').select(COLUMNS).whereIn('id', part)) as MeterRow[]).map(toHead));
    return new Map((await this.withRaw(heads)).map((m) => [m.ref, meterView(meterFromRaw(m.raw, m.missingSince !== null))]));
  }

  async get(meterId: string): Promise<StoredMeter | undefined> {
    const row = (await this.db('meters').select(COLUMNS).where({ meter_id: meterId }).first()) as MeterRow | undefined;
    return row && (await this.withRaw([toHead(row)]))[0];
  }

  /**
   * Insert new meters and update changed ones, with their market group assignments. An update
   * only applies if the meter's sequence is still the one read; otherwise ConcurrentMeterChangeError.
   * Answers the row number of every meter written (new meters get theirs here).
   */
  async write(trx: Knex.Transaction, writes: readonly MeterWrite[], now: Date): Promise<Map<string, number>> {
    const at = toDbTime(now);
    const inserts = writes.filter((w) => w.ref === null);
    const updates = writes.filter((w) => w.ref !== null);
    try {
      await insertRows(trx, METERS_INSERT, inserts.map((w) => meterValues(w, at, at)));
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConcurrentMeterChangeError(inserts[0]!.meterId);
      throw err;
    }
    const refs = new Map<string, number>(updates.map((w) => [w.meterId, w.ref!]));
    // Re-selected: MySQL has no RETURNING, and its multi-row inserts report only the first id.
    for (const part of chunks(inserts.map((w) => w.meterId), 500)) {
      const rows = (await trx('meters').select('id', 'meter_id').whereIn('meter_id', part)) as { id: number | string; meter_id: string }[];
      for (const r of rows) refs.set(r.meter_id, fromDbInt(r.id));
    }
    // Existing rows were read in this transaction with getHeads, locked on MySQL (FOR UPDATE) and
    // serialized on SQLite, so nobody changed them since: multi-row upserts write them.
    await insertRows(
      trx,
      METERS_UPSERT,
      updates.map((w) => meterValues(w, at, w.changed || !w.previousChangedAt ? at : toDbTime(w.previousChangedAt))),
    );
    const upserts: unknown[][] = [];
    const deletes = new Map<RawPart, number[]>(RAW_PARTS.map((p) => [p, []]));
    for (const w of writes) {
      const ref = refs.get(w.meterId)!;
      for (const p of RAW_PARTS) {
        const json = w.rawParts[p];
        if (json === undefined) continue;
        if (json === null) deletes.get(p)!.push(ref);
        else upserts.push([ref, p, json]);
      }
    }
    for (const [p, ids] of deletes) for (const part of chunks(ids, 500)) await trx('meter_raw_parts').where({ part: p }).whereIn('meter_ref', part).del();
    await insertRows(trx, RAW_PARTS_UPSERT, upserts);
    for (const part of chunks(updates.filter((w) => w.changed).map((w) => w.ref!), 500)) {
      await trx('meter_group_assignments').whereIn('meter_ref', part).del();
    }
    await insertRows(
      trx,
      ASSIGNMENTS_INSERT,
      writes.filter((w) => w.changed || w.ref === null).flatMap((w) => {
          const ref = refs.get(w.meterId)!;
          return w.assignments.map((row) => [ref, ...row]);
        }),
    );
    return refs;
  }

  /** Meters read again without any change (by row number): only `last_seen_at` moves. */
  async touch(trx: Knex | Knex.Transaction, refs: readonly number[], now: Date): Promise<void> {
    const at = toDbTime(now);
    for (const part of chunks([...refs], 500)) await trx('meters').whereIn('id', part).update({ last_seen_at: at });
  }

  /** Meters a full reconcile started at `epoch` did not see, not yet known to be gone. */
  async unseenSince(epoch: Date, limit: number, trx: Knex | Knex.Transaction = this.db): Promise<StoredMeter[]> {
    const rows = (await trx('meters')
      .select(COLUMNS)
      .where('last_seen_at', '<', toDbTime(epoch))
      .whereNull('missing_since')
      .orderBy('meter_id')
      .limit(limit)) as MeterRow[];
    return this.withRaw(rows.map(toHead), trx);
  }

  /** v2 meters read in one part only (their other part has not appeared in a search yet). */
  async incomplete(limit: number, trx: Knex | Knex.Transaction = this.db): Promise<{ meterId: string; missing: 'details' | 'enrollment' }[]> {
    // A part's hash is stored with the part: a null hash is a part not read yet (no join, no subquery).
    const rows = (await trx('meters')
      .select('meter_id', 'details_hash')
      .where({ source: 'v2' })
      .where((q) => q.whereNull('details_hash').orWhereNull('enrollment_hash'))
      .orderBy('meter_id')
      .limit(limit)) as { meter_id: string; details_hash: string | null }[];
    return rows.map((r) => ({ meterId: r.meter_id, missing: r.details_hash === null ? 'details' : 'enrollment' }));
  }

  /** No meter is stored yet (a first sync). */
  async none(trx: Knex | Knex.Transaction = this.db): Promise<boolean> {
    return (await trx('meters').select('id').limit(1)).length === 0;
  }

  async count(): Promise<number> {
    const rows = (await this.db('meters').count({ n: '*' })) as { n: number | string }[];
    return fromDbInt(rows[0]?.n);
  }

  /** Stored meters (archived ones too) by Leap's enrollment status; null: no status read yet. Read from the status index alone. */
  async countByStatus(): Promise<{ status: string | null; meters: number }[]> {
    const rows = (await this.db('meters').select('enrollment_status').count({ n: '*' }).groupBy('enrollment_status')) as { enrollment_status: string | null; n: number | string }[];
    return rows.map((r) => ({ status: r.enrollment_status, meters: fromDbInt(r.n) }));
  }

  /** Stored meters matching a filter, in meter_id order, a page at a time (`after` is the last id seen). */
  async list(filter: MeterFilter, page: { limit: number; after?: string }): Promise<StoredMeter[]> {
    const q = this.db('meters as m').select(COLUMNS.map((c) => `m.${c}`));
    if (filter.partnerReference !== undefined) q.where('m.partner_reference', filter.partnerReference);
    if (filter.status !== undefined) q.where('m.enrollment_status', filter.status);
    if (filter.transmissionRegion !== undefined) q.where('m.transmission_region', filter.transmissionRegion);
    if (filter.partnerActionRequired !== undefined) q.where('m.partner_action_required', toDbBool(filter.partnerActionRequired));
    if (filter.archived !== undefined) q.where('m.is_archived', toDbBool(filter.archived));
    if (filter.marketGroupId !== undefined || filter.tradeDate !== undefined) {
      q.whereExists((sub) => {
        sub.select(this.db.raw('1')).from('meter_group_assignments as g').whereRaw('g.meter_ref = m.id');
        if (filter.marketGroupId !== undefined) sub.where('g.market_group_id', filter.marketGroupId);
        if (filter.tradeDate !== undefined) sub.where('g.trade_date', filter.tradeDate);
      });
    }
    if (page.after) q.where('m.meter_id', '>', page.after);
    const rows = (await q.orderBy('m.meter_id').limit(page.limit)) as MeterRow[];
    return this.withRaw(rows.map(toHead));
  }

  /**
   * Meters for a search box: the meter id or partner reference that equals the text or starts with
   * it, or any text Leap sent for the meter (its address, a customer name) that contains it; case
   * is ignored. Exact ids first, then in meter_id order.
   */
  async search(text: string, limit: number): Promise<StoredMeter[]> {
    const needle = text.trim().toLowerCase();
    if (!needle) return [];
    const escaped = needle.replace(/[!%_]/g, (c) => `!${c}`);
    const rows = (await this.db('meters as m')
      .select(COLUMNS.map((c) => `m.${c}`))
      .where((w) => {
        w.whereRaw("lower(m.meter_id) like ? escape '!'", [`${escaped}%`])
          .orWhereRaw("lower(m.partner_reference) like ? escape '!'", [`${escaped}%`])
          .orWhereExists((sub) => {
            sub.select(this.db.raw('1')).from('meter_raw_parts as p').whereRaw('p.meter_ref = m.id').whereRaw("lower(p.json) like ? escape '!'", [`%${escaped}%`]);
          });
      })
      .orderByRaw('case when lower(m.meter_id) = ? or lower(m.partner_reference) = ? then 0 else 1 end', [needle, needle])
      .orderBy('m.meter_id')
      .limit(limit)) as MeterRow[];
    return this.withRaw(rows.map(toHead));
  }

  /** The stored meters with these partner references (several meters may share one), locked in a transaction on MySQL. */
  async headsByPartnerReference(references: readonly string[], trx: Knex | Knex.Transaction = this.db): Promise<Map<string, StoredMeter[]>> {
    const out = new Map<string, StoredMeter[]>();
    for (const part of chunks([...new Set(references)], 500)) {
      const q = trx('meters').select([...COLUMNS, 'partner_reference']).whereIn('partner_reference', part).orderBy('meter_id');
      const rows = (await (trx === this.db ? q : forUpdate(this.db, q))) as (MeterRow & { partner_reference: string })[];
      for (const row of rows) {
        const list = out.get(row.partner_reference) ?? [];
        list.push(toHead(row));
        out.set(row.partner_reference, list);
      }
    }
    return out;
  }

  /** Heads by row number (locked in a transaction on MySQL). */
  async headsByRef(refs: readonly number[], trx: Knex | Knex.Transaction = this.db): Promise<StoredMeter[]> {
    const out: StoredMeter[] = [];
    for (const part of chunks([...new Set(refs)], 500)) {
      const q = trx('meters').select(COLUMNS).whereIn('id', part);
      out.push(...((await (trx === this.db ? q : forUpdate(this.db, q))) as MeterRow[]).map(toHead));
    }
    return out;
  }

  /** Move meters' sequences on after events that do not change the meter itself (readiness). */
  async setSequences(trx: Knex.Transaction, sequences: ReadonlyMap<number, number>): Promise<void> {
    for (const [ref, sequence] of sequences) await trx('meters').where('id', ref).update({ sequence });
  }

  async groupAssignments(meterId: string): Promise<GroupAssignment[]> {
    const rows = (await this.db('meter_group_assignments as g')
      .select('g.*')
      .join('meters as m', 'm.id', 'g.meter_ref')
      .where('m.meter_id', meterId)
      .orderBy('g.assignment_key')) as Record<string, unknown>[];
    return rows.map((r) => ({
      key: String(r.assignment_key),
      market_group_id: String(r.market_group_id),
      market_group_name: (r.market_group_name as string | null) ?? null,
      trade_date: (r.trade_date as string | null) ?? null,
      program_identifier: (r.program_identifier as string | null) ?? null,
      delivery_period: (r.delivery_period as string | null) ?? null,
      starts_at: fromDbTime(r.starts_at)?.toISOString() ?? null,
      ends_at: fromDbTime(r.ends_at)?.toISOString() ?? null,
    }));
  }
}
