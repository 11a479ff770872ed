import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LeapCallObserver, LeapCallStatus, LeapEndpoint } from '../clients/leap-client';
import type { Clock } from '../domain/clock';
import type { Outcome } from '../domain/delivery';
import type { DestinationSource } from '../domain/destination';
import { METER_EVENT_TYPES, type MeterEvent } from '../domain/events';
import { ENROLLMENT_STATUSES, LEAP_WEBHOOK_EVENT_TYPES } from '../domain/leap-types';
import { READINESS_STATES } from '../domain/readiness';
import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import type { DeliveryAdminStore } from '../stores/deliveries/admin-store';
import type { DestinationQueueStats } from '../stores/deliveries/rows';
import type { DestinationState, DestinationStateStore } from '../stores/destination-state-store';
import type { MeterStore } from '../stores/meter-store';
import type { ReadinessStore } from '../stores/readiness-store';
import type { SyncRun, SyncRunStore } from '../stores/sync-run-store';
import type { StreamState, SyncStateStore } from '../stores/sync-state-store';
import type { Tx } from '../stores/transaction';
import type { EventSink } from './sync/page-writer';
import { parseLeapInstant } from '../domain/timestamps';

export const METRIC_PREFIX = 'leap_connector_';

/** What a destination is doing, as one label value. */
export const DESTINATION_STATES = ['active', 'paused', 'breaker_open', 'gone', 'disabled'] as const;
export type SyncRunOutcome = 'succeeded' | 'failed' | 'busy';
export type LeapEventOutcome = 'accepted' | 'duplicate' | 'ignored';

export interface MetricsDeps {
  meters: MeterStore;
  runs: SyncRunStore;
  state: SyncStateStore;
  deliveries: DeliveryAdminStore;
  destinationStates: DestinationStateStore;
  readiness: ReadinessStore;
  destinations: DestinationSource;
  clock: Clock;
  logger: Logger;
}

/** What the gauges read from the database, once per scrape. */
interface Snapshot {
  meters: { status: string | null; meters: number }[];
  lastSucceeded: { kind: 'incremental' | 'full'; run: SyncRun | undefined }[];
  cursors: StreamState[];
  queues: DestinationQueueStats[];
  destinationStates: DestinationState[];
  readiness: Partial<Record<string, number>>;
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The connector's Prometheus metrics: a registry of its own per composed connector (several in
 * one process must not share counters). Counters move where things happen (the Leap client, the
 * sync, the delivery worker, Leap's webhooks); gauges that need the database are read at scrape
 * time, all from one snapshot of aggregate queries.
 */
export class Metrics {
  readonly registry = new Registry();
  private defaultsRegistered = false;
  private snapshot: Promise<Snapshot | null> | null = null;

  private readonly leapRequests = this.counter('leap_requests_total', "Requests to Leap's API, retries included, by endpoint and status class.", ['endpoint', 'status']);
  private readonly leapDuration = new Histogram({
    name: `${METRIC_PREFIX}leap_request_duration_seconds`,
    help: "Time from sending a request to Leap to its whole answer (or its failure), per attempt.",
    labelNames: ['endpoint'],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly leapRateLimited = this.counter('leap_rate_limited_total', "Answers from Leap that were 429 Too Many Requests.", []);
  private readonly syncRuns = this.counter('sync_runs_total', 'Sync passes that ended, by kind and outcome (busy: another process held the sync lease).', ['kind', 'outcome']);
  private readonly meterEvents = this.counter('meter_events_total', 'Meter events committed, by type.', ['type']);
  private readonly deliveries = this.counter('deliveries_total', 'Delivery attempts answered, by destination and outcome: delivered, retried, throttled (429, not counted as an attempt), dead.', ['destination', 'outcome']);
  private readonly attemptDuration = new Histogram({
    name: `${METRIC_PREFIX}delivery_attempt_duration_seconds`,
    help: 'Time of one delivery attempt, from sending the request to the whole answer.',
    labelNames: ['destination'],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly leapEvents = this.counter('leap_events_received_total', "Leap's webhooks received at /leap/events, by event type and outcome.", ['type', 'outcome']);
  private readonly scrapeFailures = this.counter('scrape_query_failures_total', 'Scrapes whose database queries failed (their gauges were left out).', []);

  constructor(private readonly deps: MetricsDeps) {
    this.gauge('sync_last_success_timestamp_seconds', 'When the last successful sync pass of each kind finished (Unix time); absent before the first.', ['kind'], (g, s) => {
      for (const { kind, run } of s.lastSucceeded) if (run?.finishedAt) g.set({ kind }, run.finishedAt.getTime() / 1000);
    });
    this.gauge('sync_cursor_lag_seconds', "How far each stream's committed cursor (the newest Leap change it has seen) is behind now; grows on a quiet portfolio too.", ['stream'], (g, s) => {
      const now = this.deps.clock.now().getTime();
      for (const c of s.cursors) {
        const at = c.cursor ? parseLeapInstant(c.cursor) : null;
        if (at) g.set({ stream: c.name }, Math.max(0, (now - at.ms) / 1000));
      }
    });
    this.gauge('meters', "Stored meters by Leap's enrollment status (archived meters keep their last; none: not read yet).", ['status'], (g, s) => {
      for (const status of ENROLLMENT_STATUSES) g.set({ status }, 0);
      for (const m of s.meters) g.inc({ status: m.status === null ? 'none' : (ENROLLMENT_STATUSES as readonly string[]).includes(m.status) ? m.status : 'other' }, m.meters);
    });
    this.gauge('delivery_queue_depth', 'Deliveries waiting to be sent (pending or in line behind an earlier one of their meter), per destination.', ['destination'], (g, s) => {
      for (const name of this.destinationNames(s)) g.set({ destination: name }, s.queues.find((q) => q.destination === name)?.pending ?? 0);
    });
    this.gauge('delivery_oldest_pending_seconds', 'Age of the oldest delivery still waiting to be sent, per destination (0: none waiting).', ['destination'], (g, s) => {
      const now = this.deps.clock.now().getTime();
      for (const name of this.destinationNames(s)) {
        const oldest = s.queues.find((q) => q.destination === name)?.oldestPendingAt;
        g.set({ destination: name }, oldest ? Math.max(0, (now - oldest.getTime()) / 1000) : 0);
      }
    });
    this.gauge('destination_state', 'What each destination is doing: 1 for its state, 0 for the others.', ['destination', 'state'], (g, s) => {
      const states = new Map(s.destinationStates.map((d) => [d.name, d]));
      for (const name of this.destinationNames(s)) {
        const current = destinationState(this.deps.destinations.get(name)?.enabled ?? false, states.get(name));
        for (const state of DESTINATION_STATES) g.set({ destination: name, state }, state === current ? 1 : 0);
      }
    });
    this.gauge('readiness_meters', 'Meters by dispatch-readiness state.', ['state'], (g, s) => {
      for (const state of READINESS_STATES) g.set({ state }, s.readiness[state] ?? 0);
    });
  }

  /** The Prometheus text, default process metrics included. */
  async scrape(): Promise<{ contentType: string; text: string }> {
    if (!this.defaultsRegistered) {
      // Registered at the first scrape: a connector nobody scrapes (a command, a test) does not watch GC and the event loop.
      collectDefaultMetrics({ register: this.registry });
      this.defaultsRegistered = true;
    }
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  /** Names of the connector's own metrics (the default process metrics left out). */
  names(): string[] {
    return this.registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .filter((n) => n.startsWith(METRIC_PREFIX))
      .sort();
  }

  /** What the Leap client reports of each attempt. */
  readonly leap: LeapCallObserver = {
    answered: (endpoint: LeapEndpoint, status: LeapCallStatus, seconds: number) => {
      this.leapRequests.inc({ endpoint, status: statusLabel(status) });
      this.leapDuration.observe({ endpoint }, seconds);
      if (status === 429) this.leapRateLimited.inc();
    },
  };

  syncRun(kind: 'incremental' | 'full', outcome: SyncRunOutcome): void {
    this.syncRuns.inc({ kind, outcome });
  }

  /** An event sink that counts the events `sink` was given, once their transaction commits (a dry run's never do). */
  countingSink(sink: EventSink): EventSink {
    return {
      enqueue: async (tx: Tx, events: readonly MeterEvent[]) => {
        await sink.enqueue(tx, events);
        // The types now: the caller may add to its array afterwards (the page writer does).
        const types = events.map((e) => e.type);
        if (types.length) tx.executionPromise.then(() => this.countEvents(types), () => undefined);
      },
      ...(sink.wants ? { wants: (type: string) => sink.wants!(type) } : {}),
    };
  }

  private countEvents(types: readonly string[]): void {
    for (const type of types) this.meterEvents.inc({ type: (METER_EVENT_TYPES as readonly string[]).includes(type) ? type : 'other' });
  }

  deliveryAnswered(destination: string, outcome: Outcome, seconds: number): void {
    this.deliveries.inc({ destination, outcome: outcome === 'retry' ? 'retried' : outcome });
    this.attemptDuration.observe({ destination }, seconds);
  }

  leapEventReceived(type: string, outcome: LeapEventOutcome): void {
    this.leapEvents.inc({ type: (LEAP_WEBHOOK_EVENT_TYPES as readonly string[]).includes(type) ? type : 'other', outcome });
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[]): Counter<L> {
    return new Counter({ name: `${METRIC_PREFIX}${name}`, help, labelNames, registers: [this.registry] });
  }

  private gauge(name: string, help: string, labelNames: string[], fill: (g: Gauge, s: Snapshot) => void): void {
    const current = () => this.current();
    new Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames,
      registers: [this.registry],
      // prom-client calls collect() with the gauge as `this`.
      async collect() {
        this.reset();
        const s = await current();
        if (s) fill(this, s);
      },
    });
  }

  /** The gauges of one scrape collect together: they share one set of queries. */
  private current(): Promise<Snapshot | null> {
    this.snapshot ??= this.read().finally(() => {
      this.snapshot = null;
    });
    return this.snapshot;
  }

  private async read(): Promise<Snapshot | null> {
    const d = this.deps;
    try {
      const [meters, incremental, full, cursors, queues, destinationStates, readiness] = await Promise.all([
        d.meters.countByStatus(),
        d.runs.lastSucceeded('incremental'),
        d.runs.lastSucceeded('full'),
        d.state.all(),
        d.deliveries.queueStats(),
        d.destinationStates.all(),
        d.readiness.counts(),
      ]);
      return { meters, lastSucceeded: [{ kind: 'incremental', run: incremental }, { kind: 'full', run: full }], cursors, queues, destinationStates, readiness };
    } catch (err) {
      this.scrapeFailures.inc();
      d.logger.warn('metrics: could not read the database; its gauges are left out of this scrape', { err: errorMessage(err) });
      return null;
    }
  }

  /** Configured destinations, and any that still has deliveries stored. */
  private destinationNames(s: Snapshot): string[] {
    return [...new Set([...this.deps.destinations.all().map((d) => d.name), ...s.queues.map((q) => q.destination)])].sort();
  }
}

function destinationState(enabled: boolean, s: DestinationState | undefined): (typeof DESTINATION_STATES)[number] {
  if (!enabled) return 'disabled';
  if (!s?.paused) return 'active';
  return s.pausedReason === 'failures' ? 'breaker_open' : s.pausedReason === 'gone' ? 'gone' : 'paused';
}

function statusLabel(status: LeapCallStatus): string {
  return typeof status === 'number' ? `${Math.floor(status / 100)}xx` : status;
}
