import type { Clock } from '../domain/clock';
import { secretEquals } from '../domain/secrets';
import { ValidationError, errorMessage, type ErrorDetail } from '../errors';
import type { Logger } from '../logger';
import type { LeapEventStore } from '../stores/leap-event-store';
import type { Metrics } from './metrics';
import type { SyncService } from './sync/sync-service';

export interface LeapEventSettings {
  enabled: boolean;
  headerName: string;
  secret: string;
}

export interface ReceiveResult {
  status: 'accepted' | 'duplicate' | 'ignored';
  webhookEventId: string;
  meterIds: string[];
}

const UUIDISH = /^[A-Za-z0-9-]{8,64}$/;

/**
 * Leap's own webhooks are hints, never data: each names meters that changed, and the connector
 * re-reads those meters through the same change detection as polling. Leap retries for 8 hours
 * and gives up on anything slower than 10 s, so the answer comes at once and the work follows.
 */
export class LeapEventService {
  private readonly queue: { webhookEventId: string; meterIds: string[] }[] = [];
  private draining: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly deps: { store: LeapEventStore; sync: SyncService; clock: Clock; logger: Logger; settings: LeapEventSettings; metrics?: Pick<Metrics, 'leapEventReceived'> },
  ) {}

  get headerName(): string {
    return this.deps.settings.headerName.toLowerCase();
  }

  /** Constant-time check of Leap's static header; no secret configured means nobody is let in. */
  authorized(presented: string | undefined): boolean {
    const { enabled, secret } = this.deps.settings;
    return enabled && secret.length > 0 && secretEquals(presented, secret);
  }

  async receive(body: unknown): Promise<ReceiveResult> {
    const envelope = parseEnvelope(body);
    const result = await this.record(envelope);
    this.deps.metrics?.leapEventReceived(envelope.eventType, result.status);
    return result;
  }

  private async record(envelope: LeapEventEnvelope): Promise<ReceiveResult> {
    const recorded = await this.deps.store.record({ ...envelope, receivedAt: this.deps.clock.now() });
    if (!recorded) return { status: 'duplicate', webhookEventId: envelope.webhookEventId, meterIds: envelope.meterIds };
    if (!envelope.meterIds.length) {
      await this.deps.store.markProcessed(envelope.webhookEventId, this.deps.clock.now());
      return { status: 'ignored', webhookEventId: envelope.webhookEventId, meterIds: [] };
    }
    this.enqueue({ webhookEventId: envelope.webhookEventId, meterIds: envelope.meterIds });
    return { status: 'accepted', webhookEventId: envelope.webhookEventId, meterIds: envelope.meterIds };
  }

  /** Pick up receipts a previous process accepted but did not finish. */
  async resume(): Promise<number> {
    const pending = await this.deps.store.unprocessed(10_000);
    for (const r of pending) this.enqueue({ webhookEventId: r.webhookEventId, meterIds: r.meterIds });
    return pending.length;
  }

  /** Wait until every accepted event has been refreshed (tests, graceful stop). */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.draining?.catch(() => undefined);
  }

  private enqueue(item: { webhookEventId: string; meterIds: string[] }): void {
    this.queue.push(item);
    this.draining ??= this.drain().finally(() => {
      this.draining = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.stopped) {
      // Events that arrive together are refreshed together: one read per meter however many events name it.
      const batch = this.queue.splice(0, 50);
      const meterIds = [...new Set(batch.flatMap((b) => b.meterIds))];
      let error: string | null = null;
      for (let attempt = 1; attempt <= 3; attempt++) {
        try {
          const r = await this.deps.sync.refresh(meterIds, 'leap_event');
          this.deps.logger.info('refreshed meters named by Leap events', { events: batch.length, meters: meterIds.length, changed: r.metersChanged, emitted: r.events, not_found: r.notFound.length });
          error = null;
          break;
        } catch (err) {
          error = errorMessage(err);
          this.deps.logger.warn('refresh after a Leap event failed', { attempt, err: error });
          if (attempt < 3) await new Promise((r) => setTimeout(r, 500 * attempt));
        }
      }
      // A refresh that keeps failing is left to the next incremental pass, which will see the change too.
      const at = this.deps.clock.now();
      for (const b of batch) await this.deps.store.markProcessed(b.webhookEventId, at, error).catch(() => undefined);
    }
  }
}

interface LeapEventEnvelope {
  webhookEventId: string;
  eventType: string;
  meterIds: string[];
}

function parseEnvelope(body: unknown): LeapEventEnvelope {
  const problems: ErrorDetail[] = [];
  const b = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
  if (!b) throw new ValidationError('Leap event must be a JSON object', [{ path: '', message: 'must be an object' }]);
  const id = b.webhook_event_id;
  if (typeof id !== 'string' || !UUIDISH.test(id)) problems.push({ path: '/webhook_event_id', message: 'must be the event id (a uuid)' });
  const payload = b.payload !== null && typeof b.payload === 'object' && !Array.isArray(b.payload) ? (b.payload as Record<string, unknown>) : null;
  if (!payload) problems.push({ path: '/payload', message: 'must be an object' });
  const type = payload?.webhook_event_type;
  if (payload && (typeof type !== 'string' || type.length > 64)) problems.push({ path: '/payload/webhook_event_type', message: 'must be a string of at most 64 characters' });
  const meterIds: string[] = [];
  if (payload) {
    if (payload.meter_id !== undefined) {
      if (typeof payload.meter_id === 'string' && UUIDISH.test(payload.meter_id)) meterIds.push(payload.meter_id);
      else problems.push({ path: '/payload/meter_id', message: 'must be a meter id' });
    }
    if (payload.meter_ids !== undefined) {
      if (Array.isArray(payload.meter_ids)) {
        payload.meter_ids.forEach((m, i) => {
          if (typeof m === 'string' && UUIDISH.test(m)) meterIds.push(m);
          else problems.push({ path: `/payload/meter_ids/${i}`, message: 'must be a meter id' });
        });
      } else problems.push({ path: '/payload/meter_ids', message: 'must be an array of meter ids' });
    }
  }
  if (problems.length) throw new ValidationError('Leap event is not in the expected shape', problems);
  return { webhookEventId: id as string, eventType: type as string, meterIds: [...new Set(meterIds)] };
}
