import type { Knex } from 'knex';
import { forUpdate, fromDbBool, fromDbInt, fromDbTime, toDbBool, toDbTime, toDbTimeOrNull } from '../db/dialect';

export type PauseReason = 'manual' | 'failures' | 'gone';

export interface DestinationState {
  name: string;
  paused: boolean;
  pausedReason: PauseReason | null;
  pausedAt: Date | null;
  consecutiveFailures: number;
  lastSuccessAt: Date | null;
  lastFailureAt: Date | null;
  lastStatus: number | null;
  probeAt: Date | null;
  probeBackoffMs: number;
  pauses: number;
  resumes: number;
}

interface StateRow {
  name: string;
  paused: number | boolean;
  paused_reason: string | null;
  paused_at: string | Date | null;
  consecutive_failures: number | string;
  last_success_at: string | Date | null;
  last_failure_at: string | Date | null;
  last_status: number | string | null;
  probe_at: string | Date | null;
  probe_backoff_ms: number | string;
  pauses: number | string;
  resumes: number | string;
}

const toState = (r: StateRow): DestinationState => ({
  name: r.name,
  paused: fromDbBool(r.paused),
  pausedReason: r.paused_reason as PauseReason | null,
  pausedAt: fromDbTime(r.paused_at),
  consecutiveFailures: fromDbInt(r.consecutive_failures),
  lastSuccessAt: fromDbTime(r.last_success_at),
  lastFailureAt: fromDbTime(r.last_failure_at),
  lastStatus: r.last_status === null ? null : fromDbInt(r.last_status),
  probeAt: fromDbTime(r.probe_at),
  probeBackoffMs: fromDbInt(r.probe_backoff_ms),
  pauses: fromDbInt(r.pauses),
  resumes: fromDbInt(r.resumes),
});

export function initialState(name: string): DestinationState {
  return { name, paused: false, pausedReason: null, pausedAt: null, consecutiveFailures: 0, lastSuccessAt: null, lastFailureAt: null, lastStatus: null, probeAt: null, probeBackoffMs: 0, pauses: 0, resumes: 0 };
}

/** destination_state: health and pause state per destination, shared by every replica. */
export class DestinationStateStore {
  constructor(private readonly db: Knex) {}

  async get(name: string): Promise<DestinationState> {
    const row = (await this.db('destination_state').where({ name }).first()) as StateRow | undefined;
    return row ? toState(row) : initialState(name);
  }

  async all(): Promise<DestinationState[]> {
    return ((await this.db('destination_state').orderBy('name')) as StateRow[]).map(toState);
  }

  private async ensure(trx: Knex | Knex.Transaction, name: string, now: Date): Promise<void> {
    await trx('destination_state').insert({ name, updated_at: toDbTime(now) }).onConflict('name').ignore();
  }

  /**
   * A batch of results in order (in the caller's transaction, with the deliveries' results): a
   * success restarts the run of failures at those that came after it; without one, the batch's
   * failures extend the run. Both last times are kept. Returns the state after.
   */
  async recordOutcomes(
    trx: Knex.Transaction,
    name: string,
    outcome: { successes: number; failures: number; failuresAfterLastSuccess: number; lastStatus: number | null; lastFailureAt: Date | null; lastSuccessAt: Date | null },
    now: Date,
  ): Promise<DestinationState> {
    const patch: Record<string, unknown> = { updated_at: toDbTime(now), last_status: outcome.lastStatus };
    if (outcome.successes > 0) patch.consecutive_failures = outcome.failuresAfterLastSuccess;
    else if (outcome.failures > 0) patch.consecutive_failures = trx.raw('consecutive_failures + ?', [outcome.failures]);
    if (outcome.lastSuccessAt) patch.last_success_at = toDbTime(outcome.lastSuccessAt);
    if (outcome.lastFailureAt) patch.last_failure_at = toDbTime(outcome.lastFailureAt);
    // The row exists from the first batch on: insert it only when the update finds none.
    if (!(await trx('destination_state').where({ name }).update(patch))) {
      await this.ensure(trx, name, now);
      await trx('destination_state').where({ name }).update(patch);
    }
    // On MySQL a plain read sees the transaction's snapshot, which misses a row another replica
    // created after it when the update above changed no value; a locking read sees the row as is.
    return toState((await forUpdate(this.db, trx('destination_state').where({ name }).first())) as StateRow);
  }

  /** Pause once: true when this call paused it (so it is logged and counted once across replicas). */
  async pause(name: string, reason: PauseReason, now: Date, probeAt: Date | null, probeBackoffMs: number): Promise<boolean> {
    await this.ensure(this.db, name, now);
    const n = await this.db('destination_state')
      .where({ name, paused: toDbBool(false) })
      .update({ paused: toDbBool(true), paused_reason: reason, paused_at: toDbTime(now), probe_at: toDbTimeOrNull(probeAt), probe_backoff_ms: probeBackoffMs, pauses: this.db.raw('pauses + 1'), updated_at: toDbTime(now) });
    return n === 1;
  }

  async resume(name: string, now: Date): Promise<boolean> {
    await this.ensure(this.db, name, now);
    const n = await this.db('destination_state')
      .where({ name, paused: toDbBool(true) })
      .update({ paused: toDbBool(false), paused_reason: null, paused_at: null, probe_at: null, probe_backoff_ms: 0, consecutive_failures: 0, resumes: this.db.raw('resumes + 1'), updated_at: toDbTime(now) });
    return n === 1;
  }

  /** Take the next probe slot of a paused destination: only one replica probes at a time. */
  async takeProbe(name: string, now: Date, nextProbeAt: Date, backoffMs: number): Promise<boolean> {
    const n = await this.db('destination_state')
      .where({ name, paused: toDbBool(true) })
      .whereIn('paused_reason', ['failures'])
      .where('probe_at', '<=', toDbTime(now))
      .update({ probe_at: toDbTime(nextProbeAt), probe_backoff_ms: backoffMs, updated_at: toDbTime(now) });
    return n === 1;
  }
}
