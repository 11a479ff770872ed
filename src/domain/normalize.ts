import { canonicalJson, sha256Hex } from './canonical-json';
import type { LeapMeterDetails, LeapMeterEnrollment, LeapV1Meter } from './leap-types';
import type { Meter, MeterRaw } from './meter';
import { normalizeV1 } from './normalize-v1';
import { normalizeV2 } from './normalize-v2';

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

