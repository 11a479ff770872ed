/**
 * What a meter looks like beyond its evolving state: customer, address, device, utility numbers.
 * Derived on demand from (seed, meter index, edit counters) so none of it is stored.
 */
import {
  CLASSIFICATIONS,
  COMPANIES,
  DEVICE_MODELS,
  EMAIL_DOMAINS,
  FIRST_NAMES,
  INSTALLERS,
  LAST_NAMES,
  OFFERINGS,
  STREETS,
  TITLES,
  UNITS,
  UTILITY_REFS,
  type City,
  type DeviceModel,
} from './catalog';
import { hash32, Rng, salt } from './random';
import { kindClassification, type MeterStore } from './state';
import { DAY_MS, formatDay } from './time';

const S_PERSON = salt('profile-person');
const S_ADDRESS = salt('profile-address');
const S_BILLING = salt('profile-billing');
const S_TARIFF = salt('profile-tariff');
const S_DEVICE = salt('profile-device');
const S_ACCOUNT = salt('profile-account');

export interface Address {
  street1: string;
  street2?: string;
  city: string;
  state: string;
  postalCode: string;
}

export interface Person {
  first: string;
  last: string;
  title?: string;
  email: string;
  phone: string;
  company?: string;
  offering?: string;
  offeringDay?: number;
}

export interface DeviceProfile {
  model: DeviceModel;
  count: number;
  serial: string;
  installDay: number;
  ptoDay?: number;
  maxSoc: number;
  minSoc: number;
  installer: string;
  solar: boolean;
  modelYear: number;
}

export interface UtilityNumbers {
  account: string;
  meterSerial: string;
  serviceAgreement: string;
  customerAccount: string;
  lse: string;
}

const ascii = (s: string): string =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z]/g, '')
    .toLowerCase();
// Email local parts, computed once: Unicode normalization per rendered meter is costly.
const FIRST_ASCII = FIRST_NAMES.map(ascii);
const LAST_ASCII = LAST_NAMES.map(ascii);

/** Digits for a layout (`#` = digit), nine per random draw. */
function digits(rng: Rng, layout: string): string {
  let out = '';
  let pool = 0;
  let left = 0;
  for (let k = 0; k < layout.length; k++) {
    if (layout.charCodeAt(k) !== 35) {
      out += layout[k];
      continue;
    }
    if (left === 0) {
      pool = rng.int(1_000_000_000);
      left = 9;
    }
    out += String(pool % 10);
    pool = Math.floor(pool / 10);
    left--;
  }
  return out;
}

export function city(store: MeterStore, seed: number, i: number): City {
  const cities = UTILITY_REFS[store.utility[i]].utility.cities;
  return cities[hash32(seed, S_ADDRESS, i) % cities.length];
}

export function person(store: MeterStore, seed: number, i: number): Person {
  const rng = new Rng(seed, S_PERSON, i);
  const firstIndex = rng.int(FIRST_NAMES.length);
  const lastIndex = rng.int(LAST_NAMES.length);
  const first = FIRST_NAMES[firstIndex];
  const last = LAST_NAMES[lastIndex];
  const commercial = CLASSIFICATIONS[kindClassification(store.kind[i])] === 'COMMERCIAL';
  const area = city(store, seed, i).areaCode;
  const line = String(rng.range(100, 199)).padStart(4, '0');
  const phoneStyle = rng.int(3);
  // 555-01xx numbers are reserved for fiction.
  const phone = phoneStyle === 0 ? `(${area}) 555-${line}` : phoneStyle === 1 ? `${area}555${line}` : `+1 ${area}-555-${line}`;
  const p: Person = {
    first,
    last,
    email: `${FIRST_ASCII[firstIndex]}.${LAST_ASCII[lastIndex]}${rng.chance(0.4) ? rng.range(1, 99) : ''}@${rng.pick(EMAIL_DOMAINS)}`,
    phone,
  };
  if (rng.chance(0.3)) p.title = rng.pick(TITLES);
  if (commercial) p.company = rng.pick(COMPANIES);
  if (rng.chance(0.5)) {
    p.offering = rng.pick(OFFERINGS);
    p.offeringDay = Math.floor(store.createdMs[i] / DAY_MS) - rng.range(0, 60);
  }
  return p;
}

/** Service address; each address edit moves or corrects it (new number, unit, ZIP+4). */
export function address(store: MeterStore, seed: number, i: number): Address {
  const home = city(store, seed, i);
  const base = new Rng(seed, S_ADDRESS, i);
  let number = base.range(10, 9899);
  let street = base.pick(STREETS);
  let unit = base.chance(0.25) ? base.pick(UNITS) : undefined;
  let zip = base.pick(home.zips);
  let plus4 = base.chance(0.1) ? String(base.range(1000, 9999)) : undefined;
  const edits = store.addressEdits[i];
  if (edits > 0) {
    const e = new Rng(seed, S_ADDRESS, i, edits);
    const kind = e.int(3);
    if (kind === 0) {
      number = e.range(10, 9899);
      street = e.pick(STREETS);
      zip = e.pick(home.zips);
      unit = e.chance(0.25) ? e.pick(UNITS) : undefined;
    } else if (kind === 1) {
      unit = unit ? undefined : e.pick(UNITS);
    } else {
      plus4 = String(e.range(1000, 9999));
    }
  }
  const a: Address = { street1: `${number} ${street}`, city: home.name, state: home.state, postalCode: plus4 ? `${zip}-${plus4}` : zip };
  if (unit) a.street2 = unit;
  return a;
}

/** A separate billing address for some customers (landlords, companies); undefined for most. */
export function billingAddress(seed: number, i: number): Address | undefined {
  const rng = new Rng(seed, S_BILLING, i);
  if (!rng.chance(0.15)) return undefined;
  const ref = UTILITY_REFS[rng.int(UTILITY_REFS.length)];
  const home = rng.pick(ref.utility.cities);
  const a: Address = { street1: `${rng.range(1, 999)} ${rng.pick(STREETS)}`, city: home.name, state: home.state, postalCode: rng.pick(home.zips) };
  if (rng.chance(0.5)) a.street2 = `Suite ${rng.range(100, 900)}`;
  return a;
}

export function tariff(store: MeterStore, seed: number, i: number): string {
  const u = UTILITY_REFS[store.utility[i]].utility;
  const rng = new Rng(seed, S_TARIFF, i);
  const list = CLASSIFICATIONS[kindClassification(store.kind[i])] === 'COMMERCIAL' ? u.commercialTariffs : u.tariffs;
  // Each edit moves to another tariff of the list, so an edit is always visible.
  return list[(rng.int(list.length) + store.tariffEdits[i]) % list.length];
}

export function utilityNumbers(store: MeterStore, seed: number, i: number): UtilityNumbers {
  const u = UTILITY_REFS[store.utility[i]].utility;
  const rng = new Rng(seed, S_ACCOUNT, i);
  return {
    account: digits(rng, u.account),
    meterSerial: digits(rng, '10########'),
    serviceAgreement: digits(rng, '##########'),
    customerAccount: digits(rng, '##########'),
    lse: rng.pick(u.lse),
  };
}

/** The meter's device, if it has one; device edits add a unit or replace the hardware. */
export function deviceProfile(store: MeterStore, seed: number, i: number): DeviceProfile | undefined {
  const code = store.device[i];
  if (code === 0) return undefined;
  const edits = store.deviceEdits[i];
  const rng = new Rng(seed, S_DEVICE, i);
  let model = DEVICE_MODELS[code - 1];
  let serialSeed = rng.range(100000, 999999);
  const created = Math.floor(store.createdMs[i] / DAY_MS);
  let installDay = created - rng.range(5, 700);
  const count = 1 + (model.type === 'BATTERY' && rng.chance(0.2) ? 1 : 0) + (edits % 2);
  if (edits >= 2) {
    // Replaced hardware: a same-type model, a new serial, installed later.
    const e = new Rng(seed, S_DEVICE, i, edits);
    const sameType = DEVICE_MODELS.filter((m) => m.type === model.type);
    model = e.pick(sameType);
    serialSeed = e.range(100000, 999999);
    installDay = created + e.range(1, 30);
  }
  return {
    model,
    count,
    serial: `${model.serialPrefix}-${serialSeed}`,
    installDay,
    ptoDay: rng.chance(0.6) ? installDay + rng.range(10, 40) : undefined,
    maxSoc: rng.pick([90, 95, 100]),
    minSoc: rng.pick([5, 10, 20]),
    installer: rng.pick(INSTALLERS),
    solar: rng.chance(0.6),
    modelYear: rng.range(2012, 2025),
  };
}

export function formatDateOnly(day: number): string {
  return formatDay(day);
}
