import type { MeterView } from '../domain/events';
import type { EnrollmentWindow, GroupAssignment, MeterEnrollment, ParticipationPeriod, ProgramEnrollment, RequiredAction } from '../domain/meter';
import type { ReadinessView } from '../domain/readiness';
import { closest } from '../config/load';

/**
 * The shape of the meter view as far as the connector defines it. Leap's own sections
 * (customer, device, site, ...) stay open: Leap adds fields there without notice.
 */
type Shape = 'leaf' | 'open' | { array?: true; fields: Record<string, Shape> };

const fields = <T>(f: Record<keyof T, Shape>, array?: true): Shape => (array ? { array, fields: f } : { fields: f });
const leafArray: Shape = { array: true, fields: {} };

const action = fields<RequiredAction>({ code: 'leaf', type: 'leaf', description: 'leaf', program_identifier: 'leaf', delivery_period: 'leaf', deadline: 'leaf' }, true);
const period = fields<ParticipationPeriod>({ preference: 'leaf', starts_at: 'leaf', ends_at: 'leaf', reason: 'leaf' }, true);
const program = fields<ProgramEnrollment>(
  {
    program_identifier: 'leaf',
    delivery_period: 'leaf',
    status: 'leaf',
    starts_at: 'leaf',
    ends_at: 'leaf',
    market_group_id: 'leaf',
    market_group_name: 'leaf',
    deadlines: { array: true, fields: { deadline: 'leaf', activation: 'leaf' } },
  },
  true,
);
const window = fields<EnrollmentWindow>({ active_from: 'leaf', active_to: 'leaf', eligible_from: 'leaf', eligible_to: 'leaf' });
const enrollment = fields<MeterEnrollment>({
  status: 'leaf',
  status_v1: 'leaf',
  partner_action_required: 'leaf',
  partner_actions: action,
  leap_actions: action,
  participation_preference: 'leaf',
  participation_periods: period,
  programs: program,
  window,
});
const group = fields<GroupAssignment>(
  {
    key: 'leaf',
    market_group_id: 'leaf',
    market_group_name: 'leaf',
    trade_date: 'leaf',
    program_identifier: 'leaf',
    delivery_period: 'leaf',
    starts_at: 'leaf',
    ends_at: 'leaf',
  },
  true,
);

/** Present on readiness events (`meter.readiness.*`): the partner's confirmation as it stands after the event. */
const readiness = fields<ReadinessView>({ state: 'leaf', since: 'leaf', source: 'leaf', reason: 'leaf', device_ids: leafArray, effective_at: 'leaf', required_by: 'leaf' });

const METER_SHAPE = fields<Required<MeterView>>({
  meter_id: 'leaf',
  source: 'leaf',
  partner_reference: 'leaf',
  transmission_region: 'leaf',
  meter_type: 'leaf',
  customer_classification: 'leaf',
  utility_name: 'leaf',
  load_types: leafArray,
  tags: leafArray,
  connection_references: leafArray,
  customer_group: 'leaf',
  is_archived: 'leaf',
  customer: 'open',
  device: 'open',
  site: 'open',
  utility: 'open',
  caiso: 'open',
  isone: 'open',
  nyiso: 'open',
  enrollment,
  group_assignments: group,
  extra: 'open',
  created_at: 'leaf',
  updated_at: 'leaf',
  readiness,
});

/** Leap's `site.site_devices[]` is documented as a list of objects; keep it a list through paths. */
const OPEN_ARRAYS = new Set(['site.site_devices']);

/** One step of a `from` path: a key, optionally followed by `[n]` indexes. */
export interface PathStep {
  key: string;
  indexes: number[];
}

const STEP = /^([A-Za-z_][A-Za-z0-9_-]*)((?:\[-?\d+\])*)$/;

/** Parse `customer.city`, `group_assignments[0].market_group_id`; null when it is not such a path. */
export function parsePath(text: string): PathStep[] | null {
  const steps: PathStep[] = [];
  for (const part of text.split('.')) {
    const m = STEP.exec(part);
    if (!m) return null;
    const indexes = [...(m[2] ?? '').matchAll(/\[(-?\d+)\]/g)].map((x) => Number(x[1]));
    steps.push({ key: m[1]!, indexes });
  }
  return steps;
}

/** Why a path cannot exist in the meter view (a typo in a field the connector defines), or null. */
export function pathProblem(steps: readonly PathStep[]): string | null {
  let shape: Shape = METER_SHAPE;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const where = i === 0 ? 'the meter' : `"${steps.slice(0, i).map((s) => s.key).join('.')}"`;
    if (shape === 'open') return null;
    if (shape === 'leaf') return `${where} is a single value; it has no field "${step.key}"`;
    const known = Object.keys(shape.fields);
    const next: Shape | undefined = shape.fields[step.key];
    if (next === undefined) {
      if (known.length === 0) return `${where} is a list of values; it has no field "${step.key}"`;
      const hint = closest(step.key, known);
      return `${where} has no field "${step.key}"${hint ? ` (did you mean "${hint}"?)` : ''}; its fields: ${known.join(', ')}`;
    }
    shape = next;
  }
  return null;
}

/**
 * The JSONata for a path. Every key is backquoted (any name is safe), and a list of objects
 * walked through keeps `[]`, so one partner action still gives a list, not a lone value.
 */
export function pathToJsonata(steps: readonly PathStep[]): string {
  let shape: Shape = METER_SHAPE;
  const dotted: string[] = [];
  const parts = steps.map((step, i) => {
    dotted.push(step.key);
    const next: Shape = typeof shape === 'object' ? (shape.fields[step.key] ?? 'open') : 'open';
    const isArray = (typeof next === 'object' && next.array === true) || OPEN_ARRAYS.has(dotted.join('.'));
    shape = next;
    const idx = step.indexes.map((n) => `[${n}]`).join('');
    const keep = isArray && step.indexes.length === 0 && i < steps.length - 1 ? '[]' : '';
    return `\`${step.key}\`${idx}${keep}`;
  });
  return parts.join('.');
}

/** Top-level fields of the meter view, for messages. */
export const METER_FIELDS = Object.keys((METER_SHAPE as { fields: Record<string, Shape> }).fields);
