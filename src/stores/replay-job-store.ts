import type { Knex } from 'knex';
import { fromDbBool, fromDbInt, fromDbJson, fromDbTime, toDbBool, toDbJson, toDbTime } from '../db/dialect';

export type ReplayJobStatus = 'pending' | 'running' | 'succeeded' | 'failed';

export interface ReplayFilter {
  status: 'dead' | 'delivered' | 'pending';
  since: string;
  until?: string;
  destination?: string;
  eventType?: string;
  meterId?: string;
}

export interface ReplayJob {
  id: string;
  status: ReplayJobStatus;
  filter: ReplayFilter;
  dryRun: boolean;
  cap: number;
  matched: number;
  replayed: number;
  skipped: number;
  /** Of those skipped, the deliveries whose body still could not be rendered (the rest were being sent at that moment). */
  skippedUnrenderable: number;
  cursor: string | null;
  requestedBy: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
}

interface JobRow {
  id: string;
  status: string;
  filter_json: string;
  dry_run: number | boolean;
  cap: number | string;
  matched: number | string;
  replayed: number | string;
  skipped: number | string;
  skipped_unrenderable: number | string;
  cursor: string | null;
  requested_by: string;
  created_at: string | Date;
  started_at: string | Date | null;
  finished_at: string | Date | null;
  error: string | null;
}

const toJob = (r: JobRow): ReplayJob => ({
  id: r.id,
  status: r.status as ReplayJobStatus,
  filter: fromDbJson<ReplayFilter>(r.filter_json)!,
  dryRun: fromDbBool(r.dry_run),
  cap: fromDbInt(r.cap),
  matched: fromDbInt(r.matched),
  replayed: fromDbInt(r.replayed),
  skipped: fromDbInt(r.skipped),
  skippedUnrenderable: fromDbInt(r.skipped_unrenderable),
  cursor: r.cursor,
  requestedBy: r.requested_by,
  createdAt: fromDbTime(r.created_at)!,
  startedAt: fromDbTime(r.started_at),
  finishedAt: fromDbTime(r.finished_at),
  error: r.error,
});

/** replay_jobs: bulk replays run in the background, with progress, resumable by any replica. */
export class ReplayJobStore {
  constructor(private readonly db: Knex) {}

  async create(job: { id: string; filter: ReplayFilter; dryRun: boolean; cap: number; requestedBy: string; now: Date }): Promise<ReplayJob> {
    await this.db('replay_jobs').insert({
      id: job.id,
      status: 'pending',
      filter_json: toDbJson(job.filter),
      dry_run: toDbBool(job.dryRun),
      cap: job.cap,
      requested_by: job.requestedBy,
      created_at: toDbTime(job.now),
    });
    return (await this.get(job.id))!;
  }

  async get(id: string): Promise<ReplayJob | undefined> {
    const row = (await this.db('replay_jobs').where({ id }).first()) as JobRow | undefined;
    return row && toJob(row);
  }

  async list(limit: number): Promise<ReplayJob[]> {
    return ((await this.db('replay_jobs').orderBy('created_at', 'desc').limit(limit)) as JobRow[]).map(toJob);
  }

  /** Take a job that is waiting, or one whose runner stopped (claim expired). */
  async claim(owner: string, now: Date, ttlMs: number): Promise<ReplayJob | undefined> {
    const at = toDbTime(now);
    const candidate = (await this.db('replay_jobs')
      .where((q) => q.where('status', 'pending').orWhere((r) => r.where('status', 'running').where('claim_expires_at', '<', at)))
      .orderBy('created_at')
      .first()) as JobRow | undefined;
    if (!candidate) return undefined;
    const n = await this.db('replay_jobs')
      .where({ id: candidate.id, status: candidate.status })
      .where((q) => q.whereNull('claimed_by').orWhere('claim_expires_at', '<', at).orWhere('status', 'pending'))
      .update({ status: 'running', claimed_by: owner, claim_expires_at: toDbTime(new Date(now.getTime() + ttlMs)), started_at: candidate.started_at ?? at });
    return n === 1 ? this.get(candidate.id) : undefined;
  }

  async progress(id: string, owner: string, p: { matched: number; replayed: number; skipped: number; skippedUnrenderable: number; cursor: string | null }, now: Date, ttlMs: number): Promise<boolean> {
    const n = await this.db('replay_jobs')
      .where({ id, claimed_by: owner, status: 'running' })
      .update({ matched: p.matched, replayed: p.replayed, skipped: p.skipped, skipped_unrenderable: p.skippedUnrenderable, cursor: p.cursor, claim_expires_at: toDbTime(new Date(now.getTime() + ttlMs)) });
    return n === 1;
  }

  /** A dry run only counts: it is recorded finished, with what it would have replayed. */
  async completeDryRun(id: string, matched: number, now: Date): Promise<void> {
    await this.db('replay_jobs').where({ id, dry_run: toDbBool(true) }).update({ status: 'succeeded', matched, started_at: toDbTime(now), finished_at: toDbTime(now) });
  }

  async finish(id: string, outcome: { status: 'succeeded' | 'failed'; error?: string }, now: Date): Promise<void> {
    await this.db('replay_jobs').where({ id }).update({ status: outcome.status, error: outcome.error ?? null, finished_at: toDbTime(now), claimed_by: null, claim_expires_at: null });
  }
}
