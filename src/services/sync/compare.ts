import { deriveEvents, meterView, type MeterView, type PendingEvent } from '../../domain/events';
import type { Meter, MeterRaw } from '../../domain/meter';
import { meterFromRaw } from '../../domain/normalize';
import { contentHash, leapUpdatedAt, parsePart, rawPartHash, serializePart } from '../../domain/raw-parts';
import { groupRows, meterColumns, type MeterWrite, type RawPart, type StoredMeter } from '../../stores/meter-store';
import { freshMeter, freshWrite, isComplete, type FreshMeter } from './fresh-meter';
import type { ReadMeter } from './page-thread';

/** Part of a meter as read from Leap. A refresh reads both v2 parts at once. */
export interface PartUpdate {
  meterId: string;
  details?: Record<string, unknown>;
  enrollment?: Record<string, unknown>;
  v1?: Record<string, unknown>;
  /**
   * The v2 parts as the page thread read them: their texts and hashes, and (for a meter it did
   * not know to be stored) the meter's first write. Parsed here only to compare a stored meter
   * that changed.
   */
  read?: ReadMeter;
}

/** What a unit writes for one meter: the write, its events, and the meter they show (computed when first read). */
export interface Outcome {
  write: MeterWrite;
  events: PendingEvent[];
  before: Meter | null;
  view: () => MeterView;
}

/** Nothing to compare: the parts read hash the same as the parts stored. */
export function unchanged(part: PartUpdate, s: StoredMeter): boolean {
  if (s.missingSince) return false;
  if (part.v1 !== undefined) return s.source === 'v1' && s.detailsHash === rawPartHash(part.v1);
  if (s.source !== 'v2') return false;
  const r = part.read;
  // undefined: the part was not read this time.
  const details = r ? r.details.hash : part.details && rawPartHash(part.details);
  const enrollment = r ? r.enrollment?.hash : part.enrollment && rawPartHash(part.enrollment);
  if (details !== undefined && s.detailsHash !== details) return false;
  if (enrollment !== undefined && s.enrollmentHash !== enrollment) return false;
  return true;
}

/** The stored meter as last known: derived from its raw parts, archived if a reconcile found it gone. */
export function storedMeter(stored: StoredMeter): Meter {
  return meterFromRaw(stored.raw, stored.missingSince !== null);
}

/**
 * What a meter read now means for it: its write and events, or null when nothing changed. A
 * meter the page thread built whole (new to the store) is taken as built; any other is compared.
 */
export function outcomeOf(part: PartUpdate, stored: StoredMeter | null): Outcome | null {
  if (part.read?.fresh && !stored) return freshOutcome(part.read.fresh, viewFromTexts(part.read.fresh));
  return compare(parsed(part), stored);
}

/** A part read by the page thread, as objects, for the comparison with a stored meter. */
function parsed(part: PartUpdate): PartUpdate {
  const r = part.read;
  if (!r) return part;
  return { meterId: part.meterId, details: parsePart(r.details), ...(r.enrollment ? { enrollment: parsePart(r.enrollment) } : {}) };
}

/** null when nothing changed; otherwise the write and the events it produces. */
function compare(part: PartUpdate, stored: StoredMeter | null): Outcome | null {
  const v1 = part.v1 !== undefined;
  const raw: MeterRaw = v1
    ? { details: null, enrollment: null, v1: part.v1! }
    : { details: part.details ?? stored?.raw.details ?? null, enrollment: part.enrollment ?? stored?.raw.enrollment ?? null, v1: null };
  // Parts read now are serialized once; a part not re-read keeps the stored text and hash.
  const readDetails = v1 ? part.v1! : part.details;
  if (!stored) {
    const { fresh, meter } = freshMeter(raw, readDetails ? serializePart(readDetails) : null, !v1 && part.enrollment ? serializePart(part.enrollment) : null);
    const view = meterView(meter);
    return freshOutcome(fresh, () => view);
  }
  const d = readDetails ? serializePart(readDetails) : !v1 ? { json: stored.rawText.details, hash: stored.detailsHash } : { json: null, hash: null };
  const e = v1 ? { json: null, hash: null } : part.enrollment ? serializePart(part.enrollment) : { json: stored.rawText.enrollment, hash: stored.enrollmentHash };
  const detailsHash = d.hash;
  const enrollmentHash = e.hash;
  if (!stored.missingSince && stored.source === (v1 ? 'v1' : 'v2') && stored.detailsHash === detailsHash && stored.enrollmentHash === enrollmentHash) return null;

  const after = meterFromRaw(raw);
  const before = isComplete(stored.raw) ? storedMeter(stored) : null;
  const events = isComplete(raw) ? deriveEvents(before, after) : [];
  // Raw JSON that differs without any difference in the meter (a reordered array) is stored, not announced.
  const changed = events.length > 0 || stored.missingSince !== null || !before;
  const view = meterView(after);
  return {
    write: {
      meterId: after.meter_id,
      columns: meterColumns(after),
      assignments: groupRows(after.group_assignments),
      ref: stored.ref,
      detailsHash,
      enrollmentHash,
      rawParts: changedParts(stored, v1, { details: d.json, enrollment: e.json }),
      contentHash: contentHash(detailsHash, enrollmentHash, false),
      leapUpdatedAt: leapUpdatedAt(raw, after.updated_at),
      previousChangedAt: stored.lastChangedAt,
      sequence: stored.sequence + events.length,
      changed,
      missingSince: null,
    },
    events,
    before,
    view: () => view,
  };
}

/**
 * An archive of a stored meter that a full walk no longer found: its row marked missing, its raw
 * parts kept (a meter that comes back is compared against what it was), and whether it is news
 * (`meter.archived`): not for a meter already archived at Leap, nor one never seen whole.
 */
export function archiveOutcome(s: StoredMeter, now: Date): { write: MeterWrite; meter: Meter; archived: Meter; emit: boolean } {
  const meter = meterFromRaw(s.raw);
  const archived: Meter = { ...meter, is_archived: true };
  const emit = !meter.is_archived && isComplete(s.raw);
  return {
    write: {
      meterId: archived.meter_id,
      columns: meterColumns(archived),
      assignments: groupRows(archived.group_assignments),
      ref: s.ref,
      detailsHash: s.detailsHash,
      enrollmentHash: s.enrollmentHash,
      rawParts: {},
      contentHash: contentHash(s.detailsHash, s.enrollmentHash, true),
      leapUpdatedAt: s.leapUpdatedAt,
      previousChangedAt: s.lastChangedAt,
      sequence: s.sequence + (emit ? 1 : 0),
      changed: true,
      missingSince: now,
    },
    meter,
    archived,
    emit,
  };
}

/** A meter not stored yet: written whole, its events showing `view`. */
function freshOutcome(f: FreshMeter, view: () => MeterView): Outcome {
  return { write: freshWrite(f), events: f.events, before: null, view };
}

/** The meter a fresh meter's events show, parsed again from its texts only if they are read. */
function viewFromTexts(f: FreshMeter): () => MeterView {
  let view: MeterView | undefined;
  return () => (view ??= meterView(meterFromRaw({ details: f.details && parsePart(f.details), enrollment: f.enrollment && parsePart(f.enrollment), v1: null })));
}

/** The raw parts whose text differs from what is stored (a v1 meter has no enrollment part). */
function changedParts(stored: StoredMeter | null, v1: boolean, texts: Record<RawPart, string | null>): MeterWrite['rawParts'] {
  const out: MeterWrite['rawParts'] = {};
  for (const p of ['details', 'enrollment'] as const) {
    const text = v1 && p === 'enrollment' ? null : texts[p];
    if (text !== (stored?.rawText[p] ?? null)) out[p] = text;
  }
  return out;
}
