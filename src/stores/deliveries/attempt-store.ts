import type { Knex } from 'knex';
import { insertRows, type BulkInsert } from '../../db/bulk';
import { fromDbInt, toDbJson, toDbTime } from '../../db/dialect';
import { groupBy } from '../../domain/group-by';
import { DeliveryLines } from './lines';
import { toAttempt, type Attempt, type AttemptRecord, type AttemptRow } from './rows';

const ATTEMPTS_INSERT: BulkInsert = {
  table: 'delivery_attempts',
  columns: ['delivery_id', 'attempt', 'trigger', 'started_at', 'duration_ms', 'url', 'request_headers_json', 'status_code', 'response_headers_json', 'response_body', 'error_class', 'error_message', 'outcome'],
};

/** delivery_attempts, and each attempt's result written back to its delivery (which may move its line on). */
export class AttemptStore {
  private readonly lines: DeliveryLines;

  constructor(private readonly db: Knex) {
    this.lines = new DeliveryLines(db);
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
        await this.lines.lineUp(
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

  /** Attempts started at or after `since`, counted by destination and outcome. */
  async outcomesSince(since: Date): Promise<{ destination: string; outcome: string; attempts: number }[]> {
    const rows = (await this.db('delivery_attempts as a')
      .join('deliveries as d', 'd.id', 'a.delivery_id')
      .where('a.started_at', '>=', toDbTime(since))
      .select('d.destination', 'a.outcome')
      .count({ n: '*' })
      .groupBy('d.destination', 'a.outcome')) as { destination: string; outcome: string; n: number | string }[];
    return rows.map((r) => ({ destination: r.destination, outcome: r.outcome, attempts: fromDbInt(r.n) }));
  }

  /** A delivery's attempts, oldest first. */
  async list(deliveryId: string): Promise<Attempt[]> {
    const rows = (await this.db('delivery_attempts').where({ delivery_id: deliveryId }).orderBy('id')) as AttemptRow[];
    return rows.map(toAttempt);
  }
}
