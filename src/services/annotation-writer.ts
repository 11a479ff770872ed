import type { Change, EventOrigin, MeterEvent, MeterEventType, MeterView } from '../domain/events';
import type { ReadinessView } from '../domain/readiness';
import type { EventStore, NewMeterEvent } from '../stores/event-store';
import type { MeterStore } from '../stores/meter-store';
import type { Tx } from '../stores/transaction';
import type { EventSink } from './sync/page-writer';

/** An event about a meter that does not change what Leap says of it (readiness, roster drift). */
export interface Annotation {
  ref: number;
  meterId: string;
  type: MeterEventType;
  changes: Change[];
  /** The meter as the event shows it. */
  view: () => MeterView;
  /** Readiness as the event shows it, kept with the stored event. */
  readiness?: ReadinessView;
}

/**
 * Appends annotations in the caller's transaction: each takes the meter's next sequence (so a
 * partner sees it in order with the sync's events), the meter's sequence moves on, and the outbox
 * gets them like any event.
 */
export class AnnotationWriter {
  constructor(private readonly deps: { meters: MeterStore; events: EventStore; sink?: EventSink }) {}

  /** `sequences`: each meter's last sequence as of this transaction; `syncRunId`: the sync run that caused them, if one did. */
  async append(tx: Tx, annotations: readonly Annotation[], sequences: ReadonlyMap<number, number>, origin: EventOrigin, now: Date, syncRunId: string | null = null): Promise<MeterEvent[]> {
    if (!annotations.length) return [];
    const moved = new Map<number, number>();
    const refs = new Map<string, number>();
    const pending: NewMeterEvent[] = annotations.map((a) => {
      const sequence = (moved.get(a.ref) ?? sequences.get(a.ref)!) + 1;
      moved.set(a.ref, sequence);
      refs.set(a.meterId, a.ref);
      return { meter_id: a.meterId, sequence, type: a.type, occurred_at: now, origin, sync_run_id: syncRunId, changes: a.changes, ...(a.readiness ? { readiness: a.readiness } : {}) };
    });
    const ids = await this.deps.events.append(tx, pending, refs);
    await this.deps.meters.setSequences(tx, moved);
    const events: MeterEvent[] = pending.map((e, i) => {
      const view = annotations[i]!.view;
      return {
        id: ids[i]!,
        meter_id: e.meter_id,
        sequence: e.sequence,
        type: e.type,
        occurred_at: e.occurred_at.toISOString(),
        origin: e.origin,
        sync_run_id: syncRunId,
        get meter() {
          return view();
        },
        changes: e.changes,
      };
    });
    if (this.deps.sink) await this.deps.sink.enqueue(tx, events);
    return events;
  }
}
