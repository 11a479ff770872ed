import { deriveEvents, type PendingEvent } from '../../domain/events';
import type { Meter, MeterRaw } from '../../domain/meter';
import { meterFromRaw } from '../../domain/normalize';
import { contentHash, leapUpdatedAt, type SerializedPart } from '../../domain/raw-parts';
import { groupRows, meterColumns, type MeterWrite } from '../../stores/meter-store';

/**
 * A meter not stored yet, as the sync first writes it: its row, its group assignments and the
 * events that announce it. Built from the parts read alone (nothing stored to compare with), by
 * the same code on the sync's main thread and in its page thread.
 */
export interface FreshMeter {
  meterId: string;
  columns: unknown[];
  assignments: unknown[][];
  leapUpdatedAt: string | null;
  contentHash: string;
  details: SerializedPart | null;
  enrollment: SerializedPart | null;
  /** None until both v2 parts (or the v1 meter) have been read. */
  events: PendingEvent[];
}

/** A v2 meter read in one part only waits for the other before anything is announced. */
export const isComplete = (raw: MeterRaw): boolean => raw.v1 !== null || (raw.details !== null && raw.enrollment !== null);

export function freshMeter(raw: MeterRaw, details: SerializedPart | null, enrollment: SerializedPart | null): { fresh: FreshMeter; meter: Meter } {
  const meter = meterFromRaw(raw);
  return {
    meter,
    fresh: {
      meterId: meter.meter_id,
      columns: meterColumns(meter),
      assignments: groupRows(meter.group_assignments),
      leapUpdatedAt: leapUpdatedAt(raw, meter.updated_at),
      contentHash: contentHash(details?.hash ?? null, enrollment?.hash ?? null, false),
      details,
      enrollment,
      events: isComplete(raw) ? deriveEvents(null, meter) : [],
    },
  };
}

/** The write that stores a fresh meter. */
export function freshWrite(f: FreshMeter): MeterWrite {
  const rawParts: MeterWrite['rawParts'] = {};
  if (f.details) rawParts.details = f.details.json;
  if (f.enrollment) rawParts.enrollment = f.enrollment.json;
  return {
    meterId: f.meterId,
    columns: f.columns,
    assignments: f.assignments,
    ref: null,
    detailsHash: f.details?.hash ?? null,
    enrollmentHash: f.enrollment?.hash ?? null,
    rawParts,
    contentHash: f.contentHash,
    leapUpdatedAt: f.leapUpdatedAt,
    previousChangedAt: null,
    sequence: f.events.length,
    changed: true,
    missingSince: null,
  };
}

