import type { MeterEvent } from '../../domain/events';
import type { EventFilter, EventStore } from '../../stores/event-store';
import type { SyncRun, SyncRunStore } from '../../stores/sync-run-store';
import type { SyncStateStore } from '../../stores/sync-state-store';
import type { StartRunOptions, SyncScheduler } from './scheduler';

/** A sync run as the admin API shows it. */
export interface SyncRunView {
  id: string;
  kind: string;
  status: string;
  trigger: string;
  owner: string;
  dry_run: boolean;
  resumed_from: string | null;
  since: string | null;
  started_at: string;
  finished_at: string | null;
  cursor_from: string | null;
  cursor_to: string | null;
  pages: number;
  meters_seen: number;
  meters_changed: number;
  events: number;
  error_code: string | null;
  error: string | null;
}

export function runView(r: SyncRun): SyncRunView {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    trigger: r.trigger,
    owner: r.owner,
    dry_run: r.dryRun,
    resumed_from: r.resumedFrom,
    since: r.since,
    started_at: r.startedAt.toISOString(),
    finished_at: r.finishedAt?.toISOString() ?? null,
    cursor_from: r.cursorFrom,
    cursor_to: r.cursorTo,
    pages: r.pages,
    meters_seen: r.metersSeen,
    meters_changed: r.metersChanged,
    events: r.events,
    error_code: r.errorCode,
    error: r.error,
  };
}

/** A stream's committed cursor, and where an unfinished run is in it. */
export interface StreamView {
  name: string;
  /** Largest Leap time committed (nine fractional digits). */
  cursor: string | null;
  /** The unfinished run's id and page, while one is under way. */
  run_id: string | null;
  page_number: number;
}

/** Sync runs and meter events for support staff. */
export class SyncAdminService {
  constructor(private readonly deps: { runs: SyncRunStore; events: EventStore; scheduler: SyncScheduler; state: SyncStateStore }) {}

  async streams(): Promise<StreamView[]> {
    return (await this.deps.state.all()).map((s) => ({ name: s.name, cursor: s.cursor, run_id: s.runId, page_number: s.pageNumber }));
  }

  async listRuns(filter: { kind?: string; status?: string }, limit: number, before?: Date): Promise<SyncRunView[]> {
    return (await this.deps.runs.list(filter, { limit, before })).map(runView);
  }

  async getRun(id: string): Promise<SyncRunView | undefined> {
    const r = await this.deps.runs.get(id);
    return r && runView(r);
  }

  async startRun(opts: StartRunOptions): Promise<SyncRunView> {
    return runView(await this.deps.scheduler.startRun(opts));
  }

  /** Events as GET /admin/v1/events pages them (oldest first), or the most recent ones, newest first. */
  listEvents(filter: EventFilter, limit: number, order: 'oldest' | 'newest' = 'oldest'): Promise<MeterEvent[]> {
    return this.deps.events.list(filter, limit, order);
  }

  getEvent(id: number): Promise<MeterEvent | undefined> {
    return this.deps.events.get(id);
  }
}
