import { deepEqual, type Change, type MeterEvent, type MeterView } from '../../domain/events';
import { readinessView, type ReadinessMove, type ReadinessRecord } from '../../domain/readiness';
import type { ReadinessStore, ReadinessWrite } from '../../stores/readiness-store';
import type { Tx } from '../../stores/transaction';
import type { Annotation, AnnotationWriter } from '../annotation-writer';

/** One meter's readiness move, with what is needed to announce it. */
export interface ReadinessChange {
  ref: number;
  meterId: string;
  /** The meter's sequence as of this transaction (its last event). */
  sequence: number;
  /** The meter as the events show it. */
  view: () => MeterView;
  current: ReadinessRecord | null;
  move: ReadinessMove;
}

/** The view fields whose change is news (history and an event); the others are bookkeeping. */
const VISIBLE = ['state', 'since', 'source', 'reason', 'device_ids', 'effective_at'] as const;

/** What a move changes in the readiness view, as `readiness.*` changes. */
export function readinessChanges(current: ReadinessRecord | null, next: ReadinessRecord): Change[] {
  const from = readinessView(current);
  const to = readinessView(next);
  return VISIBLE.filter((k) => !deepEqual(from[k], to[k])).map((k) => ({ path: `readiness.${k}`, from: from[k], to: to[k] }));
}

/**
 * Writes readiness moves in the caller's transaction: the records, their history, and for every
 * move a partner would see a `meter.readiness.updated` event (plus `meter.readiness.overdue` on
 * the first move to overdue of an activation) in the meter's sequence, handed to the outbox.
 */
export class ReadinessWriter {
  constructor(private readonly deps: { readiness: ReadinessStore; annotations: AnnotationWriter }) {}

  async apply(tx: Tx, changes: readonly ReadinessChange[], now: Date, syncRunId: string | null = null): Promise<MeterEvent[]> {
    if (!changes.length) return [];
    const writes: ReadinessWrite[] = [];
    const annotations: Annotation[] = [];
    const sequences = new Map<number, number>();
    for (const c of changes) {
      const visible = readinessChanges(c.current, c.move.next);
      writes.push({ ref: c.ref, meterId: c.meterId, next: c.move.next, from: visible.length ? (c.current?.state ?? 'not_required') : null });
      if (!visible.length) continue;
      sequences.set(c.ref, c.sequence);
      const readiness = readinessView(c.move.next);
      let view: MeterView | undefined;
      const withReadiness = (): MeterView => (view ??= { ...c.view(), readiness });
      annotations.push({ ref: c.ref, meterId: c.meterId, type: 'meter.readiness.updated', changes: visible, view: withReadiness, readiness });
      if (c.move.overdue)
        annotations.push({ ref: c.ref, meterId: c.meterId, type: 'meter.readiness.overdue', changes: [{ path: 'readiness.state', from: c.current?.state ?? 'not_required', to: 'overdue' }], view: withReadiness, readiness });
    }
    await this.deps.readiness.write(tx, writes, now);
    return this.deps.annotations.append(tx, annotations, sequences, 'readiness', now, syncRunId);
  }
}
