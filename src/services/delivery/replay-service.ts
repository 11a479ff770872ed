import { randomUUID } from 'node:crypto';
import type { Clock } from '../../domain/clock';
import { canonicalInstant } from '../../domain/timestamps';
import { AppError, ConflictError, NotFoundError, ValidationError, errorMessage } from '../../errors';
import type { Logger } from '../../logger';
import type { DeliveryAdminStore } from '../../stores/deliveries/admin-store';
import type { Delivery, DeliveryFilter } from '../../stores/deliveries/rows';
import type { EventStore } from '../../stores/event-store';
import type { ReplayFilter, ReplayJob, ReplayJobStore } from '../../stores/replay-job-store';
import type { DestinationSource } from '../../domain/destination';
import { renderDelivery } from './outbox-service';

export const DEFAULT_REPLAY_CAP = 10_000;
export const MAX_REPLAY_CAP = 1_000_000;

export interface BulkReplayRequest {
  filter: ReplayFilter;
  dryRun: boolean;
  cap?: number;
  requestedBy: string;
}

export interface ReplayProgress {
  matched: number;
  replayed: number;
  skipped: number;
  /** Of those skipped: a body that still cannot be rendered (the others were being sent right then). */
  skippedUnrenderable: number;
}

function toDeliveryFilter(f: ReplayFilter): DeliveryFilter {
  return {
    status: f.status,
    destination: f.destination,
    eventType: f.eventType,
    meterId: f.meterId,
    since: new Date(f.since),
    until: f.until ? new Date(f.until) : undefined,
  };
}

/**
 * Replays keep the delivery's webhook-id and body (so a receiver dedupes), are signed with the
 * current secrets when sent, and start the retry schedule again; the original attempts stay in
 * the log. A delivery already waiting is only brought forward: a replay never doubles a message.
 */
export class ReplayService {
  constructor(
    private readonly deps: {
      deliveries: DeliveryAdminStore;
      jobs: ReplayJobStore;
      events: EventStore;
      destinations: DestinationSource;
      clock: Clock;
      logger: Logger;
      owner: string;
      /** Wakes the delivery worker in this process. */
      notify: () => void;
    },
  ) {}

  /** Replay deliveries by id (`replay ID...`, POST /admin/v1/deliveries/{id}/replay). */
  async replay(ids: readonly string[], trigger: 'replay' | 'manual' = 'replay'): Promise<Delivery[]> {
    const found: Delivery[] = [];
    for (const id of ids) {
      const d = await this.deps.deliveries.get(id);
      if (!d) throw new NotFoundError('delivery', id);
      found.push(d);
    }
    for (const d of found) if (d.deadReason === 'mapping_failed' || d.body === '') await this.rebuild(d);
    const r = await this.deps.deliveries.requeue(
      found.map((d) => d.id),
      trigger,
      this.deps.clock.now(),
    );
    if (r.inFlight.length) throw new ConflictError(`delivery ${r.inFlight.join(', ')} is being sent right now; replay it once that attempt finishes`, { in_flight: r.inFlight });
    // Read back before waking the worker: the answer is what the replay did, not a claim that followed it.
    const requeued = await Promise.all(found.map(async (d) => (await this.deps.deliveries.get(d.id))!));
    this.deps.notify();
    return requeued;
  }

  /** A delivery whose mapping failed has no body yet: render it now, from the event, with the current mapping. */
  private async rebuild(d: Delivery): Promise<void> {
    const dest = this.deps.destinations.get(d.destination);
    if (!dest) throw new AppError(409, 'destination_unknown', `destination ${d.destination} is no longer configured`);
    const event = d.eventId !== null ? await this.deps.events.get(d.eventId) : undefined;
    if (!event) throw new AppError(409, 'event_missing', `the event behind delivery ${d.id} is gone; it cannot be rendered again`);
    try {
      const { body, recordHash } = await renderDelivery(dest, event);
      await this.deps.deliveries.rebuild(d.id, body, recordHash);
    } catch (err) {
      throw new AppError(422, 'mapping_failed', `the mapping of ${d.destination} still fails for this event: ${errorMessage(err)}`);
    }
  }

  validate(req: BulkReplayRequest): BulkReplayRequest {
    const f = req.filter;
    const problems: { path: string; message: string }[] = [];
    if (!['dead', 'delivered', 'pending'].includes(f.status)) problems.push({ path: '/status', message: 'must be one of: dead, delivered, pending' });
    if (!f.since || !canonicalInstant(f.since)) problems.push({ path: '/since', message: 'is required: an ISO 8601 time' });
    if (f.until !== undefined && !canonicalInstant(f.until)) problems.push({ path: '/until', message: 'must be an ISO 8601 time' });
    if (f.since && f.until && canonicalInstant(f.since)! >= (canonicalInstant(f.until) ?? '')) problems.push({ path: '/until', message: 'must be after since' });
    const cap = req.cap ?? DEFAULT_REPLAY_CAP;
    if (!Number.isInteger(cap) || cap < 1 || cap > MAX_REPLAY_CAP) problems.push({ path: '/cap', message: `must be an integer from 1 to ${MAX_REPLAY_CAP}` });
    if (problems.length) throw new ValidationError('Invalid replay request', problems);
    return { ...req, cap };
  }

  /**
   * Create a bulk replay. A dry run only counts (up to the cap) and is finished at once; a real
   * one runs in the background (`runPending`) and reports progress on the job.
   */
  async createBulk(req: BulkReplayRequest): Promise<ReplayJob> {
    const v = this.validate(req);
    const now = this.deps.clock.now();
    const job = await this.deps.jobs.create({ id: randomUUID(), filter: v.filter, dryRun: v.dryRun, cap: v.cap!, requestedBy: v.requestedBy, now });
    if (v.dryRun) {
      await this.deps.jobs.completeDryRun(job.id, Math.min(await this.deps.deliveries.count(toDeliveryFilter(v.filter)), job.cap), now);
      return (await this.deps.jobs.get(job.id))!;
    }
    return job;
  }

  /** Run waiting (or abandoned) jobs to the end; returns how many ran. */
  async runPending(onProgress?: (job: ReplayJob, p: ReplayProgress) => void): Promise<number> {
    let ran = 0;
    for (;;) {
      const job = await this.deps.jobs.claim(this.deps.owner, this.deps.clock.now(), 60_000);
      if (!job) return ran;
      ran += 1;
      await this.runJob(job, onProgress);
    }
  }

  private async runJob(job: ReplayJob, onProgress?: (job: ReplayJob, p: ReplayProgress) => void): Promise<void> {
    const filter = toDeliveryFilter(job.filter);
    const p: ReplayProgress = { matched: job.matched, replayed: job.replayed, skipped: job.skipped, skippedUnrenderable: job.skippedUnrenderable };
    let cursor = job.cursor;
    const log = this.deps.logger.child({ replay_job: job.id });
    log.info('bulk replay started', { filter: job.filter, cap: job.cap, resumed_at: cursor });
    try {
      while (p.matched < job.cap) {
        const page = await this.deps.deliveries.scan(filter, cursor, Math.min(500, job.cap - p.matched));
        if (!page.length) break;
        p.matched += page.length;
        cursor = page[page.length - 1]!.id;
        const unrenderable = new Set<string>();
        for (const d of page.filter((x) => x.deadReason === 'mapping_failed' || x.body === '')) {
          try {
            await this.rebuild(d);
          } catch (err) {
            unrenderable.add(d.id);
            p.skipped += 1;
            p.skippedUnrenderable += 1;
            log.warn('delivery skipped: it still cannot be rendered', { delivery_id: d.id, err: errorMessage(err) });
          }
        }
        const usable = page.filter((d) => !unrenderable.has(d.id));
        const r = await this.deps.deliveries.requeue(
          usable.map((d) => d.id),
          'replay',
          this.deps.clock.now(),
        );
        p.replayed += r.requeued.length + r.expedited.length;
        p.skipped += r.inFlight.length;
        this.deps.notify();
        if (!(await this.deps.jobs.progress(job.id, this.deps.owner, { ...p, cursor }, this.deps.clock.now(), 60_000))) throw new Error('lost the claim on this replay job');
        onProgress?.(job, { ...p });
      }
      await this.deps.jobs.finish(job.id, { status: 'succeeded' }, this.deps.clock.now());
      log.info('bulk replay finished', { ...p });
    } catch (err) {
      await this.deps.jobs.finish(job.id, { status: 'failed', error: errorMessage(err) }, this.deps.clock.now());
      log.error('bulk replay failed', { ...p, err: errorMessage(err) });
      throw err;
    }
  }

  get(id: string): Promise<ReplayJob | undefined> {
    return this.deps.jobs.get(id);
  }

  list(limit: number): Promise<ReplayJob[]> {
    return this.deps.jobs.list(limit);
  }
}
