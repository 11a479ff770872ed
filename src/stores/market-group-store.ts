import type { Knex } from 'knex';
import { fromDbInt, fromDbJson, fromDbTime, toDbJson, toDbTime } from '../db/dialect';
import type { ReadinessState } from '../domain/readiness';

type Db = Knex | Knex.Transaction;

/** One assignment row of a group, with what a roster shows of its meter. */
export interface GroupMemberRow {
  meterRef: number;
  meterId: string;
  partnerReference: string | null;
  transmissionRegion: string | null;
  enrollmentStatus: string | null;
  readinessState: ReadinessState | null;
  marketGroupName: string | null;
  tradeDate: string | null;
  programIdentifier: string | null;
  deliveryPeriod: string | null;
  startsAt: string | null;
  endsAt: string | null;
}

/** The assignments of all groups, one row per distinct (group, date or period), with member counts. */
export interface GroupSlotRow {
  marketGroupId: string;
  marketGroupName: string | null;
  tradeDate: string | null;
  programIdentifier: string | null;
  deliveryPeriod: string | null;
  startsAt: string | null;
  endsAt: string | null;
  region: string | null;
  members: number;
}

/** The partner's last roster check of a group on a trade date. */
export interface RosterCheck {
  marketGroupId: string;
  tradeDate: string;
  checkedAt: Date;
  checkedBy: string;
  basis: 'meter_ids' | 'partner_references';
  partner: string[];
  /** Leap's members (meter ids) as last compared. */
  leap: string[];
  missing: unknown[];
  extra: string[];
  matched: number;
  driftedAt: Date | null;
}

interface CheckRow {
  market_group_id: string;
  trade_date: string;
  checked_at: string | Date;
  checked_by: string;
  basis: string;
  partner_json: string;
  leap_json: string;
  missing_json: string;
  extra_json: string;
  matched: number | string;
  drifted_at: string | Date | null;
}

const toCheck = (r: CheckRow): RosterCheck => ({
  marketGroupId: r.market_group_id,
  tradeDate: r.trade_date,
  checkedAt: fromDbTime(r.checked_at)!,
  checkedBy: r.checked_by,
  basis: r.basis as RosterCheck['basis'],
  partner: fromDbJson<string[]>(r.partner_json) ?? [],
  leap: fromDbJson<string[]>(r.leap_json) ?? [],
  missing: fromDbJson<unknown[]>(r.missing_json) ?? [],
  extra: fromDbJson<string[]>(r.extra_json) ?? [],
  matched: fromDbInt(r.matched),
  driftedAt: fromDbTime(r.drifted_at),
});

const iso = (v: unknown): string | null => fromDbTime(v)?.toISOString() ?? null;

/** Market groups as Leap assigns them (from `meter_group_assignments`) and the partner's roster checks. */
export class MarketGroupStore {
  constructor(private readonly db: Knex) {}

  async slots(): Promise<GroupSlotRow[]> {
    const rows = (await this.db('meter_group_assignments as g')
      .join('meters as m', 'm.id', 'g.meter_ref')
      .where('m.is_archived', false)
      .select('g.market_group_id', 'g.trade_date', 'g.program_identifier', 'g.delivery_period', 'g.starts_at', 'g.ends_at')
      .max({ name: 'g.market_group_name', region: 'm.transmission_region' })
      .countDistinct({ members: 'g.meter_ref' })
      .groupBy('g.market_group_id', 'g.trade_date', 'g.program_identifier', 'g.delivery_period', 'g.starts_at', 'g.ends_at')
      .orderBy(['g.market_group_id', 'g.trade_date', 'g.starts_at'])) as Record<string, unknown>[];
    return rows.map((r) => ({
      marketGroupId: String(r.market_group_id),
      marketGroupName: (r.name as string | null) ?? null,
      tradeDate: (r.trade_date as string | null) ?? null,
      programIdentifier: (r.program_identifier as string | null) ?? null,
      deliveryPeriod: (r.delivery_period as string | null) ?? null,
      startsAt: iso(r.starts_at),
      endsAt: iso(r.ends_at),
      region: (r.region as string | null) ?? null,
      members: fromDbInt(r.members),
    }));
  }

  /** Every assignment of a group, with its meter's reference, status and readiness. */
  async members(groupId: string, trx: Db = this.db): Promise<GroupMemberRow[]> {
    const rows = (await trx('meter_group_assignments as g')
      .join('meters as m', 'm.id', 'g.meter_ref')
      .leftJoin('meter_readiness as r', 'r.meter_ref', 'g.meter_ref')
      .where('g.market_group_id', groupId)
      .where('m.is_archived', false)
      .select(
        'g.meter_ref',
        'm.meter_id',
        'm.partner_reference',
        'm.transmission_region',
        'm.enrollment_status',
        'r.state',
        'g.market_group_name',
        'g.trade_date',
        'g.program_identifier',
        'g.delivery_period',
        'g.starts_at',
        'g.ends_at',
      )
      .orderBy('m.meter_id')) as Record<string, unknown>[];
    return rows.map((r) => ({
      meterRef: fromDbInt(r.meter_ref),
      meterId: String(r.meter_id),
      partnerReference: (r.partner_reference as string | null) ?? null,
      transmissionRegion: (r.transmission_region as string | null) ?? null,
      enrollmentStatus: (r.enrollment_status as string | null) ?? null,
      readinessState: (r.state as ReadinessState | null) ?? null,
      marketGroupName: (r.market_group_name as string | null) ?? null,
      tradeDate: (r.trade_date as string | null) ?? null,
      programIdentifier: (r.program_identifier as string | null) ?? null,
      deliveryPeriod: (r.delivery_period as string | null) ?? null,
      startsAt: iso(r.starts_at),
      endsAt: iso(r.ends_at),
    }));
  }

  async saveCheck(trx: Db, c: Omit<RosterCheck, 'driftedAt'>): Promise<void> {
    const row = {
      checked_at: toDbTime(c.checkedAt),
      checked_by: c.checkedBy,
      basis: c.basis,
      partner_json: toDbJson(c.partner),
      leap_json: toDbJson(c.leap),
      missing_json: toDbJson(c.missing),
      extra_json: toDbJson(c.extra),
      matched: c.matched,
      drifted_at: null,
    };
    await trx('market_group_rosters').insert({ market_group_id: c.marketGroupId, trade_date: c.tradeDate, ...row }).onConflict(['market_group_id', 'trade_date']).merge(row);
  }

  async getCheck(groupId: string, tradeDate: string): Promise<RosterCheck | undefined> {
    const row = (await this.db('market_group_rosters').where({ market_group_id: groupId, trade_date: tradeDate }).first()) as CheckRow | undefined;
    return row && toCheck(row);
  }

  /** Checks of trade dates from `fromDate` on (the ones a sync can still drift), locked in a transaction on MySQL. */
  async checksFrom(fromDate: string, trx: Db = this.db): Promise<RosterCheck[]> {
    return ((await trx('market_group_rosters').where('trade_date', '>=', fromDate)) as CheckRow[]).map(toCheck);
  }

  /** Leap's members of a check moved on: what it now compares against, and when it drifted. */
  async recordDrift(trx: Db, groupId: string, tradeDate: string, leap: string[], at: Date): Promise<void> {
    await trx('market_group_rosters').where({ market_group_id: groupId, trade_date: tradeDate }).update({ leap_json: toDbJson(leap), drifted_at: toDbTime(at) });
  }
}
