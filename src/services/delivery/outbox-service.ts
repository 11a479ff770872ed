import { canonicalJson, sha256Hex } from '../../domain/canonical-json';
import type { Clock } from '../../domain/clock';
import type { MeterEvent } from '../../domain/events';
import { messageId } from '../../domain/ids';
import { webhookBody } from '../../domain/webhook-body';
import { errorMessage } from '../../errors';
import type { Logger } from '../../logger';
import type { DeliveryQueueStore } from '../../stores/deliveries/queue-store';
import type { NewDelivery } from '../../stores/deliveries/rows';
import type { Tx } from '../../stores/transaction';
import type { DestinationSource, EventContext, OutboundDestination } from '../../domain/destination';
import type { EventSink } from '../sync/page-writer';

/** Detail updates are sent only when the destination's mapped record actually changes. */
const SUPPRESSIBLE = 'meter.details.updated';

export function eventContext(e: MeterEvent): EventContext {
  return { type: e.type, sequence: e.sequence, changes: e.changes, occurred_at: e.occurred_at };
}

export function recordHash(record: Record<string, unknown>): string {
  return sha256Hex(canonicalJson(record));
}

/** Render one event for one destination: the body bytes and the hash of the mapped record. */
export async function renderDelivery(d: OutboundDestination, e: Pick<MeterEvent, 'type' | 'sequence' | 'changes' | 'occurred_at' | 'meter' | 'meter_id'>): Promise<{ body: string; recordHash: string }> {
  const ctx: EventContext = { type: e.type, sequence: e.sequence, changes: e.changes, occurred_at: e.occurred_at };
  const record = await d.render(e.meter, ctx);
  return { body: webhookBody({ type: e.type, timestamp: e.occurred_at, record, meterId: e.meter_id, sequence: e.sequence, changes: e.changes }), recordHash: recordHash(record) };
}

/**
 * The outbox: inside the sync's page transaction, every event becomes one delivery per subscribed
 * destination, with its mapped body stored byte for byte. Nothing is sent that is not committed;
 * nothing committed is lost. A mapping that fails leaves a dead delivery saying why, to replay
 * once the mapping is fixed.
 */
export class OutboxService implements EventSink {
  private readonly listeners = new Set<() => void>();

  constructor(private readonly deps: { destinations: DestinationSource; queue: DeliveryQueueStore; clock: Clock; logger: Logger }) {}

  /** Called after enqueueing so an in-process worker starts at once instead of at its next poll. */
  onEnqueued(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether any enabled destination subscribes to this event type (its events' meters are read only then). */
  wants(type: string): boolean {
    return this.deps.destinations.all().some((d) => d.enabled && d.matchesEvent(type));
  }

  async enqueue(tx: Tx, events: readonly MeterEvent[]): Promise<void> {
    if (!events.length) return;
    const now = this.deps.clock.now();
    const rows: NewDelivery[] = [];
    for (const d of this.deps.destinations.all()) {
      if (!d.enabled) continue;
      const relevant = events.filter((e) => d.matchesEvent(e.type));
      if (!relevant.length) continue;
      const detailMeters = [...new Set(relevant.filter((e) => e.type === SUPPRESSIBLE).map((e) => e.meter_id))];
      const lastHash = detailMeters.length ? await this.deps.queue.latestRecordHashes(tx, d.name, detailMeters) : new Map<string, string>();
      for (const e of relevant) {
        const base = { id: messageId(now.getTime()), destination: d.name, eventId: e.id, meterId: e.meter_id, sequence: e.sequence, eventType: e.type, createdAt: now };
        try {
          if (!(await d.filter(e.meter, eventContext(e)))) continue;
          const { body, recordHash: hash } = await renderDelivery(d, e);
          if (e.type === SUPPRESSIBLE && lastHash.get(e.meter_id) === hash) continue;
          lastHash.set(e.meter_id, hash);
          rows.push({ ...base, status: 'pending', body, recordHash: hash });
        } catch (err) {
          this.deps.logger.warn('mapping failed; the delivery is kept as dead, replay it once the mapping is fixed', { destination: d.name, meter_id: e.meter_id, event: e.type, err: errorMessage(err) });
          rows.push({ ...base, status: 'dead', body: '', recordHash: '', deadReason: 'mapping_failed', lastError: errorMessage(err) });
        }
      }
    }
    if (!rows.length) return;
    await this.deps.queue.insertMany(tx, rows);
    // After commit, really: a rolled-back page only causes an empty poll.
    setImmediate(() => {
      for (const l of this.listeners) l();
    });
  }
}
