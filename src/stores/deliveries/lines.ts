import type { Knex } from 'knex';
import { dialectOf, forUpdate, fromDbInt } from '../../db/dialect';
import { groupBy } from '../../domain/group-by';
import { IN_LINE, WAITING } from './rows';

/**
 * The lines deliveries wait in, per destination and meter (see rows.ts): who is first, and
 * putting a line back in order when it moved. Every store that moves a line goes through here.
 */
export class DeliveryLines {
  constructor(private readonly db: Knex) {}

  /**
   * The deliveries in line (not delivered or dead) of these meters to a destination. On SQLite
   * through a partial index on what stays fixed while a delivery is in line (claims change its
   * status, not its membership). On MySQL, with `lock`, a locking read: the lines as they are now,
   * not as of the transaction's snapshot, held until it commits.
   */
  async inLine(trx: Knex | Knex.Transaction, destination: string, meterIds: readonly string[], lock = false): Promise<{ id: string; meter_id: string; sequence: number; status: string }[]> {
    const out: { id: string; meter_id: string; sequence: number; status: string }[] = [];
    const mysql = dialectOf(this.db) === 'mysql';
    for (let i = 0; i < meterIds.length; i += 500) {
      const q = trx('deliveries').select('id', 'meter_id', 'sequence', 'status').where('destination', destination).whereIn('meter_id', meterIds.slice(i, i + 500));
      if (mysql) q.whereIn('status', IN_LINE);
      else q.whereNull('delivered_at').whereNull('dead_at');
      for (const r of (await (lock ? forUpdate(this.db, q) : q)) as { id: string; meter_id: string; sequence: number | string; status: string }[]) out.push({ ...r, sequence: fromDbInt(r.sequence) });
    }
    return out;
  }

  /**
   * Put these meters' lines in order: the first delivery in line is the one that can go (pending,
   * unless in flight), every other one not in flight waits. A replayed earlier delivery thus goes
   * before the later ones still queued; one already in flight is never called back.
   */
  async lineUp(trx: Knex.Transaction, destination: string, meterIds: readonly string[]): Promise<string[]> {
    if (!meterIds.length) return [];
    const toPending: string[] = [];
    const toWaiting: string[] = [];
    for (const line of groupBy(await this.inLine(trx, destination, [...new Set(meterIds)], true), (r) => r.meter_id).values()) {
      line.sort((a, b) => a.sequence - b.sequence);
      const head = line[0]!;
      if (head.status === WAITING) toPending.push(head.id);
      if (head.status !== 'delivering') for (const r of line.slice(1)) if (r.status === 'pending') toWaiting.push(r.id);
    }
    for (const [ids, from, to] of [
      [toPending, WAITING, 'pending'],
      [toWaiting, 'pending', WAITING],
    ] as const) {
      for (let i = 0; i < ids.length; i += 500) await trx('deliveries').whereIn('id', ids.slice(i, i + 500)).where('status', from).update({ status: to });
    }
    return toPending;
  }

  /**
   * Lines whose first delivery waits with nothing ahead of it, put in order; answers how many
   * moved. Every change that moves a line lines it up in its own transaction; on MySQL a delivery
   * joining a line as the line empties can still be left behind. With `newest`, only that many of
   * the most recently due waiting deliveries are looked at (where such a one would be).
   */
  async lineUpStalled(destination: string, opts: { newest?: number } = {}): Promise<number> {
    const waiting = this.db('deliveries').select('destination', 'meter_id').where('destination', destination).where('status', WAITING);
    if (opts.newest) waiting.orderBy('next_attempt_at', 'desc').limit(opts.newest);
    const stalled = (await this.db
      .from(waiting.as('w'))
      .distinct('w.meter_id')
      .whereNotExists((q) => q.select(this.db.raw('1')).from('deliveries as a').whereRaw('a.destination = w.destination and a.meter_id = w.meter_id').whereIn('a.status', ['pending', 'delivering']))
      .limit(500)) as { meter_id: string }[];
    if (!stalled.length) return 0;
    await this.db.transaction((trx) => this.lineUp(trx, destination, stalled.map((r) => r.meter_id)));
    return stalled.length;
  }
}
