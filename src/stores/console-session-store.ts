import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { fromDbTime, toDbTime } from '../db/dialect';

/** A signed-in console session, as the console checks it on each request. */
export interface ConsoleSession {
  keyName: string;
  csrfToken: string;
  createdAt: Date;
  expiresAt: Date;
}

const hashOf = (sessionId: string): string => createHash('sha256').update(sessionId, 'utf8').digest('hex');

/** Console sessions (`console_sessions`), keyed by the hash of the id the cookie carries. */
export class ConsoleSessionStore {
  constructor(private readonly db: Knex) {}

  async create(sessionId: string, session: ConsoleSession): Promise<void> {
    await this.db('console_sessions').insert({
      id_hash: hashOf(sessionId),
      key_name: session.keyName,
      csrf_token: session.csrfToken,
      created_at: toDbTime(session.createdAt),
      expires_at: toDbTime(session.expiresAt),
    });
  }

  /** The session with this id, when it has not expired at `now`. */
  async find(sessionId: string, now: Date): Promise<ConsoleSession | undefined> {
    const row = (await this.db('console_sessions')
      .select('key_name', 'csrf_token', 'created_at', 'expires_at')
      .where('id_hash', hashOf(sessionId))
      .where('expires_at', '>', toDbTime(now))
      .first()) as { key_name: string; csrf_token: string; created_at: string | Date; expires_at: string | Date } | undefined;
    if (!row) return undefined;
    return { keyName: row.key_name, csrfToken: row.csrf_token, createdAt: fromDbTime(row.created_at)!, expiresAt: fromDbTime(row.expires_at)! };
  }

  async delete(sessionId: string): Promise<void> {
    await this.db('console_sessions').where('id_hash', hashOf(sessionId)).del();
  }

  /** Forget sessions that expired before `now`; how many went. */
  async purgeExpired(now: Date): Promise<number> {
    return this.db('console_sessions').where('expires_at', '<=', toDbTime(now)).del();
  }
}
