import type { WebhookSender } from '../../clients/webhook-sender';
import type { Clock } from '../../domain/clock';
import { decide, nextProbeBackoff, type AttemptResult, type AttemptTrigger, type Decision, type Outcome } from '../../domain/delivery';
import { redactHeaders } from '../../domain/headers';
import { errorMessage } from '../../errors';
import type { Logger } from '../../logger';
import type { AttemptRecord, Delivery, DeliveryStore } from '../../stores/delivery-store';
import type { DestinationState, DestinationStateStore } from '../../stores/destination-state-store';
import type { Transactor } from '../../stores/transaction';
import type { DestinationSource, OutboundDestination } from '../../domain/destination';
import { groupBy } from '../../domain/group-by';

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

/** What a batch of one destination's results says about its health, in order. */
function outcomes(items: Pending[]): { successes: number; failures: number; failuresAfterLastSuccess: number; lastStatus: number | null; lastSuccessAt: Date | null; lastFailureAt: Date | null } {
  const successes = items.filter((i) => i.decision.outcome === 'delivered');
  const failures = items.filter((i) => i.decision.failure);
  const lastSuccessIndex = items.findLastIndex((i) => i.decision.outcome === 'delivered');
  return {
    successes: successes.length,
    failures: failures.length,
    failuresAfterLastSuccess: items.slice(lastSuccessIndex + 1).filter((i) => i.decision.failure).length,
    lastStatus: items.at(-1)?.status ?? null,
    lastSuccessAt: successes.at(-1)?.at ?? null,
    lastFailureAt: failures.at(-1)?.at ?? null,
  };
}

interface Pending {
  record: AttemptRecord;
  destination: string;
  decision: Decision;
  status: number | null;
  at: Date;
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
  private results: Pending[] = [];
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
  readonly counters: WorkerCounters = { sent: 0, delivered: 0, retried: 0, dead: 0, throttled: 0, pausedDestinations: 0, resumedDestinations: 0 };

  constructor(
    private readonly deps: {
      deliveries: DeliveryStore;
      states: DestinationStateStore;
      transactor: Transactor;
      destinations: DestinationSource;
      sender: WebhookSender;
      clock: Clock;
      logger: Logger;
      owner: string;
      settings: DeliveryWorkerSettings;
      random?: () => number;
    },
  ) {}

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
      const states = await this.destinationStates(this.deps.clock.now());
      const open = this.deps.destinations
        .all()
        .filter((d) => d.enabled && !states.get(d.name)?.paused)
        .map((d) => d.name);
      const next = await this.deps.deliveries.nextDueAt(open);
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
      const released = await this.deps.deliveries.releaseExpiredClaims(
        this.deps.destinations.all().map((d) => d.name),
        now,
      );
      if (released) this.deps.logger.warn('took back deliveries whose worker stopped before finishing', { count: released });
    }
    const states = await this.destinationStates(now);
    if (now.getTime() - this.lastLineUp > LINE_UP_EVERY_MS || now.getTime() < this.lastLineUp) {
      this.lastLineUp = now.getTime();
      for (const d of this.deps.destinations.all()) {
        if (!d.enabled || states.get(d.name)?.paused) continue;
        const moved = await this.deps.deliveries.lineUpStalled(d.name);
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
      const claimed = await this.deps.deliveries.claimDue(d.name, this.deps.owner, free, now, this.claimTtl(d));
      if (claimed.length < free) {
        this.starved.set(d.name, seen);
        // Room to spare: a delivery that joined its line as the line emptied may have been left
        // waiting (possible on MySQL); the newest waiting ones are looked at, once a second at most.
        const last = this.lastNearSweep.get(d.name) ?? 0;
        if (now.getTime() - last >= 1000 || now.getTime() < last) {
          this.lastNearSweep.set(d.name, now.getTime());
          if (await this.deps.deliveries.lineUpStalled(d.name, { newest: 200 })) this.notify();
        }
      }
      else this.starved.delete(d.name);
      for (const delivery of claimed) this.dispatch(d, delivery, delivery.lastTrigger);
      worked = worked || claimed.length > 0;
    }
    return worked;
  }

  private statesCache: { at: number; map: Map<string, DestinationState> } | null = null;

  /** Pause state changes rarely: read it at most once a second (and after every local change). */
  private async destinationStates(now: Date): Promise<Map<string, DestinationState>> {
    if (!this.statesCache || now.getTime() - this.statesCache.at > 1000 || now.getTime() < this.statesCache.at) {
      this.statesCache = { at: now.getTime(), map: new Map((await this.deps.states.all()).map((s) => [s.name, s])) };
    }
    return this.statesCache.map;
  }

  /** Forget cached pause states (a pause or resume happened here, or came from outside). */
  invalidateStates(): void {
    this.statesCache = null;
  }

  /** Long enough for the rounds claimed ahead to time out one after another, and then some. */
  private claimTtl(d: OutboundDestination): number {
    return Math.max(this.deps.settings.claimTtlMs, d.timeoutMs * 2 + 30_000);
  }

  private async probe(d: OutboundDestination, st: DestinationState, now: Date): Promise<boolean> {
    const backoff = nextProbeBackoff(st.probeBackoffMs);
    if (!(await this.deps.states.takeProbe(d.name, now, new Date(now.getTime() + backoff), backoff))) return false;
    const delivery = await this.deps.deliveries.claimProbe(d.name, this.deps.owner, now, this.claimTtl(d));
    if (!delivery) {
      // Nothing waiting: nothing to prove the endpoint with, so it resumes and real traffic decides.
      if (await this.deps.states.resume(d.name, now)) this.resumed(d.name, 'nothing waiting to probe with');
      return false;
    }
    this.deps.logger.info('probing paused destination', { destination: d.name, delivery_id: delivery.id, next_probe_in_ms: backoff });
    this.dispatch(d, delivery, 'probe');
    return true;
  }

  private dispatch(d: OutboundDestination, delivery: Delivery, trigger: AttemptTrigger): void {
    this.inflight.set(d.name, (this.inflight.get(d.name) ?? 0) + 1);
    const target = { name: d.name, url: d.url, timeoutMs: d.timeoutMs, ratePerSecond: d.ratePerSecond, concurrency: d.concurrency };
    const p = this.deps.sender
      // Signed as the request starts, with the secrets active then: fresh timestamp, current keys.
      .send(target, { headers: { 'content-type': 'application/json', 'user-agent': 'leap-connector', ...d.headers }, body: delivery.body, sign: { id: delivery.id, secrets: d.secrets } })
      .then(({ request, result }) => this.settle(d, delivery, trigger, request.headers, result))
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

  private settle(d: OutboundDestination, delivery: Delivery, trigger: AttemptTrigger, headers: Record<string, string>, result: AttemptResult): void {
    const now = this.deps.clock.now();
    this.answered(d.name);
    let decision = decide(result, delivery.retryIndex, { scheduleMs: d.retryScheduleMs, jitter: d.jitter, deadOn: d.deadOn }, now, this.deps.random);
    // A failed probe is the destination's failure, not the delivery's: it keeps its place and its retries.
    if (trigger === 'probe' && decision.outcome !== 'delivered') decision = { ...decision, outcome: decision.outcome === 'dead' ? 'retry' : decision.outcome, nextAttemptAt: now, retryIndex: delivery.retryIndex, deadReason: null };
    const status = decision.outcome === 'delivered' ? 'delivered' : decision.outcome === 'dead' ? 'dead' : 'pending';
    const record: AttemptRecord = {
      deliveryId: delivery.id,
      destination: d.name,
      meterId: delivery.meterId,
      claimedBy: this.deps.owner,
      attemptNumber: delivery.attempts + 1,
      trigger,
      attempt: {
        trigger,
        startedAt: result.startedAt,
        durationMs: result.durationMs,
        url: d.url,
        requestHeaders: redactHeaders(headers),
        statusCode: result.status,
        responseHeaders: result.responseHeaders,
        responseBody: result.responseBody,
        errorClass: result.errorClass,
        errorMessage: result.errorMessage,
        outcome: decision.outcome as Outcome,
      },
      next: { status, nextAttemptAt: decision.nextAttemptAt, retryIndex: decision.retryIndex, countsAsAttempt: decision.outcome !== 'throttled', deadReason: decision.deadReason },
    };
    this.count(decision.outcome);
    if (decision.outcome === 'dead')
      this.deps.logger.warn('delivery is dead', { destination: d.name, delivery_id: delivery.id, meter_id: delivery.meterId, reason: decision.deadReason, status: result.status, error: result.errorClass });
    this.results.push({ record, destination: d.name, decision, status: result.status, at: now });
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
      // A 410 pauses its destination before its delivery is written back as due, so no worker sends it again first.
      for (const name of new Set(batch.filter((b) => b.decision.pauseDestination).map((b) => b.destination))) {
        if (await this.deps.states.pause(name, 'gone', now, null, 0).catch(() => false)) this.paused(name, 'gone', 'the endpoint answered 410 Gone; resume it by hand once it is back');
      }
      const byDest = groupBy(batch, (b) => b.destination);
      const states = new Map<string, DestinationState>();
      let chained: { d: OutboundDestination; deliveries: Delivery[] }[] = [];
      let unclaimed = 0;
      try {
        // Results and each destination's health in one transaction: one commit per batch.
        await this.deps.transactor.run(async (tx) => {
          chained = [];
          unclaimed = 0;
          const next = await this.deps.deliveries.record(
            tx,
            batch.map((b) => b.record),
            now,
          );
          for (const [name, items] of byDest) states.set(name, await this.deps.states.recordOutcomes(tx, name, outcomes(items), now));
          // The deliveries these results let go are claimed here and now: a later event of a meter
          // leaves as its earlier one is written back, without another claim query in between.
          for (const [name, ids] of next) {
            const d = this.deps.destinations.get(name);
            const free = !this.running || !d?.enabled || states.get(name)?.paused || byDest.get(name)?.some((b) => b.decision.pauseDestination) ? 0 : this.capacity(d) - (this.inflight.get(name) ?? 0);
            const claimed = free > 0 ? await this.deps.deliveries.claimIds(tx, ids.slice(0, free), this.deps.owner, now, this.claimTtl(d!)) : [];
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
      for (const [name, items] of byDest) await this.afterOutcomes(name, items, states.get(name)!, now).catch((err: unknown) => this.deps.logger.error('could not update destination health', { destination: name, err: errorMessage(err) }));
      // Results that let later deliveries go, not all claimed just now: a claim may find them.
      if (unclaimed > 0) this.generation += 1;
    })().finally(() => {
      this.flushing = null;
      this.poke();
    });
    await this.flushing;
  }

  /** Pause a destination that has failed too often, resume one whose probe went through. */
  private async afterOutcomes(name: string, items: Pending[], state: DestinationState, now: Date): Promise<void> {
    const d = this.deps.destinations.get(name);
    if (state.paused && state.pausedReason === 'failures' && items.some((s) => s.decision.outcome === 'delivered' && s.record.trigger === 'probe')) {
      if (await this.deps.states.resume(name, now)) this.resumed(name, 'probe delivered');
      return;
    }
    if (items.some((i) => i.decision.pauseDestination)) return; // paused before the results were written
    const limit = d?.pauseAfterFailures ?? 0;
    if (limit > 0 && !state.paused && state.consecutiveFailures >= limit) {
      const backoff = nextProbeBackoff(0);
      if (await this.deps.states.pause(name, 'failures', now, new Date(now.getTime() + backoff), backoff))
        this.paused(name, 'failures', `${state.consecutiveFailures} consecutive failures; its deliveries wait and a probe retries it`);
    }
  }

  private paused(name: string, reason: string, why: string): void {
    this.invalidateStates();
    this.counters.pausedDestinations += 1;
    this.deps.logger.warn(`destination ${name} paused: ${why}`, { destination: name, reason });
  }

  private resumed(name: string, why: string): void {
    this.invalidateStates();
    this.counters.resumedDestinations += 1;
    this.deps.logger.info(`destination ${name} resumed: ${why}`, { destination: name });
  }
}
