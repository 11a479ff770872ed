import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createKnex } from '../../src/db/knex';
import { migrateLatest } from '../../src/db/migrate';

export type Engine = 'sqlite' | 'mysql';

/** SQLite always; MySQL/MariaDB too when TEST_MYSQL_URL names a server (CI sets it). */
export function testEngines(): Engine[] {
  return process.env.TEST_MYSQL_URL ? ['sqlite', 'mysql'] : ['sqlite'];
}

export interface TestDb {
  engine: Engine;
  /** DATABASE_URL of this database, for child processes and compose(). */
  url: string;
  knex: Knex;
  destroy(): Promise<void>;
}

/**
 * A fresh, empty database and its DATABASE_URL: a temporary SQLite file (so other processes can
 * open it too) or a new `test_<random>` database on the MySQL server; drop() removes it.
 */
export async function freshDatabase(engine: Engine, prefix = 'test'): Promise<{ url: string; drop(): Promise<void> }> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), `leap-connector-${prefix}-`));
    return { url: `sqlite:${path.join(dir, `${prefix}.sqlite`)}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const serverUrl = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = createKnex(serverUrl, { poolMax: 1 });
  await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.destroy();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const a = createKnex(serverUrl, { poolMax: 1 });
      await a.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      await a.destroy();
    },
  };
}

/** A fresh, migrated database (see freshDatabase), with a knex connected to it. */
export async function createTestDb(engine: Engine, opts: { migrate?: boolean } = {}): Promise<TestDb> {
  if (engine === 'mysql' && !process.env.TEST_MYSQL_URL) throw new Error('TEST_MYSQL_URL is not set');
  const fresh = await freshDatabase(engine);
  const knex = createKnex(fresh.url, { poolMax: 10 });
  if (opts.migrate ?? true) await migrateLatest(knex);
  return {
    engine,
    url: fresh.url,
    knex,
    async destroy() {
      await knex.destroy();
      await fresh.drop();
    },
  };
}
