/**
 * The initial portfolio: N meters created over the two years before the simulated start, in
 * authorizations of one to four meters sharing a partner reference, with every enrollment status,
 * actions, market groups, participation preferences and about 2% archived. Also the meters a
 * customer authorizes later, by hand.
 */
import {
  ACTIVE,
  CUSTOMER_GROUP_WEIGHTS,
  DEVICE_MODELS,
  ELIGIBLE,
  INELIGIBLE,
  METER_TYPE_CODES,
  NOT_PARTICIPATING,
  PENDING,
  PREF_DISENROLL,
  PREF_IDLE,
  TAG_SET_WEIGHTS,
  type DeviceTypeName,
  type MeterTypeName,
  type RegionCode,
} from './catalog';
import type { MarketGroups } from './markets';
import type { Mutator } from './mutations';
import type { DueQueue } from './due-queue';
import { Rng, salt } from './random';
import { REGIONS, UTILITY_REFS } from './regions';
import { FLAG_ARCHIVED, FLAG_CONNECT, FLAG_HAS_REFERENCE, FLAG_NEW_SPELLING, kindCreatedBy, packKind, type MeterAttributes, type MeterStore, type Stamper } from './state';
import { DAY_MS, HOUR_MS, localDay } from './time';

const S_ATTRIBUTES = salt('portfolio-attributes');
const S_INITIAL = salt('portfolio-initial');

export interface NewMeterOptions {
  region?: RegionCode;
  /** Utility code within the region (`PGE`, `CECONY`, ...). */
  utility?: string;
  meterType?: MeterTypeName;
  deviceType?: DeviceTypeName;
}

const DEVICE_TYPE_WEIGHTS: [DeviceTypeName, number][] = [
  ['BATTERY', 45],
  ['SMART_THERMOSTAT', 25],
  ['EV_CHARGER', 15],
  ['EV', 4],
  ['BIDIRECTIONAL_EV_CHARGER', 3],
  ['HEAT_PUMP', 5],
  ['AIR_CONDITIONER', 3],
];

// Lookup tables built once: meterAttributes runs for every meter of a 300,000-meter portfolio.
const REGION_WEIGHTS = REGIONS.map((r) => r.weight);
const UTILITIES_BY_REGION = REGIONS.map((_, region) => UTILITY_REFS.map((u, k) => ({ u, k })).filter((e) => e.u.region === region));
const UTILITY_WEIGHTS_BY_REGION = UTILITIES_BY_REGION.map((list) => list.map((e) => e.u.utility.weight));
const MODELS_BY_TYPE = new Map<DeviceTypeName, number[]>();
DEVICE_MODELS.forEach((m, k) => MODELS_BY_TYPE.set(m.type, [...(MODELS_BY_TYPE.get(m.type) ?? []), k + 1]));
const DEVICE_WEIGHTS = DEVICE_TYPE_WEIGHTS.map((d) => d[1]);
const GROUP_SIZES = [1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4];
const PRECISIONS = [0, 3, 3, 6, 6, 9];

function pickDevice(rng: Rng, type: DeviceTypeName): number {
  const models = MODELS_BY_TYPE.get(type) ?? [];
  return models[rng.int(models.length)];
}

/** Static attributes of meter `index`, derived from the seed (the same meter index always looks the same). */
export function meterAttributes(seed: number, index: number, opts: NewMeterOptions = {}): MeterAttributes {
  const rng = new Rng(seed, S_ATTRIBUTES, index);
  let region = rng.weighted(REGION_WEIGHTS);
  if (opts.region) region = REGIONS.findIndex((r) => r.code === opts.region);
  if (region < 0) throw new RangeError(`unknown region ${String(opts.region)}`);
  const utilities = UTILITIES_BY_REGION[region];
  let utility = utilities[rng.weighted(UTILITY_WEIGHTS_BY_REGION[region])].k;
  if (opts.utility) {
    const found = utilities.find((e) => e.u.utility.code === opts.utility);
    if (!found) throw new RangeError(`utility ${opts.utility} is not in region ${REGIONS[region].code}`);
    utility = found.k;
  }
  let meterType = rng.weighted([55, 35, 10]);
  if (opts.meterType) meterType = METER_TYPE_CODES.indexOf(opts.meterType);
  if (meterType < 0) throw new RangeError(`unknown meter type ${String(opts.meterType)}`);
  const typeName = METER_TYPE_CODES[meterType];
  const commercial = typeName === 'SUBMETER' ? rng.chance(0.8) : rng.chance(0.15);
  const createdBy = typeName === 'UTILITY_METER' ? rng.weighted([90, 5, 5]) : typeName === 'DEVICE' ? rng.weighted([0, 95, 5]) : rng.weighted([0, 90, 10]);

  let device = 0;
  if (opts.deviceType) device = pickDevice(rng, opts.deviceType);
  else if (typeName === 'DEVICE') device = pickDevice(rng, DEVICE_TYPE_WEIGHTS[rng.weighted(DEVICE_WEIGHTS)][0]);
  else if (typeName === 'UTILITY_METER' && rng.chance(0.5)) device = pickDevice(rng, rng.chance(0.6) ? 'BATTERY' : 'SMART_THERMOSTAT');
  else if (typeName === 'SUBMETER' && rng.chance(0.3)) device = pickDevice(rng, 'GENERATOR');

  const deviceType = device > 0 ? DEVICE_MODELS[device - 1].type : null;
  let loadSet: number;
  if (deviceType === 'BATTERY') loadSet = rng.chance(0.4) ? 10 : rng.chance(0.15) ? 13 : 1;
  else if (deviceType === 'SMART_THERMOSTAT' || deviceType === 'AIR_CONDITIONER' || deviceType === 'HEAT_PUMP') loadSet = 0;
  else if (deviceType === 'EV_CHARGER' || deviceType === 'EV' || deviceType === 'BIDIRECTIONAL_EV_CHARGER') loadSet = rng.chance(0.2) ? 12 : 2;
  else if (deviceType === 'GENERATOR') loadSet = 3;
  else if (commercial) loadSet = rng.pick([4, 5, 6, 7, 8]);
  else loadSet = rng.pick([0, 0, 9, 11]);

  let flags = 0;
  if (rng.chance(0.95)) flags |= FLAG_HAS_REFERENCE;
  if (createdBy === 0 && (flags & FLAG_HAS_REFERENCE) !== 0) flags |= FLAG_CONNECT;
  if (rng.chance(0.5)) flags |= FLAG_NEW_SPELLING;

  return {
    region,
    utility,
    kind: packKind(meterType, commercial ? 1 : 0, createdBy),
    device,
    loadSet,
    tagSet: rng.weighted(TAG_SET_WEIGHTS),
    customerGroup: rng.weighted(CUSTOMER_GROUP_WEIGHTS),
    flags,
  };
}

/** A meter authorized with `leader`: one customer and site, so the same utility and the same reference (or none). */
export function joinAuthorization(attrs: MeterAttributes, store: MeterStore, leader: number): void {
  attrs.region = store.region[leader];
  attrs.utility = store.utility[leader];
  let flags = attrs.flags & ~(FLAG_HAS_REFERENCE | FLAG_CONNECT);
  if ((store.flags[leader] & FLAG_HAS_REFERENCE) !== 0) {
    flags |= FLAG_HAS_REFERENCE;
    if (kindCreatedBy(attrs.kind) === 0) flags |= FLAG_CONNECT;
  }
  attrs.flags = flags;
}

/** A customer's authorization made by hand (scenario helpers, /_sim/authorizations). */
export interface AuthorizeOptions extends NewMeterOptions {
  /** Meters in this authorization (default 1). */
  count?: number;
  /** Share this partner reference (an existing meter's, to add meters to that customer, or a new string). */
  partnerReference?: string;
}

/**
 * New PENDING meters of one authorization at `atMs`: they share one partner reference, which can
 * be an existing meter's (a second authorization of the same site) or a new string. The mutator
 * stamps and announces each. Returns the new meter ids.
 */
export function authorizeMeters(store: MeterStore, mutator: Mutator, seed: number, atMs: number, options: AuthorizeOptions): string[] {
  const s = store;
  const count = options.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new RangeError('count must be an integer between 1 and 1000');
  let leader = -1;
  let override: string | undefined;
  let region = options.region;
  let utility = options.utility;
  if (options.partnerReference !== undefined) {
    const existing = findByReference(s, options.partnerReference);
    if (existing >= 0 && !s.referenceOverride.has(existing)) {
      leader = s.authGroup[existing];
    } else {
      override = options.partnerReference;
      if (existing >= 0) leader = s.authGroup[existing];
    }
    if (existing >= 0 && !region) {
      region = REGIONS[s.region[existing]].code;
      utility ??= UTILITY_REFS[s.utility[existing]].utility.code;
    }
  }
  const ids: string[] = [];
  for (let k = 0; k < count; k++) {
    const index = s.count;
    const attrs = meterAttributes(seed, index, { region, utility, meterType: options.meterType, deviceType: options.deviceType });
    if (k === 0) {
      region ??= REGIONS[attrs.region].code;
      utility ??= UTILITY_REFS[attrs.utility].utility.code;
    }
    // Hand-set or shared references are always present; utility meters come through Leap Connect.
    attrs.flags |= FLAG_HAS_REFERENCE;
    if (kindCreatedBy(attrs.kind) === 0) attrs.flags |= FLAG_CONNECT;
    const i = s.add(attrs, leader >= 0 ? leader : index - k, PENDING, { ms: atMs, sub: 0 }, 3);
    if (override !== undefined) s.referenceOverride.set(i, override);
    mutator.created(i, atMs);
    ids.push(s.meterId(i));
  }
  return ids;
}

/** The meter holding `reference`, set by hand or generated, or -1. */
function findByReference(s: MeterStore, reference: string): number {
  for (const [i, r] of s.referenceOverride) if (r === reference) return i;
  const leader = s.referenceLeader(reference);
  return leader >= 0 && s.hasReference(leader) ? leader : -1;
}

/**
 * Fills the store with `n` meters created before `startMs`, and queues their scheduled transitions.
 * Per-meter randomness comes from (seed, index), so meter k looks the same whatever n is.
 */
export function generatePortfolio(store: MeterStore, groups: MarketGroups, due: DueQueue, stamper: Stamper, seed: number, n: number, startMs: number): void {
  store.reserve(n);
  const spanMs = 730 * DAY_MS;
  const firstMs = startMs - spanMs;
  const endMs = startMs - 2 * HOUR_MS;
  let lastMs = firstMs - 1;
  let i = 0;
  while (i < n) {
    const groupRng = new Rng(seed, S_INITIAL, i, 1);
    const size = Math.min(n - i, GROUP_SIZES[groupRng.int(GROUP_SIZES.length)]);
    const leader = i;
    let at = Math.max(lastMs + 1, Math.floor(firstMs + ((i + groupRng.next() * 0.9) / n) * (endMs - firstMs)));
    for (let k = 0; k < size; k++, i++) {
      const rng = new Rng(seed, S_INITIAL, i);
      if (k > 0) at += rng.range(200, 4000); // meters authorized together arrive seconds apart
      const precision = PRECISIONS[rng.int(PRECISIONS.length)];
      let ms = at;
      if (precision === 0) ms = Math.ceil(at / 1000) * 1000;
      const sub = precision === 6 ? rng.int(1000) * 1000 : precision === 9 ? rng.int(1_000_000) : 0;
      lastMs = ms;
      at = ms;
      const attrs = meterAttributes(seed, i);
      if (k > 0) joinAuthorization(attrs, store, leader);
      const m = store.add(attrs, leader, PENDING, { ms, sub }, precision);
      initialState(store, groups, due, rng, m, startMs);
    }
  }
  for (let m = 0; m < store.count; m++) stamper.raiseFloor(store.updatedMs[m], store.updatedSub[m]);
}

/** Status, actions, group, preference and last-update time of an initial meter, by its age. */
function initialState(store: MeterStore, groups: MarketGroups, due: DueQueue, rng: Rng, i: number, startMs: number): void {
  const s = store;
  const created = s.createdMs[i];
  const ageMs = startMs - created;
  const createdSec = Math.floor(created / 1000);
  const startSec = Math.floor(startMs / 1000);
  const status = ageMs < 2 * DAY_MS ? PENDING : [ACTIVE, ELIGIBLE, INELIGIBLE, NOT_PARTICIPATING, PENDING][rng.weighted([48, 14, 20, 10, 8])];
  // Enrollment changes of older meters happened recently, so their delivery periods are current.
  const recent = Math.max(createdSec + 3600, startSec - rng.range(1, 25 * 24) * 3600 - rng.int(3600));
  let enrollAt = status === PENDING ? createdSec : Math.min(recent, startSec - 60);
  if (enrollAt < createdSec) enrollAt = createdSec;
  let dueSec = 0;
  const groupList = groups.forUtility(s.utility[i]);

  if (status === PENDING) {
    if (rng.chance(0.3)) s.leapActions[i] = 2;
    dueSec = Math.max(createdSec + rng.range(24, 72) * 3600, startSec + rng.range(1, 48) * 3600);
  } else if (status === ELIGIBLE) {
    s.eligibleFrom[i] = enrollAt;
    dueSec = startSec + rng.range(1, 240) * 3600 - rng.int(3600);
  } else if (status === ACTIVE || status === NOT_PARTICIPATING) {
    const wasActive = status === ACTIVE || rng.chance(0.6);
    s.eligibleFrom[i] = Math.max(createdSec, enrollAt - rng.range(2, 10) * 86400);
    if (wasActive) {
      s.activeFrom[i] = enrollAt;
      s.group[i] = groupList[rng.int(groupList.length)];
    }
    if (status === ACTIVE) {
      if (rng.chance(0.1)) s.leapActions[i] = 1;
      if (rng.chance(0.02)) s.partnerActions[i] = 1;
      if (rng.chance(0.04)) {
        s.groupNext[i] = groupList[(groupList.indexOf(s.group[i]) + 1) % groupList.length];
        s.groupNextDay[i] = localDay(s.region[i], startMs) + rng.range(1, 2);
      }
    } else {
      s.resumeStatus[i] = wasActive ? ACTIVE : ELIGIBLE;
      s.preferenceStart[i] = enrollAt;
      if (rng.chance(0.6)) {
        s.preference[i] = PREF_IDLE;
        s.preferenceEnd[i] = startSec + rng.range(1, 30) * 86400;
        dueSec = s.preferenceEnd[i];
      } else {
        s.preference[i] = PREF_DISENROLL;
      }
    }
  } else if (status === INELIGIBLE) {
    if (rng.chance(0.65)) {
      s.partnerActions[i] = [1, 2, 2, 4][rng.int(4)] | (rng.chance(0.1) ? 1 : 0);
      if (rng.chance(0.5)) dueSec = startSec + rng.range(24, 360) * 3600;
    } else {
      s.leapActions[i] = rng.chance(0.5) ? 1 : 2;
    }
  }
  if (rng.chance(0.02)) {
    s.flags[i] |= FLAG_ARCHIVED;
    dueSec = 0;
  }
  s.status[i] = status;
  if (status !== NOT_PARTICIPATING) s.resumeStatus[i] = status;
  s.enrollAt[i] = enrollAt;
  // Last update: the enrollment change, or a later detail edit for some meters.
  let updatedMs = Math.max(created + 1, enrollAt * 1000 + rng.int(1000));
  if (rng.chance(0.2)) updatedMs = Math.max(updatedMs, startMs - rng.range(1, 20 * 24) * HOUR_MS);
  if (updatedMs > startMs - 1000) updatedMs = startMs - 1000 - rng.int(1000);
  if (updatedMs <= created) updatedMs = created + 1;
  const precision = PRECISIONS[rng.int(PRECISIONS.length)];
  s.updatedMs[i] = precision === 0 ? Math.floor(updatedMs / 1000) * 1000 : updatedMs;
  if (s.updatedMs[i] <= created) s.updatedMs[i] = created + 1;
  s.updatedSub[i] = precision === 6 ? rng.int(1000) * 1000 : precision === 9 ? rng.int(1_000_000) : 0;
  s.updatedPrecision[i] = s.updatedMs[i] % 1000 === 0 || precision !== 0 ? precision : 3;
  s.due[i] = dueSec;
  if (dueSec > 0) due.push(dueSec, i);
}
