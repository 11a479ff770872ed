import { deepEqual, type Change, type MeterEvent, type MeterView } from '../../domain/events';
import { readinessView, type ReadinessMove, type ReadinessRecord } from '../../domain/readiness';
import type { EventStore, NewMeterEvent } from '../../stores/event-store';
import type { MeterStore } from '../../stores/meter-store';
import type { ReadinessStore, ReadinessWrite } from '../../stores/readiness-store';
import type { Tx } from '../../stores/transaction';
import type { EventSink } from '../sync/page-writer';

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
  constructor(private readonly deps: { readiness: ReadinessStore; meters: MeterStore; events: EventStore; sink?: EventSink }) {}

  async apply(tx: Tx, changes: readonly ReadinessChange[], now: Date): Promise<MeterEvent[]> {
    if (!changes.length) return [];
    const writes: ReadinessWrite[] = [];
    const pending: { e: NewMeterEvent; view: () => MeterView }[] = [];
    const refs = new Map<string, number>();
    const sequences = new Map<number, number>();
    for (const c of changes) {
      const visible = readinessChanges(c.current, c.move.next);
      writes.push({ ref: c.ref, meterId: c.meterId, next: c.move.next, from: visible.length ? (c.current?.state ?? 'not_required') : null });
      if (!visible.length) continue;
      refs.set(c.meterId, c.ref);
      const readiness = readinessView(c.move.next);
      let view: MeterView | undefined;
      const withReadiness = (): MeterView => (view ??= { ...c.view(), readiness });
      let sequence = sequences.get(c.ref) ?? c.sequence;
      const event = (type: NewMeterEvent['type'], changes: Change[]): void => {
        sequence += 1;
        pending.push({ e: { meter_id: c.meterId, sequence, type, occurred_at: now, origin: 'readiness', sync_run_id: null, changes }, view: withReadiness });
      };
      event('meter.readiness.updated', visible);
      if (c.move.overdue) event('meter.readiness.overdue', [{ path: 'readiness.state', from: c.current?.state ?? 'not_required', to: 'overdue' }]);
      sequences.set(c.ref, sequence);
    }
    await this.deps.readiness.write(tx, writes, now);
    if (!pending.length) return [];
    const ids = await this.deps.events.append(
      tx,
      pending.map((p) => p.e),
      refs,
    );
    await this.deps.meters.setSequences(tx, sequences);
    const events: MeterEvent[] = pending.map(({ e, view }, i) => ({
      id: ids[i]!,
      meter_id: e.meter_id,
      sequence: e.sequence,
      type: e.type,
      occurred_at: e.occurred_at.toISOString(),
      origin: e.origin,
      sync_run_id: e.sync_run_id,
      get meter() {
        return view();
      },
      changes: e.changes,
    }));
    if (this.deps.sink) await this.deps.sink.enqueue(tx, events);
    return events;
  }
}
