import type { Knex } from 'knex';
import { insertRows, type BulkInsert } from '../../db/bulk';
import { dialectOf, fromDbTime, isTransientLockError, toDbTime } from '../../db/dialect';
import type { DeliveryStatus } from '../../domain/delivery';
import { groupBy } from '../../domain/group-by';
import { DeliveryLines } from './lines';
import { toDelivery, WAITING, type Delivery, type DeliveryRow, type NewDelivery } from './rows';

/** A delivery already queued for the same (destination, event) is skipped, never doubled. */
const DELIVERIES_INSERT: BulkInsert = {
  table: 'deliveries',
  columns: ['id', 'destination', 'event_id', 'meter_id', 'sequence', 'event_type', 'status', 'body', 'record_hash', 'created_at', 'next_attempt_at', 'dead_at', 'dead_reason', 'last_error'],
  conflict: { keys: ['destination', 'event_id'], merge: [] },
};

/**
 * The outbox as the sync and the delivery workers use it: deliveries enqueued in the sync's
 * transaction, claimed by workers (never the same one by two at once), taken back when a claim
 * expires.
 */
export class DeliveryQueueStore {
  private readonly lines: DeliveryLines;
  /** Per open transaction, the lines it has queued deliveries in (destination|meter). */
  private readonly queuedIn = new WeakMap<Knex.Transaction, Set<string>>();

  constructor(private readonly db: Knex) {
    this.lines = new DeliveryLines(db);
  }

  /**
   * Insert deliveries; one already queued for the same (destination, event) is skipped, never
   * doubled. Each joins its meter's line: first in it (pending) when the line is empty, else waiting.
   */
  async insertMany(trx: Knex.Transaction, rows: readonly NewDelivery[]): Promise<void> {
    const queued = rows.filter((d) => d.status === 'pending');
    const busy = new Set<string>();
    // On MySQL the lines are read as committed now, not as of the caller's transaction (a sync
    // page's, long open): a line emptied meanwhile is seen empty. Two transactions cannot both queue
    // a meter's first delivery: each has locked the meter's row (read for update, or written) before
    // it gets here, so the second reads the first's once committed. SQLite serializes writers anyway.
    // That read does not see what this transaction queued itself (a page's events, then the
    // readiness events they caused): those lines are remembered here, per transaction.
    const reader = dialectOf(this.db) === 'mysql' ? this.db : trx;
    let mine = this.queuedIn.get(trx);
    if (!mine) this.queuedIn.set(trx, (mine = new Set()));
    for (const line of mine) busy.add(line);
    for (const [destination, items] of groupBy(queued, (d) => d.destination)) {
      for (const r of await this.lines.inLine(reader, destination, [...new Set(items.map((d) => d.meterId))])) busy.add(`${destination}|${r.meter_id}`);
    }
    // In sequence order: of one meter's new deliveries, only the first can head an empty line.
    const first = new Set<NewDelivery>();
    for (const d of [...queued].sort((a, b) => a.sequence - b.sequence)) {
      const line = `${d.destination}|${d.meterId}`;
      mine.add(line);
      if (busy.has(line)) continue;
      busy.add(line);
      first.add(d);
    }
    await insertRows(
      trx,
      DELIVERIES_INSERT,
      rows.map((d) => {
        const created = toDbTime(d.createdAt);
        const status = d.status === 'pending' && !first.has(d) ? WAITING : d.status;
        return [d.id, d.destination, d.eventId, d.meterId, d.sequence, d.eventType, status, d.body, d.recordHash, created, created, d.status === 'dead' ? created : null, d.deadReason ?? null, d.lastError ?? null];
      }),
    );
  }

  /** See DeliveryLines.lineUpStalled: lines left with their first delivery waiting, put in order. */
  lineUpStalled(destination: string, opts: { newest?: number } = {}): Promise<number> {
    return this.lines.lineUpStalled(destination, opts);
  }

  /**
   * Record hashes of the latest delivery per meter that the destination has been or will be sent
   * (not dead), to skip a detail update whose mapped record would not change.
   */
  async latestRecordHashes(trx: Knex | Knex.Transaction, destination: string, meterIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const mysql = dialectOf(this.db) === 'mysql';
    for (let i = 0; i < meterIds.length; i += 500) {
      const part = meterIds.slice(i, i + 500);
      const rows = (await (mysql ? this.latestByMaxSequence(trx, destination, part) : this.latestByWalkBack(trx, destination, part))) as { meter_id: string; record_hash: string | null }[];
      for (const r of rows) if (r.record_hash !== null) out.set(r.meter_id, r.record_hash);
    }
    return out;
  }

  /**
   * SQLite: per meter, a walk back from its newest delivery that stops at the first one not dead,
   * so the meter's older history is never read.
   */
  private latestByWalkBack(trx: Knex | Knex.Transaction, destination: string, meterIds: string[]): Knex.QueryBuilder {
    const latest = trx('deliveries as p').select('p.record_hash').where('p.destination', destination).whereRaw('p.meter_id = m.meter_id').whereNot('p.status', 'dead').orderBy('p.sequence', 'desc').limit(1);
    return trx('meters as m').select('m.meter_id', latest.as('record_hash')).whereIn('m.meter_id', meterIds);
  }

  /**
   * MySQL, whose dependent subqueries with ORDER BY and LIMIT are slow: each meter's highest
   * sequence not dead, from (destination, meter_id, status, sequence) alone, then those rows.
   */
  private latestByMaxSequence(trx: Knex | Knex.Transaction, destination: string, meterIds: string[]): Knex.QueryBuilder {
    const notDead: DeliveryStatus[] = ['pending', 'delivering', 'delivered'];
    const latest = trx('deliveries as p')
      .select('p.meter_id')
      .max({ seq: 'p.sequence' })
      .where('p.destination', destination)
      .whereIn('p.meter_id', meterIds)
      .whereIn('p.status', notDead)
      .groupBy('p.meter_id')
      .as('x');
    return trx('deliveries as d')
      .select('d.meter_id', 'd.record_hash')
      .join(latest, (j) => j.on('d.meter_id', 'x.meter_id').andOn('d.sequence', 'x.seq'))
      .where('d.destination', destination);
  }

  /**
   * Claim up to `limit` due deliveries of one destination for `owner`. A delivery is due when its
   * time has come and it is the first in its meter's line: per meter, order is kept. Two workers
   * never claim the same delivery.
   */
  async claimDue(destination: string, owner: string, limit: number, now: Date, claimTtlMs: number, dueBy: Date = now): Promise<Delivery[]> {
    if (limit <= 0) return [];
    const at = toDbTime(dueBy);
    // The candidates are read whole: the claim below re-checks what made them due, so what was read is what is claimed.
    // Only the first of each line is pending: index order (destination, status, next_attempt_at), nothing skipped.
    const candidates = (await this.db('deliveries')
      .select('*')
      .where('destination', destination)
      .where('status', 'pending')
      .where('next_attempt_at', '<=', at)
      .orderBy('next_attempt_at')
      .limit(limit)) as DeliveryRow[];
    if (!candidates.length) return [];
    const ids = candidates.map((r) => r.id);
    // The conditional update is the claim: a row another worker took first no longer matches, and
    // one it sent meanwhile has a later next_attempt_at (or another status), so nothing stale is claimed.
    const claimed = await this.db('deliveries')
      .whereIn('id', ids)
      .where('status', 'pending')
      .where('next_attempt_at', '<=', at)
      .update({ status: 'delivering', claimed_by: owner, claim_expires_at: toDbTime(new Date(now.getTime() + claimTtlMs)) });
    let ours = candidates;
    if (claimed < candidates.length) {
      // Another worker won some of them: keep the ones this claim took.
      const won = new Set(((await this.db('deliveries').select('id').whereIn('id', ids).where({ status: 'delivering', claimed_by: owner })) as { id: string }[]).map((r) => r.id));
      ours = candidates.filter((r) => won.has(r.id));
    }
    return ours.map((r) => ({ ...toDelivery(r), status: 'delivering' as const })).sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || (a.id < b.id ? -1 : 1));
  }

  /** The oldest due delivery of a destination, claimed, to probe it while paused. */
  async claimProbe(destination: string, owner: string, now: Date, claimTtlMs: number): Promise<Delivery | undefined> {
    // Held deliveries of a paused destination are waiting whatever their time: take the first in order.
    const [d] = await this.claimDue(destination, owner, 1, now, claimTtlMs, new Date('9999-12-31T23:59:59.999Z'));
    return d;
  }

  /**
   * Claim these deliveries for `owner` (in the caller's transaction), those still pending and due:
   * the first of their lines, just made so by `record`.
   */
  async claimIds(trx: Knex.Transaction, ids: readonly string[], owner: string, now: Date, claimTtlMs: number): Promise<Delivery[]> {
    if (!ids.length) return [];
    const at = toDbTime(now);
    await trx('deliveries')
      .whereIn('id', [...ids])
      .where('status', 'pending')
      .where('next_attempt_at', '<=', at)
      .update({ status: 'delivering', claimed_by: owner, claim_expires_at: toDbTime(new Date(now.getTime() + claimTtlMs)) });
    const rows = (await trx('deliveries').select('*').whereIn('id', [...ids]).where({ status: 'delivering', claimed_by: owner })) as DeliveryRow[];
    return rows.map(toDelivery).sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || (a.id < b.id ? -1 : 1));
  }

  /**
   * Claims whose worker died: back to pending, to be sent again (the webhook-id lets receivers
   * dedupe). Found with a plain read, which takes no lock (most sweeps find nothing), then each
   * released by primary key, still only if expired: no range of the claim index is locked, so
   * the sweep cannot deadlock with the workers' claims. A lock conflict all the same leaves the
   * rest to the next sweep.
   */
  async releaseExpiredClaims(destinations: readonly string[], now: Date): Promise<number> {
    if (!destinations.length) return 0;
    const at = toDbTime(now);
    // By destination and status: the (destination, status, next_attempt_at) index finds them.
    const expired = ((await this.db('deliveries').select('id').whereIn('destination', [...destinations]).where({ status: 'delivering' }).where('claim_expires_at', '<', at).orderBy('id').limit(1000)) as { id: string }[]).map((r) => r.id);
    let released = 0;
    for (let i = 0; i < expired.length; i += 200) {
      const part = expired.slice(i, i + 200);
      try {
        released += await this.db('deliveries').whereIn('id', part).where({ status: 'delivering' }).where('claim_expires_at', '<', at).update({ status: 'pending', claimed_by: null, claim_expires_at: null });
      } catch (err) {
        if (isTransientLockError(err)) break;
        throw err;
      }
    }
    return released;
  }

  /**
   * When the next delivery a worker could claim falls due, among the given destinations: the first
   * of its line (null: nothing is claimable).
   */
  async nextDueAt(destinations: readonly string[]): Promise<Date | null> {
    if (!destinations.length) return null;
    const row = (await this.db('deliveries')
      .whereIn('destination', [...destinations])
      .where('status', 'pending')
      .min({ at: 'next_attempt_at' })
      .first()) as { at: string | Date | null } | undefined;
    return fromDbTime(row?.at ?? null);
  }
}
