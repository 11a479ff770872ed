/**
 * What a meter looks like beyond its evolving state: customer, address, device, utility numbers.
 * Derived on demand from (seed, meter index, edit counters) so none of it is stored.
 */
import type { DeviceModel } from './catalog';
import * as catalog from './catalog';
import * as random from './random';
import type { City } from './regions';
import * as regions from './regions';
import type { MeterStore } from './state';
import * as state from './state';
import * as time from './time';

// Imported bindings, read once: under tsx (esbuild's CommonJS output) every use of an imported
// name is a getter call, and these are used for every field of every meter rendered.
const { CLASSIFICATIONS, COMPANIES, DEVICE_MODELS, EMAIL_DOMAINS, FIRST_NAMES, INSTALLERS, LAST_NAMES, OFFERINGS, STREETS, TITLES, UNITS } = catalog;
const { UTILITY_REFS } = regions;
const { hash32, Rng, salt } = random;
const { kindClassification } = state;
const { DAY_MS, formatDay } = time;

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
  /** The catalog city (name, state): the renderer keeps JSON text per city. */
  place: City;
}

export interface Person {
  first: string;
  last: string;
  /** `first last` */
  name: string;
  title?: string;
  email: string;
  phone: string;
  company?: string;
  offering?: string;
  offeringDay?: number;
  /** Catalog indices of title, company and offering; -1 when absent. */
  titleIndex: number;
  companyIndex: number;
  offeringIndex: number;
}

export interface DeviceProfile {
  model: DeviceModel;
  /** Index of `model` in DEVICE_MODELS. */
  modelIndex: number;
  count: number;
  serial: string;
  installDay: number;
  ptoDay?: number;
  maxSoc: number;
  minSoc: number;
  installer: string;
  solar: boolean;
  modelYear: number;
  /** Indices of maxSoc, minSoc and installer in their lists. */
  maxSocIndex: number;
  minSocIndex: number;
  installerIndex: number;
}

export interface UtilityNumbers {
  account: string;
  meterSerial: string;
  serviceAgreement: string;
  customerAccount: string;
  lse: string;
  lseIndex: number;
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

/** Three decimal digits, least significant first: the order `digits` spends a draw in. */
const REVERSED3: string[] = Array.from({ length: 1000 }, (_, k) => {
  const s = String(k).padStart(3, '0');
  return s[2] + s[1] + s[0];
});

/** A digit layout (`#` = digit) split into literal text and runs of `#` (as their lengths). */
type Layout = readonly (string | number)[];

function compileLayout(layout: string): Layout {
  const parts: (string | number)[] = [];
  for (const m of layout.matchAll(/#+|[^#]+/g)) parts.push(m[0][0] === '#' ? m[0].length : m[0]);
  return parts;
}
const ACCOUNT_LAYOUTS = UTILITY_REFS.map((r) => compileLayout(r.utility.account));
const METER_SERIAL_LAYOUT = compileLayout('10########');
const TEN_DIGITS = compileLayout('##########');

/**
 * Digits for a layout, nine per random draw: each draw gives its decimal digits least significant
 * first, so 123456789 yields `987654321`.
 */
function digits(rng: random.Rng, parts: Layout): string {
  let out = '';
  let pool = '';
  let left = 0;
  for (let k = 0; k < parts.length; k++) {
    const part = parts[k];
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    let n = part;
    while (n > 0) {
      if (left === 0) {
        const draw = rng.int(1_000_000_000);
        pool = REVERSED3[draw % 1000] + REVERSED3[Math.floor(draw / 1000) % 1000] + REVERSED3[Math.floor(draw / 1_000_000)];
        left = 9;
      }
      const take = n < left ? n : left;
      out += pool.slice(9 - left, 9 - left + take);
      left -= take;
      n -= take;
    }
  }
  return out;
}

/**
 * Scratch generators, reseeded for each call instead of allocated: every rendered meter derives
 * several fields. Each function below uses its own and calls nothing that uses them.
 */
const personRng = new Rng(0);
const addressRng = new Rng(0);
const addressEditRng = new Rng(0);
const billingRng = new Rng(0);
const tariffRng = new Rng(0);
const accountRng = new Rng(0);
const deviceRng = new Rng(0);
const deviceEditRng = new Rng(0);

/** Phone line numbers `0100`–`0199`. */
const LINES: string[] = Array.from({ length: 100 }, (_, k) => String(100 + k).padStart(4, '0'));
export const SOC_MAX: readonly number[] = [90, 95, 100];
export const FIRST_MODEL_YEAR = 2012;
export const LAST_MODEL_YEAR = 2025;
export const SOC_MIN: readonly number[] = [5, 10, 20];
/** `first last` for every pair of catalog names. */
const NAMES: string[] = FIRST_NAMES.flatMap((first) => LAST_NAMES.map((last) => `${first} ${last}`));
/** Indices into DEVICE_MODELS of the models of each model's type (replacement hardware is one of them). */
const SAME_TYPE: number[][] = DEVICE_MODELS.map((m) => DEVICE_MODELS.flatMap((other, k) => (other.type === m.type ? [k] : [])));

export function city(store: MeterStore, seed: number, i: number): City {
  const cities = UTILITY_REFS[store.utility[i]].utility.cities;
  return cities[hash32(seed, S_ADDRESS, i) % cities.length];
}

/** The customer; `home` is the meter's city(), when the caller has it already. */
export function person(store: MeterStore, seed: number, i: number, home: City = city(store, seed, i)): Person {
  const rng = personRng.reset(seed, S_PERSON, i);
  const firstIndex = rng.int(FIRST_NAMES.length);
  const lastIndex = rng.int(LAST_NAMES.length);
  const first = FIRST_NAMES[firstIndex];
  const last = LAST_NAMES[lastIndex];
  const commercial = CLASSIFICATIONS[kindClassification(store.kind[i])] === 'COMMERCIAL';
  const area = home.areaCode;
  const line = LINES[rng.range(100, 199) - 100];
  const phoneStyle = rng.int(3);
  // 555-01xx numbers are reserved for fiction.
  const phone = phoneStyle === 0 ? `(${area}) 555-${line}` : phoneStyle === 1 ? `${area}555${line}` : `+1 ${area}-555-${line}`;
  const p: Person = {
    first,
    last,
    name: NAMES[firstIndex * LAST_NAMES.length + lastIndex],
    email: `${FIRST_ASCII[firstIndex]}.${LAST_ASCII[lastIndex]}${rng.chance(0.4) ? rng.range(1, 99) : ''}@${rng.pick(EMAIL_DOMAINS)}`,
    phone,
    titleIndex: -1,
    companyIndex: -1,
    offeringIndex: -1,
  };
  if (rng.chance(0.3)) {
    p.titleIndex = rng.int(TITLES.length);
    p.title = TITLES[p.titleIndex];
  }
  if (commercial) {
    p.companyIndex = rng.int(COMPANIES.length);
    p.company = COMPANIES[p.companyIndex];
  }
  if (rng.chance(0.5)) {
    p.offeringIndex = rng.int(OFFERINGS.length);
    p.offering = OFFERINGS[p.offeringIndex];
    p.offeringDay = Math.floor(store.createdMs[i] / DAY_MS) - rng.range(0, 60);
  }
  return p;
}

/** Service address; each address edit moves or corrects it (new number, unit, ZIP+4). */
export function address(store: MeterStore, seed: number, i: number, home: City = city(store, seed, i)): Address {
  const base = addressRng.reset(seed, S_ADDRESS, i);
  let number = base.range(10, 9899);
  let street = base.pick(STREETS);
  let unit = base.chance(0.25) ? base.pick(UNITS) : undefined;
  let zip = base.pick(home.zips);
  let plus4 = base.chance(0.1) ? String(base.range(1000, 9999)) : undefined;
  const edits = store.addressEdits[i];
  if (edits > 0) {
    const e = addressEditRng.reset(seed, S_ADDRESS, i, edits);
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
  const a: Address = { street1: `${number} ${street}`, city: home.name, state: home.state, postalCode: plus4 ? `${zip}-${plus4}` : zip, place: home };
  if (unit) a.street2 = unit;
  return a;
}

/** A separate billing address for some customers (landlords, companies); undefined for most. */
export function billingAddress(seed: number, i: number): Address | undefined {
  const rng = billingRng.reset(seed, S_BILLING, i);
  if (!rng.chance(0.15)) return undefined;
  const ref = UTILITY_REFS[rng.int(UTILITY_REFS.length)];
  const home = rng.pick(ref.utility.cities);
  const a: Address = { street1: `${rng.range(1, 999)} ${rng.pick(STREETS)}`, city: home.name, state: home.state, postalCode: rng.pick(home.zips), place: home };
  if (rng.chance(0.5)) a.street2 = `Suite ${rng.range(100, 900)}`;
  return a;
}

/** The meter's tariff list: the utility's commercial or residential tariffs. */
export function tariffList(store: MeterStore, i: number): readonly string[] {
  const u = UTILITY_REFS[store.utility[i]].utility;
  return CLASSIFICATIONS[kindClassification(store.kind[i])] === 'COMMERCIAL' ? u.commercialTariffs : u.tariffs;
}

/** Index of the meter's tariff in tariffList(). */
export function tariffIndex(store: MeterStore, seed: number, i: number): number {
  const list = tariffList(store, i);
  const rng = tariffRng.reset(seed, S_TARIFF, i);
  // Each edit moves to another tariff of the list, so an edit is always visible.
  return (rng.int(list.length) + store.tariffEdits[i]) % list.length;
}

export function tariff(store: MeterStore, seed: number, i: number): string {
  return tariffList(store, i)[tariffIndex(store, seed, i)];
}

export function utilityNumbers(store: MeterStore, seed: number, i: number): UtilityNumbers {
  const u = UTILITY_REFS[store.utility[i]].utility;
  const rng = accountRng.reset(seed, S_ACCOUNT, i);
  const account = digits(rng, ACCOUNT_LAYOUTS[store.utility[i]]);
  const meterSerial = digits(rng, METER_SERIAL_LAYOUT);
  const serviceAgreement = digits(rng, TEN_DIGITS);
  const customerAccount = digits(rng, TEN_DIGITS);
  const lseIndex = rng.int(u.lse.length);
  return { account, meterSerial, serviceAgreement, customerAccount, lse: u.lse[lseIndex], lseIndex };
}

/** The meter's device, if it has one; device edits add a unit or replace the hardware. */
export function deviceProfile(store: MeterStore, seed: number, i: number): DeviceProfile | undefined {
  const code = store.device[i];
  if (code === 0) return undefined;
  const edits = store.deviceEdits[i];
  const rng = deviceRng.reset(seed, S_DEVICE, i);
  let modelIndex = code - 1;
  let model = DEVICE_MODELS[modelIndex];
  let serialSeed = rng.range(100000, 999999);
  const created = Math.floor(store.createdMs[i] / DAY_MS);
  let installDay = created - rng.range(5, 700);
  const count = 1 + (model.type === 'BATTERY' && rng.chance(0.2) ? 1 : 0) + (edits % 2);
  if (edits >= 2) {
    // Replaced hardware: a same-type model, a new serial, installed later.
    const e = deviceEditRng.reset(seed, S_DEVICE, i, edits);
    modelIndex = e.pick(SAME_TYPE[modelIndex]);
    model = DEVICE_MODELS[modelIndex];
    serialSeed = e.range(100000, 999999);
    installDay = created + e.range(1, 30);
  }
  const ptoDay = rng.chance(0.6) ? installDay + rng.range(10, 40) : undefined;
  const maxSocIndex = rng.int(SOC_MAX.length);
  const minSocIndex = rng.int(SOC_MIN.length);
  const installerIndex = rng.int(INSTALLERS.length);
  const solar = rng.chance(0.6);
  const modelYear = rng.range(FIRST_MODEL_YEAR, LAST_MODEL_YEAR);
  return {
    model,
    modelIndex,
    count,
    serial: `${model.serialPrefix}-${serialSeed}`,
    installDay,
    ptoDay,
    maxSoc: SOC_MAX[maxSocIndex],
    minSoc: SOC_MIN[minSocIndex],
    installer: INSTALLERS[installerIndex],
    solar,
    modelYear,
    maxSocIndex,
    minSocIndex,
    installerIndex,
  };
}

export function formatDateOnly(day: number): string {
  return formatDay(day);
}
