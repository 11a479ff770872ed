/**
 * Leap's wire formats, as Leap's OpenAPI files (v2) and the Sync Meter Updates guide (v1) describe them.
 * Every object may carry fields not listed here: Leap adds fields without a version change,
 * and we keep them rather than reject them.
 */

export const ENROLLMENT_STATUSES = ['PENDING', 'ELIGIBLE', 'ACTIVE', 'INELIGIBLE', 'NOT_PARTICIPATING'] as const;
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number];

export const PARTICIPATION_PREFERENCES = ['PARTICIPATE', 'IDLE', 'DISENROLL'] as const;
export type ParticipationPreference = (typeof PARTICIPATION_PREFERENCES)[number];

export const TRANSMISSION_REGIONS = ['CAISO', 'ERCOT', 'NYISO', 'ISONE', 'PJM', 'SERC', 'WECC_SW', 'WECC_PC'] as const;
export const METER_TYPES = ['UTILITY_METER', 'SUBMETER', 'DEVICE'] as const;
export const CUSTOMER_CLASSIFICATIONS = ['RESIDENTIAL', 'COMMERCIAL'] as const;

export const ACTION_TYPES = [
  'IS_AUTHORIZED',
  'DOCUMENTS_SIGNED',
  'HAS_AMI',
  'NOT_ENROLLED_IN_CONFLICTING_PROGRAM',
  'PARTICIPATING',
  'HAS_MARKET_REGISTRATION',
  'NO_MISSING_FIELDS',
  'GENERATOR',
  'ADDRESS',
  'HAS_NOMINATIONS',
  'HAS_BIDDING_STRATEGY',
  'IS_ELIGIBLE',
  'IS_ASSIGNED_TO_A_RESOURCE',
  'MEETS_EXTRA_PROGRAM_REQUIREMENTS',
] as const;

type Extra = { [field: string]: unknown };

export interface LeapAudit extends Extra {
  created_by?: 'PARTNER' | 'LEAP' | 'UTILITY' | string;
  created_at?: string;
  updated_at?: string;
}

/** Fields shared by both v2 parts (MeterIdentifiers + ExtendedMeterIdentifiers + AuditInfo). */
export interface LeapMeterIdentifiers extends Extra {
  meter_id: string;
  partner_reference?: string | null;
  transmission_region?: string;
  customer_classification?: string;
  load_types?: string[];
  meter_type?: string;
  connection_references?: string[];
  customer_group?: string;
  tags?: string[];
  is_archived?: boolean;
  audit: LeapAudit;
}

/** v2 `MeterDetailsResponse`. */
export interface LeapMeterDetails extends LeapMeterIdentifiers {
  customer?: Extra;
  device?: Extra;
  site?: Extra;
  utility?: Extra & { utility_name?: string };
  caiso?: Extra;
  isone?: Extra;
  nyiso?: Extra;
}

export interface LeapRequiredAction extends Extra {
  program_identifier?: string;
  delivery_period?: string;
  enrollment_deadline_date_time?: string;
  action_type?: string;
  action_description?: string;
  action_code?: string;
}

export interface LeapProgramEnrollment extends Extra {
  program_identifier: string;
  delivery_period?: string;
  delivery_period_start_date_time: string;
  delivery_period_end_date_time: string;
  enrollment_status: string;
  enrollment_deadlines: { enrollment_deadline_date_time?: string; activation_date_time?: string }[];
  market_group_id?: string;
  market_group_name?: string;
}

export interface LeapParticipationPeriod extends Extra {
  participation_preference: string;
  start_time: string;
  end_time?: string | null;
  reason?: string | null;
}

/** v2 `MeterEnrollmentResponse`. */
export interface LeapMeterEnrollment extends LeapMeterIdentifiers {
  global_enrollment_status: string;
  participation_preferences?: LeapParticipationPeriod[];
  program_enrollment: LeapProgramEnrollment[];
  required_actions: { partner?: LeapRequiredAction[]; leap?: LeapRequiredAction[] } & Extra;
}

/** v1 meter (Search Meters / Get Meter), one object per meter. */
export interface LeapV1Meter extends Extra {
  meter_id: string;
  partner_reference?: string | null;
  transmission_region?: string;
  utility?: string;
  meter_type?: string;
  is_archived?: boolean;
  date_added?: string;
  date_last_modified?: string;
  enrollment?: Extra & {
    status?: string;
    active_from?: string | null;
    active_to?: string | null;
    eligible_from?: string | null;
    eligible_to?: string | null;
    status_reasons?: { code?: string; comment?: string }[];
    partner_preferred_action?: string | null;
  };
  /** Some accounts return the preference at the top level; both are read. */
  partner_preferred_action?: string | null;
  participation?: { market_group_id?: string | null; market_group_name?: string | null; trade_date?: string }[];
}

/** A page of a search: `meters` (v2) or `results` (v1), and a token while more pages exist. */
export interface LeapPage<T> {
  items: T[];
  nextPageToken: string | null;
  /** 1-based position of this page within its search. */
  pageNumber: number;
}

/** v2 search body (`MeterFilterRequest`). */
export interface LeapSearchFilter {
  last_modified_date_time?: string;
  created_after_date_time?: string;
  created_before_date_time?: string;
  meter_ids?: string[];
  partner_references?: string[];
  transmission_region?: string;
  customer_classification?: string;
  global_enrollment_statuses?: string[];
  meter_types?: string[];
  load_types?: string[];
  customer_groups?: string[];
  tags?: string[];
  partner_action_required?: boolean;
  exclude_archived?: boolean;
  connection_reference_ids?: string[];
  action_type?: string[];
}

/** v1 Search Meters body. */
export interface LeapV1SearchFilter {
  date_last_modified?: string;
  date_added_from?: string;
  date_added_to?: string;
}

/** Leap's own webhook envelope. */
export interface LeapWebhookEnvelope {
  webhook_event_id: string;
  payload: Extra & { webhook_event_type: string };
}

export const LEAP_WEBHOOK_EVENT_TYPES = [
  'meter.created',
  'meter.enrollment.global-status.updated',
  'meter.enrollment.participation-status.updated',
  'meter.enrollment.required-actions.updated',
  'meter.enrollment.group.updated',
  'connect_session.updated',
  'connect_session.authorization_updated',
] as const;
