import type { Knex } from 'knex';
import { dialectOf } from './dialect';

/**
 * Multi-row inserts (and upserts) for the write paths that run once per meter or per delivery.
 * knex's query builder compiles every insert from objects (keys sorted, every value wrapped,
 * identifiers escaped again) and that compilation cost as much as SQLite's work; here the SQL text
 * is built once per table, column list, row count and dialect, and reused with new bindings.
 * Identifiers are the store's own constants, never input.
 */
export interface BulkInsert {
  table: string;
  columns: readonly string[];
  /**
   * On a duplicate of these key columns: overwrite the `merge` columns (an upsert), or, with
   * `merge` empty, keep the stored row and skip the new one. Without it a duplicate is an error.
   */
  conflict?: { keys: readonly string[]; merge: readonly string[] };
  /** Rows per statement (default 200; SQLite and MySQL both take far more bindings than that needs). */
  chunk?: number;
}

const sqlCache = new Map<string, string>();
const CACHE_LIMIT = 256;

function sqlFor(dialect: 'sqlite' | 'mysql', spec: BulkInsert, rows: number): string {
  const key = `${dialect}|${spec.table}|${spec.columns.join(',')}|${spec.conflict ? `${spec.conflict.keys.join(',')}>${spec.conflict.merge.join(',')}` : ''}|${rows}`;
  let sql = sqlCache.get(key);
  if (sql !== undefined) return sql;
  const row = `(${spec.columns.map(() => '?').join(', ')})`;
  sql = `insert into \`${spec.table}\` (${spec.columns.map((c) => `\`${c}\``).join(', ')}) values ${Array.from({ length: rows }, () => row).join(', ')}`;
  if (spec.conflict) {
    const { keys, merge } = spec.conflict;
    const target = keys.map((k) => `\`${k}\``).join(', ');
    if (dialect === 'sqlite') sql += merge.length ? ` on conflict (${target}) do update set ${merge.map((c) => `\`${c}\` = excluded.\`${c}\``).join(', ')}` : ` on conflict (${target}) do nothing`;
    // MySQL: a no-op update skips the duplicate (INSERT IGNORE would also swallow other errors).
    else sql += ` on duplicate key update ${(merge.length ? merge : keys.slice(0, 1)).map((c) => (merge.length ? `\`${c}\` = values(\`${c}\`)` : `\`${c}\` = \`${c}\``)).join(', ')}`;
  }
  if (sqlCache.size >= CACHE_LIMIT) sqlCache.delete(sqlCache.keys().next().value!);
  sqlCache.set(key, sql);
  return sql;
}

/**
 * Text per statement, at most: MySQL refuses a statement larger than `max_allowed_packet` (16 MB
 * by default on MariaDB); four million characters stay under it even at three bytes a character.
 */
const MAX_STATEMENT_CHARS = 4_000_000;

/** Insert `rows` (values in `spec.columns` order), a chunk of rows (and of text) per statement. */
export async function insertRows(db: Knex | Knex.Transaction, spec: BulkInsert, rows: readonly (readonly unknown[])[]): Promise<void> {
  if (!rows.length) return;
  const dialect = dialectOf(db as Knex);
  const width = spec.columns.length;
  const size = spec.chunk ?? 200;
  let start = 0;
  while (start < rows.length) {
    const bindings: unknown[] = [];
    let chars = 0;
    let end = start;
    while (end < rows.length && end - start < size && (end === start || chars < MAX_STATEMENT_CHARS)) {
      const row = rows[end]!;
      if (row.length !== width) throw new Error(`${spec.table}: a row has ${row.length} values for ${width} columns`);
      for (let j = 0; j < width; j++) {
        const v = row[j];
        if (typeof v === 'string') chars += v.length;
        // undefined is not a value SQL knows; knex would send DEFAULT, the stores mean NULL.
        bindings.push(v === undefined ? null : v);
      }
      end += 1;
    }
    await execute(db, dialect, sqlFor(dialect, spec, end - start), bindings);
    start = end;
    // SQLite answers synchronously: between statements the event loop gets a turn, so that the
    // connector's answers, timers and pages on their way are not held up by a long write.
    if (start < rows.length && dialect === 'sqlite') await new Promise((resolve) => setImmediate(resolve));
  }
}

interface SqliteStatement {
  run(bindings: unknown[]): unknown;
}
interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
}
interface MysqlConnection {
  query(sql: string, bindings: unknown[], done: (err: Error | null) => void): void;
}

/**
 * Run a write statement. Inside a transaction it goes straight to the transaction's connection:
 * knex would otherwise scan the text for each of its thousands of placeholders and wrap the call
 * in a chain of promises, for SQL that is already final.
 */
async function execute(db: Knex | Knex.Transaction, dialect: 'sqlite' | 'mysql', sql: string, bindings: unknown[]): Promise<void> {
  if (!(db as Knex.Transaction).isTransaction) {
    await db.raw(sql, bindings as Knex.RawBinding[]);
    return;
  }
  const conn = (await (db.client as { acquireConnection(): Promise<unknown> }).acquireConnection()) as SqliteConnection | MysqlConnection;
  if (dialect === 'sqlite') {
    (conn as SqliteConnection).prepare(sql).run(bindings);
    return;
  }
  await new Promise<void>((resolve, reject) => (conn as MysqlConnection).query(sql, bindings, (err) => (err ? reject(err) : resolve())));
}
