import type { Knex } from 'knex';

/**
 * Everything that differs between SQLite and MySQL/MariaDB lives here: how times, booleans and
 * JSON are stored and read back, and how each engine reports a duplicate key or a busy lock.
 *
 * Times are stored as UTC text `YYYY-MM-DD HH:MM:SS.mmm` in both engines (DATETIME(3) on MySQL,
 * read back as strings via mysql2 `dateStrings`), so they compare, sort and round-trip identically.
 */
export type Dialect = 'sqlite' | 'mysql';

export function dialectOf(db: Knex): Dialect {
  const client = String(db.client.config.client);
  return client.includes('sqlite') ? 'sqlite' : 'mysql';
}

export function toDbTime(value: Date | string | number): string {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error(`not a time: ${String(value)}`);
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

export function toDbTimeOrNull(value: Date | string | number | null | undefined): string | null {
  return value === null || value === undefined ? null : toDbTime(value);
}

export function fromDbTime(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  if (typeof value === 'number') return new Date(value);
  const s = String(value);
  const iso = s.includes('T') ? s : s.replace(' ', 'T');
  return new Date(/[zZ]|[+-]\d{2}:?\d{2}$/.test(iso) ? iso : `${iso}Z`);
}

export function fromDbTimeIso(value: unknown): string | null {
  return fromDbTime(value)?.toISOString() ?? null;
}

export function toDbBool(value: boolean): number {
  return value ? 1 : 0;
}

export function fromDbBool(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || (typeof value === 'bigint' && value === 1n);
}

export function toDbJson(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

export function fromDbJson<T>(value: unknown): T | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return JSON.parse(value) as T;
  if (Buffer.isBuffer(value)) return JSON.parse(value.toString('utf8')) as T;
  return value as T;
}

/** Integer columns can come back as strings (MySQL BIGINT, COUNT(*)); numbers are what the domain uses. */
export function fromDbInt(value: unknown): number {
  return typeof value === 'number' ? value : Number(value ?? 0);
}

const UNIQUE_CODES = new Set(['ER_DUP_ENTRY', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

export function isUniqueViolation(err: unknown): boolean {
  const { code = '', message = '' } = (err ?? {}) as { code?: string; message?: string };
  return UNIQUE_CODES.has(code) || (code === 'SQLITE_CONSTRAINT' && /UNIQUE|PRIMARY KEY/i.test(message));
}

/** Lock conflicts worth retrying the whole transaction for. */
export function isTransientLockError(err: unknown): boolean {
  const { code = '', errno } = (err ?? {}) as { code?: string; errno?: number };
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT' || code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT' || errno === 1213 || errno === 1205;
}

/**
 * A locking read (`FOR UPDATE`) where the engine has row locks: on MySQL it reads rows as they are
 * now, not as of the transaction's snapshot, and holds them until it commits. SQLite serializes
 * writers anyway.
 */
export function forUpdate<T extends Knex.QueryBuilder>(db: Knex, query: T): T {
  return (dialectOf(db) === 'mysql' ? query.forUpdate() : query) as T;
}

/** `FOR UPDATE SKIP LOCKED` where the engine has row locks; SQLite serializes writers anyway. */
export function forUpdateSkipLocked<T extends Knex.QueryBuilder>(db: Knex, query: T): T {
  return (dialectOf(db) === 'mysql' ? query.forUpdate().skipLocked() : query) as T;
}

/**
 * Every table compares text byte for byte on MySQL, as SQLite does, whatever the server's
 * default collation: meter ids, partner references and cursors must not match case-insensitively.
 */
export function binaryText(db: Knex, t: Knex.CreateTableBuilder): void {
  if (dialectOf(db) === 'mysql') {
    t.charset('utf8mb4');
    t.collate('utf8mb4_bin');
    t.engine('InnoDB');
  }
}
