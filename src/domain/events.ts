import type { Meter } from './meter';
import type { ReadinessView } from './readiness';

/** Every event the connector emits; names follow Leap's own where Leap has one. */
export const METER_EVENT_TYPES = [
  'meter.created',
  'meter.partner-reference.updated',
  'meter.enrollment.global-status.updated',
  'meter.enrollment.activated',
  'meter.enrollment.participation-status.updated',
  'meter.enrollment.required-actions.updated',
  'meter.enrollment.group.updated',
  'meter.details.updated',
  'meter.archived',
  'meter.readiness.updated',
  'meter.readiness.overdue',
  'market_group.roster.drifted',
] as const;
export type MeterEventType = (typeof METER_EVENT_TYPES)[number];

/** Where the change was seen. */
export type EventOrigin = 'poll' | 'reconcile' | 'leap_event' | 'readiness' | 'roster';

export interface Change {
  /** Dotted path into the meter, e.g. `customer.city`, `enrollment.status`. */
  path: string;
  from: unknown;
  to: unknown;
}

/** An event before it is given its place in the meter's sequence. */
export interface PendingEvent {
  type: MeterEventType;
  changes: Change[] | null;
}

export interface MeterEvent {
  id: number;
  meter_id: string;
  sequence: number;
  type: MeterEventType;
  occurred_at: string;
  origin: EventOrigin;
  sync_run_id: string | null;
  /** The normalized meter after the change, without Leap's raw JSON. */
  meter: MeterView;
  changes: Change[] | null;
}

/**
 * The meter as events and the API show it: everything but the raw parts. Readiness events also
 * carry the meter's readiness, which is the partner's and not part of what Leap sends.
 */
export type MeterView = Omit<Meter, 'raw'> & { readiness?: ReadinessView };

export function meterView(meter: Meter): MeterView {
  const { raw: _raw, ...view } = meter;
  return view;
}

/** Fields that move on every touch at Leap or only say where we read from; they never cause an event. */
const VOLATILE = new Set(['updated_at', 'raw', 'source', 'readiness']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Leaf differences between two meters. Objects are compared key by key; arrays (already put in
 * a canonical order by normalization) are compared whole, so one change names the array.
 */
export function diffMeters(before: Meter | MeterView | null, after: Meter | MeterView): Change[] {
  const out: Change[] = [];
  walk(before ?? {}, after, '', out, true);
  return out;
}

function walk(a: unknown, b: unknown, path: string, out: Change[], top = false): void {
  if (isObj(a) || isObj(b)) {
    if (isObj(a) && isObj(b)) {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of [...keys].sort()) {
        if (top && VOLATILE.has(k)) continue;
        walk(a[k], b[k], path ? `${path}.${k}` : k, out);
      }
      return;
    }
    // An object appearing or disappearing (enrollment read for the first time): report its leaves.
    if (isObj(b) && (a === null || a === undefined)) return walk({}, b, path, out);
    if (isObj(a) && (b === null || b === undefined)) return walk(a, {}, path, out);
  }
  if (!deepEqual(a ?? null, b ?? null)) out.push({ path, from: a ?? null, to: b ?? null });
}

/** Structural equality, ignoring key order; a key set to undefined counts as absent. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (x[k] === undefined) continue;
    n += 1;
    if (y[k] === undefined || !deepEqual(x[k], y[k])) return false;
  }
  for (const k in y) if (y[k] !== undefined) n -= 1;
  return n === 0;
}

const under = (path: string, prefix: string): boolean => path === prefix || path.startsWith(`${prefix}.`);

/** Which lifecycle event a changed path belongs to; everything else is a detail change. */
function lifecycleOf(path: string): MeterEventType | null {
  if (path === 'partner_reference') return 'meter.partner-reference.updated';
  if (path === 'enrollment.status') return 'meter.enrollment.global-status.updated';
  if (under(path, 'enrollment.participation_preference') || under(path, 'enrollment.participation_periods')) return 'meter.enrollment.participation-status.updated';
  if (under(path, 'enrollment.partner_actions') || path === 'enrollment.partner_action_required') return 'meter.enrollment.required-actions.updated';
  if (under(path, 'group_assignments')) return 'meter.enrollment.group.updated';
  if (path === 'is_archived') return 'meter.archived';
  return null;
}

/** Enrollment detail that accompanies a lifecycle change rather than being news of its own. */
const SECONDARY = ['enrollment.programs', 'enrollment.window', 'enrollment.leap_actions', 'enrollment.status_v1'];

/** When one read changes several things, events go out in catalogue order (readiness and rosters follow the sync's). */
const ORDER: readonly MeterEventType[] = METER_EVENT_TYPES.filter((t) => !t.startsWith('meter.readiness.') && !t.startsWith('market_group.'));

/**
 * The events one observed change produces. A meter seen for the first time is `meter.created`,
 * followed by the lifecycle events a subscriber to only those would otherwise never get
 * (already ACTIVE, already needing partner action, already in a market group).
 */
export function deriveEvents(before: Meter | MeterView | null, after: Meter | MeterView): PendingEvent[] {
  if (!before) {
    const out: PendingEvent[] = [{ type: 'meter.created', changes: null }];
    if (after.enrollment?.status === 'ACTIVE') out.push({ type: 'meter.enrollment.activated', changes: [{ path: 'enrollment.status', from: null, to: 'ACTIVE' }] });
    if (after.enrollment?.partner_actions.length)
      out.push({ type: 'meter.enrollment.required-actions.updated', changes: [{ path: 'enrollment.partner_actions', from: [], to: after.enrollment.partner_actions }] });
    if (after.group_assignments.length) out.push({ type: 'meter.enrollment.group.updated', changes: [{ path: 'group_assignments', from: [], to: after.group_assignments }] });
    if (after.is_archived) out.push({ type: 'meter.archived', changes: [{ path: 'is_archived', from: null, to: true }] });
    return out;
  }
  const changes = diffMeters(before, after);
  if (!changes.length) return [];
  const byType = new Map<MeterEventType, Change[]>();
  const add = (t: MeterEventType, c: Change) => {
    const list = byType.get(t) ?? [];
    list.push(c);
    byType.set(t, list);
  };
  const secondary: Change[] = [];
  for (const c of changes) {
    const t = lifecycleOf(c.path);
    if (t === 'meter.archived' && c.to !== true) add('meter.details.updated', c); // un-archiving is a detail change
    else if (!t && SECONDARY.some((p) => under(c.path, p))) secondary.push(c);
    else add(t ?? 'meter.details.updated', c);
  }
  // Per-program statuses, v1 windows and Leap's own actions move with the global status (or the
  // group); announced alone they are detail changes.
  const home: MeterEventType = byType.has('meter.enrollment.global-status.updated')
    ? 'meter.enrollment.global-status.updated'
    : byType.has('meter.enrollment.group.updated')
      ? 'meter.enrollment.group.updated'
      : byType.has('meter.enrollment.required-actions.updated')
        ? 'meter.enrollment.required-actions.updated'
        : 'meter.details.updated';
  for (const c of secondary) add(home, c);
  const statusChange = byType.get('meter.enrollment.global-status.updated')?.[0];
  if (statusChange && statusChange.to === 'ACTIVE') add('meter.enrollment.activated', statusChange);
  return ORDER.filter((t) => byType.has(t)).map((type) => ({ type, changes: byType.get(type)! }));
}
