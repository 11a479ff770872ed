import { DELIVERY_STATUSES } from '../../domain/delivery';
import { METER_EVENT_TYPES } from '../../domain/events';
import { ENROLLMENT_STATUSES, PARTICIPATION_PREFERENCES } from '../../domain/leap-types';
import { READINESS_STATES } from '../../domain/readiness';

/**
 * The JSON Schemas of what the API answers, published in the API description (components) and
 * checked against the answers of the integration tests. The connector's own objects are closed,
 * so a field added in code without a line here fails those tests; Leap's sections stay open.
 */

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const str: Schema = { type: 'string' };
const orNull = (s: Schema): Schema => (typeof s.type === 'string' ? { ...s, type: [s.type, 'null'] } : { oneOf: [s, { type: 'null' }] });
const nstr = orNull(str);
const time: Schema = { type: 'string', format: 'date-time' };
const ntime = orNull(time);
const int: Schema = { type: 'integer', minimum: 0 };
const bool: Schema = { type: 'boolean' };
const list = (items: Schema): Schema => ({ type: 'array', items });
const openObject: Schema = { type: 'object', additionalProperties: true };

/** A closed object whose every property is present. */
function record(properties: Record<string, Schema>, optional: readonly string[] = [], description?: string): Schema {
  return {
    type: 'object',
    additionalProperties: false,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    properties,
    ...(description ? { description } : {}),
  };
}

const readinessState: Schema = { type: 'string', enum: [...READINESS_STATES] };
const enrollmentStatus: Schema = { type: 'string', enum: [...ENROLLMENT_STATUSES] };

const action = record({ code: str, type: nstr, description: nstr, program_identifier: nstr, delivery_period: nstr, deadline: nstr }, [], "A required action: Leap's code (AUTH_0001, SERV_0005, LEAP_0001; v1 status-reason codes) and type");

const readinessProperties: Record<string, Schema> = {
  state: readinessState,
  since: { ...ntime, description: 'when the meter entered this state; null for a meter that never needed readiness' },
  source: { ...nstr, description: 'partner:<key name>, sync or deadline' },
  reason: nstr,
  device_ids: orNull(list(str)),
  effective_at: nstr,
  required_by: { type: ['string', 'null'], enum: ['active', 'market_group', null] },
};

const deliveryProperties: Record<string, Schema> = {
  id: { type: 'string', description: 'the webhook-id the destination receives' },
  destination: str,
  event_id: orNull(int),
  event_type: str,
  meter_id: str,
  sequence: int,
  status: { type: 'string', enum: [...DELIVERY_STATUSES] },
  created_at: time,
  next_attempt_at: ntime,
  attempts: int,
  last_attempt_at: ntime,
  last_status: orNull({ type: 'integer' }),
  last_error_class: nstr,
  last_error: nstr,
  delivered_at: ntime,
  dead_at: ntime,
  dead_reason: nstr,
  replays: int,
};

export const responseSchemas: Record<string, Schema> = {
  Error: record(
    {
      code: { type: 'string', description: 'stable snake_case code, e.g. validation_failed, not_found, unauthorized' },
      message: str,
      details: { type: ['array', 'object', 'null'], description: 'null, or more about the error: for validation_failed a list of {path (JSON pointer), message}' },
      request_id: { type: 'string', description: 'also in the X-Request-Id header; finds the log line' },
    },
    [],
    'Every error answer of the API has this shape',
  ),
  Health: record({ status: { const: 'ok' } }),
  ReadyChecks: record({
    status: { type: 'string', enum: ['ready', 'not_ready'] },
    checks: list(record({ name: { type: 'string', description: 'database, migrations, config, destinations' }, ok: bool, message: str }, ['message'])),
  }),
  LeapEventAnswer: record({
    status: { type: 'string', enum: ['accepted', 'duplicate', 'ignored'], description: 'duplicate: this webhook_event_id was received before; ignored: an event type that names no meter to refresh' },
    webhook_event_id: str,
    meter_ids: list(str),
  }),

  ReadinessView: record(readinessProperties, [], "The meter's dispatch readiness"),
  ReadinessTransition: record({ at: time, from: readinessState, to: readinessState, source: str, reason: nstr, device_ids: orNull(list(str)), effective_at: nstr }),
  MeterReadiness: record({ ...readinessProperties, history: { ...list(ref('ReadinessTransition')), description: 'newest first' } }, [], "The meter's dispatch readiness with its history"),

  RequiredAction: action,
  Enrollment: record({
    status: enrollmentStatus,
    status_v1: { ...nstr, description: "v1 only: Leap's title-case status as sent" },
    partner_action_required: bool,
    partner_actions: list(ref('RequiredAction')),
    leap_actions: list(ref('RequiredAction')),
    participation_preference: { type: ['string', 'null'], enum: [...PARTICIPATION_PREFERENCES, null] },
    participation_periods: list(record({ preference: { type: 'string', enum: [...PARTICIPATION_PREFERENCES] }, starts_at: nstr, ends_at: nstr, reason: nstr })),
    programs: list(
      record({
        program_identifier: str,
        delivery_period: nstr,
        status: enrollmentStatus,
        starts_at: nstr,
        ends_at: nstr,
        market_group_id: nstr,
        market_group_name: nstr,
        deadlines: list(record({ deadline: nstr, activation: nstr })),
      }),
    ),
    window: orNull(record({ active_from: nstr, active_to: nstr, eligible_from: nstr, eligible_to: nstr }, [], 'v1 enrollment window; null on v2')),
  }),
  GroupAssignment: record(
    { key: str, market_group_id: str, market_group_name: nstr, trade_date: nstr, program_identifier: nstr, delivery_period: nstr, starts_at: nstr, ends_at: nstr },
    [],
    'A market group assignment: per trade date on v1, per program delivery period on v2',
  ),
  Meter: record(
    {
      meter_id: { type: 'string', description: "Leap's meter id" },
      source: { type: 'string', enum: ['v1', 'v2'], description: 'the Leap API version it was read from' },
      partner_reference: nstr,
      transmission_region: nstr,
      meter_type: nstr,
      customer_classification: nstr,
      utility_name: nstr,
      load_types: list(str),
      tags: list(str),
      connection_references: list(str),
      customer_group: nstr,
      is_archived: bool,
      customer: orNull(openObject),
      device: orNull(openObject),
      site: orNull(openObject),
      utility: orNull(openObject),
      caiso: orNull(openObject),
      isone: orNull(openObject),
      nyiso: orNull(openObject),
      enrollment: { oneOf: [ref('Enrollment'), { type: 'null' }], description: 'null until the enrollment part has been read' },
      group_assignments: list(ref('GroupAssignment')),
      extra: { ...openObject, description: 'top-level fields Leap sent that the model does not name' },
      created_at: nstr,
      updated_at: nstr,
      readiness: ref('ReadinessView'),
    },
    ['readiness'],
    'The normalized meter (both Leap API versions), without the raw JSON; readiness only on readiness events',
  ),
  MeterRecord: record(
    {
      meter: ref('Meter'),
      sequence: { ...int, description: "the meter's last event sequence" },
      complete: { ...bool, description: 'every part of the meter has been read' },
      first_seen_at: time,
      last_seen_at: time,
      last_changed_at: time,
      missing_since: ntime,
      readiness: ref('MeterReadiness'),
    },
    ['readiness'],
    'A stored meter; readiness (with its history) on a single meter',
  ),
  MeterPage: record({ meters: list(ref('MeterRecord')), next_after: { ...nstr, description: 'pass as after for the next page; null on the last' } }),

  ReadinessAnswerResult: record({ meter_id: str, outcome: { type: 'string', enum: ['applied', 'unchanged'] }, readiness: ref('ReadinessView') }),
  ReadinessBatchAnswer: record({
    results: list({
      oneOf: [
        record({ index: int, outcome: { type: 'string', enum: ['applied', 'unchanged'] }, meter_ids: list(str), not_required_meter_ids: list(str) }, ['not_required_meter_ids']),
        record({ index: int, outcome: { const: 'error' }, code: { type: 'string', description: 'validation_failed, not_found, readiness_not_required' }, message: str, details: {} }, ['details']),
      ],
    }),
    applied: int,
    unchanged: int,
    errors: int,
  }),
  ReadinessPage: record({
    state: readinessState,
    meters: list(record({ meter_id: str, partner_reference: nstr, readiness: ref('ReadinessView') })),
    counts: record(Object.fromEntries(READINESS_STATES.map((s) => [s, int])), [], 'meters in each state; not_required counts only meters that needed readiness once'),
    next_after: nstr,
  }),

  MarketGroupList: record({
    market_groups: list(
      record({
        market_group_id: str,
        market_group_name: nstr,
        members: { ...int, description: 'meters assigned on any date' },
        trade_dates: list(record({ trade_date: { type: 'string', format: 'date' }, members: int })),
        delivery_periods: list(record({ program_identifier: nstr, delivery_period: nstr, starts_at: nstr, ends_at: nstr, first_trade_date: nstr, last_trade_date: nstr, members: int })),
        next_trade_date: nstr,
        undated_members: int,
      }),
    ),
  }),
  RosterMember: record({
    meter_id: str,
    partner_reference: nstr,
    enrollment_status: nstr,
    readiness_state: readinessState,
    basis: { type: 'string', enum: ['trade_date', 'delivery_period', 'undated'], description: "how Leap's assignment places the meter on the date" },
  }),
  Roster: record({
    market_group_id: str,
    market_group_name: nstr,
    trade_date: { type: 'string', format: 'date' },
    date_basis: list({ type: 'string', enum: ['trade_date', 'delivery_period', 'undated'] }),
    notice: nstr,
    member_count: int,
    members: list(ref('RosterMember')),
    at_risk_count: int,
    at_risk: { ...list(ref('RosterMember')), description: 'members that are not ready' },
  }),
  RosterComparison: record({
    market_group_id: str,
    trade_date: { type: 'string', format: 'date' },
    checked_at: time,
    checked_by: str,
    basis: { type: 'string', enum: ['meter_ids', 'partner_references'] },
    missing: { ...list(record({ meter_id: str, partner_reference: nstr })), description: 'Leap has them, the partner does not' },
    extra: { ...list(str), description: 'the partner has them (as it named them), Leap does not' },
    matched: int,
    leap_count: int,
    partner_count: int,
    drifted_at: { ...ntime, description: "when a sync last changed Leap's members for this date after the check" },
  }),

  SyncRun: record({
    id: str,
    kind: { type: 'string', enum: ['incremental', 'full', 'refresh'] },
    status: { type: 'string', enum: ['running', 'succeeded', 'failed'] },
    trigger: str,
    owner: str,
    dry_run: bool,
    resumed_from: nstr,
    since: nstr,
    started_at: time,
    finished_at: ntime,
    cursor_from: nstr,
    cursor_to: nstr,
    pages: int,
    meters_seen: int,
    meters_changed: int,
    events: int,
    error_code: nstr,
    error: nstr,
  }),
  SyncRunPage: record({ runs: list(ref('SyncRun')), next_before: { ...ntime, description: 'pass as before for the next page' } }),
  Change: record({ path: { type: 'string', description: 'dotted path into the meter, e.g. enrollment.status' }, from: {}, to: {} }),
  MeterEvent: record({
    id: int,
    meter_id: str,
    sequence: int,
    type: { type: 'string', enum: [...METER_EVENT_TYPES] },
    occurred_at: time,
    origin: { type: 'string', enum: ['poll', 'reconcile', 'leap_event', 'readiness', 'roster'] },
    sync_run_id: nstr,
    meter: ref('Meter'),
    changes: orNull(list(ref('Change'))),
  }),
  MeterEventPage: record({ events: list(ref('MeterEvent')), next_after_id: orNull(int) }),

  Delivery: record(deliveryProperties),
  Attempt: record({
    attempt: int,
    trigger: { type: 'string', enum: ['scheduled', 'manual', 'replay', 'probe'] },
    started_at: time,
    duration_ms: { type: 'number', minimum: 0 },
    url: str,
    request_headers: { type: 'object', additionalProperties: str, description: 'credentials shown as [REDACTED]' },
    status_code: orNull({ type: 'integer' }),
    response_headers: orNull({ type: 'object', additionalProperties: str }),
    response_body: { ...nstr, description: 'the first 16 KB' },
    error_class: { type: ['string', 'null'], enum: ['timeout', 'dns', 'refused', 'tls', 'reset', 'redirect', 'network', null] },
    error_message: nstr,
    outcome: str,
  }),
  DeliveryDetail: record({ ...deliveryProperties, body: { type: 'string', description: 'the body as sent, byte for byte' }, attempts_log: list(ref('Attempt')) }),
  DeliveryPage: record({ deliveries: list(ref('Delivery')), next_before: { ...nstr, description: 'pass as before for the next page' } }),
  ReplayJob: record({
    id: str,
    status: { type: 'string', enum: ['pending', 'running', 'succeeded', 'failed'] },
    dry_run: bool,
    filter: record({ status: { type: 'string', enum: ['dead', 'delivered', 'pending'] }, since: str, until: str, destination: str, eventType: str, meterId: str }, ['until', 'destination', 'eventType', 'meterId']),
    cap: int,
    matched: int,
    replayed: int,
    skipped: int,
    skipped_because: record({ in_flight: int, unrenderable: int }, [], 'in_flight: being sent at that moment; unrenderable: the mapping still fails'),
    requested_by: str,
    created_at: time,
    started_at: ntime,
    finished_at: ntime,
    error: nstr,
  }),
  ReplayJobList: record({ replays: list(ref('ReplayJob')) }),
  Destination: record({
    name: str,
    url: str,
    enabled: bool,
    configured: { ...bool, description: 'false: deliveries remain for a destination no longer in the configuration' },
    state: { type: 'string', enum: ['active', 'paused', 'disabled'] },
    paused_reason: nstr,
    paused_at: ntime,
    queue_depth: int,
    in_flight: int,
    dead: int,
    delivered: int,
    oldest_pending_at: ntime,
    last_success_at: ntime,
    last_failure_at: ntime,
    consecutive_failures: int,
    next_probe_at: ntime,
    pauses: int,
    resumes: int,
    file_problems: { ...list(str), description: "the problems of the destination's file when its current text was refused on reload; empty otherwise" },
    version_in_force: { type: 'string', enum: ['current', 'last_good'], description: 'last_good while a refused edit leaves the previous version running' },
  }),
  DestinationList: record({ destinations: list(ref('Destination')) }),
};
