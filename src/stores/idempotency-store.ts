import type { Knex } from 'knex';
import { fromDbInt, fromDbTime, isUniqueViolation, toDbTime } from '../db/dialect';

/** A request's stored answer, under the caller's key name and its Idempotency-Key. */
export interface StoredAnswer {
  requestHash: string;
  status: number;
  body: unknown;
  createdAt: Date;
}

export interface IdempotencyScope {
  /** The operation (`readiness.batch`). */
  scope: string;
  /** The API key that sent the request: two callers' keys never meet. */
  keyName: string;
  key: string;
}

/** Answers of requests sent with an Idempotency-Key (`idempotency_keys`), kept for a while. */
export class IdempotencyStore {
  constructor(private readonly db: Knex) {}

  async find(id: IdempotencyScope, notBefore: Date, trx: Knex | Knex.Transaction = this.db): Promise<StoredAnswer | undefined> {
    const row = (await trx('idempotency_keys')
      .select('request_hash', 'status', 'response', 'created_at')
      .where({ scope: id.scope, key_name: id.keyName, idempotency_key: id.key })
      .where('created_at', '>=', toDbTime(notBefore))
      .first()) as { request_hash: string; status: number | string; response: string | Buffer; created_at: string | Date } | undefined;
    if (!row) return undefined;
    return { requestHash: row.request_hash, status: fromDbInt(row.status), body: JSON.parse(String(row.response)), createdAt: fromDbTime(row.created_at)! };
  }

  /**
   * Store an answer in the transaction that made it. False when another request with the same
   * key committed first (the caller's transaction must then be abandoned and the stored answer read).
   * An expired answer under the same key is replaced.
   */
  async save(trx: Knex.Transaction, id: IdempotencyScope, answer: Omit<StoredAnswer, 'createdAt'>, now: Date, notBefore: Date): Promise<boolean> {
    await trx('idempotency_keys').where({ scope: id.scope, key_name: id.keyName, idempotency_key: id.key }).where('created_at', '<', toDbTime(notBefore)).del();
    try {
      await trx('idempotency_keys').insert({
        scope: id.scope,
        key_name: id.keyName,
        idempotency_key: id.key,
        request_hash: answer.requestHash,
        status: answer.status,
        response: JSON.stringify(answer.body),
        created_at: toDbTime(now),
      });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /** Forget answers stored before `before`; how many went. */
  async purge(before: Date): Promise<number> {
    return this.db('idempotency_keys').where('created_at', '<', toDbTime(before)).del();
  }
}
