import type { GroupAssignment, Meter } from './meter';
import { localDate, marketTimeZone } from './trade-dates';

/**
 * Dispatch readiness: whether the partner has confirmed that a meter (its devices) can act on a
 * dispatch. Leap expects an ACTIVE meter, or one assigned to a market group for an upcoming trade
 * date, to answer dispatch events; the partner says so, the connector tracks who is late.
 */
export const READINESS_STATES = ['not_required', 'awaiting', 'overdue', 'ready', 'not_ready'] as const;
export type ReadinessState = (typeof READINESS_STATES)[number];

/** What the partner may answer. */
export const READINESS_ANSWERS = ['ready', 'not_ready'] as const;
export type ReadinessAnswer = (typeof READINESS_ANSWERS)[number];

/** Who moved the state: `partner:<key name>`, `sync` (Leap's side changed), `deadline` (time passed). */
export type ReadinessSource = `partner:${string}` | 'sync' | 'deadline';

/** A meter's readiness as the API, the events and the mappings show it. */
export interface ReadinessView {
  state: ReadinessState;
  /** When the meter entered this state; null for a meter that has never needed readiness. */
  since: string | null;
  source: ReadinessSource | null;
  reason: string | null;
  device_ids: string[] | null;
  /** When the partner's answer takes effect (its own clock), if it said. */
  effective_at: string | null;
  /** Why readiness is needed: the meter is ACTIVE, or in a market group for an upcoming trade date. */
  required_by: RequiredBy | null;
}

export type RequiredBy = 'active' | 'market_group';

export interface Requirement {
  required: boolean;
  by: RequiredBy | null;
  /** For a requirement that only comes from market groups: when the last upcoming assignment ends. */
  until: Date | null;
}

/** What of a meter readiness depends on. */
export type ReadinessInput = Pick<Meter, 'enrollment' | 'is_archived' | 'group_assignments' | 'transmission_region' | 'device'>;

const NOT_REQUIRED: Requirement = { required: false, by: null, until: null };

/**
 * Does this meter need a readiness confirmation now? ACTIVE (and not archived) needs one for as
 * long as it stays ACTIVE; otherwise an assignment to a market group for a trade date that has not
 * passed (v1: the date, in the market's zone; v2: a delivery period that has not ended) needs one
 * until the last such assignment ends.
 */
export function requirementOf(meter: ReadinessInput, now: Date): Requirement {
  if (meter.is_archived) return NOT_REQUIRED;
  if (meter.enrollment?.status === 'ACTIVE') return { required: true, by: 'active', until: null };
  const until = upcomingGroupsEnd(meter.group_assignments, meter.transmission_region, now);
  return until ? { required: true, by: 'market_group', until } : NOT_REQUIRED;
}

/** The end of the last market group assignment that has not passed, or null when none is upcoming. */
export function upcomingGroupsEnd(groups: readonly GroupAssignment[], region: string | null, now: Date): Date | null {
  let last: Date | null = null;
  const zone = marketTimeZone(region);
  const today = localDate(now, zone);
  for (const g of groups) {
    let end: Date | null = null;
    if (g.trade_date) {
      if (g.trade_date < today) continue;
      end = g.ends_at ? new Date(g.ends_at) : endOfLocalDate(g.trade_date, zone);
    } else if (g.ends_at) {
      end = new Date(g.ends_at);
    } else if (g.starts_at) {
      // A delivery period with no end: upcoming for as long as it is assigned.
      end = new Date(8.64e15);
    } else continue;
    if (end.getTime() <= now.getTime()) continue;
    if (!last || end.getTime() > last.getTime()) last = end;
  }
  return last;
}

/** The instant a local calendar date ends in a zone, to the hour (zones' offsets here are whole hours). */
function endOfLocalDate(date: string, zone: string): Date {
  const utcMidnight = new Date(`${date}T00:00:00Z`).getTime() + 86_400_000;
  for (let h = -14; h <= 14; h++) {
    const t = new Date(utcMidnight + h * 3_600_000);
    if (localDate(t, zone) > date) return t;
  }
  return new Date(utcMidnight);
}

/**
 * What identifies the meter's device for readiness: a confirmation is for one device. Leap's
 * device section carries the serial number, type, make and model; their change (a swapped
 * battery) needs a new confirmation, a changed state of charge does not.
 */
export function deviceKey(meter: Pick<Meter, 'device'>): string | null {
  const d = meter.device;
  if (!d) return null;
  const parts = ['device_serial_number', 'device_type', 'device_manufacturer', 'device_model', 'device_id'].map((k) => (typeof d[k] === 'string' || typeof d[k] === 'number' ? String(d[k]) : ''));
  return parts.every((p) => p === '') ? null : parts.join('|');
}

/** A meter's stored readiness, as services reason about it. */
export interface ReadinessRecord {
  state: ReadinessState;
  since: Date;
  source: ReadinessSource;
  reason: string | null;
  deviceIds: string[] | null;
  effectiveAt: Date | null;
  requiredBy: RequiredBy | null;
  requiredUntil: Date | null;
  /** The device the current activation is about (see deviceKey). */
  deviceKey: string | null;
  /** `meter.readiness.overdue` was sent for this activation. */
  overdueNotified: boolean;
}

/** A move from one readiness to the next, as the sync, the partner or the deadline makes it. */
export interface ReadinessMove {
  next: ReadinessRecord;
  /** The first move to overdue in this activation: `meter.readiness.overdue` goes out too. */
  overdue: boolean;
}

/**
 * What Leap's side of a change means for readiness. `before` is the meter as stored until now
 * (null for a meter new to the connector), `after` as just read. A meter that needs readiness and
 * has no record, that came back to ACTIVE, or whose device changed is `awaiting` again; one that
 * no longer needs it is `not_required`. Anything else keeps its state (only the bookkeeping of
 * why it is required may move). Null: nothing to write.
 */
export function syncMove(current: ReadinessRecord | null, before: ReadinessInput | null, after: ReadinessInput, now: Date): ReadinessMove | null {
  const req = requirementOf(after, now);
  const device = deviceKey(after);
  if (!req.required) {
    if (!current || current.state === 'not_required') return null;
    return { next: { ...blank(now, 'sync', device), state: 'not_required', requiredBy: null, requiredUntil: null }, overdue: false };
  }
  const reactivated = before !== null && before.enrollment?.status !== 'ACTIVE' && after.enrollment?.status === 'ACTIVE';
  const deviceChanged = current !== null && current.state !== 'not_required' && current.deviceKey !== device;
  if (!current || current.state === 'not_required' || reactivated || deviceChanged) {
    return { next: { ...blank(now, 'sync', device), state: 'awaiting', requiredBy: req.by, requiredUntil: req.until }, overdue: false };
  }
  if (sameRequirement(current, req)) return null;
  // Still required, for another reason or until another time: the state stays, quietly.
  return { next: { ...current, requiredBy: req.by, requiredUntil: req.until }, overdue: false };
}

function sameRequirement(r: ReadinessRecord, req: Requirement): boolean {
  return r.requiredBy === req.by && (r.requiredUntil?.getTime() ?? null) === (req.until?.getTime() ?? null);
}

function blank(now: Date, source: ReadinessSource, device: string | null): ReadinessRecord {
  return { state: 'awaiting', since: now, source, reason: null, deviceIds: null, effectiveAt: null, requiredBy: null, requiredUntil: null, deviceKey: device, overdueNotified: false };
}

/** A partner's answer for a meter, as the API received it. */
export interface ReadinessAnswerInput {
  status: ReadinessAnswer;
  device_ids?: string[];
  reason?: string;
  effective_at?: string;
}

export type PartnerMoveResult = { kind: 'not_required' } | { kind: 'unchanged' } | { kind: 'applied'; move: ReadinessMove };

/**
 * The partner's answer applied to a meter's readiness. The same answer again (status, devices,
 * reason and effective time) changes nothing. A meter that needs no readiness cannot be answered.
 */
export function partnerMove(current: ReadinessRecord | null, answer: ReadinessAnswerInput, source: `partner:${string}`, now: Date): PartnerMoveResult {
  if (!current || current.state === 'not_required') return { kind: 'not_required' };
  const deviceIds = answer.device_ids ?? null;
  const reason = answer.reason ?? null;
  const effectiveAt = answer.effective_at ? new Date(answer.effective_at) : null;
  if (
    current.state === answer.status &&
    sameList(current.deviceIds, deviceIds) &&
    current.reason === reason &&
    (current.effectiveAt?.getTime() ?? null) === (effectiveAt?.getTime() ?? null)
  )
    return { kind: 'unchanged' };
  return { kind: 'applied', move: { next: { ...current, state: answer.status, since: now, source, reason, deviceIds, effectiveAt }, overdue: false } };
}

/** An awaiting meter past its deadline is overdue; the first time in an activation also says so once. */
export function deadlineMove(current: ReadinessRecord, overdueAfterMs: number, now: Date): ReadinessMove | null {
  if (current.state !== 'awaiting') return null;
  if (now.getTime() - current.since.getTime() < overdueAfterMs) return null;
  return { next: { ...current, state: 'overdue', since: now, source: 'deadline', reason: null, overdueNotified: true }, overdue: !current.overdueNotified };
}

/** A requirement that came from market groups alone, once the last assignment has passed. */
export function expiryMove(current: ReadinessRecord, now: Date): ReadinessMove | null {
  if (current.state === 'not_required' || current.requiredBy !== 'market_group' || !current.requiredUntil) return null;
  if (current.requiredUntil.getTime() > now.getTime()) return null;
  return { next: { ...current, state: 'not_required', since: now, source: 'deadline', reason: null, deviceIds: null, effectiveAt: null, requiredBy: null, requiredUntil: null, overdueNotified: false }, overdue: false };
}

function sameList(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function readinessView(r: ReadinessRecord | null): ReadinessView {
  if (!r) return { state: 'not_required', since: null, source: null, reason: null, device_ids: null, effective_at: null, required_by: null };
  return {
    state: r.state,
    since: r.since.toISOString(),
    source: r.source,
    reason: r.reason,
    device_ids: r.deviceIds,
    effective_at: r.effectiveAt?.toISOString() ?? null,
    required_by: r.requiredBy,
  };
}
