import type { EnrollmentStatus, ParticipationPreference } from './leap-types';

/**
 * The one internal meter model both Leap API versions normalize to. Arrays whose order carries
 * no meaning are sorted, so two reads of the same meter compare equal.
 */
export interface Meter {
  meter_id: string;
  /** Which Leap API version the meter was read from. */
  source: 'v1' | 'v2';
  partner_reference: string | null;
  transmission_region: string | null;
  meter_type: string | null;
  customer_classification: string | null;
  utility_name: string | null;
  load_types: string[];
  tags: string[];
  connection_references: string[];
  customer_group: string | null;
  is_archived: boolean;

  /** Detail sections as Leap sends them (drifted field spellings unified); null when Leap sent none. */
  customer: Record<string, unknown> | null;
  device: Record<string, unknown> | null;
  site: Record<string, unknown> | null;
  utility: Record<string, unknown> | null;
  caiso: Record<string, unknown> | null;
  isone: Record<string, unknown> | null;
  nyiso: Record<string, unknown> | null;

  /** Null until the enrollment part has been read (v2 details can arrive first). */
  enrollment: MeterEnrollment | null;
  group_assignments: GroupAssignment[];

  /** Top-level fields Leap sent that this model does not name: kept, never dropped. */
  extra: Record<string, unknown>;

  /** Leap's audit times (ISO, millisecond precision). `updated_at` is volatile: it never causes an event. */
  created_at: string | null;
  updated_at: string | null;

  /** Leap's JSON of each part, as received. */
  raw: MeterRaw;
}

export interface MeterRaw {
  details: Record<string, unknown> | null;
  enrollment: Record<string, unknown> | null;
  v1: Record<string, unknown> | null;
}

export interface MeterEnrollment {
  status: EnrollmentStatus;
  /** v1 only: Leap's title-case status as sent (`Active`, `ActionRequired`, ...). */
  status_v1: string | null;
  partner_action_required: boolean;
  partner_actions: RequiredAction[];
  leap_actions: RequiredAction[];
  /** The preference of the most recently starting participation period. */
  participation_preference: ParticipationPreference | null;
  participation_periods: ParticipationPeriod[];
  programs: ProgramEnrollment[];
  /** v1 enrollment window (`active_from`, ...); null on v2. */
  window: EnrollmentWindow | null;
}

export interface EnrollmentWindow {
  active_from: string | null;
  active_to: string | null;
  eligible_from: string | null;
  eligible_to: string | null;
}

export interface RequiredAction {
  /** Leap's action code (`AUTH_0001`, `SERV_0005`, `LEAP_0001`; v1 status-reason codes). */
  code: string;
  /** Leap's `action_type` (`IS_AUTHORIZED`, ...); inferred from the code's prefix on v1. */
  type: string | null;
  description: string | null;
  program_identifier: string | null;
  delivery_period: string | null;
  deadline: string | null;
}

export interface ParticipationPeriod {
  preference: ParticipationPreference;
  starts_at: string | null;
  ends_at: string | null;
  reason: string | null;
}

export interface ProgramEnrollment {
  program_identifier: string;
  delivery_period: string | null;
  status: EnrollmentStatus;
  starts_at: string | null;
  ends_at: string | null;
  market_group_id: string | null;
  market_group_name: string | null;
  deadlines: { deadline: string | null; activation: string | null }[];
}

/**
 * A market group assignment: per trade date on v1 (`participation[]`), per program delivery
 * period on v2 (`program_enrollment[]` entries that carry a `market_group_id`).
 */
export interface GroupAssignment {
  /** `trade_date:2025-06-14` or `period:CCA/CAISO-CCA_2024_NOV`; unique within a meter. */
  key: string;
  market_group_id: string;
  market_group_name: string | null;
  trade_date: string | null;
  program_identifier: string | null;
  delivery_period: string | null;
  starts_at: string | null;
  ends_at: string | null;
}
