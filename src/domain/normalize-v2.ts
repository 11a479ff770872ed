import { sortCanonical } from './canonical-json';
import type { EnrollmentStatus, LeapMeterDetails, LeapMeterEnrollment, LeapParticipationPeriod, LeapProgramEnrollment, LeapRequiredAction, ParticipationPreference } from './leap-types';
import { isObj, laterInstant, nonEmpty, section, str, strings, time, type Obj } from './leap-json';
import type { GroupAssignment, Meter, MeterEnrollment, ParticipationPeriod, ProgramEnrollment, RequiredAction } from './meter';

/** Leap's Meters API v2 (details and enrollment, two parts) onto the one meter model. */

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

/** Sort keys for the arrays normalization puts in order; the full text breaks ties. */
export const actionKey = (a: RequiredAction) => `${a.code}|${a.program_identifier ?? ''}|${a.delivery_period ?? ''}|${a.type ?? ''}|${a.deadline ?? ''}`;
const programKey = (p: ProgramEnrollment) => `${p.program_identifier}|${p.delivery_period ?? ''}|${p.starts_at ?? ''}`;
const periodKey = (p: ParticipationPeriod) => `${p.starts_at ?? ''}|${p.preference}|${p.ends_at ?? ''}`;
const deadlineKey = (d: { deadline: string | null; activation: string | null }) => `${d.deadline ?? ''}|${d.activation ?? ''}`;

export function normalizeSite(site: Obj | null): Obj | null {
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

