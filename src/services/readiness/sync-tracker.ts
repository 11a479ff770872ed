import { deepEqual, type MeterEvent, type MeterView } from '../../domain/events';
import type { Meter } from '../../domain/meter';
import { deviceKey, syncMove } from '../../domain/readiness';
import type { ReadinessStore } from '../../stores/readiness-store';
import type { Tx } from '../../stores/transaction';
import type { MeterWriteHook, WrittenMeter } from '../sync/page-writer';
import type { ReadinessChange, ReadinessWriter } from './readiness-writer';

/** Could this change of Leap's side move the meter's readiness? Most detail changes cannot. */
function mayMove(before: Meter | MeterView | null, after: MeterView): boolean {
  if (!before) return true;
  return (
    before.enrollment?.status !== after.enrollment?.status ||
    before.is_archived !== after.is_archived ||
    before.transmission_region !== after.transmission_region ||
    deviceKey(before) !== deviceKey(after) ||
    !deepEqual(before.group_assignments, after.group_assignments)
  );
}

/**
 * Readiness as Leap's side changes it, inside the sync's page transaction: a meter that turned
 * ACTIVE (or got an upcoming market group), came back to ACTIVE or changed its device awaits the
 * partner's confirmation; one that no longer needs it is not_required.
 */
export class SyncReadinessTracker implements MeterWriteHook {
  constructor(private readonly deps: { readiness: ReadinessStore; writer: ReadinessWriter }) {}

  async afterWrite(tx: Tx, written: readonly WrittenMeter[], now: Date, runId: string | null): Promise<MeterEvent[]> {
    const candidates = written.filter((w) => mayMove(w.before, w.view()));
    if (!candidates.length) return [];
    const current = await this.deps.readiness.getMany(
      candidates.map((c) => c.ref),
      tx,
    );
    const changes: ReadinessChange[] = [];
    for (const w of candidates) {
      const record = current.get(w.ref) ?? null;
      const move = syncMove(record, w.before, w.view(), now);
      if (move) changes.push({ ref: w.ref, meterId: w.meterId, sequence: w.sequence, view: w.view, current: record, move });
    }
    return this.deps.writer.apply(tx, changes, now, runId);
  }
}
