import type { Knex } from 'knex';
import { dialectOf, fromDbInt, fromDbTime, toDbTime } from '../../db/dialect';
import type { AttemptTrigger } from '../../domain/delivery';
import { groupBy } from '../../domain/group-by';
import { DeliveryLines } from './lines';
import { toDelivery, WAITING, type Delivery, type DeliveryFilter, type DeliveryRow, type DestinationQueueStats } from './rows';

/** Deliveries as support sees and acts on them: lookups, filtered lists, queue figures, replays. */
export class DeliveryAdminStore {
  private readonly lines: DeliveryLines;

  constructor(private readonly db: Knex) {
    this.lines = new DeliveryLines(db);
  }

  async get(id: string): Promise<Delivery | undefined> {
    const row = (await this.db('deliveries').where({ id }).first()) as DeliveryRow | undefined;
    return row && toDelivery(row);
  }

  private filtered(filter: DeliveryFilter): Knex.QueryBuilder {
    const q = this.db('deliveries');
    if (filter.status) q.whereIn('status', filter.status === 'pending' ? ['pending', WAITING] : [filter.status]);
    if (filter.retrying) q.where('status', 'pending').where('attempts', '>', 0);
    if (filter.destination) q.where('destination', filter.destination);
    if (filter.meterId) q.where('meter_id', filter.meterId);
    if (filter.eventType) q.where('event_type', filter.eventType);
    if (filter.since) q.where('created_at', '>=', toDbTime(filter.since));
    if (filter.until) q.where('created_at', '<', toDbTime(filter.until));
    return q;
  }

  /** Newest first; `before` is the last id of the previous page (ids sort by creation). */
  async list(filter: DeliveryFilter, page: { limit: number; before?: string }): Promise<Delivery[]> {
    const q = this.filtered(filter).select('*');
    if (page.before) q.where('id', '<', page.before);
    return ((await q.orderBy('id', 'desc').limit(page.limit)) as DeliveryRow[]).map(toDelivery);
  }

  /** Oldest first from `after`, for replay jobs walking their matches. */
  async scan(filter: DeliveryFilter, after: string | null, limit: number): Promise<Delivery[]> {
    const q = this.filtered(filter).select('*');
    if (after) q.where('id', '>', after);
    return ((await q.orderBy('id').limit(limit)) as DeliveryRow[]).map(toDelivery);
  }

  async count(filter: DeliveryFilter): Promise<number> {
    const rows = (await this.filtered(filter).count({ n: '*' })) as { n: number | string }[];
    return fromDbInt(rows[0]?.n);
  }

  /**
   * Send a delivered or dead delivery again: same id and body, retry schedule from the start.
   * A delivery still pending is only brought forward. Returns false when it is in flight.
   */
  async requeue(ids: readonly string[], trigger: AttemptTrigger, now: Date): Promise<{ requeued: string[]; expedited: string[]; inFlight: string[] }> {
    const out = { requeued: [] as string[], expedited: [] as string[], inFlight: [] as string[] };
    if (!ids.length) return out;
    await this.db.transaction(async (trx) => {
      const rows = (await trx('deliveries').select('id', 'status', 'destination', 'meter_id').whereIn('id', ids)) as { id: string; status: string; destination: string; meter_id: string }[];
      const finished = rows.filter((r) => r.status === 'delivered' || r.status === 'dead');
      const pending = rows.filter((r) => r.status === 'pending' || r.status === WAITING).map((r) => r.id);
      out.inFlight = rows.filter((r) => r.status === 'delivering').map((r) => r.id);
      for (let i = 0; i < finished.length; i += 500) {
        const part = finished.slice(i, i + 500).map((r) => r.id);
        // Back in its meter's line (waiting until lined up below): no longer delivered or dead.
        const n = await trx('deliveries')
          .whereIn('id', part)
          .whereIn('status', ['delivered', 'dead'])
          .update({ status: WAITING, next_attempt_at: toDbTime(now), retry_index: 0, last_trigger: trigger, replays: trx.raw('replays + 1'), delivered_at: null, dead_at: null, dead_reason: null });
        if (n) out.requeued.push(...part);
      }
      for (const [destination, back] of groupBy(finished, (r) => r.destination)) await this.lines.lineUp(trx, destination, back.map((r) => r.meter_id));
      for (let i = 0; i < pending.length; i += 500) {
        const part = pending.slice(i, i + 500);
        await trx('deliveries').whereIn('id', part).whereIn('status', ['pending', WAITING]).update({ next_attempt_at: toDbTime(now), last_trigger: trigger });
        out.expedited.push(...part);
      }
    });
    return out;
  }

  /** Replace the body of a delivery whose mapping failed, once the mapping renders. */
  async rebuild(id: string, body: string, recordHash: string): Promise<void> {
    await this.db('deliveries').where({ id }).update({ body, record_hash: recordHash });
  }

  async queueStats(): Promise<DestinationQueueStats[]> {
    // Counted from the status index alone, and each group's first row found by the key that index
    // holds: reading created_at of every pending row cost 170 ms at 150,000 queued (a /metrics
    // scrape). Rows are keyed in creation order: InnoDB's indexes end in the primary key (msg_ +
    // ULID of the creation time), SQLite's in the rowid (insertion order).
    const key = dialectOf(this.db) === 'sqlite' ? 'rowid' : 'id';
    const rows = (await this.db('deliveries').select('destination', 'status').count({ n: '*' }).min({ first: key }).groupBy('destination', 'status')) as {
      destination: string;
      status: string;
      n: number | string;
      first: string | number;
    }[];
    const firsts = rows.filter((r) => r.status === 'pending' || r.status === WAITING).map((r) => r.first);
    const created = new Map<string, Date | null>();
    for (let i = 0; i < firsts.length; i += 500) {
      const found = (await this.db('deliveries').select({ k: key }, 'created_at').whereIn(key, firsts.slice(i, i + 500))) as { k: string | number; created_at: string | Date }[];
      for (const f of found) created.set(String(f.k), fromDbTime(f.created_at));
    }
    const by = new Map<string, DestinationQueueStats>();
    for (const r of rows) {
      const s = by.get(r.destination) ?? { destination: r.destination, pending: 0, delivering: 0, dead: 0, delivered: 0, oldestPendingAt: null };
      const n = fromDbInt(r.n);
      if (r.status === 'pending' || r.status === WAITING) {
        s.pending += n;
        const oldest = created.get(String(r.first)) ?? null;
        if (oldest && (!s.oldestPendingAt || oldest < s.oldestPendingAt)) s.oldestPendingAt = oldest;
      } else if (r.status === 'delivering') s.delivering = n;
      else if (r.status === 'dead') s.dead = n;
      else if (r.status === 'delivered') s.delivered = n;
      by.set(r.destination, s);
    }
    return [...by.values()];
  }
}
