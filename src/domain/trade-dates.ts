import type { GroupAssignment } from './meter';

/**
 * Trade dates are calendar days in the market's own prevailing time, not UTC: a CAISO trade
 * date starts at midnight in Los Angeles. Leap sends no zone, so this table is ours.
 */
export const MARKET_TIME_ZONES: Readonly<Record<string, string>> = {
  CAISO: 'America/Los_Angeles',
  WECC_PC: 'America/Los_Angeles',
  WECC_SW: 'America/Phoenix',
  ERCOT: 'America/Chicago',
  NYISO: 'America/New_York',
  ISONE: 'America/New_York',
  PJM: 'America/New_York',
  SERC: 'America/New_York',
};

/** The market's zone, or UTC for a region we do not know. */
export function marketTimeZone(region: string | null | undefined): string {
  return (region && MARKET_TIME_ZONES[region]) || 'UTC';
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();
const offsetFormats = new Map<string, Intl.DateTimeFormat>();

const knownZones = new Map<string, boolean>();

/** Is this an IANA zone name the runtime knows (`America/Los_Angeles`, `UTC`)? */
export function isTimeZone(zone: string): boolean {
  let known = knownZones.get(zone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      known = true;
    } catch {
      known = false;
    }
    if (knownZones.size < 1000) knownZones.set(zone, known);
  }
  return known;
}

/** The calendar date (`YYYY-MM-DD`) of an instant in a zone. */
export function localDate(instant: Date, zone: string): string {
  let f = dateFormats.get(zone);
  if (!f) {
    // en-CA writes dates as YYYY-MM-DD.
    f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dateFormats.set(zone, f);
  }
  return f.format(instant);
}

/** `YYYY-MM-DD` plus n days (calendar arithmetic, no zone involved). */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

const offsetCache = new Map<string, number>();
/** Offsets are whole quarter hours and change on quarter-hour boundaries, so one lookup per quarter hour is exact. */
const QUARTER_HOUR_MS = 900_000;

/** The zone's offset from UTC at an instant, in minutes (Los Angeles in summer: -420). */
export function zoneOffsetMinutes(instant: Date, zone: string): number {
  const key = `${zone} ${Math.floor(instant.getTime() / QUARTER_HOUR_MS)}`;
  const cached = offsetCache.get(key);
  if (cached !== undefined) return cached;
  let f = offsetFormats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    offsetFormats.set(zone, f);
  }
  const name = f.formatToParts(instant).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
  const minutes = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0)) : 0;
  if (offsetCache.size > 10_000) offsetCache.clear();
  offsetCache.set(key, minutes);
  return minutes;
}

/** `±HHMM`, the form JSONata's `$fromMillis` takes as its time zone. */
export function offsetText(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}

/** The trade date `offsetDays` after the one that contains `instant`, in the market's zone. */
export function tradeDate(instant: Date, zone: string, offsetDays = 0): string {
  return addDays(localDate(instant, zone), offsetDays);
}

/**
 * The market group a meter is in on a trade date: the v1 per-day assignment for that date, else
 * the v2 delivery period whose local dates cover it (start inclusive, end exclusive). With a
 * program, only that program's periods count.
 */
export function groupForTradeDate(groups: readonly GroupAssignment[], date: string, zone: string, program?: string | null): GroupAssignment | null {
  const daily = groups.find((g) => g.trade_date === date && (!program || g.program_identifier === program || g.program_identifier === null));
  if (daily) return daily;
  for (const g of groups) {
    if (g.trade_date !== null || !g.starts_at) continue;
    if (program && g.program_identifier !== program) continue;
    const from = localDate(new Date(g.starts_at), zone);
    const to = g.ends_at ? localDate(new Date(g.ends_at), zone) : null;
    if (from <= date && (to === null || date < to)) return g;
  }
  return null;
}
