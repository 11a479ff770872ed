import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Express } from 'express';
import type { Knex } from 'knex';
import { LeapClient } from './clients/leap-client';
import type { Config } from './config/schema';
import { configSecrets } from './config/load';
import { createKnex } from './db/knex';
import { systemClock, type Clock } from './domain/clock';
import { parseDuration } from './domain/duration';
import { parseSchedule } from './domain/schedule';
import { createApp } from './http/app';
import { createLogger, type Logger, type Redactor } from './logger';
import { HealthService } from './services/health-service';
import { LeapEventService } from './services/leap-event-service';
import { MeterQueryService } from './services/meter-query-service';
import { SyncAdminService } from './services/sync-admin-service';
import { SyncScheduler } from './services/sync-scheduler';
import { SyncService, type EventSink } from './services/sync-service';
import { DatabaseStore } from './stores/database-store';
import { EventStore } from './stores/event-store';
import { LeapEventStore } from './stores/leap-event-store';
import { LeaseStore } from './stores/lease-store';
import { MeterStore } from './stores/meter-store';
import { SyncRunStore } from './stores/sync-run-store';
import { SyncStateStore } from './stores/sync-state-store';
import { Transactor } from './stores/transaction';

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
}

export interface Composed {
  config: Readonly<Config>;
  logger: Logger;
  redactor: Redactor | null;
  clock: Clock;
  owner: string;
  db: Knex;
  database: DatabaseStore;
  stores: { meters: MeterStore; events: EventStore; state: SyncStateStore; runs: SyncRunStore; leases: LeaseStore; leapEvents: LeapEventStore };
  leap: LeapClient;
  sync: SyncService;
  scheduler: SyncScheduler;
  leapEvents: LeapEventService;
  health: HealthService;
  app: Express;
  /** Start background work: scheduled sync passes, unfinished Leap event refreshes. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function leapClientFor(config: Readonly<Config>, logger: Logger): LeapClient {
  const l = config.leap;
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
  const db = overrides.db ?? createKnex(config.database.url, { poolMax: config.database.pool_max });
  const database = new DatabaseStore(db);
  const stores = {
    meters: new MeterStore(db),
    events: new EventStore(db),
    state: new SyncStateStore(db),
    runs: new SyncRunStore(db),
    leases: new LeaseStore(db),
    leapEvents: new LeapEventStore(db),
  };
  const transactor = new Transactor(db);
  const ownsLeap = !overrides.leap;
  const leap = overrides.leap ?? leapClientFor(config, logger.child({ component: 'leap' }));

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
    sink: overrides.sink,
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
  });
  const health = new HealthService(database, () => true);
  const app = createApp({
    logger: logger.child({ component: 'http' }),
    bodyLimit: config.server.body_limit,
    apiKeys: config.api.keys,
    health,
    leapEvents,
    syncAdmin: new SyncAdminService({ runs: stores.runs, events: stores.events, scheduler }),
    meters: new MeterQueryService({ meters: stores.meters, events: stores.events, sync }),
  });

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
    health,
    app,
    async start() {
      if (config.sync.enabled) scheduler.start();
      const resumed = await leapEvents.resume();
      if (resumed) logger.info('resuming refreshes for Leap events received before a restart', { events: resumed });
    },
    async close() {
      await scheduler.stop();
      await leapEvents.stop();
      if (ownsLeap) await leap.close();
      if (ownsDb) await db.destroy();
    },
  };
}
