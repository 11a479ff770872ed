/**
 * Simulated time: Leap-style timestamps with 0/3/6/9 fractional digits, and local trade dates
 * and delivery-period boundaries per region (US daylight saving, computed, no tz database).
 */
import { MONTH_ABBR, PROGRAMS, type ProgramInfo } from './catalog';
import { REGIONS } from './regions';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Exact instant: epoch milliseconds plus nanoseconds within the millisecond. */
export interface Instant {
  ms: number;
  sub: number;
}

export function compareInstant(aMs: number, aSub: number, bMs: number, bSub: number): number {
  return aMs !== bMs ? aMs - bMs : aSub - bSub;
}

const PAD2: string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const PAD3: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm; no Date objects on hot paths). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Calendar date of a day number, packed as y * 10000 + m * 100 + d. */
export function civilFromDays(days: number): number {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return y * 10000 + m * 100 + d;
}

/*
 * Formatting runs a few dozen times per rendered meter, so it is written for V8's strings: a
 * concatenation shorter than 13 characters is a flat copy, a longer one a rope node that costs
 * again when the page is flattened. Timestamps are built from short flat pieces (date, time of
 * day, fraction) joined once or twice.
 */

/**
 * `YYYY-MM-DD` and `YYYY-MM-DDT` of recent day numbers, direct-mapped: a page formats mostly
 * dates on a few hundred distinct days.
 */
const DAY_SLOTS = 4096;
const dayKeys = new Float64Array(DAY_SLOTS).fill(NaN);
const dayTexts: string[] = new Array<string>(DAY_SLOTS).fill('');
const dayTTexts: string[] = new Array<string>(DAY_SLOTS).fill('');

function daySlot(days: number): number {
  const slot = days & (DAY_SLOTS - 1);
  if (dayKeys[slot] !== days) {
    const c = civilFromDays(days);
    const text = `${String(Math.floor(c / 10000)).padStart(4, '0')}-${PAD2[Math.floor(c / 100) % 100]}-${PAD2[c % 100]}`;
    dayKeys[slot] = days;
    dayTexts[slot] = text;
    dayTTexts[slot] = text + 'T';
  }
  return slot;
}

/** `HH:MM:SS` of an instant. */
function timeOfDay(ms: number, days: number): string {
  const secOfDay = Math.floor((ms - days * DAY_MS) / 1000);
  const h = Math.floor(secOfDay / 3600);
  const mi = Math.floor((secOfDay % 3600) / 60);
  return PAD2[h] + ':' + PAD2[mi] + ':' + PAD2[secOfDay % 60];
}

/** Leap's wire form with `precision` (0, 3, 6 or 9) fractional digits. */
export function formatInstant(ms: number, sub: number, precision: number): string {
  const days = Math.floor(ms / DAY_MS);
  const date = dayTTexts[daySlot(days)];
  if (precision === 0) return date + (timeOfDay(ms, days) + 'Z');
  const time = timeOfDay(ms, days) + '.' + PAD3[ms - Math.floor(ms / 1000) * 1000];
  if (precision === 3) return date + time + 'Z';
  if (precision === 6) return date + time + (PAD3[Math.floor(sub / 1000)] + 'Z');
  return date + time + (PAD3[Math.floor(sub / 1000)] + PAD3[sub % 1000] + 'Z');
}

/** Whole-second form, as Leap writes program and period boundaries. */
export function formatSeconds(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  return dayTTexts[daySlot(days)] + (timeOfDay(ms, days) + 'Z');
}

const INSTANT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 date-time keeping sub-millisecond digits; null when it is not one. */
export function parseInstant(value: string): Instant | null {
  const m = INSTANT.exec(value);
  if (!m) return null;
  const frac = (m[2] ?? '').padEnd(9, '0');
  const base = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(base)) return null;
  // Date.parse accepts 2025-02-30; the round trip catches it.
  if (m[3] === 'Z' && new Date(base).toISOString().slice(0, 19) !== m[1]) return null;
  return { ms: base + Number(frac.slice(0, 3)), sub: Number(frac.slice(3)) };
}

/** Days since the epoch to `YYYY-MM-DD`. */
export function formatDay(day: number): string {
  return dayTexts[daySlot(day)];
}

function nthSunday(year: number, month: number, n: number): number {
  // 1970-01-01 was a Thursday (day 4 with Sunday = 0).
  const firstDow = (((daysFromCivil(year, month, 1) + 4) % 7) + 7) % 7;
  return 1 + ((7 - firstDow) % 7) + (n - 1) * 7;
}

/**
 * US rule: daylight time from 2:00 on the second Sunday of March to 2:00 (daylight) on the first
 * Sunday of November. `hourStd` is the hour of the day in standard time.
 */
function isUsDst(year: number, month: number, day: number, hourStd: number): boolean {
  if (month > 3 && month < 11) return true;
  if (month === 3) {
    const start = nthSunday(year, 3, 2);
    return day > start || (day === start && hourStd >= 2);
  }
  if (month === 11) {
    const end = nthSunday(year, 11, 1);
    return day < end || (day === end && hourStd < 1);
  }
  return false;
}

/** The region's UTC offset in hours at a UTC instant. */
export function offsetHours(region: number, utcMs: number): number {
  const r = REGIONS[region];
  if (!r.dst) return r.stdOffsetHours;
  const localStd = utcMs + r.stdOffsetHours * HOUR_MS;
  const days = Math.floor(localStd / DAY_MS);
  const c = civilFromDays(days);
  const hour = Math.floor((localStd - days * DAY_MS) / HOUR_MS);
  return r.stdOffsetHours + (isUsDst(Math.floor(c / 10000), Math.floor(c / 100) % 100, c % 100, hour) ? 1 : 0);
}

/** The trade date (local calendar day, as days since the epoch) at a UTC instant. */
export function localDay(region: number, utcMs: number): number {
  return Math.floor((utcMs + offsetHours(region, utcMs) * HOUR_MS) / DAY_MS);
}

/** UTC instant of local midnight starting the given local date. */
export function localMidnight(region: number, year: number, month: number, day: number): number {
  const r = REGIONS[region];
  const dst = r.dst && isUsDst(year, month, day, 0) ? 1 : 0;
  return daysFromCivil(year, month, day) * DAY_MS - (r.stdOffsetHours + dst) * HOUR_MS;
}

export function localMidnightOfDay(region: number, dayNumber: number): number {
  const c = civilFromDays(dayNumber);
  return localMidnight(region, Math.floor(c / 10000), Math.floor(c / 100) % 100, c % 100);
}

export interface DeliveryPeriod {
  name: string;
  startMs: number;
  endMs: number;
  /** Index of the season within the program and the year it starts; identifies the period. */
  key: number;
}

const periodCache = new Map<number, DeliveryPeriod>();
const PROGRAM_IDS = Object.keys(PROGRAMS);
const PROGRAM_SLOTS = new Map(PROGRAM_IDS.map((id, k) => [id, k]));
/** Per (program, region): the periods returned last, tried first (a page renders the same few periods). */
const RECENT_WAYS = 4;
const recentPeriods: (DeliveryPeriod | undefined)[] = [];
const recentNext: number[] = [];

/** A program's number, for periodOf(): renderers look programs up once, not per meter. */
export function programNumber(programId: string): number {
  const k = PROGRAM_SLOTS.get(programId);
  if (k === undefined) throw new RangeError(`unknown program ${programId}`);
  return k;
}

/**
 * The delivery period of `program` that contains the UTC instant, in the region's local time.
 * A period is exactly the instants from its start (local midnight) to its end (exclusive).
 */
export function periodAt(programId: string, region: number, utcMs: number): DeliveryPeriod {
  return periodOf(programNumber(programId), region, utcMs);
}

/** periodAt() by program number. */
export function periodOf(program: number, region: number, utcMs: number): DeliveryPeriod {
  const slot = program * 16 + region;
  const base = slot * RECENT_WAYS;
  for (let w = 0; w < RECENT_WAYS; w++) {
    const p = recentPeriods[base + w];
    if (p !== undefined && utcMs >= p.startMs && utcMs < p.endMs) return p;
  }
  const c = civilFromDays(Math.floor((utcMs + offsetHours(region, utcMs) * HOUR_MS) / DAY_MS));
  const year = Math.floor(c / 10000);
  const month = Math.floor(c / 100) % 100;
  // Periods repeat for every meter of a program and region: cache by local month.
  const key = ((year * 16 + month) * 16 + region) * 64 + program;
  let period = periodCache.get(key);
  if (!period) {
    if (periodCache.size > 20_000) periodCache.clear();
    period = computePeriod(PROGRAM_IDS[program], region, year, month);
    periodCache.set(key, period);
  }
  const way = recentNext[slot] ?? 0;
  recentPeriods[base + way] = period;
  recentNext[slot] = (way + 1) % RECENT_WAYS;
  return period;
}

function computePeriod(programId: string, region: number, year: number, month: number): DeliveryPeriod {
  const program = PROGRAMS[programId];
  for (const [index, s] of program.seasons.entries()) {
    // Month offset of `month` from the season start, wrapping over the year end.
    const offset = (month - s.startMonth + 12) % 12;
    if (offset < s.months) {
      const startYear = month >= s.startMonth ? year : year - 1;
      return buildPeriod(program, region, index, startYear);
    }
  }
  throw new Error(`program ${programId} seasons do not cover month ${month}`);
}

/** The period that follows `period`. */
export function nextPeriod(programId: string, region: number, period: DeliveryPeriod): DeliveryPeriod {
  return periodAt(programId, region, period.endMs + HOUR_MS);
}

/** nextPeriod() by program number. */
export function nextPeriodOf(program: number, region: number, period: DeliveryPeriod): DeliveryPeriod {
  return periodOf(program, region, period.endMs + HOUR_MS);
}

function buildPeriod(program: ProgramInfo, region: number, seasonIndex: number, startYear: number): DeliveryPeriod {
  const s = program.seasons[seasonIndex];
  const endMonthIndex = s.startMonth - 1 + s.months; // 0-based month after the last month
  const endYear = startYear + Math.floor(endMonthIndex / 12);
  const endMonth = (endMonthIndex % 12) + 1;
  const lastMonthIndex = s.startMonth - 1 + s.months - 1;
  const lastYear = startYear + Math.floor(lastMonthIndex / 12);
  const first = MONTH_ABBR[s.startMonth - 1];
  const last = MONTH_ABBR[lastMonthIndex % 12];
  let name: string;
  if (s.months === 1) name = `${program.periodPrefix}_${startYear}_${first}`;
  else if (lastYear === startYear) name = `${program.periodPrefix}_${startYear}_${first}_${last}`;
  else name = `${program.periodPrefix}_${startYear}_${first}_${lastYear}_${last}`;
  return {
    name,
    startMs: localMidnight(region, startYear, s.startMonth, 1),
    endMs: localMidnight(region, endYear, endMonth, 1),
    key: startYear * 16 + seasonIndex,
  };
}

/**
 * Enrollment deadlines of a period: activation at the period start and, for longer periods, mid-way
 * through its first month; each deadline two days before its activation.
 */
export function periodDeadlines(region: number, period: DeliveryPeriod): { deadlineMs: number; activationMs: number }[] {
  const c = civilFromDays(Math.floor((period.startMs + offsetHours(region, period.startMs) * HOUR_MS) / DAY_MS));
  const y = Math.floor(c / 10000);
  const m = Math.floor(c / 100) % 100;
  const first = period.startMs;
  const mid = localMidnight(region, y, m, 15);
  return [
    { deadlineMs: first - 2 * DAY_MS, activationMs: first },
    { deadlineMs: mid - 2 * DAY_MS, activationMs: mid },
  ];
}
