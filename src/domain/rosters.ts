import type { GroupAssignment } from './meter';
import { addDays, localDate } from './trade-dates';

/**
 * Market group rosters: which meters Leap assigns to a group on a trade date. v1 assigns per
 * trade date; v2 per program delivery period (its assignments carry no trade date), so a v2
 * member is in the group on every trade date its period covers (start inclusive, end exclusive,
 * in the market's zone). Some v2 assignments come with no dates at all: those are "undated".
 */
export type DateBasis = 'trade_date' | 'delivery_period' | 'undated';

export interface RosterAssignment {
  market_group_id: string;
  trade_date: string | null;
  starts_at: string | null;
  ends_at: string | null;
}

/** How an assignment places a meter on `date`: by its trade date, its period, undated, or not at all. */
export function basisOn(a: RosterAssignment, date: string, zone: string): DateBasis | null {
  if (a.trade_date !== null) return a.trade_date === date ? 'trade_date' : null;
  if (!a.starts_at) return 'undated';
  const from = localDate(new Date(a.starts_at), zone);
  const to = a.ends_at ? localDate(new Date(a.ends_at), zone) : null;
  return from <= date && (to === null || date < to) ? 'delivery_period' : null;
}

/** Is a meter with these assignments in the group on the date (undated assignments count)? */
export function memberOn(groups: readonly Pick<GroupAssignment, 'market_group_id' | 'trade_date' | 'starts_at' | 'ends_at'>[], groupId: string, date: string, zone: string): boolean {
  return groups.some((g) => g.market_group_id === groupId && basisOn(g, date, zone) !== null);
}

/** The first trade date on or after `today` on which an assignment places its meter; null if none. */
export function nextTradeDate(a: RosterAssignment, today: string, zone: string): string | null {
  if (a.trade_date !== null) return a.trade_date >= today ? a.trade_date : null;
  if (!a.starts_at) return null;
  const from = localDate(new Date(a.starts_at), zone);
  const to = a.ends_at ? localDate(new Date(a.ends_at), zone) : null;
  const first = from > today ? from : today;
  return to === null || first < to ? first : null;
}

/** The trade dates a delivery period covers, at most `limit` of them (its end is exclusive). */
export function periodDates(startsAt: string, endsAt: string | null, zone: string, limit = 62): { first: string; last: string | null; dates: string[] } {
  const first = localDate(new Date(startsAt), zone);
  const end = endsAt ? localDate(new Date(endsAt), zone) : null;
  const dates: string[] = [];
  for (let d = first; (end === null || d < end) && dates.length < limit; d = addDays(d, 1)) dates.push(d);
  return { first, last: end === null ? null : addDays(end, -1), dates };
}
