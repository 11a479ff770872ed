import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createKnex, parseDatabaseUrl } from '../../src/db/knex';
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
 * A fresh, migrated database: a temporary SQLite file (so other processes can open it too) or
 * a new `test_<random>` database on the MySQL server, dropped again by destroy().
 */
export async function createTestDb(engine: Engine, opts: { migrate?: boolean } = {}): Promise<TestDb> {
  const migrate = opts.migrate ?? true;
  if (engine === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'leap-connector-test-'));
    const url = `sqlite:${path.join(dir, 'test.sqlite')}`;
    const knex = createKnex(url);
    if (migrate) await migrateLatest(knex);
    return {
      engine,
      url,
      knex,
      async destroy() {
        await knex.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const serverUrl = process.env.TEST_MYSQL_URL;
  if (!serverUrl) throw new Error('TEST_MYSQL_URL is not set');
  const name = `test_${randomBytes(6).toString('hex')}`;
  const admin = createKnex(serverUrl, { poolMax: 1 });
  await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.destroy();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  parseDatabaseUrl(url);
  const knex = createKnex(url, { poolMax: 10 });
  if (migrate) await migrateLatest(knex);
  return {
    engine,
    url,
    knex,
    async destroy() {
      await knex.destroy();
      const a = createKnex(serverUrl, { poolMax: 1 });
      await a.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      await a.destroy();
    },
  };
}
