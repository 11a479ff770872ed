import { mkdirSync } from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { ConfigError } from '../errors';
import { startCheckpointer } from './sqlite-checkpointer';

export interface DatabaseTarget {
  client: 'sqlite' | 'mysql';
  /** For sqlite: the file path or `:memory:`. */
  filename?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
}

/** `sqlite:PATH`, `sqlite::memory:`, `mysql://user:pass@host:port/db`. */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!file) throw new ConfigError([`DATABASE_URL ${url}: sqlite: needs a path, e.g. sqlite:./data/connector.sqlite`]);
    return { client: 'sqlite', filename: file };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(['DATABASE_URL: not a valid URL (expected sqlite:PATH or mysql://user:pass@host:port/db)']);
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mysql2:') throw new ConfigError([`DATABASE_URL: unsupported scheme ${u.protocol} (use sqlite: or mysql://)`]);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) throw new ConfigError(['DATABASE_URL: a MySQL URL must name the database, e.g. mysql://user:pass@host:3306/leap_connector']);
  return {
    client: 'mysql',
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    database,
  };
}

interface SqliteConnection {
  pragma(sql: string): unknown;
  prepare(sql: string): unknown;
  close(): unknown;
}

/** Statements kept per connection: the few dozen query shapes that repeat (each holds its last bound values, so not more). */
const STATEMENT_CACHE_SIZE = 64;

/**
 * knex prepares every query afresh; on SQLite, preparing a multi-row insert can cost as much as
 * running it. knex produces the same SQL text for the same query shape, so the connection hands
 * back the statement it prepared last time (least recently used ones are dropped). Safe because
 * knex runs each statement to completion (`all` or `run`) before it prepares the next, and SQLite
 * re-prepares a statement by itself when a migration changes the schema under it.
 */
function reusePreparedStatements(conn: SqliteConnection): void {
  const prepare = conn.prepare.bind(conn);
  const cache = new Map<string, unknown>();
  conn.prepare = (sql: string) => {
    let statement = cache.get(sql);
    if (statement !== undefined) {
      cache.delete(sql);
    } else {
      statement = prepare(sql);
      if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    }
    cache.set(sql, statement);
    return statement;
  };
}

export interface CreateKnexOptions {
  poolMax?: number;
  /** Told when SQLite's background checkpointer cannot run (SQLite then checkpoints by itself). */
  onCheckpointError?: (message: string) => void;
}

export function createKnex(url: string, opts: CreateKnexOptions = {}): Knex {
  const target = parseDatabaseUrl(url);
  if (target.client === 'sqlite') {
    const filename = target.filename!;
    if (filename !== ':memory:') mkdirSync(path.dirname(path.resolve(filename)), { recursive: true });
    return knexFactory({
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      pool: {
        // One connection: SQLite has one writer, and `:memory:` is per connection.
        min: 1,
        max: 1,
        afterCreate(conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) {
          try {
            reusePreparedStatements(conn);
            // 8 KB pages for a new database (an existing one keeps its size): a meter's stored
            // parts and events are kilobytes each, and fewer, fuller pages are written per commit.
            conn.pragma('page_size = 8192');
            conn.pragma('synchronous = NORMAL');
            // 32 MB of page cache (SQLite's default is 2 MB): writes spread over a large
            // portfolio's indexes (a readiness answer, an event) find their pages in memory.
            conn.pragma('cache_size = -32768');
            if (filename !== ':memory:') {
              conn.pragma('journal_mode = WAL');
              // The log is copied back by a worker thread right behind the writer; SQLite's own
              // checkpoint, run inside a commit on this thread, only past 128 MB (16,000 pages),
              // should that thread fall behind.
              conn.pragma('wal_autocheckpoint = 16000');
              // A log that grew during a burst is cut back to 64 MB when it next starts over.
              conn.pragma('journal_size_limit = 67108864');
              const checkpointer = startCheckpointer({ filename: path.resolve(filename), onError: opts.onCheckpointError });
              // knex waits for close(): the checkpointer's connection goes first, so ours, the
              // last one, checkpoints and removes the -wal and -shm files.
              const close = conn.close.bind(conn);
              conn.close = () => checkpointer.stop().then(() => close());
            }
            conn.pragma('foreign_keys = ON');
            // Other processes (a second connector, a migration) may hold the write lock briefly.
            conn.pragma('busy_timeout = 10000');
            done(null, conn);
          } catch (err) {
            done(err as Error, conn);
          }
        },
      },
    });
  }
  return knexFactory({
    client: 'mysql2',
    connection: {
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: target.database,
      charset: 'utf8mb4',
      timezone: 'Z',
      dateStrings: true,
      decimalNumbers: true,
      supportBigNumbers: true,
    },
    pool: {
      min: 0,
      max: opts.poolMax ?? 10,
      afterCreate(conn: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) {
        // Session in UTC so NOW() and DATETIME comparisons agree with the values we write.
        conn.query("SET time_zone = '+00:00'", (err) => done(err, conn));
      },
    },
  });
}
