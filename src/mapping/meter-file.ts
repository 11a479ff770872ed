import { meterView, type MeterView } from '../domain/events';
import type { LeapMeterDetails, LeapMeterEnrollment, LeapV1Meter } from '../domain/leap-types';
import { normalizeV1 } from '../domain/normalize-v1';
import { normalizeV2 } from '../domain/normalize-v2';
import { ValidationError } from '../errors';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * A meter for `mappings test`, in whichever form the integrator has at hand: the normalized
 * meter view (as events and GET /api/v1/meters/{id} show it), Leap v2 `{details, enrollment}`
 * (either part may be null), one v2 part alone, or a v1 meter. Leap's JSON is normalized.
 */
export function meterViewFromJson(value: unknown): MeterView {
  if (!isObj(value)) throw new ValidationError('a meter file must hold one JSON object');
  // `{details, enrollment}` has no meter_id of its own; a v1 meter has both meter_id and enrollment.
  const parts = !('meter_id' in value) && ('details' in value || 'enrollment' in value);
  if (!parts && typeof value.meter_id !== 'string') throw new ValidationError('not a meter: no meter_id (give a normalized meter, Leap v2 {details, enrollment}, or a v1 meter)');
  if (Array.isArray(value.group_assignments) && (value.source === 'v1' || value.source === 'v2') && 'extra' in value) {
    const { raw: _raw, ...view } = value as Obj & { raw?: unknown };
    return view as unknown as MeterView;
  }
  if (parts) {
    const details = isObj(value.details) ? (value.details as unknown as LeapMeterDetails) : null;
    const enrollment = isObj(value.enrollment) ? (value.enrollment as unknown as LeapMeterEnrollment) : null;
    if (!details && !enrollment) throw new ValidationError('{details, enrollment}: at least one part must be a Leap v2 object');
    return meterView(normalizeV2(details, enrollment));
  }
  if ('global_enrollment_status' in value || 'program_enrollment' in value) return meterView(normalizeV2(null, value as unknown as LeapMeterEnrollment));
  if ('audit' in value && !('participation' in value) && typeof value.utility !== 'string' && !(isObj(value.enrollment) && 'status' in value.enrollment)) {
    return meterView(normalizeV2(value as unknown as LeapMeterDetails, null));
  }
  return meterView(normalizeV1(value as unknown as LeapV1Meter));
}
