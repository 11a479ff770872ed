/**
 * Compact per-meter state: one typed array per evolving field, indexed by meter index (creation
 * order). Everything else a meter shows (names, addresses, devices, account numbers) is derived
 * from (seed, index, edit counters) at render time, so 300,000 meters cost a few tens of MB.
 */
import { Permutation32, Rng, salt, uuidWithHead } from './random';
import { compareInstant, type Instant } from './time';

export const FLAG_ARCHIVED = 1;
export const FLAG_HAS_REFERENCE = 2;
/** Created through Leap Connect: `connection_references` carries the partner reference. */
export const FLAG_CONNECT = 4;
/** `site_devices[]` uses the newer field spellings (battery_max_discharge_rate_kw, ...). */
export const FLAG_NEW_SPELLING = 8;

/** Meter type, classification and creator packed into one byte. */
export function packKind(meterType: number, classification: number, createdBy: number): number {
  return meterType | (classification << 2) | (createdBy << 3);
}
export const kindMeterType = (k: number): number => k & 3;
export const kindClassification = (k: number): number => (k >> 2) & 1;
export const kindCreatedBy = (k: number): number => (k >> 3) & 3;

/** What a meter is (as opposed to what it does): fixed at creation. */
export interface MeterAttributes {
  region: number;
  utility: number;
  kind: number;
  device: number;
  loadSet: number;
  tagSet: number;
  customerGroup: number;
  flags: number;
}

const PURPOSE_METER = salt('meter-id');
const PURPOSE_REFERENCE = salt('partner-reference');
const REFERENCE_PATTERN = /^site-([0-9a-z]{1,7})$/;
const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';
/** Two base-36 digits of 0–1295. */
const BASE36_PAIRS: string[] = Array.from({ length: 36 * 36 }, (_, k) => BASE36[Math.floor(k / 36)] + BASE36[k % 36]);

export class MeterStore {
  count = 0;
  private capacity = 0;

  region = new Uint8Array(0);
  utility = new Uint8Array(0);
  kind = new Uint8Array(0);
  device = new Uint8Array(0);
  loadSet = new Uint8Array(0);
  tagSet = new Uint8Array(0);
  customerGroup = new Uint8Array(0);
  flags = new Uint8Array(0);
  /** Index of the first meter of the authorization the meter came with (shared partner reference). */
  authGroup = new Int32Array(0);

  status = new Uint8Array(0);
  /** Status to return to when a NOT_PARTICIPATING meter resumes. */
  resumeStatus = new Uint8Array(0);
  preference = new Uint8Array(0);
  partnerActions = new Uint8Array(0);
  leapActions = new Uint8Array(0);
  /** Market group (1-based index into MarketGroups; 0 = none) and a reassignment from a trade date on. */
  group = new Uint16Array(0);
  groupNext = new Uint16Array(0);
  groupNextDay = new Int32Array(0);
  addressEdits = new Uint8Array(0);
  tariffEdits = new Uint8Array(0);
  deviceEdits = new Uint8Array(0);

  createdMs = new Float64Array(0);
  createdSub = new Uint32Array(0);
  createdPrecision = new Uint8Array(0);
  updatedMs = new Float64Array(0);
  updatedSub = new Uint32Array(0);
  updatedPrecision = new Uint8Array(0);

  /** Seconds since the epoch; 0 = none. */
  enrollAt = new Uint32Array(0);
  eligibleFrom = new Uint32Array(0);
  activeFrom = new Uint32Array(0);
  preferenceStart = new Uint32Array(0);
  preferenceEnd = new Uint32Array(0);
  /** Next scheduled transition (evaluation, activation, action clearing, idle end). */
  due = new Uint32Array(0);

  /** Sparse: partner references set by hand, and fields Leap added that this simulator models as unknown. */
  readonly referenceOverride = new Map<number, string>();
  readonly extraFields = new Map<number, { details: Record<string, unknown>; enrollment: Record<string, unknown>; v1: Record<string, unknown> }>();

  private readonly meterPerm: Permutation32;
  private readonly referencePerm: Permutation32;

  constructor(private readonly seed: number) {
    this.meterPerm = new Permutation32(seed, PURPOSE_METER);
    this.referencePerm = new Permutation32(seed, PURPOSE_REFERENCE);
  }

  reserve(n: number): void {
    if (n <= this.capacity) return;
    const cap = Math.max(n, Math.ceil(this.capacity * 1.25) + 256);
    const grow = <T extends Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.region = grow(this.region, (k) => new Uint8Array(k));
    this.utility = grow(this.utility, (k) => new Uint8Array(k));
    this.kind = grow(this.kind, (k) => new Uint8Array(k));
    this.device = grow(this.device, (k) => new Uint8Array(k));
    this.loadSet = grow(this.loadSet, (k) => new Uint8Array(k));
    this.tagSet = grow(this.tagSet, (k) => new Uint8Array(k));
    this.customerGroup = grow(this.customerGroup, (k) => new Uint8Array(k));
    this.flags = grow(this.flags, (k) => new Uint8Array(k));
    this.authGroup = grow(this.authGroup, (k) => new Int32Array(k));
    this.status = grow(this.status, (k) => new Uint8Array(k));
    this.resumeStatus = grow(this.resumeStatus, (k) => new Uint8Array(k));
    this.preference = grow(this.preference, (k) => new Uint8Array(k));
    this.partnerActions = grow(this.partnerActions, (k) => new Uint8Array(k));
    this.leapActions = grow(this.leapActions, (k) => new Uint8Array(k));
    this.group = grow(this.group, (k) => new Uint16Array(k));
    this.groupNext = grow(this.groupNext, (k) => new Uint16Array(k));
    this.groupNextDay = grow(this.groupNextDay, (k) => new Int32Array(k));
    this.addressEdits = grow(this.addressEdits, (k) => new Uint8Array(k));
    this.tariffEdits = grow(this.tariffEdits, (k) => new Uint8Array(k));
    this.deviceEdits = grow(this.deviceEdits, (k) => new Uint8Array(k));
    this.createdMs = grow(this.createdMs, (k) => new Float64Array(k));
    this.createdSub = grow(this.createdSub, (k) => new Uint32Array(k));
    this.createdPrecision = grow(this.createdPrecision, (k) => new Uint8Array(k));
    this.updatedMs = grow(this.updatedMs, (k) => new Float64Array(k));
    this.updatedSub = grow(this.updatedSub, (k) => new Uint32Array(k));
    this.updatedPrecision = grow(this.updatedPrecision, (k) => new Uint8Array(k));
    this.enrollAt = grow(this.enrollAt, (k) => new Uint32Array(k));
    this.eligibleFrom = grow(this.eligibleFrom, (k) => new Uint32Array(k));
    this.activeFrom = grow(this.activeFrom, (k) => new Uint32Array(k));
    this.preferenceStart = grow(this.preferenceStart, (k) => new Uint32Array(k));
    this.preferenceEnd = grow(this.preferenceEnd, (k) => new Uint32Array(k));
    this.due = grow(this.due, (k) => new Uint32Array(k));
    this.capacity = cap;
  }

  /** Appends a meter; its updated time starts equal to its created time. */
  add(m: MeterAttributes, authGroup: number, status: number, created: Instant, createdPrecision: number): number {
    const i = this.count;
    if (i >= 0x7fffffff) throw new Error('portfolio full');
    this.reserve(i + 1);
    this.count = i + 1;
    this.region[i] = m.region;
    this.utility[i] = m.utility;
    this.kind[i] = m.kind;
    this.device[i] = m.device;
    this.loadSet[i] = m.loadSet;
    this.tagSet[i] = m.tagSet;
    this.customerGroup[i] = m.customerGroup;
    this.flags[i] = m.flags;
    this.authGroup[i] = authGroup;
    this.status[i] = status;
    this.resumeStatus[i] = status;
    this.createdMs[i] = created.ms;
    this.createdSub[i] = created.sub;
    this.createdPrecision[i] = createdPrecision;
    this.updatedMs[i] = created.ms;
    this.updatedSub[i] = created.sub;
    this.updatedPrecision[i] = createdPrecision;
    this.enrollAt[i] = Math.floor(created.ms / 1000);
    return i;
  }

  meterId(i: number): string {
    return uuidWithHead(this.meterPerm.forward(i), this.seed, PURPOSE_METER, i);
  }

  /** Meter index of a meter id, or -1. No table: the id's first 32 bits are the permuted index. */
  indexOf(meterId: string): number {
    if (meterId.length !== 36) return -1;
    const head = parseInt(meterId.slice(0, 8), 16);
    if (!Number.isFinite(head)) return -1;
    const i = this.meterPerm.inverse(head >>> 0);
    if (i >= this.count) return -1;
    return this.meterId(i) === meterId.toLowerCase() ? i : -1;
  }

  hasReference(i: number): boolean {
    return this.referenceOverride.has(i) || (this.flags[i] & FLAG_HAS_REFERENCE) !== 0;
  }

  partnerReference(i: number): string | undefined {
    const override = this.referenceOverride.get(i);
    if (override !== undefined) return override;
    if ((this.flags[i] & FLAG_HAS_REFERENCE) === 0) return undefined;
    return this.generatedReference(this.authGroup[i]);
  }

  generatedReference(leader: number): string {
    // `site-` and the permuted leader in base 36, zero-padded to 7 digits (36^7 > 2^32).
    const x = this.referencePerm.forward(leader);
    const x1 = Math.floor(x / 1296);
    const x2 = Math.floor(x1 / 1296);
    return 'site-' + BASE36[Math.floor(x2 / 1296)] + BASE36_PAIRS[x2 % 1296] + BASE36_PAIRS[x1 % 1296] + BASE36_PAIRS[x % 1296];
  }

  /** The authorization leader a generated reference names, or -1 (overrides are looked up separately). */
  referenceLeader(reference: string): number {
    const m = REFERENCE_PATTERN.exec(reference);
    if (!m) return -1;
    const leader = this.referencePerm.inverse(parseInt(m[1], 36) >>> 0);
    return leader < this.count && this.authGroup[leader] === leader ? leader : -1;
  }

  isArchived(i: number): boolean {
    return (this.flags[i] & FLAG_ARCHIVED) !== 0;
  }

  /** Market group of trade date `day` (local days since epoch): a pending reassignment applies from its day on. */
  groupOn(i: number, day: number): number {
    return this.groupNext[i] !== 0 && day >= this.groupNextDay[i] ? this.groupNext[i] : this.group[i];
  }

  /** `updated_at > (ms, sub)`, exactly, sub-millisecond digits included. */
  updatedAfter(i: number, ms: number, sub: number): boolean {
    return compareInstant(this.updatedMs[i], this.updatedSub[i], ms, sub) > 0;
  }

  /** Rough bytes held by the typed arrays, for /_sim/state. */
  byteSize(): number {
    let total = 0;
    for (const v of Object.values(this)) if (ArrayBuffer.isView(v)) total += v.byteLength;
    return total;
  }
}

/**
 * Issues `updated_at` stamps: each strictly later than every stamp before it (so a poller's
 * high-water mark never hides a change), with fractional precision varying over 0/3/6/9 digits.
 */
export class Stamper {
  private floorMs = 0;
  private floorSub = 0;

  constructor(private readonly rng: Rng) {}

  raiseFloor(ms: number, sub: number): void {
    if (compareInstant(ms, sub, this.floorMs, this.floorSub) > 0) {
      this.floorMs = ms;
      this.floorSub = sub;
    }
  }

  /** A stamp at `atMs` (integer ms) with random precision; never later than `limitMs` unless forced past the floor. */
  next(atMs: number, limitMs = atMs): { ms: number; sub: number; precision: number } {
    const precision = [0, 3, 3, 6, 6, 6, 9, 9][this.rng.int(8)];
    let ms = Math.floor(atMs);
    let sub = 0;
    let p = precision;
    if (p === 0) {
      const whole = Math.ceil(ms / 1000) * 1000;
      if (whole <= limitMs) ms = whole;
      else p = 3;
    }
    if (p === 6) sub = this.rng.int(1000) * 1000;
    if (p === 9) sub = this.rng.int(1_000_000);
    if (compareInstant(ms, sub, this.floorMs, this.floorSub) <= 0) {
      // One nanosecond past the last stamp: needs all nine digits to show.
      ms = this.floorMs;
      sub = this.floorSub + 1;
      if (sub >= 1_000_000) {
        ms += 1;
        sub = 0;
      }
      p = 9;
    }
    this.floorMs = ms;
    this.floorSub = sub;
    return { ms, sub, precision: p };
  }
}
