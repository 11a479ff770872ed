/**
 * Builds Leap's JSON for a meter from its compact state: v2 MeterDetailsResponse, v2
 * MeterEnrollmentResponse, the v1 meter object and the webhook payloads. Field names, order and
 * enums follow Leap's OpenAPI files; v1 follows leap-api.md §3.5–3.7.
 *
 * The three meter views are written as JSON text directly, in the field order of the objects
 * Leap's schemas describe (what `JSON.stringify` of those objects gives, byte for byte): a search
 * page is its meters' texts joined, with no object built or stringified per meter. Constant text
 * and catalog values are joined into fragments once (see text.ts); per meter, only its own values
 * are concatenated. The object views (`details()`, `enrollment()`, `v1()`) parse the text.
 * Catalog strings are written as they are (checked at load to need no escaping); free text
 * (hand-set partner references, unknown fields) goes through `JSON.stringify`.
 */
import * as catalog from './catalog';
import type { City } from './catalog';
import type { MarketGroups } from './markets';
import * as profile from './profile';
import type { Address } from './profile';
import * as random from './random';
import * as state from './state';
import type { MeterStore } from './state';
import { assertCatalogIsPlainText, bool, Fragments } from './text';
import * as time from './time';
import type { DeliveryPeriod } from './time';

// Imported bindings, read once: under tsx (esbuild's CommonJS output) every use of an imported
// name is a getter call, and these are used for every meter rendered.
const {
  ACTIVE,
  AUTH_0001,
  AUTH_0001_DESCRIPTION,
  CLASSIFICATIONS,
  COMPANIES,
  CREATED_BY,
  CUSTOMER_GROUPS,
  DEVICE_MODELS,
  DISENROLL_REASONS,
  ELIGIBLE,
  IDLE_REASONS,
  INELIGIBLE,
  INSTALLERS,
  LEAP_0001,
  LEAP_0001_NOMINATIONS,
  LEAP_0001_UNASSIGNED,
  LOAD_TYPE_SETS,
  METER_TYPE_CODES,
  MRKT_0001,
  MRKT_0001_DESCRIPTION,
  MRKT_0002,
  MRKT_0002_DESCRIPTION,
  OFFERINGS,
  OPEN_ENDED_SENTINELS,
  PARTNER_ACTIONS,
  PREFERENCES,
  PROGRAMS,
  REGIONS,
  SERV_0005,
  STATUS_CODES,
  TAG_SETS,
  TITLES,
  UTILITY_REFS,
  V1_PREFERENCE,
  V1_STATUS,
} = catalog;
const { address, billingAddress, city, deviceProfile, FIRST_MODEL_YEAR, LAST_MODEL_YEAR, person, SOC_MAX, SOC_MIN, tariffIndex, utilityNumbers } = profile;
const { hash32, salt } = random;
const { FLAG_ARCHIVED, FLAG_CONNECT, FLAG_HAS_REFERENCE, FLAG_NEW_SPELLING, kindClassification, kindCreatedBy, kindMeterType } = state;
const { civilFromDays, formatDay, formatInstant, formatSeconds, localDay, localMidnight, localMidnightOfDay, nextPeriod, nextPeriodOf, periodAt, periodDeadlines, periodOf, programNumber } = time;

type Json = Record<string, unknown>;

const S_PROGRAMS = salt('render-programs');
const S_MISC = salt('render-misc');


export interface RequiredActionJson {
  program_identifier: string;
  delivery_period: string;
  enrollment_deadline_date_time: string;
  action_type: string;
  action_description: string;
  action_code: string;
}

/** Payloads inside Leap's webhook envelope (§7.2), keyed by `webhook_event_type`. */
export type LeapEventPayload =
  | { webhook_event_type: 'meter.created'; meter_id: string; partner_reference?: string; transmission_region: string; meter_type: string }
  | {
      webhook_event_type: 'meter.enrollment.global-status.updated';
      meter_id: string;
      partner_reference?: string;
      transmission_region: string;
      meter_type: string;
      global_enrollment_status: string;
    }
  | {
      webhook_event_type: 'meter.enrollment.participation-status.updated';
      meter_id: string;
      partner_reference?: string;
      transmission_region: string;
      meter_type: string;
      participation_preference: string;
      start_time: string;
      end_time?: string;
    }
  | {
      webhook_event_type: 'meter.enrollment.required-actions.updated';
      meter_id: string;
      partner_reference?: string;
      transmission_region: string;
      meter_type: string;
      global_enrollment_status: string;
      required_actions: { partner: RequiredActionJson[] };
    }
  | {
      webhook_event_type: 'meter.enrollment.group.updated';
      market_group_id: string;
      market_group_name: string;
      start_date_time: string;
      end_date_time: string;
      meter_ids: string[];
    };

/** Which programs a meter is in: the utility's primary, plus up to two others. */
export interface MeterPrograms {
  primary: string;
  secondary: string[];
  /** Per secondary: whether it follows the meter's status (true) or sits INELIGIBLE. */
  secondaryFollows: boolean[];
}

// ---- Fragment tables: constant text joined with catalog values, built on first use. ----

assertCatalogIsPlainText();

const regionIndex = (code: string): number => REGIONS.findIndex((r) => r.code === code);
const CAISO = regionIndex('CAISO');
const ISONE = regionIndex('ISONE');
const NYISO = regionIndex('NYISO');
const REGION_CODE = REGIONS.map((r) => r.code);
/** Every `kind` byte: meter type (2 bits), classification (1), creator (2). */
const KINDS = 32;
const COMMERCIAL_KIND = Array.from({ length: KINDS }, (_, k) => CLASSIFICATIONS[kindClassification(k)] === 'COMMERCIAL');
const METER_TYPE_OF_KIND = Array.from({ length: KINDS }, (_, k) => METER_TYPE_CODES[kindMeterType(k)] ?? '');
const CLASSIFICATION_OF_KIND = Array.from({ length: KINDS }, (_, k) => CLASSIFICATIONS[kindClassification(k)] ?? '');
const UTILITIES = UTILITY_REFS.length;
const MODELS = DEVICE_MODELS.length;
// Strides of fragment keys: the longest list of each kind in the catalog.
const ZONES = Math.max(...UTILITY_REFS.map((r) => r.utility.loadZones.length));
const LSES = Math.max(...UTILITY_REFS.map((r) => r.utility.lse.length));
const TARIFFS = Math.max(...UTILITY_REFS.map((r) => Math.max(r.utility.tariffs.length, r.utility.commercialTariffs.length)));
const REASONS = Math.max(IDLE_REASONS.length, DISENROLL_REASONS.length);
const MODEL_YEARS = LAST_MODEL_YEAR - FIRST_MODEL_YEAR + 1;
const PROGRAM_IDS = Object.keys(PROGRAMS);
/** Each utility's programs (primary first) by program number. */
const UTILITY_PROGRAMS = UTILITY_REFS.map((r) => r.utility.programs.map(programNumber));
const COMPANY_TYPES = ['LIMITED_LIABILITY_COMPANY', 'CORPORATION', 'PARTNERSHIP', 'OTHER'];
const VOLTAGES = ['120/240 V', '208 V', '480 V'];
const DETAILS = 0;
const ENROLLMENT = 1;

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Battery figures of a model and unit count: power, energy, charge rate, duration. */
function batterySize(m: catalog.DeviceModel, n: number): { power: number; energy: number; charge: number; hours: number } {
  const powerKw = m.powerKw ?? 0;
  const energyKwh = m.energyKwh ?? 0;
  return { power: round3(powerKw * n), energy: round3(energyKwh * n), charge: round3(powerKw * n * 0.9), hours: Math.max(1, Math.round(energyKwh / powerKw)) };
}
const IS_BATTERY = DEVICE_MODELS.map((m) => m.type === 'BATTERY' && m.powerKw !== undefined && m.energyKwh !== undefined);

/** `…","transmission_region":…,"connection_references":` by (region, kind, load set, has reference). */
const IDENT_MID = new Fragments(REGIONS.length * KINDS * LOAD_TYPE_SETS.length * 2, (key) => {
  const hasRef = key % 2;
  const loadSet = Math.floor(key / 2) % LOAD_TYPE_SETS.length;
  const kind = Math.floor(key / 2 / LOAD_TYPE_SETS.length) % KINDS;
  const region = Math.floor(key / 2 / LOAD_TYPE_SETS.length / KINDS);
  return (
    (hasRef ? '' : '"') +
    `,"transmission_region":"${REGION_CODE[region]}","customer_classification":"${CLASSIFICATION_OF_KIND[kind]}","load_types":${JSON.stringify(LOAD_TYPE_SETS[loadSet])}` +
    `,"meter_type":"${METER_TYPE_OF_KIND[kind]}","connection_references":`
  );
});

/**
 * `customer_group` to `is_archived`, then the start of what follows: the customer's street
 * (details) or the audit up to `created_at` (enrollment). Keyed by (customer group, tags,
 * archived, creator, no connection reference, view).
 */
const IDENT_TAIL = new Fragments(CUSTOMER_GROUPS.length * TAG_SETS.length * 2 * 4 * 2 * 2, (key) => {
  const view = key % 2;
  const emptyConnection = Math.floor(key / 2) % 2;
  const createdBy = Math.floor(key / 4) % 4;
  const archived = Math.floor(key / 16) % 2;
  const tags = Math.floor(key / 32) % TAG_SETS.length;
  const group = Math.floor(key / 32 / TAG_SETS.length);
  return (
    (emptyConnection ? '[]' : '') +
    `,"customer_group":${JSON.stringify(CUSTOMER_GROUPS[group])},"tags":${JSON.stringify(TAG_SETS[tags])},"is_archived":${bool(archived === 1)}` +
    (view === DETAILS ? ',"customer":{"street_1":"' : `,"audit":{"created_by":"${CREATED_BY[createdBy]}","created_at":"`)
  );
});

interface CityText {
  /** Customer address from `city` through the start of `end_customer_name`. */
  customer: string;
  /** Billing address from `city` to its closing brace. */
  billing: string;
  /** v1 `service_address_full` from the city on, upper case: `, CITY, ST `. */
  v1: string;
}
const CITY_TEXT = new Map<City, CityText>();
for (const { utility } of UTILITY_REFS) {
  for (const c of utility.cities) {
    const address = `","city":"${c.name}","state_or_province_code":"${c.state}","country_code":"US"`;
    CITY_TEXT.set(c, { customer: `${address},"end_customer_name":"`, billing: `${address}}`, v1: `, ${c.name}, ${c.state} `.toUpperCase() });
  }
}
function cityText(c: City): CityText {
  const text = CITY_TEXT.get(c);
  if (!text) throw new Error(`city ${c.name} is not in the catalog`);
  return text;
}

/** Optional title, then the start of the email, by title (0 = none). */
const TITLE_EMAIL = new Fragments(TITLES.length + 1, (t) => (t > 0 ? `","end_customer_title":"${TITLES[t - 1]}` : '') + '","end_customer_email":"');

/** Close the phone number, optional company, optional offering up to its date; by (company + 1, offering + 1). */
const AFTER_PHONE = new Fragments((COMPANIES.length + 1) * (OFFERINGS.length + 1), (key) => {
  const company = Math.floor(key / (OFFERINGS.length + 1)) - 1;
  const offering = (key % (OFFERINGS.length + 1)) - 1;
  return (
    '"' +
    (company >= 0 ? `,"end_customer_company_name":"${COMPANIES[company]}"` : '') +
    (offering >= 0 ? `,"partner_offering_name":"${OFFERINGS[offering]}","partner_offering_date":"` : '')
  );
});

/** Close an open string (the offering date), then ISO-NE's customer fields: by (open, 0 or 1 + misc & 3). */
const CUSTOMER_ISONE = new Fragments(10, (key) => {
  const open = key >= 5;
  const isone = key % 5;
  const flags = isone - 1;
  return (open ? '"' : '') + (isone > 0 ? `,"is_in_wholesale_capacity_market":${bool((flags & 1) === 1)},"dispatch_option":"${(flags & 2) === 0 ? 'DAILY' : 'TARGETED'}"` : '');
});

/** Close the customer, open the device up to its serial number; by model. */
const DEVICE_HEAD = new Fragments(MODELS, (m) => `},"device":{"device_type":"${DEVICE_MODELS[m].type}","device_serial_number":"`);
/** From the serial number to the install date; by model. */
const DEVICE_MID = new Fragments(MODELS, (m) => `","device_model":"${DEVICE_MODELS[m].model}","device_manufacturer":"${DEVICE_MODELS[m].manufacturer}","install_date":"`);
/** Battery sizes in `device`: by (model, units). */
const DEVICE_BATTERY = new Fragments(MODELS * 4, (key) => {
  const b = batterySize(DEVICE_MODELS[Math.floor(key / 4)], key % 4);
  return `","battery_power_capacity_kw":${b.power},"battery_energy_capacity_kwh":${b.energy},"battery_duration_hours":${b.hours}`;
});
const PTO_KEY = ',"permission_to_operate_date":"';

/** Key of a battery's state-of-charge limits and installer. */
function batteryConfigKey(d: profile.DeviceProfile): number {
  return (d.maxSocIndex * SOC_MIN.length + d.minSocIndex) * INSTALLERS.length + d.installerIndex;
}
const BATTERY_CONFIGS = SOC_MAX.length * SOC_MIN.length * INSTALLERS.length;
function batteryConfig(key: number): string {
  const installer = INSTALLERS[key % INSTALLERS.length];
  const minSoc = SOC_MIN[Math.floor(key / INSTALLERS.length) % SOC_MIN.length];
  const maxSoc = SOC_MAX[Math.floor(key / INSTALLERS.length / SOC_MIN.length)];
  return `,"battery_max_state_of_charge_percentage":${maxSoc},"battery_min_state_of_charge_percentage":${minSoc},"installer":"${installer}"`;
}

/** The newer spec's battery rates in `device`: by (open string, model, units). */
const DEVICE_BATTERY_RATES = new Fragments(2 * MODELS * 4, (key) => {
  const b = batterySize(DEVICE_MODELS[Math.floor(key / 4) % MODELS], key % 4);
  return (key >= MODELS * 4 ? '"' : '') + `,"battery_max_discharge_rate_kw":${b.power},"battery_max_charge_rate_kw":${b.charge}`;
});
/** The newer spec's battery limits, installer and solar flag in `device`: by (config, solar). */
const DEVICE_BATTERY_CONFIG = new Fragments(BATTERY_CONFIGS * 2, (key) => `${batteryConfig(key >> 1)},"is_connected_to_solar":${bool((key & 1) === 1)}`);

/** Close the device (or customer), open the site with its load zone: by (open string, utility, zone). */
const SITE_ZONE = new Fragments(2 * UTILITIES * ZONES, (key) => {
  const open = key >= UTILITIES * ZONES;
  const utility = Math.floor(key / ZONES) % UTILITIES;
  return (open ? '"' : '') + `},"site":{"load_zone":"${UTILITY_REFS[utility].utility.loadZones[key % ZONES]}"`;
});
/** A site without a device, whole: by (utility, zone, renewable). */
const SITE_NO_DEVICE = new Fragments(UTILITIES * ZONES * 2, (key) => {
  const utility = Math.floor(key / 2 / ZONES);
  const zone = Math.floor(key / 2) % ZONES;
  return `},"site":{"load_zone":"${UTILITY_REFS[utility].utility.loadZones[zone]}","on_site_fossil_generator":false,"renewable_generator":${bool(key % 2 === 1)},"site_devices":[]}`;
});
/** Site device counts and flags: by (model, units, solar). */
const SITE_DEVICE = new Fragments(MODELS * 4 * 2, (key) => {
  const m = DEVICE_MODELS[Math.floor(key / 8)];
  return `,"number_of_devices":${Math.floor(key / 2) % 4},"on_site_fossil_generator":${bool(m.type === 'GENERATOR')},"renewable_generator":${bool(key % 2 === 1)}`;
});
/** Deprecated generator_* site fields up to the serial number: by (model, model year). */
const SITE_GENERATOR = new Fragments(MODELS * MODEL_YEARS, (key) => {
  const m = DEVICE_MODELS[Math.floor(key / MODEL_YEARS)];
  return (
    (m.powerKw !== undefined ? `,"generator_capacity_kw":${m.powerKw}` : '') +
    `,"generator_model_year":${FIRST_MODEL_YEAR + (key % MODEL_YEARS)},"generator_manufacturer":"${m.manufacturer}"` +
    (m.fuel ? `,"generator_fuel_type":"${m.fuel}"` : '') +
    ',"generator_serial_number":"'
  );
});
/** `site_devices` up to the serial number: by (model, open string). */
const INFO_HEAD = new Fragments(MODELS * 2, (key) => {
  const m = DEVICE_MODELS[Math.floor(key / 2)];
  return (key % 2 === 1 ? '"' : '') + `,"site_devices":[{"device_type":"${m.type}","model":"${m.model}","manufacturer":"${m.manufacturer}","serial_number":"`;
});
/** What follows the device type in a site device: voltage level and generator year and fuel. */
function infoEnd(m: catalog.DeviceModel, year: number): string {
  let text = '';
  if (m.type === 'EV' && m.energyKwh !== undefined) text += `,"energy_capacity_kwh":${m.energyKwh}`;
  if (m.evseLevel) text += `,"voltage_level":"${m.evseLevel}"`;
  if (m.type === 'GENERATOR') text += `,"model_year":${year}` + (m.fuel ? `,"fuel_type":"${m.fuel}"` : '');
  return `${text}}]}`;
}
/** The rest of a site device that is not a battery, and of the site: by (model, model year of generators). */
const INFO_OTHER = new Fragments(MODELS * MODEL_YEARS, (key) => {
  const m = DEVICE_MODELS[Math.floor(key / MODEL_YEARS)];
  return '"' + (m.powerKw !== undefined ? `,"power_capacity_kw":${m.powerKw}` : '') + infoEnd(m, FIRST_MODEL_YEAR + (key % MODEL_YEARS));
});
/** A battery site device's sizes: by (model, units). */
const INFO_BATTERY_SIZE = new Fragments(MODELS * 4, (key) => {
  const b = batterySize(DEVICE_MODELS[Math.floor(key / 4)], key % 4);
  return `","energy_capacity_kwh":${b.energy},"power_capacity_kw":${b.power},"energy_capacity_duration_hours":${b.hours}`;
});
/** A battery site device's limits and installer: by config. */
const INFO_BATTERY_CONFIG = new Fragments(BATTERY_CONFIGS, batteryConfig);
/** A battery site device's rates and solar flag in either spelling, and the rest of the site: by (model, units, new spelling, solar). */
const INFO_BATTERY_RATES = new Fragments(MODELS * 4 * 4, (key) => {
  const m = DEVICE_MODELS[Math.floor(key / 16)];
  const b = batterySize(m, Math.floor(key / 4) % 4);
  const solar = bool((key & 1) === 1);
  return (
    ((key & 2) !== 0
      ? `,"battery_max_discharge_rate_kw":${b.power},"battery_max_charge_rate_kw":${b.charge},"is_connected_to_solar":${solar}`
      : `,"max_energy_production_rate_kw":${b.power},"max_energy_consumption_rate_kw":${b.charge},"pv_connected":${solar}`) + infoEnd(m, 0)
  );
});

/** CAISO's block: by (SGIP funding, renewable, NEM3). */
const REGION_CAISO = new Fragments(8, (key) => `,"caiso":{"is_receiving_sgip_funding":${bool(key >= 4)}` + ((key & 2) !== 0 ? `,"nem_type":"${(key & 1) !== 0 ? 'NEM3' : 'NEM2'}"` : '') + '}');
const REGION_ISONE = new Fragments(2, (key) => `,"isone":{"in_connected_solutions":${bool(key === 1)}}`);
/** NYISO's block without its closing brace: by (weather adjusted, 0 or 1 + company type). */
const REGION_NYISO = new Fragments(10, (key) => {
  const company = (key % 5) - 1;
  return `,"nyiso":{"cbl_method":"${key >= 5 ? 'WEATHER_ADJUSTED' : 'AVERAGE_DAY'}"` + (company >= 0 ? `,"company_type":"${COMPANY_TYPES[company]}"` : '');
});

/** `utility` up to the account number: by (utility, load-serving entity). */
const UTILITY_HEAD = new Fragments(UTILITIES * LSES, (key) => {
  const u = UTILITY_REFS[Math.floor(key / LSES)].utility;
  return `,"utility":{"utility_name":"${u.code}","load_serving_entity":"${u.lse[key % LSES]}","electric_service_account_number":"`;
});
/** Tariff and voltage, up to the meter serial: by (utility, commercial, tariff, voltage). */
const UTILITY_TARIFF = new Fragments(UTILITIES * 2 * TARIFFS * VOLTAGES.length, (key) => {
  const voltage = key % VOLTAGES.length;
  const k = Math.floor(key / VOLTAGES.length);
  const u = UTILITY_REFS[Math.floor(k / 2 / TARIFFS)].utility;
  const list = Math.floor(k / TARIFFS) % 2 === 1 ? u.commercialTariffs : u.tariffs;
  return `","tariff":"${list[k % TARIFFS]}","voltage":"${VOLTAGES[voltage]}","utility_meter_serial_number":"`;
});
/** Close `utility`, open the audit up to `created_at`: by creator. */
const DETAILS_AUDIT = new Fragments(4, (c) => `"},"audit":{"created_by":"${CREATED_BY[c] ?? ''}","created_at":"`);

/** Enrollment: status, then participation up to the first period's start: by status. */
const ENROLLMENT_STATUS = new Fragments(STATUS_CODES.length, (s) => `"},"global_enrollment_status":"${STATUS_CODES[s]}","participation_preferences":[{"participation_preference":"PARTICIPATE","start_time":"`);
/** An open-ended end time, closing the participation list: by sentinel. */
const PERIODS_END_SENTINEL = new Fragments(OPEN_ENDED_SENTINELS.length, (k) => `","end_time":"${OPEN_ENDED_SENTINELS[k]}"}],"program_enrollment":[`);
/** Between the two period starts: by preference. */
const PERIODS_CURRENT = new Fragments(PREFERENCES.length, (p) => `"},{"participation_preference":"${PREFERENCES[p]}","start_time":"`);
/** A reason, closing the participation list: by (preference, reason). */
const PERIODS_END_REASON = new Fragments(PREFERENCES.length * REASONS, (key) => {
  const reasons = Math.floor(key / REASONS) === 1 ? IDLE_REASONS : DISENROLL_REASONS;
  return `","reason":"${reasons[key % REASONS]}"}],"program_enrollment":[`;
});
const PERIODS_TO_PROGRAMS = ',"program_enrollment":[';
const NO_ACTIONS_END = '],"required_actions":{"partner":[],"leap":[]}}';

/** v1 from the region to the service point number: by (region, utility). */
const V1_HEAD = new Fragments(REGIONS.length * UTILITIES, (key) => {
  const u = UTILITY_REFS[key % UTILITIES].utility;
  return `,"transmission_region":"${REGION_CODE[Math.floor(key / UTILITIES)]}","utility":"${u.code}","service_point_number":"`;
});
/** v1 tariff up to the service address: by (utility, commercial, tariff). */
const V1_TARIFF = new Fragments(UTILITIES * 2 * TARIFFS, (key) => {
  const u = UTILITY_REFS[Math.floor(key / 2 / TARIFFS)].utility;
  const list = Math.floor(key / TARIFFS) % 2 === 1 ? u.commercialTariffs : u.tariffs;
  return `","tariff":"${list[key % TARIFFS]}","service_address_full":"`;
});
/** v1 meter type and archive flag up to `date_added`: by (kind, archived). */
const V1_MID = new Fragments(KINDS * 2, (key) => `","meter_type":"${METER_TYPE_OF_KIND[key >> 1]}","is_archived":${bool((key & 1) === 1)},"date_added":"`);
/** v1 enrollment status up to `active_from`: by status, or 5 for ActionRequired. */
const V1_STATUS_HEAD = new Fragments(V1_STATUS.length + 1, (s) => `","enrollment":{"status":"${s < V1_STATUS.length ? V1_STATUS[s] : 'ActionRequired'}","active_from":`);
/** Empty status reasons through the participation list's start: by (open string, preference). */
const V1_NO_REASONS = new Fragments(2 * V1_PREFERENCE.length, (key) => {
  const open = key >= V1_PREFERENCE.length;
  return (open ? '"' : '') + `,"status_reasons":[],"partner_preferred_action":"${V1_PREFERENCE[key % V1_PREFERENCE.length]}"},"participation":[`;
});
/** After non-empty status reasons, through the participation list's start: by preference. */
const V1_REASONS_END = new Fragments(V1_PREFERENCE.length, (p) => `],"partner_preferred_action":"${V1_PREFERENCE[p]}"},"participation":[`);

/** Program entries are shared by thousands of meters: their text is kept, up to this many. */
const ENTRY_CACHE_LIMIT = 20_000;
const GROUP_SLOTS = 4096;

export class Renderer {
  private readonly entryCache = new Map<number, string>();
  /** Per market group: its v1 `participation` item up to the trade date, first in the list or not. */
  private readonly groupItems: string[] = [];
  /** Trade date (local day) of `nowMs` per region, for v1 `participation`. */
  private todayNowMs = NaN;
  private readonly todayByRegion = new Float64Array(REGIONS.length);

  constructor(
    private readonly store: MeterStore,
    private readonly groups: MarketGroups,
    private readonly seed: number,
  ) {
    // Program entry keys pack these in fixed widths.
    if (groups.all.length > GROUP_SLOTS || REGIONS.length > 16 || PROGRAM_IDS.length > 64 || STATUS_CODES.length > 8) throw new Error('catalog too large for the program entry keys');
  }

  programs(i: number): MeterPrograms {
    const list = UTILITY_REFS[this.store.utility[i]].utility.programs;
    const h = hash32(this.seed, S_PROGRAMS, i);
    const secondary: string[] = [];
    const follows: boolean[] = [];
    for (let k = 1; k < list.length && secondary.length < 2; k++) {
      if (((h >>> (k * 3)) & 7) < 3) {
        secondary.push(list[k]);
        follows.push(((h >>> (k * 3 + 12)) & 1) === 1);
      }
    }
    return { primary: list[0], secondary, secondaryFollows: follows };
  }

  createdAt(i: number): string {
    const s = this.store;
    return formatInstant(s.createdMs[i], s.createdSub[i], s.createdPrecision[i]);
  }

  updatedAt(i: number): string {
    const s = this.store;
    return formatInstant(s.updatedMs[i], s.updatedSub[i], s.updatedPrecision[i]);
  }

  // ---- The three views, as JSON text (searches, GET routes) and as objects (helpers, tests). ----

  /** v2 MeterDetailsResponse as JSON text. */
  detailsJson(i: number): string {
    return this.withExtraText(this.detailsText(i), i, 'details');
  }

  /** v2 MeterEnrollmentResponse as JSON text. */
  enrollmentJson(i: number): string {
    return this.withExtraText(this.enrollmentText(i), i, 'enrollment');
  }

  /** The v1 meter object (leap-api.md §3.5) as JSON text; trade dates are today and the next two in the meter's region. */
  v1Json(i: number, nowMs: number): string {
    return this.withExtraText(this.v1Text(i, nowMs), i, 'v1');
  }

  details(i: number): Json {
    return withExtra(JSON.parse(this.detailsText(i)) as Json, this.extra(i)?.details);
  }

  enrollment(i: number): Json {
    return withExtra(JSON.parse(this.enrollmentText(i)) as Json, this.extra(i)?.enrollment);
  }

  v1(i: number, nowMs: number): Json {
    return withExtra(JSON.parse(this.v1Text(i, nowMs)) as Json, this.extra(i)?.v1);
  }

  private extra(i: number): { details: Json; enrollment: Json; v1: Json } | undefined {
    const extras = this.store.extraFields;
    return extras.size === 0 ? undefined : extras.get(i);
  }

  /** Fields Leap added that the simulator models as unknown: rare, so merged through the object form. */
  private withExtraText(text: string, i: number, part: 'details' | 'enrollment' | 'v1'): string {
    const extra = this.extra(i)?.[part];
    if (!extra) return text;
    return JSON.stringify(withExtra(JSON.parse(text) as Json, extra));
  }

  /** The partner reference as a JSON string literal, or undefined when the meter has none. */
  private referenceJson(i: number): string | undefined {
    const s = this.store;
    if (s.referenceOverride.size > 0) {
      const override = s.referenceOverride.get(i);
      // Set by hand: any text, so escaped.
      if (override !== undefined) return JSON.stringify(override);
    }
    if ((s.flags[i] & FLAG_HAS_REFERENCE) === 0) return undefined;
    return '"' + s.generatedReference(s.authGroup[i]) + '"';
  }

  /**
   * `{` and the identifier fields shared by details and enrollment, then the start of what follows
   * them in `view`: up to the customer's street (details) or the audit's `created_at` (enrollment).
   */
  private identifiers(i: number, ref: string | undefined, view: number): string {
    const s = this.store;
    const kind = s.kind[i];
    const flags = s.flags[i];
    const mid = IDENT_MID.get(((s.region[i] * KINDS + kind) * LOAD_TYPE_SETS.length + s.loadSet[i]) * 2 + (ref === undefined ? 0 : 1));
    let o = '{"meter_id":"' + s.meterId(i);
    let emptyConnection = 1;
    if (ref === undefined) {
      o += mid;
    } else {
      o += '","partner_reference":' + ref + mid;
      if ((flags & FLAG_CONNECT) !== 0) {
        o += '[' + ref + ']';
        emptyConnection = 0;
      }
    }
    const tailKey = (((s.customerGroup[i] * TAG_SETS.length + s.tagSet[i]) * 2 + ((flags & FLAG_ARCHIVED) !== 0 ? 1 : 0)) * 4 + kindCreatedBy(kind)) * 2 + emptyConnection;
    return o + IDENT_TAIL.get(tailKey * 2 + view);
  }

  /** The fields a SERV_0005 action asks the partner to configure, phrased as Leap does. */
  private missingFields(i: number): string {
    const s = this.store;
    if (s.device[i] > 0 && deviceProfile(s, this.seed, i)?.model.type === 'BATTERY') return 'Battery Energy Capacity, Battery Power Capacity, Number Of Devices';
    if (s.region[i] === NYISO) return 'Voltage Group, CBL Method, Load Zone';
    if (COMMERCIAL_KIND[s.kind[i]]) return 'End Customer Company Name';
    return 'Device Serial Number, Install Date';
  }

  private detailsText(i: number): string {
    const s = this.store;
    const seed = this.seed;
    const ref = this.referenceJson(i);
    const region = s.region[i];
    const utility = s.utility[i];
    const commercial = COMMERCIAL_KIND[s.kind[i]];
    const misc = hash32(seed, S_MISC, i);

    // customer
    let o = this.identifiers(i, ref, DETAILS);
    const home = city(s, seed, i);
    const a = address(s, seed, i, home);
    o += a.street1;
    o += a.street2 === undefined ? '","postal_code":"' : '","street_2":"' + a.street2 + '","postal_code":"';
    o += a.postalCode;
    o += cityText(a.place).customer;
    const who = person(s, seed, i, home);
    o += who.name;
    o += TITLE_EMAIL.get(who.titleIndex + 1);
    o += who.email;
    o += '","end_customer_phone_number":"';
    o += who.phone;
    o += AFTER_PHONE.get((who.companyIndex + 1) * (OFFERINGS.length + 1) + who.offeringIndex + 1);
    let open = false;
    if (who.offeringIndex >= 0 && who.offeringDay !== undefined) {
      o += formatDay(who.offeringDay);
      open = true;
    }
    o += CUSTOMER_ISONE.get((open ? 5 : 0) + (region === ISONE ? 1 + (misc & 3) : 0));
    const billing = billingAddress(seed, i);
    if (billing) {
      o += ',"billing":{"street_1":"' + billing.street1;
      o += billing.street2 === undefined ? '","postal_code":"' : '","street_2":"' + billing.street2 + '","postal_code":"';
      o += billing.postalCode + cityText(billing.place).billing;
    }
    if (ref !== undefined) o += ',"partner_customer_reference":' + ref;

    // device and site
    const loadZones = UTILITY_REFS[utility].utility.loadZones;
    const zone = misc % loadZones.length;
    const dev = deviceProfile(s, seed, i);
    let renewable: boolean;
    if (dev) {
      const mi = dev.modelIndex;
      const m = dev.model;
      const battery = IS_BATTERY[mi];
      o += DEVICE_HEAD.get(mi) + dev.serial + DEVICE_MID.get(mi) + formatDay(dev.installDay);
      open = true;
      if (battery) {
        o += DEVICE_BATTERY.get(mi * 4 + dev.count);
        open = false;
        if (dev.ptoDay !== undefined) {
          o += PTO_KEY + formatDay(dev.ptoDay);
          open = true;
        }
        if ((s.flags[i] & FLAG_NEW_SPELLING) !== 0) {
          // Fields the newer copy of Leap's spec adds to `device` (leap-api.md §4.5).
          o += DEVICE_BATTERY_RATES.get(((open ? MODELS : 0) + mi) * 4 + dev.count);
          o += DEVICE_BATTERY_CONFIG.get(batteryConfigKey(dev) * 2 + (dev.solar ? 1 : 0));
          open = false;
        }
      }
      renewable = dev.solar;
      o += SITE_ZONE.get((open ? UTILITIES * ZONES : 0) + utility * ZONES + zone);
      o += SITE_DEVICE.get((mi * 4 + dev.count) * 2 + (dev.solar ? 1 : 0));
      let infoOpen = 0;
      if (m.type === 'GENERATOR' && (misc & 4) !== 0) {
        // Deprecated generator_* fields: older partner integrations still send them.
        o += SITE_GENERATOR.get(mi * MODEL_YEARS + (dev.modelYear - FIRST_MODEL_YEAR)) + dev.serial;
        infoOpen = 1;
      }
      o += INFO_HEAD.get(mi * 2 + infoOpen) + dev.serial;
      if (battery) {
        o += INFO_BATTERY_SIZE.get(mi * 4 + dev.count) + INFO_BATTERY_CONFIG.get(batteryConfigKey(dev));
        o += INFO_BATTERY_RATES.get(((mi * 4 + dev.count) * 2 + ((s.flags[i] & FLAG_NEW_SPELLING) !== 0 ? 1 : 0)) * 2 + (dev.solar ? 1 : 0));
      } else {
        o += INFO_OTHER.get(mi * MODEL_YEARS + (m.type === 'GENERATOR' ? dev.modelYear - FIRST_MODEL_YEAR : 0));
      }
    } else {
      renewable = (misc & 8) !== 0;
      o += SITE_NO_DEVICE.get((utility * ZONES + zone) * 2 + (renewable ? 1 : 0));
    }

    if (region === CAISO) {
      o += REGION_CAISO.get((dev?.model.type === 'BATTERY' && (misc & 16) !== 0 ? 4 : 0) + (renewable ? 2 : 0) + ((misc & 32) !== 0 ? 1 : 0));
    } else if (region === ISONE) {
      o += REGION_ISONE.get((misc & 64) !== 0 ? 1 : 0);
    } else if (region === NYISO) {
      o += REGION_NYISO.get(((misc & 128) !== 0 ? 5 : 0) + (commercial ? 1 + ((misc >>> 8) & 3) : 0));
      if ((misc & 0x1000) !== 0) {
        const resource = String(100000 + ((misc >>> 13) % 900000));
        o += ',"existing_nyiso_resource_id":"' + resource + '","partner_nyiso_resource_name":"LEAP_' + resource + '"}';
      } else {
        o += '}';
      }
    }

    // utility and audit
    const numbers = utilityNumbers(s, seed, i);
    const voltage = commercial ? ((misc & 0x2000) !== 0 ? 2 : 1) : 0;
    o += UTILITY_HEAD.get(utility * LSES + numbers.lseIndex) + numbers.account;
    o += UTILITY_TARIFF.get(((utility * 2 + (commercial ? 1 : 0)) * TARIFFS + tariffIndex(s, seed, i)) * VOLTAGES.length + voltage) + numbers.meterSerial;
    o += '","bill_service_agreement_number":"' + numbers.serviceAgreement;
    o += '","bill_customer_account_number":"' + numbers.customerAccount;
    o += DETAILS_AUDIT.get(kindCreatedBy(s.kind[i])) + this.createdAt(i);
    return o + '","updated_at":"' + this.updatedAt(i) + '"}}';
  }

  /** The period the meter's enrollment refers to: the one in force at its last enrollment change. */
  private anchorPeriod(program: string, i: number): DeliveryPeriod {
    return periodAt(program, this.store.region[i], this.store.enrollAt[i] * 1000);
  }

  /**
   * One program_enrollment entry as JSON text, after a comma unless first. Entries repeat across
   * thousands of meters (same program, region, period, status and group), so each is built once.
   */
  private programEntry(program: number, period: DeliveryPeriod, region: number, status: number, group: number, first: boolean): string {
    const key = ((((period.key * 16 + region) * 64 + program) * 8 + status) * GROUP_SLOTS + group) * 2 + (first ? 1 : 0);
    const cached = this.entryCache.get(key);
    if (cached !== undefined) return cached;
    const deadlines = periodDeadlines(region, period).map((d) => ({
      enrollment_deadline_date_time: formatSeconds(d.deadlineMs),
      activation_date_time: formatSeconds(d.activationMs),
    }));
    const entry: Json = {
      program_identifier: PROGRAM_IDS[program],
      delivery_period: period.name,
      delivery_period_start_date_time: formatSeconds(period.startMs),
      delivery_period_end_date_time: formatSeconds(period.endMs),
      enrollment_status: STATUS_CODES[status],
      enrollment_deadlines: deadlines,
    };
    const g = group > 0 ? this.groups.get(group) : null;
    if (g) {
      entry.market_group_id = g.id;
      entry.market_group_name = g.name;
    }
    const text = (first ? '' : ',') + JSON.stringify(entry);
    if (this.entryCache.size >= ENTRY_CACHE_LIMIT) this.entryCache.clear();
    this.entryCache.set(key, text);
    return text;
  }

  /** The program_enrollment entries, comma-separated: the same programs as programs(), without building it. */
  private programEnrollment(i: number): string {
    const s = this.store;
    const status = s.status[i];
    const region = s.region[i];
    const programs = UTILITY_PROGRAMS[s.utility[i]];
    const enrolledMs = s.enrollAt[i] * 1000;
    const primary = programs[0];
    const p0 = periodOf(primary, region, enrolledMs);
    let out: string;
    if (status === ACTIVE) {
      out = this.programEntry(primary, p0, region, ACTIVE, s.group[i], true);
      out += this.programEntry(primary, nextPeriodOf(primary, region, p0), region, ACTIVE, s.groupNext[i] || s.group[i], false);
    } else {
      out = this.programEntry(primary, p0, region, status, 0, true);
    }
    const h = hash32(this.seed, S_PROGRAMS, i);
    let secondaries = 0;
    for (let k = 1; k < programs.length && secondaries < 2; k++) {
      if (((h >>> (k * 3)) & 7) >= 3) continue;
      secondaries++;
      const follows = ((h >>> (k * 3 + 12)) & 1) === 1;
      const followed = status === ACTIVE || status === ELIGIBLE ? (follows ? status : INELIGIBLE) : status;
      out += this.programEntry(programs[k], periodOf(programs[k], region, enrolledMs), region, followed, followed === ACTIVE ? s.group[i] : 0, false);
    }
    return out;
  }

  partnerActions(i: number): RequiredActionJson[] {
    const s = this.store;
    const bits = s.partnerActions[i];
    if (bits === 0) return [];
    const { primary } = this.programs(i);
    const region = s.region[i];
    let period = this.anchorPeriod(primary, i);
    // An active meter's open action is about keeping the next period.
    if (s.status[i] === ACTIVE) period = nextPeriod(primary, region, period);
    const deadline = formatSeconds(periodDeadlines(region, period)[0].deadlineMs);
    const out: RequiredActionJson[] = [];
    for (const a of PARTNER_ACTIONS) {
      if ((bits & a.bit) === 0) continue;
      let description: string;
      if (a.bit === AUTH_0001) description = AUTH_0001_DESCRIPTION;
      else if (a.bit === SERV_0005) description = `Partner needs configuration for fields: ${this.missingFields(i)}.`;
      else if (a.bit === MRKT_0002) description = MRKT_0002_DESCRIPTION;
      else continue;
      out.push({ program_identifier: primary, delivery_period: period.name, enrollment_deadline_date_time: deadline, action_type: a.actionType, action_description: description, action_code: a.code });
    }
    return out;
  }

  leapActions(i: number): RequiredActionJson[] {
    const s = this.store;
    const bits = s.leapActions[i];
    if (bits === 0) return [];
    const programs = this.programs(i);
    const region = s.region[i];
    const out: RequiredActionJson[] = [];
    if (bits & LEAP_0001) {
      const unassigned = programs.secondary.find((_, k) => !programs.secondaryFollows[k]);
      const program = unassigned ?? programs.primary;
      const period = this.anchorPeriod(program, i);
      out.push({
        program_identifier: program,
        delivery_period: period.name,
        enrollment_deadline_date_time: formatSeconds(periodDeadlines(region, period)[0].activationMs),
        action_type: unassigned ? 'IS_ASSIGNED_TO_A_RESOURCE' : 'HAS_NOMINATIONS',
        action_description: unassigned ? LEAP_0001_UNASSIGNED : LEAP_0001_NOMINATIONS,
        action_code: 'LEAP_0001',
      });
    }
    if (bits & MRKT_0001) {
      const period = this.anchorPeriod(programs.primary, i);
      out.push({
        program_identifier: programs.primary,
        delivery_period: period.name,
        enrollment_deadline_date_time: formatSeconds(periodDeadlines(region, period)[0].deadlineMs),
        action_type: 'HAS_MARKET_REGISTRATION',
        action_description: MRKT_0001_DESCRIPTION,
        action_code: 'MRKT_0001',
      });
    }
    return out;
  }

  /** End time of open-ended periods: one of Leap's far-future sentinels (its index), fixed per meter. */
  private sentinel(i: number): number {
    return hash32(this.seed, S_MISC, i, 1) % OPEN_ENDED_SENTINELS.length;
  }

  participationPeriods(i: number): Json[] {
    const text = this.participationText(i);
    return JSON.parse('[{"participation_preference":"PARTICIPATE","start_time":"' + text.slice(0, text.length - PERIODS_TO_PROGRAMS.length)) as Json[];
  }

  /** `participation_preferences` from the first period's start time, through `"program_enrollment":[`. */
  private participationText(i: number): string {
    const s = this.store;
    const createdStart = formatSeconds(s.createdMs[i]);
    const start = s.preferenceStart[i];
    if (start === 0) return createdStart + PERIODS_END_SENTINEL.get(this.sentinel(i));
    const pref = s.preference[i];
    const startText = formatSeconds(start * 1000);
    const o = createdStart + '","end_time":"' + startText + PERIODS_CURRENT.get(pref) + startText;
    if (pref === 1) {
      const end = s.preferenceEnd[i];
      const reason = hash32(this.seed, S_MISC, i, start) % IDLE_REASONS.length;
      return o + '","end_time":"' + (end ? formatSeconds(end * 1000) : OPEN_ENDED_SENTINELS[this.sentinel(i)]) + PERIODS_END_REASON.get(REASONS + reason);
    }
    if (pref === 2) return o + PERIODS_END_REASON.get(2 * REASONS + (hash32(this.seed, S_MISC, i, start) % DISENROLL_REASONS.length));
    return o + PERIODS_END_SENTINEL.get(this.sentinel(i));
  }

  private enrollmentText(i: number): string {
    const s = this.store;
    let o = this.identifiers(i, this.referenceJson(i), ENROLLMENT) + this.createdAt(i);
    o += '","updated_at":"' + this.updatedAt(i);
    o += ENROLLMENT_STATUS.get(s.status[i]) + this.participationText(i);
    o += this.programEnrollment(i);
    if (s.partnerActions[i] === 0 && s.leapActions[i] === 0) return o + NO_ACTIONS_END;
    return o + '],"required_actions":{"partner":' + actionsText(this.partnerActions(i)) + ',"leap":' + actionsText(this.leapActions(i)) + '}}';
  }

  /** Group of trade date `day` (local days since epoch): a pending reassignment applies from its day on. */
  groupOn(i: number, day: number): number {
    const s = this.store;
    return s.groupNext[i] !== 0 && day >= s.groupNextDay[i] ? s.groupNext[i] : s.group[i];
  }

  private today(region: number, nowMs: number): number {
    if (nowMs !== this.todayNowMs) {
      for (let r = 0; r < REGIONS.length; r++) this.todayByRegion[r] = localDay(r, nowMs);
      this.todayNowMs = nowMs;
    }
    return this.todayByRegion[region];
  }

  /** A v1 `participation` item up to its trade date, after the previous item's trade date unless first. */
  private groupItem(group: number, first: boolean): string | undefined {
    const key = group * 2 + (first ? 1 : 0);
    const cached = this.groupItems[key];
    if (cached !== undefined) return cached;
    const g = this.groups.get(group);
    if (!g) return undefined;
    const text = (first ? '' : '"},') + `{"market_group_id":${JSON.stringify(g.id)},"market_group_name":${JSON.stringify(g.name)},"trade_date":"`;
    this.groupItems[key] = text;
    return text;
  }

  private v1Text(i: number, nowMs: number): string {
    const s = this.store;
    const seed = this.seed;
    const region = s.region[i];
    const utility = s.utility[i];
    const status = s.status[i];
    const kind = s.kind[i];
    const numbers = utilityNumbers(s, seed, i);
    const ref = this.referenceJson(i);
    let o = '{"meter_id":"' + s.meterId(i);
    o += ref === undefined ? '","partner_reference":null' : '","partner_reference":' + ref;
    o += V1_HEAD.get(region * UTILITIES + utility) + numbers.account;
    o += '","bill_customer_agreement_number":"' + numbers.customerAccount;
    o += V1_TARIFF.get((utility * 2 + (COMMERCIAL_KIND[kind] ? 1 : 0)) * TARIFFS + tariffIndex(s, seed, i)) + fullAddress(address(s, seed, i));
    o += V1_MID.get(kind * 2 + ((s.flags[i] & FLAG_ARCHIVED) !== 0 ? 1 : 0)) + this.createdAt(i);
    o += '","date_last_modified":"' + this.updatedAt(i);

    const partner = s.partnerActions[i] === 0 ? null : this.partnerActions(i);
    const hasPartner = partner !== null && partner.length > 0;
    const reasons = hasPartner ? partner : s.leapActions[i] === 0 ? null : this.leapActions(i);
    o += V1_STATUS_HEAD.get(hasPartner ? V1_STATUS.length : status);
    let open = false;
    if (status === ACTIVE) {
      const activeFrom = s.activeFrom[i];
      o += activeFrom > 0 ? '"' + formatSeconds(activeFrom * 1000) + '","active_to":"' : 'null,"active_to":"';
      const primary = UTILITY_PROGRAMS[utility][0];
      o += formatSeconds(nextPeriodOf(primary, region, periodOf(primary, region, s.enrollAt[i] * 1000)).endMs);
      open = true;
    } else {
      o += 'null,"active_to":null';
    }
    const eligibleFrom = s.eligibleFrom[i];
    if ((status === ELIGIBLE || status === ACTIVE) && eligibleFrom > 0) {
      const eligibleYear = Math.floor(civilFromDays(Math.floor(eligibleFrom / 86_400)) / 10000);
      o += (open ? '","eligible_from":"' : ',"eligible_from":"') + formatSeconds(eligibleFrom * 1000);
      o += '","eligible_to":"' + formatSeconds(localMidnight(region, eligibleYear + 4, 1, 2));
      open = true;
    } else {
      o += open ? '","eligible_from":null,"eligible_to":null' : ',"eligible_from":null,"eligible_to":null';
      open = false;
    }
    const pref = s.preference[i];
    if (reasons === null || reasons.length === 0) {
      o += V1_NO_REASONS.get((open ? V1_PREFERENCE.length : 0) + pref);
    } else {
      o += open ? '","status_reasons":[' : ',"status_reasons":[';
      for (let k = 0; k < reasons.length; k++) {
        o += (k > 0 ? ',{"code":"' : '{"code":"') + reasons[k].action_code + '","comment":"' + reasons[k].action_description + '"}';
      }
      o += V1_REASONS_END.get(pref);
    }
    let items = 0;
    if (status === ACTIVE) {
      const today = this.today(region, nowMs);
      for (let d = today; d <= today + 2; d++) {
        const item = this.groupItem(this.groupOn(i, d), items === 0);
        if (item === undefined) continue;
        o += item + formatDay(d);
        items++;
      }
    }
    return o + (items > 0 ? '"}]}' : ']}');
  }

  private eventBase(i: number): { meter_id: string; partner_reference?: string; transmission_region: string; meter_type: string } {
    const s = this.store;
    const ref = s.partnerReference(i);
    // Leap's schema requires 3+ characters; a shorter hand-set reference is left out of events.
    const meter_id = s.meterId(i);
    const transmission_region = REGIONS[s.region[i]].code;
    const meter_type = METER_TYPE_CODES[kindMeterType(s.kind[i])];
    return ref !== undefined && ref.length >= 3 ? { meter_id, partner_reference: ref, transmission_region, meter_type } : { meter_id, transmission_region, meter_type };
  }

  createdEvent(i: number): LeapEventPayload {
    return { webhook_event_type: 'meter.created', ...this.eventBase(i) };
  }

  statusEvent(i: number): LeapEventPayload {
    return { webhook_event_type: 'meter.enrollment.global-status.updated', ...this.eventBase(i), global_enrollment_status: STATUS_CODES[this.store.status[i]] };
  }

  participationEvent(i: number): LeapEventPayload {
    const s = this.store;
    const periods = this.participationPeriods(i);
    const current = periods[periods.length - 1];
    const payload: LeapEventPayload = {
      webhook_event_type: 'meter.enrollment.participation-status.updated',
      ...this.eventBase(i),
      participation_preference: PREFERENCES[s.preference[i]],
      start_time: String(current.start_time),
    };
    if (typeof current.end_time === 'string') payload.end_time = current.end_time;
    return payload;
  }

  actionsEvent(i: number): LeapEventPayload {
    return {
      webhook_event_type: 'meter.enrollment.required-actions.updated',
      ...this.eventBase(i),
      global_enrollment_status: STATUS_CODES[this.store.status[i]],
      required_actions: { partner: this.partnerActions(i) },
    };
  }

  /** group.updated for meters that joined `group` from trade date `fromDay` (through the end of that delivery period). */
  groupEvent(group: number, meters: readonly number[], fromDay: number): LeapEventPayload | null {
    const g = this.groups.get(group);
    if (!g) return null;
    const region = UTILITY_REFS[g.utility].region;
    const start = localMidnightOfDay(region, fromDay);
    const program = UTILITY_REFS[g.utility].utility.programs[0];
    const period = periodAt(program, region, start);
    return {
      webhook_event_type: 'meter.enrollment.group.updated',
      market_group_id: g.id,
      market_group_name: g.name,
      start_date_time: formatSeconds(start),
      end_date_time: formatSeconds(period.endMs),
      meter_ids: meters.map((m) => this.store.meterId(m)),
    };
  }
}


/** Required actions as a JSON array; every field is catalog text or a timestamp. */
function actionsText(actions: readonly RequiredActionJson[]): string {
  let out = '[';
  for (let k = 0; k < actions.length; k++) {
    const a = actions[k];
    out +=
      (k > 0 ? ',{"program_identifier":"' : '{"program_identifier":"') +
      a.program_identifier +
      '","delivery_period":"' +
      a.delivery_period +
      '","enrollment_deadline_date_time":"' +
      a.enrollment_deadline_date_time +
      '","action_type":"' +
      a.action_type +
      '","action_description":"' +
      a.action_description +
      '","action_code":"' +
      a.action_code +
      '"}';
  }
  return out + ']';
}

/** v1 `service_address_full`: street, city, state and ZIP, upper case. */
function fullAddress(a: Address): string {
  const street = a.street2 ? a.street1 + ' ' + a.street2 : a.street1;
  return street.toUpperCase() + cityText(a.place).v1 + a.postalCode.toUpperCase();
}

function withExtra(out: Json, extra: Record<string, unknown> | undefined): Json {
  if (!extra) return out;
  for (const [k, v] of Object.entries(extra)) out[k] = v;
  return out;
}
