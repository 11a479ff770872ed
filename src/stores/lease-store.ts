import type { Knex } from 'knex';
import { fromDbTime, isUniqueViolation, toDbTime } from '../db/dialect';

export interface Lease {
  name: string;
  owner: string;
  acquiredAt: Date;
  renewedAt: Date;
  expiresAt: Date;
}

interface LeaseRow {
  name: string;
  owner: string;
  acquired_at: string | Date;
  renewed_at: string | Date;
  expires_at: string | Date;
}

const toLease = (r: LeaseRow): Lease => ({
  name: r.name,
  owner: r.owner,
  acquiredAt: fromDbTime(r.acquired_at)!,
  renewedAt: fromDbTime(r.renewed_at)!,
  expiresAt: fromDbTime(r.expires_at)!,
});

/**
 * A named lease row with an owner and an expiry: at most one holder across every process sharing
 * the database; a holder that dies is replaced once its lease expires. Every change is one
 * conditional UPDATE (or an INSERT guarded by the primary key), so no two callers both win.
 */
export class LeaseStore {
  constructor(private readonly db: Knex) {}

  async acquire(name: string, owner: string, ttlMs: number, now: Date): Promise<boolean> {
    const at = toDbTime(now);
    const expires = toDbTime(new Date(now.getTime() + ttlMs));
    const taken = await this.db('leases')
      .where({ name })
      .where((q) => q.where({ owner }).orWhere('expires_at', '<=', at))
      .update({ owner, acquired_at: at, renewed_at: at, expires_at: expires });
    if (taken === 1) return true;
    try {
      await this.db('leases').insert({ name, owner, acquired_at: at, renewed_at: at, expires_at: expires });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /** Extends a lease still held; false when it expired and someone else may have it. */
  async renew(name: string, owner: string, ttlMs: number, now: Date, trx: Knex | Knex.Transaction = this.db): Promise<boolean> {
    const n = await trx('leases')
      .where({ name, owner })
      .where('expires_at', '>', toDbTime(now))
      .update({ renewed_at: toDbTime(now), expires_at: toDbTime(new Date(now.getTime() + ttlMs)) });
    return n === 1;
  }

  async release(name: string, owner: string): Promise<void> {
    await this.db('leases').where({ name, owner }).del();
  }

  async get(name: string): Promise<Lease | undefined> {
    const row = (await this.db('leases').where({ name }).first()) as LeaseRow | undefined;
    return row && toLease(row);
  }
}
