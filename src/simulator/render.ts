/**
 * Builds Leap's JSON for a meter from its compact state: v2 MeterDetailsResponse, v2
 * MeterEnrollmentResponse, the v1 meter object and the webhook payloads. Field names, order and
 * enums follow Leap's OpenAPI files; v1 follows leap-api.md §3.5–3.7.
 */
import {
  ACTIVE,
  AUTH_0001,
  AUTH_0001_DESCRIPTION,
  CLASSIFICATIONS,
  CREATED_BY,
  CUSTOMER_GROUPS,
  DISENROLL_REASONS,
  ELIGIBLE,
  IDLE_REASONS,
  INELIGIBLE,
  LEAP_0001,
  LEAP_0001_NOMINATIONS,
  LEAP_0001_UNASSIGNED,
  LOAD_TYPE_SETS,
  METER_TYPE_CODES,
  MRKT_0001,
  MRKT_0001_DESCRIPTION,
  MRKT_0002,
  MRKT_0002_DESCRIPTION,
  OPEN_ENDED_SENTINELS,
  PARTNER_ACTIONS,
  PREFERENCES,
  REGIONS,
  SERV_0005,
  STATUS_CODES,
  TAG_SETS,
  UTILITY_REFS,
  V1_PREFERENCE,
  V1_STATUS,
} from './catalog';
import type { MarketGroups } from './markets';
import { address, billingAddress, deviceProfile, formatDateOnly, person, tariff, utilityNumbers, type Address } from './profile';
import { hash32, salt } from './random';
import { FLAG_CONNECT, FLAG_NEW_SPELLING, kindClassification, kindCreatedBy, kindMeterType, type MeterStore } from './state';
import { formatDay, formatInstant, formatSeconds, localDay, localMidnight, localMidnightOfDay, nextPeriod, periodAt, periodDeadlines, type DeliveryPeriod } from './time';

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

export class Renderer {
  private readonly entryCache = new Map<string, Json>();

  constructor(
    private readonly store: MeterStore,
    private readonly groups: MarketGroups,
    private readonly seed: number,
  ) {}

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

  private identifiers(i: number, ref: string | undefined): Json {
    const s = this.store;
    const out: Json = { meter_id: s.meterId(i) };
    if (ref !== undefined) out.partner_reference = ref;
    out.transmission_region = REGIONS[s.region[i]].code;
    out.customer_classification = CLASSIFICATIONS[kindClassification(s.kind[i])];
    out.load_types = LOAD_TYPE_SETS[s.loadSet[i]];
    out.meter_type = METER_TYPE_CODES[kindMeterType(s.kind[i])];
    out.connection_references = ref !== undefined && (s.flags[i] & FLAG_CONNECT) !== 0 ? [ref] : [];
    out.customer_group = CUSTOMER_GROUPS[s.customerGroup[i]];
    out.tags = TAG_SETS[s.tagSet[i]];
    out.is_archived = s.isArchived(i);
    return out;
  }

  createdAt(i: number): string {
    const s = this.store;
    return formatInstant(s.createdMs[i], s.createdSub[i], s.createdPrecision[i]);
  }

  updatedAt(i: number): string {
    const s = this.store;
    return formatInstant(s.updatedMs[i], s.updatedSub[i], s.updatedPrecision[i]);
  }

  private audit(i: number): Json {
    return { created_by: CREATED_BY[kindCreatedBy(this.store.kind[i])], created_at: this.createdAt(i), updated_at: this.updatedAt(i) };
  }

  /** The fields a SERV_0005 action asks the partner to configure, phrased as Leap does. */
  private missingFields(i: number): string {
    const s = this.store;
    if (s.device[i] > 0 && deviceProfile(s, this.seed, i)?.model.type === 'BATTERY') return 'Battery Energy Capacity, Battery Power Capacity, Number Of Devices';
    if (REGIONS[s.region[i]].code === 'NYISO') return 'Voltage Group, CBL Method, Load Zone';
    if (CLASSIFICATIONS[kindClassification(s.kind[i])] === 'COMMERCIAL') return 'End Customer Company Name';
    return 'Device Serial Number, Install Date';
  }

  details(i: number): Json {
    const s = this.store;
    const seed = this.seed;
    const ref = s.partnerReference(i);
    const out = this.identifiers(i, ref);
    const region = REGIONS[s.region[i]].code;
    const commercial = CLASSIFICATIONS[kindClassification(s.kind[i])] === 'COMMERCIAL';
    const misc = hash32(seed, S_MISC, i);

    const who = person(s, seed, i);
    const customer: Json = addressJson(address(s, seed, i));
    customer.end_customer_name = `${who.first} ${who.last}`;
    if (who.title) customer.end_customer_title = who.title;
    customer.end_customer_email = who.email;
    customer.end_customer_phone_number = who.phone;
    if (who.company) customer.end_customer_company_name = who.company;
    if (who.offering && who.offeringDay !== undefined) {
      customer.partner_offering_name = who.offering;
      customer.partner_offering_date = formatDateOnly(who.offeringDay);
    }
    if (region === 'ISONE') {
      customer.is_in_wholesale_capacity_market = (misc & 1) === 1;
      customer.dispatch_option = (misc & 2) === 0 ? 'DAILY' : 'TARGETED';
    }
    const billing = billingAddress(seed, i);
    if (billing) customer.billing = addressJson(billing);
    if (ref !== undefined) customer.partner_customer_reference = ref;
    out.customer = customer;

    const dev = deviceProfile(s, seed, i);
    const newSpelling = (s.flags[i] & FLAG_NEW_SPELLING) !== 0;
    const site: Json = {};
    const loadZones = UTILITY_REFS[s.utility[i]].utility.loadZones;
    site.load_zone = loadZones[misc % loadZones.length];
    if (dev) {
      const m = dev.model;
      const device: Json = { device_type: m.type };
      device.device_serial_number = dev.serial;
      device.device_model = m.model;
      device.device_manufacturer = m.manufacturer;
      device.install_date = formatDateOnly(dev.installDay);
      if (m.type === 'BATTERY' && m.powerKw !== undefined && m.energyKwh !== undefined) {
        device.battery_power_capacity_kw = round3(m.powerKw * dev.count);
        device.battery_energy_capacity_kwh = round3(m.energyKwh * dev.count);
        device.battery_duration_hours = Math.max(1, Math.round(m.energyKwh / m.powerKw));
        if (dev.ptoDay !== undefined) device.permission_to_operate_date = formatDateOnly(dev.ptoDay);
        if (newSpelling) {
          // Fields the newer copy of Leap's spec adds to `device` (leap-api.md §4.5).
          device.battery_max_discharge_rate_kw = round3(m.powerKw * dev.count);
          device.battery_max_charge_rate_kw = round3(m.powerKw * dev.count * 0.9);
          device.battery_max_state_of_charge_percentage = dev.maxSoc;
          device.battery_min_state_of_charge_percentage = dev.minSoc;
          device.installer = dev.installer;
          device.is_connected_to_solar = dev.solar;
        }
      }
      out.device = device;

      site.number_of_devices = dev.count;
      site.on_site_fossil_generator = m.type === 'GENERATOR';
      site.renewable_generator = dev.solar;
      if (m.type === 'GENERATOR' && (misc & 4) !== 0) {
        // Deprecated generator_* fields: older partner integrations still send them.
        site.generator_capacity_kw = m.powerKw;
        site.generator_model_year = dev.modelYear;
        site.generator_manufacturer = m.manufacturer;
        if (m.fuel) site.generator_fuel_type = m.fuel;
        site.generator_serial_number = dev.serial;
      }
      const info: Json = { device_type: m.type, model: m.model, manufacturer: m.manufacturer, serial_number: dev.serial };
      if (m.type === 'BATTERY' && m.powerKw !== undefined && m.energyKwh !== undefined) {
        info.energy_capacity_kwh = round3(m.energyKwh * dev.count);
        info.power_capacity_kw = round3(m.powerKw * dev.count);
        info.energy_capacity_duration_hours = Math.max(1, Math.round(m.energyKwh / m.powerKw));
        info.battery_max_state_of_charge_percentage = dev.maxSoc;
        info.battery_min_state_of_charge_percentage = dev.minSoc;
        info.installer = dev.installer;
        if (newSpelling) {
          info.battery_max_discharge_rate_kw = round3(m.powerKw * dev.count);
          info.battery_max_charge_rate_kw = round3(m.powerKw * dev.count * 0.9);
          info.is_connected_to_solar = dev.solar;
        } else {
          info.max_energy_production_rate_kw = round3(m.powerKw * dev.count);
          info.max_energy_consumption_rate_kw = round3(m.powerKw * dev.count * 0.9);
          info.pv_connected = dev.solar;
        }
      } else if (m.powerKw !== undefined) {
        info.power_capacity_kw = m.powerKw;
      }
      if (m.type === 'EV' && m.energyKwh !== undefined) info.energy_capacity_kwh = m.energyKwh;
      if (m.evseLevel) info.voltage_level = m.evseLevel;
      if (m.type === 'GENERATOR') {
        info.model_year = dev.modelYear;
        if (m.fuel) info.fuel_type = m.fuel;
      }
      site.site_devices = [info];
    } else {
      site.on_site_fossil_generator = false;
      site.renewable_generator = (misc & 8) !== 0;
      site.site_devices = [];
    }
    out.site = site;

    if (region === 'CAISO') {
      const caiso: Json = { is_receiving_sgip_funding: dev?.model.type === 'BATTERY' && (misc & 16) !== 0 };
      if (site.renewable_generator === true) caiso.nem_type = (misc & 32) !== 0 ? 'NEM3' : 'NEM2';
      out.caiso = caiso;
    } else if (region === 'ISONE') {
      out.isone = { in_connected_solutions: (misc & 64) !== 0 };
    } else if (region === 'NYISO') {
      const nyiso: Json = {};
      nyiso.cbl_method = (misc & 128) !== 0 ? 'WEATHER_ADJUSTED' : 'AVERAGE_DAY';
      if (commercial) nyiso.company_type = ['LIMITED_LIABILITY_COMPANY', 'CORPORATION', 'PARTNERSHIP', 'OTHER'][(misc >>> 8) & 3];
      if ((misc & 0x1000) !== 0) {
        const resource = String(100000 + ((misc >>> 13) % 900000));
        nyiso.existing_nyiso_resource_id = resource;
        nyiso.partner_nyiso_resource_name = `LEAP_${resource}`;
      }
      out.nyiso = nyiso;
    }

    const numbers = utilityNumbers(s, seed, i);
    const u = UTILITY_REFS[s.utility[i]].utility;
    const utility: Json = { utility_name: u.code, load_serving_entity: numbers.lse, electric_service_account_number: numbers.account, tariff: tariff(s, seed, i) };
    utility.voltage = commercial ? ((misc & 0x2000) !== 0 ? '480 V' : '208 V') : '120/240 V';
    utility.utility_meter_serial_number = numbers.meterSerial;
    utility.bill_service_agreement_number = numbers.serviceAgreement;
    utility.bill_customer_account_number = numbers.customerAccount;
    out.utility = utility;
    out.audit = this.audit(i);
    return withExtra(out, s.extraFields.get(i)?.details);
  }

  /** The period the meter's enrollment refers to: the one in force at its last enrollment change. */
  private anchorPeriod(program: string, i: number): DeliveryPeriod {
    return periodAt(program, this.store.region[i], this.store.enrollAt[i] * 1000);
  }

  /**
   * One program_enrollment entry. Entries repeat across thousands of meters (same program, region,
   * period, status and group), so they are built once, frozen and shared.
   */
  private programEntry(program: string, period: DeliveryPeriod, i: number, status: number, group: number): Json {
    const region = this.store.region[i];
    const key = `${program}|${region}|${period.key}|${status}|${group}`;
    const cached = this.entryCache.get(key);
    if (cached) return cached;
    const entry: Json = {
      program_identifier: program,
      delivery_period: period.name,
      delivery_period_start_date_time: formatSeconds(period.startMs),
      delivery_period_end_date_time: formatSeconds(period.endMs),
      enrollment_status: STATUS_CODES[status],
      enrollment_deadlines: periodDeadlines(region, period).map((d) =>
        Object.freeze({
          enrollment_deadline_date_time: formatSeconds(d.deadlineMs),
          activation_date_time: formatSeconds(d.activationMs),
        }),
      ),
    };
    Object.freeze(entry.enrollment_deadlines);
    const g = group > 0 ? this.groups.get(group) : null;
    if (g) {
      entry.market_group_id = g.id;
      entry.market_group_name = g.name;
    }
    if (this.entryCache.size >= 50_000) this.entryCache.clear();
    this.entryCache.set(key, Object.freeze(entry));
    return entry;
  }

  programEnrollment(i: number): Json[] {
    const s = this.store;
    const status = s.status[i];
    const { primary, secondary, secondaryFollows } = this.programs(i);
    const p0 = this.anchorPeriod(primary, i);
    const out: Json[] = [];
    if (status === ACTIVE) {
      out.push(this.programEntry(primary, p0, i, ACTIVE, s.group[i]));
      const p1 = nextPeriod(primary, s.region[i], p0);
      out.push(this.programEntry(primary, p1, i, ACTIVE, s.groupNext[i] || s.group[i]));
    } else {
      out.push(this.programEntry(primary, p0, i, status, 0));
    }
    for (const [k, program] of secondary.entries()) {
      const followed = status === ACTIVE || status === ELIGIBLE ? (secondaryFollows[k] ? status : INELIGIBLE) : status;
      out.push(this.programEntry(program, this.anchorPeriod(program, i), i, followed, followed === ACTIVE ? s.group[i] : 0));
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

  /** End time of open-ended periods: one of Leap's far-future sentinels, fixed per meter. */
  private sentinel(i: number): string {
    return OPEN_ENDED_SENTINELS[hash32(this.seed, S_MISC, i, 1) % OPEN_ENDED_SENTINELS.length];
  }

  participationPeriods(i: number): Json[] {
    const s = this.store;
    const createdStart = formatSeconds(s.createdMs[i]);
    const start = s.preferenceStart[i];
    if (start === 0) return [{ participation_preference: 'PARTICIPATE', start_time: createdStart, end_time: this.sentinel(i) }];
    const pref = s.preference[i];
    const current: Json = { participation_preference: PREFERENCES[pref], start_time: formatSeconds(start * 1000) };
    if (pref === 1) current.end_time = s.preferenceEnd[i] ? formatSeconds(s.preferenceEnd[i] * 1000) : this.sentinel(i);
    else if (pref === 0) current.end_time = this.sentinel(i);
    if (pref === 1) current.reason = IDLE_REASONS[hash32(this.seed, S_MISC, i, start) % IDLE_REASONS.length];
    if (pref === 2) current.reason = DISENROLL_REASONS[hash32(this.seed, S_MISC, i, start) % DISENROLL_REASONS.length];
    return [{ participation_preference: 'PARTICIPATE', start_time: createdStart, end_time: formatSeconds(start * 1000) }, current];
  }

  enrollment(i: number): Json {
    const s = this.store;
    const out = this.identifiers(i, s.partnerReference(i));
    out.audit = this.audit(i);
    out.global_enrollment_status = STATUS_CODES[s.status[i]];
    out.participation_preferences = this.participationPeriods(i);
    out.program_enrollment = this.programEnrollment(i);
    out.required_actions = { partner: this.partnerActions(i), leap: this.leapActions(i) };
    return withExtra(out, s.extraFields.get(i)?.enrollment);
  }

  /** Group of trade date `day` (local days since epoch): a pending reassignment applies from its day on. */
  groupOn(i: number, day: number): number {
    const s = this.store;
    return s.groupNext[i] !== 0 && day >= s.groupNextDay[i] ? s.groupNext[i] : s.group[i];
  }

  /** The v1 meter object (leap-api.md §3.5); trade dates are today and the next two in the meter's region. */
  v1(i: number, nowMs: number): Json {
    const s = this.store;
    const seed = this.seed;
    const region = s.region[i];
    const status = s.status[i];
    const numbers = utilityNumbers(s, seed, i);
    const addr = address(s, seed, i);
    const { primary } = this.programs(i);
    const p0 = this.anchorPeriod(primary, i);
    const out: Json = {
      meter_id: s.meterId(i),
      partner_reference: s.partnerReference(i) ?? null,
      transmission_region: REGIONS[region].code,
      utility: UTILITY_REFS[s.utility[i]].utility.code,
      service_point_number: numbers.account,
      bill_customer_agreement_number: numbers.customerAccount,
      tariff: tariff(s, seed, i),
      service_address_full: fullAddress(addr),
      meter_type: METER_TYPE_CODES[kindMeterType(s.kind[i])],
      is_archived: s.isArchived(i),
      date_added: this.createdAt(i),
      date_last_modified: this.updatedAt(i),
    };
    const partner = this.partnerActions(i);
    const reasons = (partner.length > 0 ? partner : this.leapActions(i)).map((a) => ({ code: a.action_code, comment: a.action_description }));
    const eligibleFrom = s.eligibleFrom[i];
    const eligible = (status === ELIGIBLE || status === ACTIVE) && eligibleFrom > 0;
    const eligibleYear = new Date(eligibleFrom * 1000).getUTCFullYear();
    out.enrollment = {
      status: partner.length > 0 ? 'ActionRequired' : V1_STATUS[status],
      active_from: status === ACTIVE && s.activeFrom[i] > 0 ? formatSeconds(s.activeFrom[i] * 1000) : null,
      active_to: status === ACTIVE ? formatSeconds(nextPeriod(primary, region, p0).endMs) : null,
      eligible_from: eligible ? formatSeconds(eligibleFrom * 1000) : null,
      eligible_to: eligible ? formatSeconds(localMidnight(region, eligibleYear + 4, 1, 2)) : null,
      status_reasons: reasons,
      partner_preferred_action: V1_PREFERENCE[s.preference[i]],
    };
    const participation: Json[] = [];
    if (status === ACTIVE) {
      const today = localDay(region, nowMs);
      for (let d = today; d <= today + 2; d++) {
        const g = this.groups.get(this.groupOn(i, d));
        if (g) participation.push({ market_group_id: g.id, market_group_name: g.name, trade_date: formatDay(d) });
      }
    }
    out.participation = participation;
    return withExtra(out, s.extraFields.get(i)?.v1);
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

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function addressJson(a: Address): Json {
  const out: Json = { street_1: a.street1 };
  if (a.street2) out.street_2 = a.street2;
  out.postal_code = a.postalCode;
  out.city = a.city;
  out.state_or_province_code = a.state;
  out.country_code = 'US';
  return out;
}

function fullAddress(a: Address): string {
  const street = a.street2 ? `${a.street1} ${a.street2}` : a.street1;
  return `${street}, ${a.city}, ${a.state} ${a.postalCode}`.toUpperCase();
}

function withExtra(out: Json, extra: Record<string, unknown> | undefined): Json {
  if (!extra) return out;
  for (const [k, v] of Object.entries(extra)) out[k] = v;
  return out;
}
