import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';

/** `migrations/` beside `src/` (and beside `dist/src` once compiled). */
export const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'migrations');

interface MigrationModule {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Migrations are recorded by name without extension, so the TypeScript sources and the
 * compiled JavaScript are the same migrations.
 */
class DirectorySource implements Knex.MigrationSource<string> {
  constructor(private readonly dir: string) {}
  async getMigrations(): Promise<string[]> {
    return readdirSync(this.dir)
      .filter((f) => /^\d{14}_[a-z0-9_]+\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
      .sort();
  }
  getMigrationName(file: string): string {
    return file.replace(/\.(ts|js)$/, '');
  }
  async getMigration(file: string): Promise<Knex.Migration> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(this.dir, file)) as MigrationModule;
    return { up: mod.up, down: mod.down };
  }
}

function migratorConfig(dir = MIGRATIONS_DIR): Knex.MigratorConfig {
  return { migrationSource: new DirectorySource(dir), tableName: 'knex_migrations' };
}

/** knex reports entries as the source's own items (file names here) or as `{name}` / `{file}` rows. */
type MigrationEntry = string | { name?: string; file?: string };
const entryName = (e: MigrationEntry): string => (typeof e === 'string' ? e : (e.name ?? e.file ?? '')).replace(/\.(ts|js)$/, '');

export interface MigrationStatus {
  completed: string[];
  pending: string[];
  current: boolean;
}

export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest(migratorConfig())) as [number, string[]];
  return applied;
}

export async function migrateRollback(db: Knex, all = false): Promise<string[]> {
  const [, rolledBack] = (await db.migrate.rollback(migratorConfig(), all)) as [number, string[]];
  return rolledBack;
}

/** Apply the next pending migration only. */
export async function migrateUp(db: Knex): Promise<void> {
  await db.migrate.up(migratorConfig());
}

/** Undo the most recent migration only (whatever batch it ran in). */
export async function migrateDown(db: Knex): Promise<void> {
  await db.migrate.down(migratorConfig());
}

export async function migrationStatus(db: Knex): Promise<MigrationStatus> {
  const [completed, pending] = (await db.migrate.list(migratorConfig())) as [MigrationEntry[], MigrationEntry[]];
  const names = completed.map(entryName);
  const pend = pending.map(entryName);
  return { completed: names, pending: pend, current: pend.length === 0 };
}
