import { canonicalJson, sha256Hex, sortCanonical } from './canonical-json';
import type {
  EnrollmentStatus,
  LeapMeterDetails,
  LeapMeterEnrollment,
  LeapParticipationPeriod,
  LeapProgramEnrollment,
  LeapRequiredAction,
  LeapV1Meter,
  ParticipationPreference,
} from './leap-types';
import type { GroupAssignment, Meter, MeterEnrollment, MeterRaw, ParticipationPeriod, ProgramEnrollment, RequiredAction } from './meter';
import { canonicalInstant, toIsoMillis } from './timestamps';

const IDENTIFIER_FIELDS = [
  'meter_id',
  'partner_reference',
  'transmission_region',
  'customer_classification',
  'load_types',
  'meter_type',
  'connection_references',
  'customer_group',
  'tags',
  'is_archived',
  'audit',
] as const;
const DETAIL_SECTIONS = ['customer', 'device', 'site', 'utility', 'caiso', 'isone', 'nyiso'] as const;
const ENROLLMENT_FIELDS = ['global_enrollment_status', 'participation_preferences', 'program_enrollment', 'required_actions'] as const;

const KNOWN_V2 = new Set<string>([...IDENTIFIER_FIELDS, ...DETAIL_SECTIONS, ...ENROLLMENT_FIELDS]);

/**
 * `site.site_devices[]` fields that Leap renamed between two published copies of its spec.
 * Both spellings are read; the model uses the newer one.
 */
const DRIFTED_SITE_DEVICE_FIELDS: Record<string, string> = {
  max_energy_production_rate_kw: 'battery_max_discharge_rate_kw',
  max_energy_consumption_rate_kw: 'battery_max_charge_rate_kw',
  pv_connected: 'is_connected_to_solar',
};

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const nonEmpty = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
/** Timestamps become ISO with milliseconds; an unparseable value is kept as sent rather than lost. */
const time = (v: unknown): string | null => toIsoMillis(v) ?? str(v);

function laterInstant(a: string | undefined | null, b: string | undefined | null): string | null {
  if (!a) return b ?? null;
  if (!b) return a;
  const ca = canonicalInstant(a) ?? a;
  const cb = canonicalInstant(b) ?? b;
  return ca >= cb ? a : b;
}

/** A detail section as Leap sent it (shared with the raw part, never mutated). */
function section(v: unknown): Obj | null {
  return isObj(v) ? v : null;
}

/** Sort keys for the arrays normalization puts in order; the full text breaks ties. */
const actionKey = (a: RequiredAction) => `${a.code}|${a.program_identifier ?? ''}|${a.delivery_period ?? ''}|${a.type ?? ''}|${a.deadline ?? ''}`;
const programKey = (p: ProgramEnrollment) => `${p.program_identifier}|${p.delivery_period ?? ''}|${p.starts_at ?? ''}`;
const periodKey = (p: ParticipationPeriod) => `${p.starts_at ?? ''}|${p.preference}|${p.ends_at ?? ''}`;
const deadlineKey = (d: { deadline: string | null; activation: string | null }) => `${d.deadline ?? ''}|${d.activation ?? ''}`;

function normalizeSite(site: Obj | null): Obj | null {
  if (!site || !Array.isArray(site.site_devices)) return site;
  const devices = site.site_devices.map((d) => {
    if (!isObj(d)) return d;
    const out: Obj = {};
    for (const [k, v] of Object.entries(d)) {
      const renamed = DRIFTED_SITE_DEVICE_FIELDS[k];
      if (renamed) {
        if (!(renamed in d)) out[renamed] = v;
      } else out[k] = v;
    }
    return out;
  });
  return { ...site, site_devices: sortCanonical(devices) };
}

function extraFields(...parts: (Obj | null)[]): Obj {
  const out: Obj = {};
  for (const part of parts) {
    if (!part) continue;
    for (const k in part) if (!KNOWN_V2.has(k)) out[k] = part[k];
  }
  return out;
}

function toAction(a: LeapRequiredAction): RequiredAction {
  return {
    code: str(a.action_code) ?? 'UNKNOWN',
    type: str(a.action_type),
    description: str(a.action_description),
    program_identifier: str(a.program_identifier),
    delivery_period: str(a.delivery_period),
    deadline: time(a.enrollment_deadline_date_time),
  };
}

function toProgram(p: LeapProgramEnrollment): ProgramEnrollment {
  return {
    program_identifier: p.program_identifier,
    delivery_period: str(p.delivery_period),
    status: p.enrollment_status as EnrollmentStatus,
    starts_at: time(p.delivery_period_start_date_time),
    ends_at: time(p.delivery_period_end_date_time),
    market_group_id: nonEmpty(p.market_group_id),
    market_group_name: nonEmpty(p.market_group_name),
    deadlines: sortCanonical(
      (Array.isArray(p.enrollment_deadlines) ? p.enrollment_deadlines : []).map((d) => ({
        deadline: time(d?.enrollment_deadline_date_time),
        activation: time(d?.activation_date_time),
      })),
      deadlineKey,
    ),
  };
}

function toPeriod(p: LeapParticipationPeriod): ParticipationPeriod {
  return {
    preference: p.participation_preference.toUpperCase() as ParticipationPreference,
    starts_at: time(p.start_time),
    ends_at: time(p.end_time),
    reason: str(p.reason),
  };
}

/** The preference of the period that starts last: the partner's most recent instruction. */
function currentPreference(periods: ParticipationPeriod[]): ParticipationPreference | null {
  let best: ParticipationPeriod | null = null;
  for (const p of periods) if (!best || (p.starts_at ?? '') >= (best.starts_at ?? '')) best = p;
  return best?.preference ?? null;
}

function v2Enrollment(e: LeapMeterEnrollment): MeterEnrollment {
  const partner = (Array.isArray(e.required_actions?.partner) ? e.required_actions.partner : []).map(toAction);
  const leap = (Array.isArray(e.required_actions?.leap) ? e.required_actions.leap : []).map(toAction);
  const periods = sortCanonical((Array.isArray(e.participation_preferences) ? e.participation_preferences : []).map(toPeriod), periodKey).sort((a, b) =>
    (a.starts_at ?? '').localeCompare(b.starts_at ?? ''),
  );
  return {
    status: e.global_enrollment_status as EnrollmentStatus,
    status_v1: null,
    partner_action_required: partner.length > 0,
    partner_actions: sortCanonical(partner, actionKey),
    leap_actions: sortCanonical(leap, actionKey),
    participation_preference: currentPreference(periods),
    participation_periods: periods,
    programs: sortCanonical(e.program_enrollment.map(toProgram), programKey),
    window: null,
  };
}

function v2Groups(programs: ProgramEnrollment[]): GroupAssignment[] {
  const out: GroupAssignment[] = [];
  for (const p of programs) {
    if (!p.market_group_id) continue;
    out.push({
      key: `period:${p.program_identifier}/${p.delivery_period ?? ''}`,
      market_group_id: p.market_group_id,
      market_group_name: p.market_group_name,
      trade_date: null,
      program_identifier: p.program_identifier,
      delivery_period: p.delivery_period,
      starts_at: p.starts_at,
      ends_at: p.ends_at,
    });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * Merge the two v2 parts of one meter. Either part may be missing (a meter changed in only one
 * part is re-read in that part only); identifiers come from the part Leap updated last.
 */
export function normalizeV2(details: LeapMeterDetails | null, enrollment: LeapMeterEnrollment | null): Meter {
  const d = details as Obj | null;
  const e = enrollment as Obj | null;
  if (!d && !e) throw new Error('normalizeV2 needs at least one part');
  const updatedD = details?.audit?.updated_at;
  const updatedE = enrollment?.audit?.updated_at;
  const newer = (laterInstant(updatedD, updatedE) === (updatedE ?? null) && e ? e : d ?? e) as Obj;
  const pick = (k: string): unknown => (newer[k] !== undefined ? newer[k] : (d ?? e ?? {})[k] ?? (e ?? {})[k]);
  const enr = enrollment ? v2Enrollment(enrollment) : null;
  const utility = section(d?.utility);
  const createdAt = details?.audit?.created_at ?? enrollment?.audit?.created_at;
  return {
    meter_id: String(pick('meter_id')),
    source: 'v2',
    partner_reference: nonEmpty(pick('partner_reference')),
    transmission_region: str(pick('transmission_region')),
    meter_type: str(pick('meter_type')),
    customer_classification: str(pick('customer_classification')),
    utility_name: utility ? str(utility.utility_name) : null,
    load_types: strings(pick('load_types')).sort(),
    tags: strings(pick('tags')).sort(),
    connection_references: strings(pick('connection_references')).sort(),
    customer_group: nonEmpty(pick('customer_group')),
    is_archived: pick('is_archived') === true,
    customer: section(d?.customer),
    device: section(d?.device),
    site: normalizeSite(section(d?.site)),
    utility,
    caiso: section(d?.caiso),
    isone: section(d?.isone),
    nyiso: section(d?.nyiso),
    enrollment: enr,
    group_assignments: enr ? v2Groups(enr.programs) : [],
    extra: extraFields(d, e),
    created_at: time(createdAt),
    updated_at: time(laterInstant(updatedD, updatedE)),
    raw: { details: d, enrollment: e, v1: null },
  };
}

const V1_KNOWN = new Set([
  'meter_id',
  'partner_reference',
  'transmission_region',
  'meter_type',
  'customer_classification',
  'load_types',
  'tags',
  'connection_references',
  'customer_group',
  'is_archived',
  'utility',
  'service_point_number',
  'bill_customer_agreement_number',
  'tariff',
  'service_address_full',
  'load_zone',
  'grid_zone',
  'customer',
  'device',
  'site',
  'enrollment',
  'participation',
  'partner_preferred_action',
  'date_added',
  'date_last_modified',
  'audit',
]);

/** Leap v1 wrote statuses in title case; `ActionRequired` means the partner has something to do. */
export function v1StatusToV2(status: string | undefined | null): { status: EnrollmentStatus; actionRequired: boolean } {
  const raw = (status ?? '').trim();
  const upper = raw
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();
  if (upper === 'ACTION_REQUIRED') return { status: 'INELIGIBLE', actionRequired: true };
  if (upper === '') return { status: 'PENDING', actionRequired: false };
  return { status: upper as EnrollmentStatus, actionRequired: false };
}

/** Leap's code prefixes name the kind of action; v1 status reasons carry only code and comment. */
const ACTION_TYPE_BY_PREFIX: Record<string, string> = {
  AUTH: 'IS_AUTHORIZED',
  SERV: 'NO_MISSING_FIELDS',
  MRKT: 'HAS_MARKET_REGISTRATION',
  DOCS: 'DOCUMENTS_SIGNED',
  AMI: 'HAS_AMI',
  ADDR: 'ADDRESS',
  LEAP: 'IS_ASSIGNED_TO_A_RESOURCE',
};

export function actionTypeForCode(code: string): string | null {
  return ACTION_TYPE_BY_PREFIX[code.split('_')[0] ?? ''] ?? null;
}

export function normalizeV1(raw: LeapV1Meter): Meter {
  const m = raw as Obj;
  const enrollmentObj = isObj(m.enrollment) ? m.enrollment : null;
  let enrollment: MeterEnrollment | null = null;
  if (enrollmentObj) {
    const { status, actionRequired } = v1StatusToV2(str(enrollmentObj.status));
    const reasons = (Array.isArray(enrollmentObj.status_reasons) ? enrollmentObj.status_reasons : []).filter(isObj).map(
      (r): RequiredAction => {
        const code = str(r.code) ?? 'UNKNOWN';
        return { code, type: actionTypeForCode(code), description: str(r.comment), program_identifier: null, delivery_period: null, deadline: null };
      },
    );
    const prefRaw = str(enrollmentObj.partner_preferred_action) ?? str(m.partner_preferred_action);
    const preference = prefRaw ? (prefRaw.toUpperCase() as ParticipationPreference) : null;
    enrollment = {
      status,
      status_v1: str(enrollmentObj.status),
      partner_action_required: actionRequired && reasons.length > 0,
      // ActionRequired reasons are the partner's to act on; other statuses' reasons explain Leap's side.
      partner_actions: actionRequired ? sortCanonical(reasons, actionKey) : [],
      leap_actions: actionRequired ? [] : sortCanonical(reasons, actionKey),
      participation_preference: preference,
      participation_periods: preference ? [{ preference, starts_at: null, ends_at: null, reason: null }] : [],
      programs: [],
      window: {
        active_from: time(enrollmentObj.active_from),
        active_to: time(enrollmentObj.active_to),
        eligible_from: time(enrollmentObj.eligible_from),
        eligible_to: time(enrollmentObj.eligible_to),
      },
    };
  }
  const groups: GroupAssignment[] = [];
  for (const p of Array.isArray(m.participation) ? m.participation : []) {
    if (!isObj(p) || !nonEmpty(p.market_group_id) || !str(p.trade_date)) continue;
    groups.push({
      key: `trade_date:${String(p.trade_date)}`,
      market_group_id: String(p.market_group_id),
      market_group_name: nonEmpty(p.market_group_name),
      trade_date: String(p.trade_date),
      program_identifier: null,
      delivery_period: null,
      starts_at: null,
      ends_at: null,
    });
  }
  groups.sort((a, b) => a.key.localeCompare(b.key));
  const utilityName = str(m.utility) ?? (isObj(m.utility) ? str(m.utility.utility_name) : null);
  const utility: Obj | null = isObj(m.utility)
    ? { ...m.utility }
    : utilityName || m.service_point_number !== undefined || m.tariff !== undefined
      ? dropUndefined({
          utility_name: utilityName ?? undefined,
          electric_service_account_number: m.service_point_number,
          bill_customer_account_number: m.bill_customer_agreement_number,
          tariff: m.tariff,
        })
      : null;
  const customer: Obj | null = isObj(m.customer)
    ? { ...m.customer, ...(m.service_address_full !== undefined ? { service_address_full: m.service_address_full } : {}) }
    : m.service_address_full !== undefined
      ? { service_address_full: m.service_address_full }
      : null;
  const site: Obj | null = isObj(m.site) ? { ...m.site } : m.load_zone !== undefined || m.grid_zone !== undefined ? { load_zone: m.load_zone ?? m.grid_zone } : null;
  const audit = isObj(m.audit) ? m.audit : {};
  const extra: Obj = {};
  for (const [k, v] of Object.entries(m)) if (!V1_KNOWN.has(k)) extra[k] = v;
  return {
    meter_id: String(m.meter_id),
    source: 'v1',
    partner_reference: nonEmpty(m.partner_reference),
    transmission_region: str(m.transmission_region),
    meter_type: str(m.meter_type),
    customer_classification: str(m.customer_classification),
    utility_name: utilityName,
    load_types: strings(m.load_types).sort(),
    tags: strings(m.tags).sort(),
    connection_references: strings(m.connection_references).sort(),
    customer_group: nonEmpty(m.customer_group),
    is_archived: m.is_archived === true,
    customer,
    device: section(m.device),
    site: normalizeSite(site),
    utility,
    caiso: null,
    isone: null,
    nyiso: null,
    enrollment,
    group_assignments: groups,
    extra,
    created_at: time(m.date_added ?? audit.created_at),
    updated_at: time(m.date_last_modified ?? audit.updated_at),
    raw: { details: null, enrollment: null, v1: m },
  };
}

function dropUndefined(o: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * The part of a meter that, when it changes, is a change worth an event: everything but the raw
 * JSON and Leap's `updated_at`, which moves on every touch.
 */
export function comparableMeter(meter: Meter): Omit<Meter, 'raw' | 'updated_at'> {
  const { raw: _raw, updated_at: _updated, ...rest } = meter;
  return rest;
}

export function meterContentText(meter: Meter): string {
  return canonicalJson(comparableMeter(meter));
}

/**
 * Hash of the meter's content, for the meters table. Cheap (plain JSON text, so it follows the
 * key order Leap sent); whether a meter changed is decided by diffing, which ignores key order.
 */
export function meterContentHash(meter: Meter): string {
  return sha256Hex(JSON.stringify(comparableMeter(meter)));
}

/** The meter its stored raw parts describe; `archived` when a full reconcile no longer found it at Leap. */
export function meterFromRaw(raw: MeterRaw, archived = false): Meter {
  const meter = raw.v1 ? normalizeV1(raw.v1 as unknown as LeapV1Meter) : normalizeV2(raw.details as LeapMeterDetails | null, raw.enrollment as LeapMeterEnrollment | null);
  return archived ? { ...meter, is_archived: true } : meter;
}
