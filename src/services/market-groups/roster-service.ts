import type { Clock } from '../../domain/clock';
import type { ReadinessState } from '../../domain/readiness';
import { basisOn, type DateBasis, nextTradeDate, periodDates } from '../../domain/rosters';
import { localDate, marketTimeZone } from '../../domain/trade-dates';
import { AppError, NotFoundError } from '../../errors';
import type { GroupMemberRow, MarketGroupStore, RosterCheck } from '../../stores/market-group-store';
import type { MeterStore } from '../../stores/meter-store';
import type { Transactor } from '../../stores/transaction';

export interface MarketGroupSummary {
  market_group_id: string;
  market_group_name: string | null;
  /** Meters assigned on any date. */
  members: number;
  /** v1: one entry per trade date Leap assigned. */
  trade_dates: { trade_date: string; members: number }[];
  /** v2: the program delivery periods, with the trade dates they cover. */
  delivery_periods: { program_identifier: string | null; delivery_period: string | null; starts_at: string | null; ends_at: string | null; first_trade_date: string | null; last_trade_date: string | null; members: number }[];
  /** The first trade date from today on with members; null when none is upcoming. */
  next_trade_date: string | null;
  /** Assignments Leap sent without any date (v2 with no delivery period dates). */
  undated_members: number;
}

export interface RosterMember {
  meter_id: string;
  partner_reference: string | null;
  enrollment_status: string | null;
  readiness_state: ReadinessState;
  /** How Leap's assignment places the meter on the date. */
  basis: DateBasis;
}

export interface Roster {
  market_group_id: string;
  market_group_name: string | null;
  trade_date: string;
  /** The kinds of assignment behind the members (several when Leap mixes them). */
  date_basis: DateBasis[];
  /** Said when the roster rests on assignments Leap gave no dates for. */
  notice: string | null;
  member_count: number;
  members: RosterMember[];
  at_risk_count: number;
  /** Members that are not `ready`: they may not act on a dispatch. */
  at_risk: RosterMember[];
}

export interface RosterComparison {
  market_group_id: string;
  trade_date: string;
  checked_at: string;
  checked_by: string;
  basis: 'meter_ids' | 'partner_references';
  /** Leap has them, the partner does not. */
  missing: { meter_id: string; partner_reference: string | null }[];
  /** The partner has them (as it named them), Leap does not. */
  extra: string[];
  matched: number;
  leap_count: number;
  partner_count: number;
  /** When a sync last changed Leap's members for this date after the check (see market_group.roster.drifted). */
  drifted_at: string | null;
}

export type PartnerRoster = { meter_ids: string[]; partner_references?: undefined } | { partner_references: string[]; meter_ids?: undefined };

const UNDATED_NOTICE = "Leap gives no trade dates or delivery period dates for some of this group's assignments; they are listed as members on every date (basis: undated)";

/** Market groups as Leap assigns them, the roster of a group on a trade date, and the partner's check against it. */
export class RosterService {
  constructor(private readonly deps: { groups: MarketGroupStore; meters: MeterStore; transactor: Transactor; clock: Clock }) {}

  async list(): Promise<MarketGroupSummary[]> {
    const slots = await this.deps.groups.slots();
    const now = this.deps.clock.now();
    const out = new Map<string, MarketGroupSummary & { zone: string }>();
    for (const s of slots) {
      const zone = marketTimeZone(s.region);
      let g = out.get(s.marketGroupId);
      if (!g) {
        g = { market_group_id: s.marketGroupId, market_group_name: s.marketGroupName, members: 0, trade_dates: [], delivery_periods: [], next_trade_date: null, undated_members: 0, zone };
        out.set(s.marketGroupId, g);
      }
      g.market_group_name ??= s.marketGroupName;
      if (s.tradeDate !== null) g.trade_dates.push({ trade_date: s.tradeDate, members: s.members });
      else if (s.startsAt) {
        const p = periodDates(s.startsAt, s.endsAt, zone, 0);
        g.delivery_periods.push({ program_identifier: s.programIdentifier, delivery_period: s.deliveryPeriod, starts_at: s.startsAt, ends_at: s.endsAt, first_trade_date: p.first, last_trade_date: p.last, members: s.members });
      } else g.undated_members += s.members;
      const next = nextTradeDate({ market_group_id: s.marketGroupId, trade_date: s.tradeDate, starts_at: s.startsAt, ends_at: s.endsAt }, localDate(now, zone), zone);
      if (next && (!g.next_trade_date || next < g.next_trade_date)) g.next_trade_date = next;
    }
    // Distinct members per group: a meter may sit in several of a group's dates or periods.
    const members = new Map<string, number>();
    for (const id of out.keys()) members.set(id, new Set((await this.deps.groups.members(id)).map((m) => m.meterId)).size);
    return [...out.values()].map(({ zone: _zone, ...g }) => ({ ...g, members: members.get(g.market_group_id) ?? 0 }));
  }

  /** The meters Leap assigns to the group on the date (default: its next trade date). */
  async roster(groupId: string, tradeDate?: string): Promise<Roster> {
    const rows = await this.deps.groups.members(groupId);
    if (!rows.length) throw new NotFoundError('market group', groupId);
    const date = tradeDate ?? this.nextDate(rows);
    return rosterOn(groupId, rows, date);
  }

  /** Compare the partner's own member list with Leap's for the date; the comparison is stored. */
  async check(groupId: string, tradeDate: string, partner: PartnerRoster, keyName: string): Promise<RosterComparison> {
    const roster = await this.roster(groupId, tradeDate);
    const now = this.deps.clock.now();
    const leapIds = roster.members.map((m) => m.meter_id);
    let missing: RosterMember[];
    let extra: string[];
    let matched: number;
    let basis: RosterComparison['basis'];
    let given: string[];
    if (partner.meter_ids !== undefined) {
      basis = 'meter_ids';
      given = [...new Set(partner.meter_ids.map((id) => id.toLowerCase()))];
      const mine = new Set(given);
      const leap = new Set(leapIds);
      missing = roster.members.filter((m) => !mine.has(m.meter_id));
      extra = given.filter((id) => !leap.has(id));
      matched = given.length - extra.length;
    } else {
      basis = 'partner_references';
      given = [...new Set(partner.partner_references)];
      const mine = new Set(given);
      const leapRefs = new Set(roster.members.flatMap((m) => (m.partner_reference === null ? [] : [m.partner_reference])));
      missing = roster.members.filter((m) => m.partner_reference === null || !mine.has(m.partner_reference));
      extra = given.filter((r) => !leapRefs.has(r));
      matched = given.length - extra.length;
    }
    const check: Omit<RosterCheck, 'driftedAt'> = {
      marketGroupId: groupId,
      tradeDate: roster.trade_date,
      checkedAt: now,
      checkedBy: `partner:${keyName}`,
      basis,
      partner: given,
      leap: leapIds,
      missing: missing.map((m) => ({ meter_id: m.meter_id, partner_reference: m.partner_reference })),
      extra,
      matched,
    };
    await this.deps.transactor.run((tx) => this.deps.groups.saveCheck(tx, check));
    return comparison({ ...check, driftedAt: null });
  }

  async lastCheck(groupId: string, tradeDate?: string): Promise<RosterComparison> {
    const date = tradeDate ?? this.nextDate(await this.deps.groups.members(groupId));
    const c = await this.deps.groups.getCheck(groupId, date);
    if (!c) throw new NotFoundError(`roster check of market group ${groupId} on`, date);
    return comparison(c);
  }

  private nextDate(rows: readonly GroupMemberRow[]): string {
    const now = this.deps.clock.now();
    let next: string | null = null;
    for (const r of rows) {
      const zone = marketTimeZone(r.transmissionRegion);
      const d = nextTradeDate({ market_group_id: '', trade_date: r.tradeDate, starts_at: r.startsAt, ends_at: r.endsAt }, localDate(now, zone), zone);
      if (d && (!next || d < next)) next = d;
    }
    if (next) return next;
    if (rows.some((r) => r.tradeDate === null && r.startsAt === null)) return localDate(now, marketTimeZone(rows[0]!.transmissionRegion));
    throw new AppError(409, 'no_upcoming_trade_date', 'This market group has no trade date from today on; name one with trade_date', {
      last_trade_date: rows.map((r) => r.tradeDate ?? r.endsAt?.slice(0, 10) ?? '').sort().at(-1) ?? null,
    });
  }
}

/** The group's members on a date, from its assignment rows. */
export function rosterOn(groupId: string, rows: readonly GroupMemberRow[], date: string): Roster {
  const members = new Map<string, RosterMember>();
  const bases = new Set<DateBasis>();
  for (const r of rows) {
    const basis = basisOn({ market_group_id: groupId, trade_date: r.tradeDate, starts_at: r.startsAt, ends_at: r.endsAt }, date, marketTimeZone(r.transmissionRegion));
    if (!basis || members.has(r.meterId)) continue;
    bases.add(basis);
    members.set(r.meterId, { meter_id: r.meterId, partner_reference: r.partnerReference, enrollment_status: r.enrollmentStatus, readiness_state: r.readinessState ?? 'not_required', basis });
  }
  const list = [...members.values()];
  const atRisk = list.filter((m) => m.readiness_state !== 'ready');
  return {
    market_group_id: groupId,
    market_group_name: rows.find((r) => r.marketGroupName)?.marketGroupName ?? null,
    trade_date: date,
    date_basis: [...bases].sort(),
    notice: bases.has('undated') ? UNDATED_NOTICE : null,
    member_count: list.length,
    members: list,
    at_risk_count: atRisk.length,
    at_risk: atRisk,
  };
}

function comparison(c: RosterCheck): RosterComparison {
  return {
    market_group_id: c.marketGroupId,
    trade_date: c.tradeDate,
    checked_at: c.checkedAt.toISOString(),
    checked_by: c.checkedBy,
    basis: c.basis,
    missing: c.missing as RosterComparison['missing'],
    extra: c.extra,
    matched: c.matched,
    leap_count: c.leap.length,
    partner_count: c.partner.length,
    drifted_at: c.driftedAt?.toISOString() ?? null,
  };
}
