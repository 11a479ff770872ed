import type { Knex } from 'knex';
import { isTransientLockError } from '../db/dialect';
import { ConcurrentMeterChangeError } from './meter-store';

/** A database transaction as services see it: opaque, passed to store methods. */
export type Tx = Knex.Transaction;

class RolledBack<T> extends Error {
  constructor(readonly result: T) {
    super('rolled back');
  }
}

/** Runs units of work in transactions, retrying the whole unit when the engine reports a lock conflict. */
export class Transactor {
  constructor(private readonly db: Knex) {}

  async run<T>(work: (tx: Tx) => Promise<T>, opts: { attempts?: number; rollback?: boolean } = {}): Promise<T> {
    const attempts = opts.attempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        if (opts.rollback) {
          // Dry runs do everything a real run does, then undo it.
          try {
            await this.db.transaction(async (tx) => {
              throw new RolledBack(await work(tx));
            });
          } catch (err) {
            if (err instanceof RolledBack) return err.result as T;
            throw err;
          }
        }
        return await this.db.transaction((tx) => work(tx));
      } catch (err) {
        const retryable = isTransientLockError(err) || err instanceof ConcurrentMeterChangeError;
        if (!retryable || attempt >= attempts) throw err;
        await new Promise((r) => setTimeout(r, 5 * attempt * attempt + Math.random() * 20));
      }
    }
  }
}
