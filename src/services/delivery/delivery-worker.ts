import type { WebhookSender } from '../../clients/webhook-sender';
import type { Clock } from '../../domain/clock';
import type { AttemptResult, AttemptTrigger, Outcome } from '../../domain/delivery';
import { errorMessage } from '../../errors';
import type { Logger } from '../../logger';
import type { AttemptStore } from '../../stores/deliveries/attempt-store';
import type { DeliveryQueueStore } from '../../stores/deliveries/queue-store';
import type { Delivery } from '../../stores/deliveries/rows';
import type { DestinationState, DestinationStateStore } from '../../stores/destination-state-store';
import { DestinationHealth, type SettledAttempt } from './destination-health';
import { settle } from './settle';
import type { Transactor } from '../../stores/transaction';
import type { DestinationSource, OutboundDestination } from '../../domain/destination';
import { groupBy } from '../../domain/group-by';
import type { Metrics } from '../metrics';

/** The window over which a destination's pace (answers a second) is measured. */
const PACE_WINDOW_MS = 100;

/** How often lines are checked for a first delivery left waiting (at start, then this often). */
const LINE_UP_EVERY_MS = 60_000;

export interface DeliveryWorkerSettings {
  /** How often to look for due work when nothing woke the worker. */
  pollMs: number;
  /** How long a claim lasts before another worker may take the delivery over. */
  claimTtlMs: number;
  /** Results are written together, at most this long after they arrive. */
  flushMs: number;
}

export interface WorkerCounters {
  sent: number;
  delivered: number;
  retried: number;
  dead: number;
  throttled: number;
  pausedDestinations: number;
  resumedDestinations: number;
}

/**
 * Claims due deliveries and sends them. Per destination and meter a later event waits for the
 * earlier one to be delivered or dead (the claim query enforces it); each destination has its
 * own rate and concurrency limit; results are written in small batches. Several workers (in one
 * process or many) share the database without sending the same delivery twice at once.
 */
export class DeliveryWorker {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private woken = false;
  private readonly inflight = new Map<string, number>();
  private readonly sends = new Set<Promise<void>>();
  private results: SettledAttempt[] = [];
  private flushing: Promise<void> | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private lastReap = 0;
  private lastLineUp = 0;
  private readonly lastNearSweep = new Map<string, number>();
  /**
   * Moves whenever what a claim can find may have changed: results written, new work committed
   * (notify), time passed (a poll). `starved` holds, per destination, the generation in which a
   * claim came back short.
   */
  private generation = 0;
  private readonly starved = new Map<string, number>();
  /** A cycle is between claiming and dispatching: its deliveries are in neither the DB queue nor `sends`. */
  private cycling = false;
  private readonly health: DestinationHealth;
  readonly counters: WorkerCounters = { sent: 0, delivered: 0, retried: 0, dead: 0, throttled: 0, pausedDestinations: 0, resumedDestinations: 0 };

  constructor(
    private readonly deps: {
      queue: DeliveryQueueStore;
      attempts: AttemptStore;
      states: DestinationStateStore;
      transactor: Transactor;
      destinations: DestinationSource;
      sender: WebhookSender;
      clock: Clock;
      logger: Logger;
      owner: string;
      settings: DeliveryWorkerSettings;
      random?: () => number;
      metrics?: Pick<Metrics, 'deliveryAnswered'>;
    },
  ) {
    this.health = new DestinationHealth({ states: deps.states, destinations: deps.destinations, logger: deps.logger, counters: this.counters });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stop claiming; wait for requests in flight and write their results. */
  async stop(): Promise<void> {
    this.running = false;
    this.notify();
    await this.loop;
    await Promise.allSettled([...this.sends]);
    await this.flush();
  }

  /** New work was committed: look now rather than at the next poll. */
  notify(): void {
    this.generation += 1;
    this.poke();
  }

  /** Room was freed: run a cycle now (claims that came back short wait for `generation` to move). */
  private poke(): void {
    this.woken = true;
    this.wake?.();
  }

  /** Wait until nothing is in flight and nothing is due (tests, benchmarks). */
  async drain(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      await Promise.allSettled([...this.sends]);
      await this.flush();
      // Only what this worker could send counts: paused destinations and meters waiting in line do not.
      this.invalidateStates();
      const states = await this.health.states(this.deps.clock.now());
      const open = this.deps.destinations
        .all()
        .filter((d) => d.enabled && !states.get(d.name)?.paused)
        .map((d) => d.name);
      const next = await this.deps.queue.nextDueAt(open);
      const busy = this.cycling || this.sends.size > 0 || this.results.length > 0 || this.flushing !== null;
      if (!busy && (!next || next.getTime() > this.deps.clock.now().getTime())) return;
      if (Date.now() > until) throw new Error('delivery worker did not drain in time');
      this.notify();
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      let worked = false;
      this.cycling = true;
      try {
        worked = await this.cycle();
      } catch (err) {
        this.deps.logger.error('delivery cycle failed', { err: errorMessage(err) });
      } finally {
        this.cycling = false;
      }
      if (!this.running) break;
      if (!worked && !this.woken) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            // Time passed: retries fell due, and other processes may have written results.
            this.generation += 1;
            resolve();
          }, this.deps.settings.pollMs);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = null;
      }
      this.woken = false;
      if (worked && this.sends.size >= this.capacityTotal()) await Promise.race([...this.sends]);
    }
  }

  private capacityTotal(): number {
    return this.deps.destinations.all().reduce((n, d) => n + this.capacity(d), 0) || 1;
  }

  /**
   * Claim no more than a destination can take soon: two rounds of its concurrency, or a second
   * of its rate. A receiver that answers fast is claimed further ahead, up to what it takes in a
   * tenth of a second (at most sixteen rounds): the sending thread's line must not run dry while
   * this thread is busy with the database between claims. A delivery is signed as it joins the
   * line, so what waits there is never more than a round or so old.
   */
  private capacity(d: OutboundDestination): number {
    const byRate = d.ratePerSecond ? Math.max(1, Math.ceil(d.ratePerSecond)) : Number.POSITIVE_INFINITY;
    const ahead = Math.min(d.concurrency * 16, Math.ceil((this.paces.get(d.name)?.perSecond ?? 0) / 10));
    return Math.max(1, Math.min(Math.max(d.concurrency * 2, ahead), byRate));
  }

  /** Deliveries answered per second, per destination, over the last tenth of a second. */
  private readonly paces = new Map<string, { since: number; count: number; perSecond: number }>();

  private answered(name: string): void {
    const now = performance.now();
    const p = this.paces.get(name) ?? { since: now, count: 0, perSecond: 0 };
    if (now - p.since >= PACE_WINDOW_MS) {
      // A quiet window (or more) counts as such: the pace falls back at once.
      p.perSecond = now - p.since < 2 * PACE_WINDOW_MS ? (p.count * 1000) / (now - p.since) : 0;
      p.since = now;
      p.count = 0;
    }
    p.count += 1;
    this.paces.set(name, p);
  }

  private async cycle(): Promise<boolean> {
    const now = this.deps.clock.now();
    if (now.getTime() - this.lastReap > Math.min(5000, this.deps.settings.claimTtlMs / 2)) {
      this.lastReap = now.getTime();
      const released = await this.deps.queue.releaseExpiredClaims(
        this.deps.destinations.all().map((d) => d.name),
        now,
      );
      if (released) this.deps.logger.warn('took back deliveries whose worker stopped before finishing', { count: released });
    }
    const states = await this.health.states(now);
    if (now.getTime() - this.lastLineUp > LINE_UP_EVERY_MS || now.getTime() < this.lastLineUp) {
      this.lastLineUp = now.getTime();
      for (const d of this.deps.destinations.all()) {
        if (!d.enabled || states.get(d.name)?.paused) continue;
        const moved = await this.deps.queue.lineUpStalled(d.name);
        if (!moved) continue;
        this.deps.logger.info('put in order meters whose next delivery waited with nothing ahead of it', { destination: d.name, meters: moved });
        this.generation += 1; // the claims below must look again
      }
    }
    let worked = false;
    for (const d of this.deps.destinations.all()) {
      if (!d.enabled) continue;
      const st = states.get(d.name);
      if (st?.paused) {
        if (st.pausedReason === 'failures' && st.probeAt && st.probeAt <= now) worked = (await this.probe(d, st, now)) || worked;
        continue;
      }
      const cap = this.capacity(d);
      const inflight = this.inflight.get(d.name) ?? 0;
      const free = cap - inflight;
      // Claim in batches: a query per freed slot would cost more than the sends themselves.
      if (free <= 0 || (inflight > 0 && free < Math.ceil(cap / 2))) continue;
      // The last claim found less than it asked for (the rest wait behind their meters' earlier
      // deliveries, or are not due): asking again before anything changed would find the same.
      if (this.starved.get(d.name) === this.generation) continue;
      // What the claim saw is as of before it was asked: a change meanwhile (results written while
      // it ran) must still start the next one.
      const seen = this.generation;
      const claimed = await this.deps.queue.claimDue(d.name, this.deps.owner, free, now, this.claimTtl(d));
      if (claimed.length < free) {
        this.starved.set(d.name, seen);
        // Room to spare: a delivery that joined its line as the line emptied may have been left
        // waiting (possible on MySQL); the newest waiting ones are looked at, once a second at most.
        const last = this.lastNearSweep.get(d.name) ?? 0;
        if (now.getTime() - last >= 1000 || now.getTime() < last) {
          this.lastNearSweep.set(d.name, now.getTime());
          if (await this.deps.queue.lineUpStalled(d.name, { newest: 200 })) this.notify();
        }
      }
      else this.starved.delete(d.name);
      for (const delivery of claimed) this.dispatch(d, delivery, delivery.lastTrigger);
      worked = worked || claimed.length > 0;
    }
    return worked;
  }

  /** Forget cached pause states (a pause or resume happened here, or came from outside). */
  invalidateStates(): void {
    this.health.invalidate();
  }

  /** Long enough for the rounds claimed ahead to time out one after another, and then some. */
  private claimTtl(d: OutboundDestination): number {
    return Math.max(this.deps.settings.claimTtlMs, d.timeoutMs * 2 + 30_000);
  }

  private async probe(d: OutboundDestination, st: DestinationState, now: Date): Promise<boolean> {
    const probe = await this.health.takeProbe(d.name, st, now);
    if (!probe) return false;
    const delivery = await this.deps.queue.claimProbe(d.name, this.deps.owner, now, this.claimTtl(d));
    if (!delivery) {
      await this.health.resumeIdle(d.name, now);
      return false;
    }
    this.deps.logger.info('probing paused destination', { destination: d.name, delivery_id: delivery.id, next_probe_in_ms: probe.backoffMs });
    this.dispatch(d, delivery, 'probe');
    return true;
  }

  private dispatch(d: OutboundDestination, delivery: Delivery, trigger: AttemptTrigger): void {
    this.inflight.set(d.name, (this.inflight.get(d.name) ?? 0) + 1);
    const target = { name: d.name, url: d.url, timeoutMs: d.timeoutMs, ratePerSecond: d.ratePerSecond, concurrency: d.concurrency };
    const p = this.deps.sender
      // Signed as the request starts, with the secrets active then: fresh timestamp, current keys.
      .send(target, { headers: { 'content-type': 'application/json', 'user-agent': 'leap-connector', ...d.headers }, body: delivery.body, sign: { id: delivery.id, secrets: d.secrets } })
      .then(({ request, result }) => this.answer(d, delivery, trigger, request.headers, result))
      .catch((err: unknown) => this.deps.logger.error('send failed unexpectedly', { destination: d.name, delivery_id: delivery.id, err: errorMessage(err) }))
      .finally(() => {
        const left = (this.inflight.get(d.name) ?? 1) - 1;
        this.inflight.set(d.name, left);
        this.sends.delete(p);
        // Claim again once half the room is free, not after every single answer.
        if (left <= this.capacity(d) / 2) this.poke();
      });
    this.sends.add(p);
    this.counters.sent += 1;
  }

  private answer(d: OutboundDestination, delivery: Delivery, trigger: AttemptTrigger, headers: Record<string, string>, result: AttemptResult): void {
    const now = this.deps.clock.now();
    this.answered(d.name);
    const settled = settle({ destination: d, delivery, trigger, headers, result, claimedBy: this.deps.owner, now, random: this.deps.random });
    const { decision } = settled;
    this.count(decision.outcome);
    this.deps.metrics?.deliveryAnswered(d.name, decision.outcome, result.durationMs / 1000);
    if (decision.outcome === 'dead')
      this.deps.logger.warn('delivery is dead', { destination: d.name, delivery_id: delivery.id, meter_id: delivery.meterId, reason: decision.deadReason, status: result.status, error: result.errorClass });
    this.results.push(settled);
    if (this.results.length >= 200 || this.sends.size <= 1) void this.flush();
    else this.flushTimer ??= setTimeout(() => void this.flush(), this.deps.settings.flushMs);
  }

  private count(o: Outcome): void {
    if (o === 'delivered') this.counters.delivered += 1;
    else if (o === 'dead') this.counters.dead += 1;
    else if (o === 'throttled') this.counters.throttled += 1;
    else this.counters.retried += 1;
  }

  /** Write pending results, then update each destination's health (and pause it when it must). */
  private async flush(): Promise<void> {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    while (this.flushing) await this.flushing;
    if (!this.results.length) return;
    const batch = this.results;
    this.results = [];
    this.flushing = (async () => {
      const now = this.deps.clock.now();
      await this.health.pauseGone(batch, now);
      const byDest = groupBy(batch, (b) => b.destination);
      const states = new Map<string, DestinationState>();
      let chained: { d: OutboundDestination; deliveries: Delivery[] }[] = [];
      let unclaimed = 0;
      try {
        // Results and each destination's health in one transaction: one commit per batch.
        await this.deps.transactor.run(async (tx) => {
          chained = [];
          unclaimed = 0;
          const next = await this.deps.attempts.record(
            tx,
            batch.map((b) => b.record),
            now,
          );
          for (const [name, items] of byDest) states.set(name, await this.health.record(tx, name, items, now));
          // The deliveries these results let go are claimed here and now: a later event of a meter
          // leaves as its earlier one is written back, without another claim query in between.
          for (const [name, ids] of next) {
            const d = this.deps.destinations.get(name);
            const free = !this.running || !d?.enabled || states.get(name)?.paused || byDest.get(name)?.some((b) => b.decision.pauseDestination) ? 0 : this.capacity(d) - (this.inflight.get(name) ?? 0);
            const claimed = free > 0 ? await this.deps.queue.claimIds(tx, ids.slice(0, free), this.deps.owner, now, this.claimTtl(d!)) : [];
            if (claimed.length) chained.push({ d: d!, deliveries: claimed });
            unclaimed += ids.length - claimed.length;
          }
        });
        for (const { d, deliveries } of chained) for (const delivery of deliveries) this.dispatch(d, delivery, delivery.lastTrigger);
      } catch (err) {
        // The claims expire and the deliveries go out again: a receiver dedupes on webhook-id.
        this.deps.logger.error('could not record delivery results', { count: batch.length, err: errorMessage(err) });
        return;
      }
      for (const [name, items] of byDest) await this.health.after(name, items, states.get(name)!, now).catch((err: unknown) => this.deps.logger.error('could not update destination health', { destination: name, err: errorMessage(err) }));
      // Results that let later deliveries go, not all claimed just now: a claim may find them.
      if (unclaimed > 0) this.generation += 1;
    })().finally(() => {
      this.flushing = null;
      this.poke();
    });
    await this.flushing;
  }
}
