import type { Knex } from 'knex';
import { dialectOf, type Dialect } from '../db/dialect';
import { migrateLatest, migrateRollback, migrationStatus, type MigrationStatus } from '../db/migrate';

/** The database as a whole: reachability and schema version, for readiness and `migrate`. */
export class DatabaseStore {
  constructor(private readonly db: Knex) {}

  get dialect(): Dialect {
    return dialectOf(this.db);
  }

  async ping(): Promise<void> {
    await this.db.raw('SELECT 1');
  }

  migrationStatus(): Promise<MigrationStatus> {
    return migrationStatus(this.db);
  }

  migrateLatest(): Promise<string[]> {
    return migrateLatest(this.db);
  }

  /** Undo the last batch of migrations, or every one. */
  migrateRollback(all = false): Promise<string[]> {
    return migrateRollback(this.db, all);
  }

  close(): Promise<void> {
    return this.db.destroy();
  }
}
