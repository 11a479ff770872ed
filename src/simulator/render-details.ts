/**
 * v2 MeterDetailsResponse as JSON text: identifiers, customer and billing address, device, site
 * with its devices, the region's block, utility and audit.
 */
import * as catalog from './catalog';
import * as profile from './profile';
import * as random from './random';
import * as regions from './regions';
import * as shared from './render-shared';
import type { Json } from './render-shared';
import * as state from './state';
import type { MeterStore } from './state';
import { bool, Fragments } from './text';
import * as time from './time';

// Imported bindings, read once: under tsx (esbuild's CommonJS output) every use of an imported
// name is a getter call, and these are used for every meter rendered.
const { COMPANIES, CREATED_BY, DEVICE_MODELS, INSTALLERS, OFFERINGS, TITLES } = catalog;
const { address, billingAddress, city, deviceProfile, FIRST_MODEL_YEAR, LAST_MODEL_YEAR, person, SOC_MAX, SOC_MIN, tariffIndex, utilityNumbers } = profile;
const { hash32 } = random;
const { UTILITY_REFS } = regions;
const { CAISO, cityText, COMMERCIAL_KIND, createdAt, DETAILS, extraFields, identifiers, ISONE, NYISO, referenceJson, S_MISC, TARIFFS, UTILITIES, updatedAt, withExtra, withExtraText } = shared;
const { FLAG_NEW_SPELLING, kindCreatedBy } = state;
const { formatDay } = time;

const MODELS = DEVICE_MODELS.length;
// Strides of fragment keys: the longest list of each kind in the catalog.
const ZONES = Math.max(...UTILITY_REFS.map((r) => r.utility.loadZones.length));
const LSES = Math.max(...UTILITY_REFS.map((r) => r.utility.lse.length));
const MODEL_YEARS = LAST_MODEL_YEAR - FIRST_MODEL_YEAR + 1;
const COMPANY_TYPES = ['LIMITED_LIABILITY_COMPANY', 'CORPORATION', 'PARTNERSHIP', 'OTHER'];
const VOLTAGES = ['120/240 V', '208 V', '480 V'];

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Battery figures of a model and unit count: power, energy, charge rate, duration. */
function batterySize(m: catalog.DeviceModel, n: number): { power: number; energy: number; charge: number; hours: number } {
  const powerKw = m.powerKw ?? 0;
  const energyKwh = m.energyKwh ?? 0;
  return { power: round3(powerKw * n), energy: round3(energyKwh * n), charge: round3(powerKw * n * 0.9), hours: Math.max(1, Math.round(energyKwh / powerKw)) };
}
const IS_BATTERY = DEVICE_MODELS.map((m) => m.type === 'BATTERY' && m.powerKw !== undefined && m.energyKwh !== undefined);

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

export class DetailsView {
  constructor(
    private readonly store: MeterStore,
    private readonly seed: number,
  ) {}

  /** v2 MeterDetailsResponse as JSON text. */
  json(i: number): string {
    return withExtraText(this.store, this.text(i), i, 'details');
  }

  object(i: number): Json {
    return withExtra(JSON.parse(this.text(i)) as Json, extraFields(this.store, i, 'details'));
  }

  private text(i: number): string {
    const s = this.store;
    const seed = this.seed;
    const ref = referenceJson(s, i);
    const region = s.region[i];
    const utility = s.utility[i];
    const commercial = COMMERCIAL_KIND[s.kind[i]];
    const misc = hash32(seed, S_MISC, i);

    // customer
    let o = identifiers(s, i, ref, DETAILS);
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
    o += DETAILS_AUDIT.get(kindCreatedBy(s.kind[i])) + createdAt(s, i);
    return o + '","updated_at":"' + updatedAt(s, i) + '"}}';
  }
}
