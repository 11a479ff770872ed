/**
 * Leap's timestamps carry 0, 3, 6 or 9 fractional digits and far-future sentinels
 * (`9000-12-31T23:59:59.999999999Z`). A JS Date holds milliseconds only, so an instant is
 * kept as epoch milliseconds plus the sub-millisecond digits, and as a canonical string
 * with nine fractional digits that sorts lexically in time order.
 */
export interface LeapInstant {
  /** Milliseconds since the epoch (sub-millisecond digits truncated). */
  ms: number;
  /** `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`: exact, and string order is time order. */
  canonical: string;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*([Zz]|[+-]\d{2}:?\d{2})?$/;

const cache = new Map<string, LeapInstant | null>();
/** Entries per cache: shared values (program periods, sentinels) stay hot; per-meter times pass through. */
const CACHE_LIMIT = 20_000;

/** Parse one of Leap's timestamps; null when it is not one. Results are shared: do not mutate them. */
export function parseLeapInstant(value: string): LeapInstant | null {
  // Program periods, deadlines and sentinels repeat across thousands of meters.
  const hit = cache.get(value);
  if (hit !== undefined) return hit;
  const parsed = parseFast(value) ?? parseFull(value);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(value, parsed);
  return parsed;
}

/** The decimal number in value[from, to), or -1 when a character there is not a digit. */
function digits(value: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/**
 * The form Leap nearly always sends, `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, read character by character.
 * Anything else, and the rare values it leaves to the full parser (years below 100, 24:00, leap
 * seconds), answer null.
 */
function parseFast(value: string): LeapInstant | null {
  const n = value.length;
  if (n < 20 || n > 30 || n === 21 || value.charCodeAt(n - 1) !== 90 /* Z */) return null;
  if (value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45 || value.charCodeAt(10) !== 84 || value.charCodeAt(13) !== 58 || value.charCodeAt(16) !== 58) return null;
  const year = digits(value, 0, 4);
  const month = digits(value, 5, 7);
  const day = digits(value, 8, 10);
  const hour = digits(value, 11, 13);
  const minute = digits(value, 14, 16);
  const second = digits(value, 17, 19);
  if (year < 100 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return null;
  if (day > (month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!)) return null;
  let frac = '';
  if (n > 20) {
    if (value.charCodeAt(19) !== 46 /* . */ || digits(value, 20, n - 1) < 0) return null;
    frac = value.slice(20, n - 1);
  }
  const nanos = frac.padEnd(9, '0');
  return { ms: Date.UTC(year, month - 1, day, hour, minute, second) + Number(nanos.slice(0, 3)), canonical: `${value.slice(0, 19)}.${nanos}Z` };
}

function parseFull(value: string): LeapInstant | null {
  const m = ISO.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s = '00', frac = '', zone = 'Z'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || minute > 59 || second > 60) return null;
  // 24:00 is ISO's end of day; 24:30 is not a time.
  if (hour === 24 && (minute !== 0 || second !== 0 || /[1-9]/.test(frac))) return null;
  const nanos = frac.padEnd(9, '0');
  let offsetMin = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
  }
  const base = utc(year, month - 1, day, hour, minute, Math.min(second, 59)) - offsetMin * 60_000;
  const check = new Date(utc(year, month - 1, day, 0, 0, 0));
  if (check.getUTCDate() !== day) return null; // 2025-02-30
  const ms = base + Number(nanos.slice(0, 3));
  if (!Number.isFinite(ms)) return null;
  const whole = new Date(base).toISOString().slice(0, 19);
  return { ms, canonical: `${whole}.${nanos}Z` };
}

/** Date.UTC, except that years 0-99 stay years 0-99 (Date.UTC maps them to 1900-1999). */
function utc(year: number, monthIndex: number, day: number, hour: number, minute: number, second: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, monthIndex, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

/** The ISO string (millisecond precision) partners and our API show, or null when unparseable. */
export function toIsoMillis(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return null;
  const parsed = parseLeapInstant(value);
  if (!parsed) return null;
  // The canonical form holds it already: seconds, then the first three fractional digits.
  const c = parsed.canonical;
  return c.length === 30 && c.charCodeAt(4) === 45 ? `${c.slice(0, 23)}Z` : new Date(parsed.ms).toISOString();
}

/** Canonical nine-digit form of an instant, for cursors and ordering. */
export function canonicalInstant(value: string): string | null {
  return parseLeapInstant(value)?.canonical ?? null;
}

/** `YYYY-MM-DD` check for trade dates. */
export function isDateOnly(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(value);
}

/** Canonical instant back to the wire form Leap accepts in filters (microsecond precision is kept). */
export function instantToWire(canonical: string): string {
  // Trailing zero digits are dropped so whole seconds read naturally: 2025-01-01T00:00:00Z.
  const m = /^(.*?)(?:\.(\d{9}))?Z$/.exec(canonical);
  if (!m) return canonical;
  const frac = (m[2] ?? '').replace(/0+$/, '');
  return frac ? `${m[1]}.${frac}Z` : `${m[1]}Z`;
}

/** Shift a canonical instant by whole milliseconds, keeping its sub-millisecond digits. */
export function shiftInstant(canonical: string, deltaMs: number): string {
  const p = parseLeapInstant(canonical);
  if (!p) throw new Error(`not an instant: ${canonical}`);
  const subMs = p.canonical.slice(-7, -1); // digits 4-9 of the fraction
  const shifted = new Date(p.ms + deltaMs).toISOString(); // ...SS.mmmZ
  return `${shifted.slice(0, 23)}${subMs}Z`;
}
