import type { Config } from '../config/schema';
import { createKnex } from '../db/knex';
import { DatabaseStore } from '../stores/database-store';

/** The database alone, for commands that need nothing else of the connector (`migrate`); close() lets it go. */
export function openDatabase(config: Readonly<Config>): DatabaseStore {
  return new DatabaseStore(createKnex(config.database.url, { poolMax: 2 }));
}
