import type { Knex } from 'knex';
import { fromDbBool, fromDbInt, fromDbJson, fromDbTime, toDbBool, toDbJson, toDbTime, toDbTimeOrNull } from '../db/dialect';

/** One stream's committed cursor and, while a run is unfinished, its page position. */
export interface StreamState {
  name: string;
  /** Largest Leap time committed by a completed run (canonical nine-digit form). */
  cursor: string | null;
  lastPassMs: number;
  runId: string | null;
  runKind: string | null;
  /** Largest time the unfinished run has seen so far. */
  pending: string | null;
  streamDone: boolean;
  pageToken: string | null;
  pageFilter: Record<string, unknown> | null;
  pageNumber: number;
  runStartedAt: Date | null;
}

interface CursorRow {
  name: string;
  cursor_value: string | null;
  last_pass_ms: number | string;
  run_id: string | null;
  run_kind: string | null;
  pending_value: string | null;
  stream_done: number | boolean;
  page_token: string | null;
  page_filter_json: string | null;
  page_number: number | string;
  run_started_at: string | Date | null;
}

function toState(row: CursorRow): StreamState {
  return {
    name: row.name,
    cursor: row.cursor_value,
    lastPassMs: fromDbInt(row.last_pass_ms),
    runId: row.run_id,
    runKind: row.run_kind,
    pending: row.pending_value,
    streamDone: fromDbBool(row.stream_done),
    pageToken: row.page_token,
    pageFilter: fromDbJson<Record<string, unknown>>(row.page_filter_json),
    pageNumber: fromDbInt(row.page_number),
    runStartedAt: fromDbTime(row.run_started_at),
  };
}

export function emptyStreamState(name: string): StreamState {
  return { name, cursor: null, lastPassMs: 0, runId: null, runKind: null, pending: null, streamDone: false, pageToken: null, pageFilter: null, pageNumber: 0, runStartedAt: null };
}

/** sync_cursors: written only inside the page transaction it describes. */
export class SyncStateStore {
  constructor(private readonly db: Knex) {}

  async get(name: string, trx: Knex | Knex.Transaction = this.db): Promise<StreamState> {
    const row = (await trx('sync_cursors').where({ name }).first()) as CursorRow | undefined;
    return row ? toState(row) : emptyStreamState(name);
  }

  async all(): Promise<StreamState[]> {
    return ((await this.db('sync_cursors').orderBy('name')) as CursorRow[]).map(toState);
  }

  async save(trx: Knex | Knex.Transaction, s: StreamState, now: Date): Promise<void> {
    const row = {
      cursor_value: s.cursor,
      last_pass_ms: s.lastPassMs,
      run_id: s.runId,
      run_kind: s.runKind,
      pending_value: s.pending,
      stream_done: toDbBool(s.streamDone),
      page_token: s.pageToken,
      page_filter_json: toDbJson(s.pageFilter),
      page_number: s.pageNumber,
      run_started_at: toDbTimeOrNull(s.runStartedAt),
      updated_at: toDbTime(now),
    };
    await trx('sync_cursors')
      .insert({ name: s.name, ...row })
      .onConflict('name')
      .merge(row);
  }
}
