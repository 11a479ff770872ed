import type { Knex } from 'knex';
import { fromDbBool, fromDbInt, fromDbTime, toDbBool, toDbTime } from '../db/dialect';

export type SyncKind = 'incremental' | 'full' | 'refresh';
export type SyncRunStatus = 'running' | 'succeeded' | 'failed';

export interface SyncRun {
  id: string;
  kind: SyncKind;
  status: SyncRunStatus;
  trigger: string;
  owner: string;
  dryRun: boolean;
  resumedFrom: string | null;
  since: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  cursorFrom: string | null;
  cursorTo: string | null;
  pages: number;
  metersSeen: number;
  metersChanged: number;
  events: number;
  errorCode: string | null;
  error: string | null;
}

export interface SyncRunProgress {
  pages: number;
  metersSeen: number;
  metersChanged: number;
  events: number;
}

interface RunRow {
  id: string;
  kind: string;
  status: string;
  trigger: string;
  owner: string;
  dry_run: number | boolean;
  resumed_from: string | null;
  since: string | null;
  started_at: string | Date;
  finished_at: string | Date | null;
  cursor_from: string | null;
  cursor_to: string | null;
  pages: number | string;
  meters_seen: number | string;
  meters_changed: number | string;
  events: number | string;
  error_code: string | null;
  error: string | null;
}

function toRun(r: RunRow): SyncRun {
  return {
    id: r.id,
    kind: r.kind as SyncKind,
    status: r.status as SyncRunStatus,
    trigger: r.trigger,
    owner: r.owner,
    dryRun: fromDbBool(r.dry_run),
    resumedFrom: r.resumed_from,
    since: r.since,
    startedAt: fromDbTime(r.started_at)!,
    finishedAt: fromDbTime(r.finished_at),
    cursorFrom: r.cursor_from,
    cursorTo: r.cursor_to,
    pages: fromDbInt(r.pages),
    metersSeen: fromDbInt(r.meters_seen),
    metersChanged: fromDbInt(r.meters_changed),
    events: fromDbInt(r.events),
    errorCode: r.error_code,
    error: r.error,
  };
}

export class SyncRunStore {
  constructor(private readonly db: Knex) {}

  async create(run: Pick<SyncRun, 'id' | 'kind' | 'trigger' | 'owner' | 'dryRun' | 'startedAt' | 'cursorFrom' | 'since' | 'resumedFrom'>): Promise<SyncRun> {
    await this.db('sync_runs').insert({
      id: run.id,
      kind: run.kind,
      status: 'running',
      trigger: run.trigger,
      owner: run.owner,
      dry_run: toDbBool(run.dryRun),
      resumed_from: run.resumedFrom,
      since: run.since,
      started_at: toDbTime(run.startedAt),
      cursor_from: run.cursorFrom,
    });
    return (await this.get(run.id))!;
  }

  /** Progress is written in the page transaction, so the counts match what was committed. */
  async addProgress(trx: Knex | Knex.Transaction, id: string, p: SyncRunProgress): Promise<void> {
    await trx('sync_runs')
      .where({ id })
      .update({
        pages: trx.raw('pages + ?', [p.pages]),
        meters_seen: trx.raw('meters_seen + ?', [p.metersSeen]),
        meters_changed: trx.raw('meters_changed + ?', [p.metersChanged]),
        events: trx.raw('events + ?', [p.events]),
      });
  }

  async finish(id: string, outcome: { status: 'succeeded' | 'failed'; at: Date; cursorTo?: string | null; errorCode?: string; error?: string }, trx: Knex | Knex.Transaction = this.db): Promise<void> {
    await trx('sync_runs')
      .where({ id })
      .update({
        status: outcome.status,
        finished_at: toDbTime(outcome.at),
        ...(outcome.cursorTo !== undefined ? { cursor_to: outcome.cursorTo } : {}),
        error_code: outcome.errorCode ?? null,
        error: outcome.error ?? null,
      });
  }

  async get(id: string): Promise<SyncRun | undefined> {
    const row = (await this.db('sync_runs').where({ id }).first()) as RunRow | undefined;
    return row && toRun(row);
  }

  async list(filter: { kind?: string; status?: string }, page: { limit: number; before?: Date }): Promise<SyncRun[]> {
    const q = this.db('sync_runs').select('*');
    if (filter.kind) q.where('kind', filter.kind);
    if (filter.status) q.where('status', filter.status);
    if (page.before) q.where('started_at', '<', toDbTime(page.before));
    return ((await q.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(page.limit)) as RunRow[]).map(toRun);
  }

  /** Runs still marked running that no live holder of the sync lease owns: they were interrupted. */
  async markInterrupted(exceptOwner: string, at: Date): Promise<number> {
    return this.db('sync_runs')
      .where({ status: 'running' })
      .whereNot({ owner: exceptOwner })
      .update({ status: 'failed', finished_at: toDbTime(at), error_code: 'interrupted', error: 'the process running this sync stopped before it finished' });
  }

  /** Start of the first or the last real (not dry, not refresh) run, of one kind or of any. */
  async startOf(which: 'first' | 'last', kind: 'incremental' | 'full' | null): Promise<Date | null> {
    const q = this.db('sync_runs').select('started_at').where({ dry_run: toDbBool(false) }).whereNot({ kind: 'refresh' });
    if (kind) q.where({ kind });
    const row = (await q.orderBy('started_at', which === 'first' ? 'asc' : 'desc').first()) as { started_at: string | Date } | undefined;
    return row ? fromDbTime(row.started_at) : null;
  }

  async lastSucceeded(kind: SyncKind): Promise<SyncRun | undefined> {
    const row = (await this.db('sync_runs').where({ kind, status: 'succeeded', dry_run: toDbBool(false) }).orderBy('started_at', 'desc').first()) as RunRow | undefined;
    return row && toRun(row);
  }
}
