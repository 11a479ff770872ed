import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Express } from 'express';
import type { Knex } from 'knex';
import path from 'node:path';
import { type LeapCallObserver, LeapClient } from '../clients/leap-client';
import { WebhookSender } from '../clients/webhook-sender';
import type { Config } from '../config/schema';
import { configSecrets } from '../config/load';
import { createKnex } from '../db/knex';
import { SharedLimits } from '../clients/shared-limits';
import { ConfigError } from '../errors';
import { systemClock, type Clock } from '../domain/clock';
import { parseDuration } from '../domain/duration';
import { parseSchedule } from '../domain/schedule';
import { createApp } from '../http/app';
import { createLogger, type Logger, type Redactor } from '../logger';
import { DestinationRegistry } from '../mapping/destinations';
import { DeliveryAdminService } from '../services/delivery/admin-service';
import { DeliveryWorker } from '../services/delivery/delivery-worker';
import type { DestinationSource } from '../domain/destination';
import { HealthService } from '../services/health-service';
import { Metrics } from '../services/metrics';
import { OutboxService } from '../services/delivery/outbox-service';
import { ReplayService } from '../services/delivery/replay-service';
import { LeapEventService } from '../services/leap-event-service';
import { MeterQueryService } from '../services/meter-query-service';
import { SyncAdminService } from '../services/sync/admin-service';
import { SyncScheduler } from '../services/sync/scheduler';
import type { EventSink } from '../services/sync/page-writer';
import { SyncService } from '../services/sync/sync-service';
import { type PageSource, SyncPageThread } from '../services/sync/page-source';
import { DatabaseStore } from '../stores/database-store';
import { DeliveryAdminStore } from '../stores/deliveries/admin-store';
import { AttemptStore } from '../stores/deliveries/attempt-store';
import { DeliveryQueueStore } from '../stores/deliveries/queue-store';
import { DestinationStateStore } from '../stores/destination-state-store';
import { EventStore } from '../stores/event-store';
import { LeapEventStore } from '../stores/leap-event-store';
import { LeaseStore } from '../stores/lease-store';
import { MeterStore } from '../stores/meter-store';
import { ReplayJobStore } from '../stores/replay-job-store';
import { SyncRunStore } from '../stores/sync-run-store';
import { SyncStateStore } from '../stores/sync-state-store';
import { Transactor } from '../stores/transaction';
import { IdempotencyStore } from '../stores/idempotency-store';
import { ReadinessStore } from '../stores/readiness-store';
import { ConsoleSessionStore } from '../stores/console-session-store';
import { ConsoleSessionService } from '../services/console-sessions';
import { ReadinessDeadlineCheck } from '../services/readiness/deadline-check';
import { ReadinessService } from '../services/readiness/readiness-service';
import { ReadinessWriter } from '../services/readiness/readiness-writer';
import { SyncReadinessTracker } from '../services/readiness/sync-tracker';
import { AnnotationWriter } from '../services/annotation-writer';
import { RosterDriftTracker } from '../services/market-groups/drift-tracker';
import { RosterService } from '../services/market-groups/roster-service';
import { MarketGroupStore } from '../stores/market-group-store';
import { inTurn } from '../services/sync/page-writer';

export interface Overrides {
  logger: Logger;
  db: Knex;
  clock: Clock;
  leap: LeapClient;
  /** Identity of this process in leases and runs. */
  owner: string;
  sink: EventSink;
  /** How often the scheduler checks for due passes. */
  schedulerTickMs: number;
  /** Destinations from somewhere else than the configured folder (tests). */
  destinations: DestinationSource;
  sender: WebhookSender;
  random: () => number;
  /** Where whole-portfolio walks parse and pair their pages (default: the sync's page thread). */
  pages: PageSource;
}

export interface Composed {
  config: Readonly<Config>;
  logger: Logger;
  redactor: Redactor | null;
  clock: Clock;
  owner: string;
  db: Knex;
  database: DatabaseStore;
  stores: {
    meters: MeterStore;
    events: EventStore;
    state: SyncStateStore;
    runs: SyncRunStore;
    leases: LeaseStore;
    leapEvents: LeapEventStore;
    /** The outbox: enqueued by the sync, claimed by the workers. */
    deliveryQueue: DeliveryQueueStore;
    attempts: AttemptStore;
    /** Deliveries as support reads and replays them. */
    deliveries: DeliveryAdminStore;
    destinationStates: DestinationStateStore;
    replayJobs: ReplayJobStore;
    readiness: ReadinessStore;
    idempotency: IdempotencyStore;
    marketGroups: MarketGroupStore;
  };
  leap: LeapClient;
  sync: SyncService;
  scheduler: SyncScheduler;
  leapEvents: LeapEventService;
  destinations: DestinationSource;
  /** The folder-backed registry, when destinations come from config (reload on SIGHUP). */
  registry: DestinationRegistry | null;
  outbox: OutboxService;
  worker: DeliveryWorker;
  replays: ReplayService;
  deliveryAdmin: DeliveryAdminService;
  /** Sync runs and meter events as support reads them (the admin API, the console and the CLI). */
  syncAdmin: SyncAdminService;
  readiness: ReadinessService;
  rosters: RosterService;
  deadlines: ReadinessDeadlineCheck;
  health: HealthService;
  /** This connector's Prometheus registry and the counters the services move. */
  metrics: Metrics;
  app: Express;
  /** Start background work: scheduled sync passes, unfinished Leap event refreshes. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function leapClientFor(config: Readonly<Config>, logger: Logger, shared?: SharedLimits, observer?: LeapCallObserver): LeapClient {
  const l = config.leap;
  // Every replica's calls count against the one Leap limit when they share Redis.
  const limiter = shared?.limiter('leap', { ratePerSecond: l.rate_limit.requests_per_second, maxConcurrent: l.rate_limit.max_concurrent });
  return new LeapClient(
    {
      baseUrl: l.base_url,
      apiKey: l.api_key,
      apiVersion: l.api_version,
      accountId: l.account_id || undefined,
      pageSize: l.page_size,
      timeoutMs: l.timeout_ms,
      rateLimit: { requestsPerSecond: l.rate_limit.requests_per_second, maxConcurrent: l.rate_limit.max_concurrent },
      retry: { maxAttempts: l.retry.max_attempts, baseDelayMs: l.retry.base_delay_ms, maxDelayMs: l.retry.max_delay_ms },
      userAgent: 'leap-connector',
    },
    logger,
    { ...(limiter ? { limiter } : {}), ...(observer ? { observer } : {}) },
  );
}

/** The composition root: the only place that builds infrastructure, stores, clients and services. */
export function compose(config: Readonly<Config>, overrides: Partial<Overrides> = {}): Composed {
  let redactor: Redactor | null = null;
  let logger = overrides.logger;
  if (!logger) {
    const created = createLogger({ level: config.log.level, format: config.log.format, secrets: configSecrets(config) });
    logger = created.logger;
    redactor = created.redactor;
  }
  const clock = overrides.clock ?? systemClock;
  const owner = overrides.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const ownsDb = !overrides.db;
  const log = logger;
  const db =
    overrides.db ??
    createKnex(config.database.url, {
      poolMax: config.database.pool_max,
      onCheckpointError: (message) => log.warn('the SQLite checkpointer stopped; SQLite copies its log back by itself from 128 MB on', { err: message }),
    });
  const database = new DatabaseStore(db);
  const meters = new MeterStore(db);
  const stores = {
    meters,
    events: new EventStore(db, meters),
    state: new SyncStateStore(db),
    runs: new SyncRunStore(db),
    leases: new LeaseStore(db),
    leapEvents: new LeapEventStore(db),
    deliveryQueue: new DeliveryQueueStore(db),
    attempts: new AttemptStore(db),
    deliveries: new DeliveryAdminStore(db),
    destinationStates: new DestinationStateStore(db),
    replayJobs: new ReplayJobStore(db),
    readiness: new ReadinessStore(db),
    idempotency: new IdempotencyStore(db),
    marketGroups: new MarketGroupStore(db),
  };
  const transactor = new Transactor(db);
  const limits = config.redis.url ? new SharedLimits(config.redis.url, config.redis.key_prefix, logger.child({ component: 'rate-limits' })) : null;

  let registry: DestinationRegistry | null = null;
  let destinations = overrides.destinations;
  const destinationsDir = config.destinations.dir;
  if (!destinations && destinationsDir === null) {
    // No folder named and none beside the configuration file; a folder named in config must exist.
    logger.warn('no destinations folder: events are stored but sent nowhere (create one beside the configuration file, or set destinations.dir)');
    destinations = { all: () => [], get: () => undefined };
  }
  if (!destinations) {
    registry = new DestinationRegistry({ dir: path.resolve(destinationsDir!), env: process.env, logger: logger.child({ component: 'destinations' }) });
    const { problems } = registry.load();
    if (problems.length) throw new ConfigError(problems, 'Invalid destination configuration');
    destinations = registry;
  }
  const metrics = new Metrics({ ...stores, destinations, clock, logger: logger.child({ component: 'metrics' }) });
  const ownsLeap = !overrides.leap;
  const leap = overrides.leap ?? leapClientFor(config, logger.child({ component: 'leap' }), limits ?? undefined, metrics.leap);
  const keepSecretsOutOfLogs = () => {
    for (const d of registry?.all() ?? []) for (const v of d.sensitiveValues) redactor?.add(v);
  };
  keepSecretsOutOfLogs();
  registry?.onChange(keepSecretsOutOfLogs);
  const outbox = new OutboxService({ destinations, queue: stores.deliveryQueue, clock, logger: logger.child({ component: 'outbox' }) });
  const ownsSender = !overrides.sender;
  const sender =
    overrides.sender ??
    new WebhookSender(limits ? { limiterFactory: (t) => limits.limiter(`destination:${t.name}`, { ratePerSecond: t.ratePerSecond!, maxConcurrent: t.concurrency }) } : {});
  const worker = new DeliveryWorker({
    queue: stores.deliveryQueue,
    attempts: stores.attempts,
    states: stores.destinationStates,
    transactor,
    destinations,
    sender,
    clock,
    logger: logger.child({ component: 'delivery' }),
    owner,
    settings: { pollMs: parseDuration(config.delivery.poll_interval), claimTtlMs: parseDuration(config.delivery.claim_ttl), flushMs: 20 },
    random: overrides.random,
    metrics,
  });
  outbox.onEnqueued(() => worker.notify());
  const replays = new ReplayService({
    deliveries: stores.deliveries,
    jobs: stores.replayJobs,
    events: stores.events,
    destinations,
    clock,
    logger: logger.child({ component: 'replay' }),
    owner,
    notify: () => worker.notify(),
  });
  const deliveryAdmin = new DeliveryAdminService({ deliveries: stores.deliveries, attempts: stores.attempts, states: stores.destinationStates, destinations, clock, logger: logger.child({ component: 'destinations' }), rejected: () => registry?.rejected() ?? [], notify: () => {
      worker.invalidateStates();
      worker.notify();
    } });
  // Bulk replays run in the background here, one runner at a time; any replica may pick a job up.
  let replayRun: Promise<number> | null = null;
  const runReplayJobs = () => {
    replayRun ??= replays
      .runPending()
      .catch((err: unknown) => {
        logger.error('bulk replay stopped', { err: err instanceof Error ? err.message : String(err) });
        return 0;
      })
      .finally(() => {
        replayRun = null;
      });
  };

  // Events are counted as their transaction commits, whichever sink takes them.
  const sink = metrics.countingSink(overrides.sink ?? outbox);
  const annotations = new AnnotationWriter({ meters, events: stores.events, sink });
  const readinessWriter = new ReadinessWriter({ readiness: stores.readiness, annotations });
  const rosters = new RosterService({ groups: stores.marketGroups, meters, transactor, clock });
  const readiness = new ReadinessService({ transactor, meters, readiness: stores.readiness, idempotency: stores.idempotency, writer: readinessWriter, clock, sink });
  const deadlines = new ReadinessDeadlineCheck({
    transactor,
    meters,
    readiness: stores.readiness,
    idempotency: stores.idempotency,
    leases: stores.leases,
    writer: readinessWriter,
    clock,
    logger: logger.child({ component: 'readiness' }),
    owner,
    overdueAfterMs: parseDuration(config.readiness.overdue_after),
    everyMs: parseDuration(config.readiness.check_every),
  });

  // Started at the first whole-portfolio walk; held alive only while it has pages to work on.
  const pageThread = overrides.pages ? null : new SyncPageThread();
  const sync = new SyncService({
    leap,
    transactor,
    ...stores,
    clock,
    logger: logger.child({ component: 'sync' }),
    settings: {
      apiVersion: config.leap.api_version,
      overlapMs: parseDuration(config.sync.overlap),
      leaseTtlMs: parseDuration(config.sync.lease_ttl),
      fillMissingPartsLimit: config.sync.fill_missing_parts_limit,
    },
    owner,
    sink,
    afterWrite: inTurn(new SyncReadinessTracker({ readiness: stores.readiness, writer: readinessWriter }), new RosterDriftTracker({ groups: stores.marketGroups, annotations })),
    pages: overrides.pages ?? pageThread!,
    metrics,
  });
  const scheduler = new SyncScheduler({
    sync,
    runs: stores.runs,
    clock,
    logger: logger.child({ component: 'scheduler' }),
    incremental: parseSchedule(config.sync.incremental_every),
    full: parseSchedule(config.sync.full_every),
    tickMs: overrides.schedulerTickMs,
  });
  const leapEvents = new LeapEventService({
    store: stores.leapEvents,
    sync,
    clock,
    logger: logger.child({ component: 'leap-events' }),
    settings: { enabled: config.leap_events.enabled, headerName: config.leap_events.header_name, secret: config.leap_events.secret },
    metrics,
  });
  const health = new HealthService(database, () => true, () => registry?.rejected() ?? []);
  const syncAdmin = new SyncAdminService({ runs: stores.runs, events: stores.events, scheduler, state: stores.state });
  const meterQueries = new MeterQueryService({ meters: stores.meters, events: stores.events, readiness });
  const app = createApp({
    logger: logger.child({ component: 'http' }),
    bodyLimit: config.server.body_limit,
    apiKeys: config.api.keys,
    health,
    leapEvents,
    syncAdmin,
    meters: meterQueries,
    readiness,
    rosters,
    deliveryAdmin,
    replays,
    startReplayJobs: runReplayJobs,
    console: config.console.enabled
      ? {
          sessions: new ConsoleSessionService({ keys: config.api.keys, store: new ConsoleSessionStore(db), ttlMs: parseDuration(config.console.session_ttl), clock, logger: logger.child({ component: 'console' }) }),
          clock,
          logger: logger.child({ component: 'console' }),
          syncAdmin,
          deliveryAdmin,
          replays,
          startReplayJobs: runReplayJobs,
          meters: meterQueries,
          readiness,
          rosters,
          destinationFile: (name) => registry?.get(name)?.file ?? null,
        }
      : null,
    metrics: config.metrics.enabled ? { metrics, requireKey: config.metrics.require_key } : null,
  });
  let replayTimer: NodeJS.Timeout | null = null;

  return {
    config,
    logger,
    redactor,
    clock,
    owner,
    db,
    database,
    stores,
    leap,
    sync,
    scheduler,
    leapEvents,
    destinations,
    registry,
    outbox,
    worker,
    replays,
    deliveryAdmin,
    syncAdmin,
    readiness,
    rosters,
    deadlines,
    health,
    metrics,
    app,
    async start() {
      if (limits && !(await limits.ready())) logger.warn('Redis is not answering: rate limits are kept by this process alone until it does');
      if (config.sync.enabled) scheduler.start();
      deadlines.start();
      const resumed = await leapEvents.resume();
      if (resumed) logger.info('resuming refreshes for Leap events received before a restart', { events: resumed });
      if (config.delivery.enabled) {
        worker.start();
        runReplayJobs();
        replayTimer = setInterval(runReplayJobs, 10_000);
        replayTimer.unref();
      }
      if (config.destinations.watch) registry?.watch();
    },
    async close() {
      if (replayTimer) clearInterval(replayTimer);
      registry?.close();
      await scheduler.stop();
      await deadlines.stop();
      await leapEvents.stop();
      await pageThread?.close();
      await worker.stop();
      await replayRun;
      if (ownsSender) await sender.close();
      if (ownsLeap) await leap.close();
      await limits?.close();
      if (ownsDb) await db.destroy();
    },
  };
}
