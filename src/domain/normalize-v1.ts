import { sortCanonical } from './canonical-json';
import type { EnrollmentStatus, LeapV1Meter, ParticipationPreference } from './leap-types';
import { dropUndefined, isObj, nonEmpty, section, str, strings, time, type Obj } from './leap-json';
import type { GroupAssignment, Meter, MeterEnrollment, RequiredAction } from './meter';
import { actionKey, normalizeSite } from './normalize-v2';

/** Leap's Meters API v1 (one object per meter) onto the same meter model as v2. */

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

