import type { Express } from 'express';
import type { Knex } from 'knex';
import type { Config } from './config/schema';
import { configSecrets } from './config/load';
import { createKnex } from './db/knex';
import { systemClock, type Clock } from './domain/clock';
import { createApp } from './http/app';
import { createLogger, type Logger, type Redactor } from './logger';
import { HealthService } from './services/health-service';
import { DatabaseStore } from './stores/database-store';

export interface Overrides {
  logger: Logger;
  db: Knex;
  clock: Clock;
}

export interface Composed {
  config: Readonly<Config>;
  logger: Logger;
  redactor: Redactor | null;
  clock: Clock;
  db: Knex;
  database: DatabaseStore;
  health: HealthService;
  app: Express;
  close(): Promise<void>;
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
  const ownsDb = !overrides.db;
  const db = overrides.db ?? createKnex(config.database.url, { poolMax: config.database.pool_max });
  const database = new DatabaseStore(db);
  const health = new HealthService(database, () => true);
  const app = createApp({ logger: logger.child({ component: 'http' }), health, bodyLimit: config.server.body_limit });

  return {
    config,
    logger,
    redactor,
    clock,
    db,
    database,
    health,
    app,
    async close() {
      if (ownsDb) await db.destroy();
    },
  };
}
