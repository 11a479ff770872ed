import type { Decision } from '../../domain/delivery';
import { nextProbeBackoff } from '../../domain/delivery';
import type { DestinationSource } from '../../domain/destination';
import type { Logger } from '../../logger';
import type { AttemptRecord } from '../../stores/deliveries/rows';
import type { DestinationState, DestinationStateStore } from '../../stores/destination-state-store';
import type { Tx } from '../../stores/transaction';

/** An attempt answered and decided, waiting to be written with the next batch of results. */
export interface SettledAttempt {
  record: AttemptRecord;
  destination: string;
  decision: Decision;
  status: number | null;
  at: Date;
}

export interface HealthCounters {
  pausedDestinations: number;
  resumedDestinations: number;
}

/** What a batch of one destination's results says about its health, in order. */
function outcomes(items: readonly SettledAttempt[]): { successes: number; failures: number; failuresAfterLastSuccess: number; lastStatus: number | null; lastSuccessAt: Date | null; lastFailureAt: Date | null } {
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

/**
 * Each destination's health as the workers see it: paused or not (read at most once a second),
 * its record of successes and failures, the breaker that pauses it after too many failures in a
 * row and the probe that resumes it, and a 410 Gone that pauses it until a person resumes it.
 */
export class DestinationHealth {
  private cache: { at: number; map: Map<string, DestinationState> } | null = null;

  constructor(
    private readonly deps: {
      states: DestinationStateStore;
      destinations: DestinationSource;
      logger: Logger;
      counters: HealthCounters;
    },
  ) {}

  /** Pause state changes rarely: read it at most once a second (and after every local change). */
  async states(now: Date): Promise<Map<string, DestinationState>> {
    if (!this.cache || now.getTime() - this.cache.at > 1000 || now.getTime() < this.cache.at) {
      this.cache = { at: now.getTime(), map: new Map((await this.deps.states.all()).map((s) => [s.name, s])) };
    }
    return this.cache.map;
  }

  /** Forget cached pause states (a pause or resume happened here, or came from outside). */
  invalidate(): void {
    this.cache = null;
  }

  /** A 410 pauses its destination before its delivery is written back as due, so no worker sends it again first. */
  async pauseGone(batch: readonly SettledAttempt[], now: Date): Promise<void> {
    for (const name of new Set(batch.filter((b) => b.decision.pauseDestination).map((b) => b.destination))) {
      if (await this.deps.states.pause(name, 'gone', now, null, 0).catch(() => false)) this.paused(name, 'gone', 'the endpoint answered 410 Gone; resume it by hand once it is back');
    }
  }

  /** One destination's results, recorded in the transaction that writes them. */
  record(tx: Tx, name: string, items: readonly SettledAttempt[], now: Date): Promise<DestinationState> {
    return this.deps.states.recordOutcomes(tx, name, outcomes(items), now);
  }

  /**
   * A paused destination's turn to be probed: the probe is taken (no other worker probes it
   * meanwhile) and the next one scheduled. False when another worker took it.
   */
  async takeProbe(name: string, st: DestinationState, now: Date): Promise<{ backoffMs: number } | null> {
    const backoffMs = nextProbeBackoff(st.probeBackoffMs);
    if (!(await this.deps.states.takeProbe(name, now, new Date(now.getTime() + backoffMs), backoffMs))) return null;
    return { backoffMs };
  }

  /** Nothing waiting: nothing to prove the endpoint with, so it resumes and real traffic decides. */
  async resumeIdle(name: string, now: Date): Promise<void> {
    if (await this.deps.states.resume(name, now)) this.resumed(name, 'nothing waiting to probe with');
  }

  /** Pause a destination that has failed too often, resume one whose probe went through. */
  async after(name: string, items: readonly SettledAttempt[], state: DestinationState, now: Date): Promise<void> {
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
    this.invalidate();
    this.deps.counters.pausedDestinations += 1;
    this.deps.logger.warn(`destination ${name} paused: ${why}`, { destination: name, reason });
  }

  private resumed(name: string, why: string): void {
    this.invalidate();
    this.deps.counters.resumedDestinations += 1;
    this.deps.logger.info(`destination ${name} resumed: ${why}`, { destination: name });
  }
}
