import type { Knex } from 'knex';
import { insertRows, type BulkInsert } from '../db/bulk';
import { dialectOf, forUpdate, fromDbInt, fromDbJson, fromDbTime, toDbJson, toDbTime } from '../db/dialect';
import type { AttemptTrigger, DeliveryStatus, ErrorClass, Outcome } from '../domain/delivery';
import { groupBy } from '../domain/group-by';

export interface Delivery {
  id: string;
  destination: string;
  eventId: number | null;
  meterId: string;
  sequence: number;
  eventType: string;
  status: DeliveryStatus;
  body: string;
  recordHash: string;
  createdAt: Date;
  nextAttemptAt: Date;
  attempts: number;
  retryIndex: number;
  lastAttemptAt: Date | null;
  lastStatus: number | null;
  lastErrorClass: string | null;
  lastError: string | null;
  deliveredAt: Date | null;
  deadAt: Date | null;
  deadReason: string | null;
  lastTrigger: AttemptTrigger;
  replays: number;
}

export interface NewDelivery {
  id: string;
  destination: string;
  eventId: number | null;
  meterId: string;
  sequence: number;
  eventType: string;
  status: 'pending' | 'dead';
  body: string;
  recordHash: string;
  createdAt: Date;
  deadReason?: string | null;
  lastError?: string | null;
}

export interface Attempt {
  id: number;
  deliveryId: string;
  attempt: number;
  trigger: AttemptTrigger;
  startedAt: Date;
  durationMs: number;
  url: string;
  requestHeaders: Record<string, string>;
  statusCode: number | null;
  responseHeaders: Record<string, string> | null;
  responseBody: string | null;
  errorClass: ErrorClass | null;
  errorMessage: string | null;
  outcome: Outcome;
}

/** The result of one attempt, written with the delivery's new state in one transaction. */
export interface AttemptRecord {
  deliveryId: string;
  /** The delivery's line: when it is done, the next delivery of its meter to its destination goes. */
  destination: string;
  meterId: string;
  claimedBy: string;
  /** 1-based: the delivery's attempts so far (as claimed) plus this one. */
  attemptNumber: number;
  trigger: AttemptTrigger;
  attempt: Omit<Attempt, 'id' | 'deliveryId' | 'attempt'>;
  next: {
    status: DeliveryStatus;
    nextAttemptAt: Date | null;
    retryIndex: number;
    /** Throttled and paused sends do not use an attempt. */
    countsAsAttempt: boolean;
    deadReason: string | null;
  };
}

export interface DeliveryFilter {
  status?: DeliveryStatus;
  destination?: string;
  meterId?: string;
  eventType?: string;
  /** Created at or after. */
  since?: Date;
  /** Created before. */
  until?: Date;
}

export interface DestinationQueueStats {
  destination: string;
  pending: number;
  delivering: number;
  dead: number;
  delivered: number;
  oldestPendingAt: Date | null;
}

interface DeliveryRow {
  id: string;
  destination: string;
  event_id: number | string | null;
  meter_id: string;
  sequence: number | string;
  event_type: string;
  status: string;
  body: string;
  record_hash: string;
  created_at: string | Date;
  next_attempt_at: string | Date;
  attempts: number | string;
  retry_index: number | string;
  last_attempt_at: string | Date | null;
  last_status: number | string | null;
  last_error_class: string | null;
  last_error: string | null;
  delivered_at: string | Date | null;
  dead_at: string | Date | null;
  dead_reason: string | null;
  last_trigger: string;
  replays: number | string;
}

function toDelivery(r: DeliveryRow): Delivery {
  return {
    id: r.id,
    destination: r.destination,
    eventId: r.event_id === null ? null : fromDbInt(r.event_id),
    meterId: r.meter_id,
    sequence: fromDbInt(r.sequence),
    eventType: r.event_type,
    // Waiting behind an earlier delivery of its meter is being pending, to everyone outside the store.
    status: (r.status === WAITING ? 'pending' : r.status) as DeliveryStatus,
    body: r.body,
    recordHash: r.record_hash,
    createdAt: fromDbTime(r.created_at)!,
    nextAttemptAt: fromDbTime(r.next_attempt_at)!,
    attempts: fromDbInt(r.attempts),
    retryIndex: fromDbInt(r.retry_index),
    lastAttemptAt: fromDbTime(r.last_attempt_at),
    lastStatus: r.last_status === null ? null : fromDbInt(r.last_status),
    lastErrorClass: r.last_error_class,
    lastError: r.last_error,
    deliveredAt: fromDbTime(r.delivered_at),
    deadAt: fromDbTime(r.dead_at),
    deadReason: r.dead_reason,
    lastTrigger: r.last_trigger as AttemptTrigger,
    replays: fromDbInt(r.replays),
  };
}

interface AttemptRow {
  id: number | string;
  delivery_id: string;
  attempt: number | string;
  trigger: string;
  started_at: string | Date;
  duration_ms: number | string;
  url: string;
  request_headers_json: string;
  status_code: number | string | null;
  response_headers_json: string | null;
  response_body: string | null;
  error_class: string | null;
  error_message: string | null;
  outcome: string;
}

function toAttempt(r: AttemptRow): Attempt {
  return {
    id: fromDbInt(r.id),
    deliveryId: r.delivery_id,
    attempt: fromDbInt(r.attempt),
    trigger: r.trigger as AttemptTrigger,
    startedAt: fromDbTime(r.started_at)!,
    durationMs: fromDbInt(r.duration_ms),
    url: r.url,
    requestHeaders: fromDbJson<Record<string, string>>(r.request_headers_json) ?? {},
    statusCode: r.status_code === null ? null : fromDbInt(r.status_code),
    responseHeaders: fromDbJson<Record<string, string>>(r.response_headers_json),
    responseBody: r.response_body,
    errorClass: r.error_class as ErrorClass | null,
    errorMessage: r.error_message,
    outcome: r.outcome as Outcome,
  };
}

/**
 * Per destination and meter the deliveries not yet delivered or dead form a line, in sequence
 * order. Only its first can be sent: it is `pending` (or `delivering` while in flight); the others
 * are stored as `waiting` (shown as pending), so claims read only what they can take, with no
 * check per row. The line moves on (`lineUp`) when its first is done, when deliveries join it, and
 * when a replay puts an earlier one back in it.
 */
const WAITING = 'waiting';
const IN_LINE = ['pending', WAITING, 'delivering'];

/** A delivery already queued for the same (destination, event) is skipped, never doubled. */
const DELIVERIES_INSERT: BulkInsert = {
  table: 'deliveries',
  columns: ['id', 'destination', 'event_id', 'meter_id', 'sequence', 'event_type', 'status', 'body', 'record_hash', 'created_at', 'next_attempt_at', 'dead_at', 'dead_reason', 'last_error'],
  conflict: { keys: ['destination', 'event_id'], merge: [] },
};
const ATTEMPTS_INSERT: BulkInsert = {
  table: 'delivery_attempts',
  columns: ['delivery_id', 'attempt', 'trigger', 'started_at', 'duration_ms', 'url', 'request_headers_json', 'status_code', 'response_headers_json', 'response_body', 'error_class', 'error_message', 'outcome'],
};

/** deliveries and delivery_attempts: the outbox, and what happened to each message. */
export class DeliveryStore {
  constructor(private readonly db: Knex) {}

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
    const reader = dialectOf(this.db) === 'mysql' ? this.db : trx;
    for (const [destination, items] of groupBy(queued, (d) => d.destination)) {
      for (const r of await this.inLine(reader, destination, [...new Set(items.map((d) => d.meterId))])) busy.add(`${destination}|${r.meter_id}`);
    }
    // In sequence order: of one meter's new deliveries, only the first can head an empty line.
    const first = new Set<NewDelivery>();
    for (const d of [...queued].sort((a, b) => a.sequence - b.sequence)) {
      const line = `${d.destination}|${d.meterId}`;
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

  /**
   * The deliveries in line (not delivered or dead) of these meters to a destination. On SQLite
   * through a partial index on what stays fixed while a delivery is in line (claims change its
   * status, not its membership). On MySQL, with `lock`, a locking read: the lines as they are now,
   * not as of the transaction's snapshot, held until it commits.
   */
  private async inLine(trx: Knex | Knex.Transaction, destination: string, meterIds: readonly string[], lock = false): Promise<{ id: string; meter_id: string; sequence: number; status: string }[]> {
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
   * Write attempts and the deliveries' new state (in the caller's transaction); a claim lost to
   * expiry is not overwritten. Answers, per destination, the deliveries that became first in
   * their line (the caller may claim them at once, in the same transaction).
   */
  async record(trx: Knex.Transaction, records: readonly AttemptRecord[], now: Date): Promise<Map<string, string[]>> {
    const next = new Map<string, string[]>();
    if (!records.length) return next;
    const at = toDbTime(now);
    // Deliveries that went through share one UPDATE; the rarer outcomes get one each.
    const delivered = records.filter((r) => r.next.status === 'delivered' && r.attempt.errorClass === null);
    const deliveredSet = new Set(delivered);
    const others = records.filter((r) => !deliveredSet.has(r));
    for (const group of groupBy(delivered, (r) => `${r.claimedBy}|${r.attempt.statusCode}`).values()) {
      for (let i = 0; i < group.length; i += 500) {
        const part = group.slice(i, i + 500);
        await trx('deliveries')
          .whereIn(
            'id',
            part.map((r) => r.deliveryId),
          )
          .where({ status: 'delivering', claimed_by: part[0]!.claimedBy })
          .update({
            status: 'delivered',
            attempts: trx.raw('attempts + 1'),
            last_attempt_at: at,
            last_status: part[0]!.attempt.statusCode,
            last_error_class: null,
            last_error: null,
            last_trigger: 'scheduled',
            delivered_at: at,
            dead_at: null,
            dead_reason: null,
            claimed_by: null,
            claim_expires_at: null,
          });
      }
    }
    for (const r of others) {
      const n = r.next;
      const a = r.attempt;
      await trx('deliveries')
        .where({ id: r.deliveryId, status: 'delivering', claimed_by: r.claimedBy })
        .update({
          status: n.status,
          next_attempt_at: toDbTime(n.nextAttemptAt ?? now),
          retry_index: n.retryIndex,
          attempts: trx.raw('attempts + 1'),
          last_attempt_at: toDbTime(a.startedAt),
          last_status: a.statusCode,
          last_error_class: a.errorClass,
          last_error: a.errorMessage,
          // The column names the trigger of the next attempt: after this one, the schedule's.
          last_trigger: 'scheduled',
          delivered_at: n.status === 'delivered' ? at : null,
          dead_at: n.status === 'dead' ? at : null,
          dead_reason: n.status === 'dead' ? n.deadReason : null,
          claimed_by: null,
          claim_expires_at: null,
        });
    }
    // Deliveries done (delivered or dead) leave their line: the next in it can go.
    for (const [destination, done] of groupBy(
      records.filter((r) => r.next.status === 'delivered' || r.next.status === 'dead'),
      (r) => r.destination,
    ))
      next.set(
        destination,
        await this.lineUp(
          trx,
          destination,
          done.map((r) => r.meterId),
        ),
      );
    // The attempt happened either way; it is logged even if the claim had expired meanwhile.
    await insertRows(
      trx,
      ATTEMPTS_INSERT,
      records.map((r) => {
        const a = r.attempt;
        return [r.deliveryId, r.attemptNumber, r.trigger, toDbTime(a.startedAt), Math.round(a.durationMs), a.url, toDbJson(a.requestHeaders), a.statusCode, toDbJson(a.responseHeaders), a.responseBody, a.errorClass, a.errorMessage, a.outcome];
      }),
    );
    return next;
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

  /** Give back a claim without an attempt (the worker stopped, or the destination paused meanwhile). */
  async release(ids: readonly string[], owner: string): Promise<void> {
    if (!ids.length) return;
    await this.db('deliveries').whereIn('id', ids).where({ status: 'delivering', claimed_by: owner }).update({ status: 'pending', claimed_by: null, claim_expires_at: null });
  }

  /** Claims whose worker died: back to pending, to be sent again (the webhook-id lets receivers dedupe). */
  async releaseExpiredClaims(destinations: readonly string[], now: Date): Promise<number> {
    if (!destinations.length) return 0;
    // By destination and status: the (destination, status, next_attempt_at) index finds them.
    return this.db('deliveries')
      .whereIn('destination', [...destinations])
      .where({ status: 'delivering' })
      .where('claim_expires_at', '<', toDbTime(now))
      .update({ status: 'pending', claimed_by: null, claim_expires_at: null });
  }

  async get(id: string): Promise<Delivery | undefined> {
    const row = (await this.db('deliveries').where({ id }).first()) as DeliveryRow | undefined;
    return row && toDelivery(row);
  }

  async attempts(deliveryId: string): Promise<Attempt[]> {
    const rows = (await this.db('delivery_attempts').where({ delivery_id: deliveryId }).orderBy('id')) as AttemptRow[];
    return rows.map(toAttempt);
  }

  private filtered(filter: DeliveryFilter): Knex.QueryBuilder {
    const q = this.db('deliveries');
    if (filter.status) q.whereIn('status', filter.status === 'pending' ? ['pending', WAITING] : [filter.status]);
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
      for (const [destination, back] of groupBy(finished, (r) => r.destination)) await this.lineUp(trx, destination, back.map((r) => r.meter_id));
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
    const rows = (await this.db('deliveries').select('destination', 'status').count({ n: '*' }).min({ oldest: 'created_at' }).groupBy('destination', 'status')) as {
      destination: string;
      status: string;
      n: number | string;
      oldest: string | Date | null;
    }[];
    const by = new Map<string, DestinationQueueStats>();
    for (const r of rows) {
      const s = by.get(r.destination) ?? { destination: r.destination, pending: 0, delivering: 0, dead: 0, delivered: 0, oldestPendingAt: null };
      const n = fromDbInt(r.n);
      if (r.status === 'pending' || r.status === WAITING) {
        s.pending += n;
        const oldest = fromDbTime(r.oldest);
        if (oldest && (!s.oldestPendingAt || oldest < s.oldestPendingAt)) s.oldestPendingAt = oldest;
      } else if (r.status === 'delivering') s.delivering = n;
      else if (r.status === 'dead') s.dead = n;
      else if (r.status === 'delivered') s.delivered = n;
      by.set(r.destination, s);
    }
    return [...by.values()];
  }

  /** Destinations with work due now (for the worker's poll). */
  async destinationsWithDueWork(now: Date): Promise<string[]> {
    const rows = (await this.db('deliveries').distinct('destination').where('status', 'pending').where('next_attempt_at', '<=', toDbTime(now))) as { destination: string }[];
    return rows.map((r) => r.destination);
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

  /** For tests and support: how many attempts a delivery has had, by outcome. */
  async attemptOutcomes(deliveryId: string): Promise<Record<string, number>> {
    const rows = (await this.db('delivery_attempts').select('outcome').count({ n: '*' }).where({ delivery_id: deliveryId }).groupBy('outcome')) as { outcome: string; n: number | string }[];
    return Object.fromEntries(rows.map((r) => [r.outcome, fromDbInt(r.n)]));
  }
}
