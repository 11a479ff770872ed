import { randomUUID } from 'node:crypto';
import type { LeapClient } from '../../clients/leap-client';
import { LeapNotFoundError } from '../../clients/leap-errors';
import type { Clock } from '../../domain/clock';
import type { MeterEvent } from '../../domain/events';
import { maxInstant } from '../../domain/raw-parts';
import { canonicalInstant, shiftInstant } from '../../domain/timestamps';
import { AppError, errorMessage } from '../../errors';
import type { Logger } from '../../logger';
import type { EventStore } from '../../stores/event-store';
import type { LeaseStore } from '../../stores/lease-store';
import type { MeterStore } from '../../stores/meter-store';
import type { StreamState, SyncStateStore } from '../../stores/sync-state-store';
import type { SyncKind, SyncRun, SyncRunStore } from '../../stores/sync-run-store';
import type { Transactor, Tx } from '../../stores/transaction';
import type { PartUpdate } from './compare';
import { localPages, type PageSource } from './page-source';
import { checkRun, PageWriter, type EventSink, type MeterWriteHook, type RunContext, type UnitResult } from './page-writer';
import { streamsFor, StreamWalker, type StreamSpec } from './streams';
import type { Metrics } from '../metrics';
import { SYNC_LEASE, SyncBusyError, SyncLeaseLostError, SyncStoppedError } from './sync-errors';

export interface SyncSettings {
  apiVersion: 'v1' | 'v2';
  overlapMs: number;
  leaseTtlMs: number;
  fillMissingPartsLimit: number;
}

export interface SyncServiceDeps {
  leap: LeapClient;
  transactor: Transactor;
  meters: MeterStore;
  events: EventStore;
  state: SyncStateStore;
  runs: SyncRunStore;
  leases: LeaseStore;
  clock: Clock;
  logger: Logger;
  settings: SyncSettings;
  /** Who this process is, in leases and sync runs. */
  owner: string;
  sink?: EventSink;
  /** What follows Leap's changes in each page's transaction (readiness). */
  afterWrite?: MeterWriteHook;
  /** Where whole-portfolio walks parse and pair their pages: the page thread; by default this thread. */
  pages?: PageSource;
  metrics?: Pick<Metrics, 'syncRun'>;
}

export interface SyncProgress {
  stream: string;
  pages: number;
  metersSeen: number;
  metersChanged: number;
  events: number;
  elapsedMs: number;
  metersPerSecond: number;
}

export interface SyncOptions {
  kind: 'incremental' | 'full';
  /** Start from this time instead of the cursor (a backfill); the cursor never moves backwards. */
  since?: string;
  /** Read everything, write nothing; events are reported through onEvent. */
  dryRun?: boolean;
  trigger: string;
  onProgress?: (p: SyncProgress) => void;
  onEvent?: (e: MeterEvent) => void;
  /** Called once the run row exists (before the first page), e.g. to answer an API request. */
  onStart?: (run: SyncRun) => void;
  /** Stop at the next page boundary (shutdown); the position is kept and the next run resumes it. */
  signal?: AbortSignal;
}

export interface SyncResult {
  runId: string | null;
  kind: SyncKind;
  dryRun: boolean;
  resumedFrom: string | null;
  pages: number;
  metersSeen: number;
  metersChanged: number;
  events: number;
  archived: number;
  durationMs: number;
  cursors: Record<string, string | null>;
}

/**
 * Keeps the local copy of the partner's Leap portfolio current and turns every change into meter
 * events, exactly once: each page is one transaction (meters, events, outbox, page position);
 * cursors move only when a run completes; a crashed run resumes at its last committed page.
 */
export class SyncService {
  private readonly log: Logger;
  private readonly writer: PageWriter;
  private readonly walker: StreamWalker;

  constructor(private readonly deps: SyncServiceDeps) {
    this.log = deps.logger;
    this.writer = new PageWriter({ ...deps, leaseTtlMs: deps.settings.leaseTtlMs });
    this.walker = new StreamWalker({ ...deps, writer: this.writer, pages: deps.pages ?? localPages() });
  }

  /** One pass: incremental from the cursors (or `since`), or a full reconcile of the whole portfolio. */
  async run(opts: SyncOptions): Promise<SyncResult> {
    // A dry run is one transaction, rolled back: it sees its own writes, and none of them stays.
    if (opts.dryRun) return this.deps.transactor.run((tx) => this.execute(opts, tx), { rollback: true, attempts: 1 });
    try {
      const result = await this.execute(opts, undefined);
      this.deps.metrics?.syncRun(opts.kind, 'succeeded');
      return result;
    } catch (err) {
      this.deps.metrics?.syncRun(opts.kind, err instanceof SyncBusyError ? 'busy' : 'failed');
      throw err;
    }
  }

  private async execute(opts: SyncOptions, dryTx: Tx | undefined): Promise<SyncResult> {
    const { clock } = this.deps;
    const dryRun = Boolean(opts.dryRun);
    const started = clock.now();
    const since = opts.since ? canonicalInstant(opts.since) : null;
    if (opts.since && !since) throw new AppError(400, 'invalid_since', `since must be an ISO 8601 time, got ${opts.since}`);

    const abort = new AbortController();
    if (opts.signal?.aborted) throw new SyncStoppedError();
    opts.signal?.addEventListener('abort', () => abort.abort(new SyncStoppedError()), { once: true });
    let renewTimer: NodeJS.Timeout | null = null;
    if (!dryRun) {
      const ttl = this.deps.settings.leaseTtlMs;
      if (!(await this.deps.leases.acquire(SYNC_LEASE, this.deps.owner, ttl, started))) {
        const lease = await this.deps.leases.get(SYNC_LEASE);
        throw new SyncBusyError(lease?.owner ?? null, lease?.expiresAt ?? null);
      }
      renewTimer = setInterval(() => {
        this.deps.leases.renew(SYNC_LEASE, this.deps.owner, ttl, clock.now()).then(
          (held) => {
            if (!held) abort.abort(new SyncLeaseLostError());
          },
          (err: unknown) => this.log.warn('could not renew the sync lease', { err: errorMessage(err) }),
        );
      }, Math.max(50, Math.floor(ttl / 3)));
      renewTimer.unref();
      // We hold the lease, so a run still marked running elsewhere belongs to a process that died.
      const interrupted = await this.deps.runs.markInterrupted(this.deps.owner, started);
      if (interrupted) this.log.warn('marked interrupted sync runs as failed', { count: interrupted });
    }

    const streams = streamsFor(this.deps.leap, this.deps.settings.apiVersion, opts.kind);
    const states = new Map<string, StreamState>();
    for (const s of streams) states.set(s.name, await this.deps.state.get(s.name, dryTx));
    // A stored position from an unfinished run of the same kind is resumed, not restarted.
    const resumable = since === null ? [...states.values()].find((st) => st.runId && st.runKind === opts.kind && (st.pageToken || st.streamDone)) : undefined;
    const resumedFrom = resumable?.runId ?? null;
    const epoch = resumable?.runStartedAt ?? started;

    let run: SyncRun | null = null;
    if (!dryRun) {
      run = await this.deps.runs.create({
        id: randomUUID(),
        kind: opts.kind,
        trigger: opts.trigger,
        owner: this.deps.owner,
        dryRun,
        startedAt: started,
        cursorFrom: streams.map((s) => states.get(s.name)!.cursor).reduce<string | null>((a, b) => (a === null ? b : b === null ? a : a < b ? a : b), null),
        since,
        resumedFrom,
      });
      opts.onStart?.(run);
    }
    const ctx: RunContext = { tx: dryTx, runId: run?.id ?? null, kind: opts.kind, dryRun, origin: opts.kind === 'full' ? 'reconcile' : 'poll', signal: abort.signal, onEvent: opts.onEvent, seenSince: started };
    const totals = { pages: 0, metersSeen: 0, metersChanged: 0, events: 0, archived: 0 };
    const log = this.log.child({ run_id: ctx.runId, kind: opts.kind, dry_run: dryRun });
    log.info(resumedFrom ? 'sync resuming an interrupted run' : 'sync started', { resumed_from: resumedFrom, since });

    try {
      const startPosition = (st: StreamState, resume: boolean, filter: Record<string, unknown> | null): StreamState => ({
        ...st,
        runId: ctx.runId,
        runKind: opts.kind,
        pending: resume ? st.pending : null,
        streamDone: false,
        pageToken: resume ? st.pageToken : null,
        pageFilter: filter,
        pageNumber: resume ? st.pageNumber : 0,
        runStartedAt: epoch,
      });
      // Set while a whole-portfolio details walk reads each page's enrollments with it (v2).
      let paired: { stream: StreamSpec; position: StreamState } | null = null;
      for (const stream of streams) {
        const st = states.get(stream.name)!;
        const resume = resumedFrom !== null && st.runId === resumedFrom;
        if (paired?.stream === stream) {
          states.set(stream.name, paired.position);
          continue;
        }
        if (resume && st.streamDone) continue;
        const from = since ?? (opts.kind === 'full' || !st.cursor ? null : shiftInstant(st.cursor, -(this.deps.settings.overlapMs + st.lastPassMs)));
        const filter = resume && st.pageFilter ? st.pageFilter : stream.filterFrom(from);
        const position = startPosition(st, resume, filter);
        // Walking every meter's details, read the same meters' enrollments page by page (the
        // meter_ids filter) instead of walking every enrollment afterwards: the same number of
        // requests, and each meter is compared and written once, whole.
        const partner = streams.find((s) => s.part === 'enrollment');
        if (stream.part === 'details' && partner && filter.last_modified_date_time === undefined) {
          const pst = states.get(partner.name)!;
          paired = { stream: partner, position: startPosition(pst, resumedFrom !== null && pst.runId === resumedFrom, null) };
        }
        await this.walker.walk(stream, position, ctx, paired?.position ?? null, (p) => {
          totals.pages += 1;
          totals.metersSeen += p.metersSeen;
          totals.metersChanged += p.metersChanged;
          totals.events += p.events.length;
          const elapsedMs = clock.now().getTime() - started.getTime();
          opts.onProgress?.({ stream: stream.name, pages: totals.pages, metersSeen: totals.metersSeen, metersChanged: totals.metersChanged, events: totals.events, elapsedMs, metersPerSecond: elapsedMs > 0 ? (totals.metersSeen * 1000) / elapsedMs : 0 });
        });
        states.set(stream.name, position);
      }

      if (this.deps.settings.apiVersion === 'v2') {
        const filled = await this.fillMissingParts(ctx);
        totals.metersChanged += filled.metersChanged;
        totals.events += filled.events.length;
      }
      if (opts.kind === 'full') {
        const gone = await this.archiveUnseen(epoch, ctx);
        totals.archived = gone.events.length;
        totals.events += gone.events.length;
        totals.metersChanged += gone.metersChanged;
      }

      // The run is complete: only now do the cursors move, all together.
      const finishedAt = clock.now();
      const cursors: Record<string, string | null> = {};
      await this.writer.unit(ctx, async (tx) => {
          checkRun(ctx);
          for (const stream of streams) {
            const st = states.get(stream.name)!;
            const cursor = maxInstant(st.cursor, st.pending);
            cursors[stream.name] = cursor;
            await this.deps.state.save(
              tx,
              { ...st, cursor, lastPassMs: finishedAt.getTime() - epoch.getTime(), runId: null, runKind: null, pending: null, streamDone: false, pageToken: null, pageFilter: null, pageNumber: 0, runStartedAt: null },
              finishedAt,
            );
          }
          if (run) {
            await this.deps.runs.finish(run.id, { status: 'succeeded', at: finishedAt, cursorTo: Object.values(cursors).reduce<string | null>((a, b) => maxInstant(a, b), null) }, tx);
          }
        });
      const durationMs = finishedAt.getTime() - started.getTime();
      log.info('sync finished', { ...totals, duration_ms: durationMs });
      return { runId: ctx.runId, kind: opts.kind, dryRun, resumedFrom, ...totals, durationMs, cursors };
    } catch (err) {
      const failure = abort.signal.aborted && abort.signal.reason instanceof AppError ? abort.signal.reason : err;
      log.error('sync failed', { err: errorMessage(failure), code: (failure as { code?: string }).code });
      if (run) {
        await this.deps.runs
          .finish(run.id, { status: 'failed', at: clock.now(), errorCode: (failure as { code?: string }).code ?? 'sync_failed', error: errorMessage(failure) })
          .catch(() => undefined);
      }
      throw failure;
    } finally {
      if (renewTimer) clearInterval(renewTimer);
      if (!dryRun) await this.deps.leases.release(SYNC_LEASE, this.deps.owner).catch(() => undefined);
    }
  }

  /** v2 meters seen in only one part (the other has not appeared in a search yet) are completed with a GET. */
  private async fillMissingParts(ctx: RunContext): Promise<UnitResult> {
    const limit = this.deps.settings.fillMissingPartsLimit;
    const total: UnitResult = { metersSeen: 0, metersChanged: 0, metersNew: 0, events: [] };
    if (limit <= 0) return total;
    const incomplete = await this.deps.meters.incomplete(limit, ctx.tx);
    for (let i = 0; i < incomplete.length; i += 50) {
      const batch = incomplete.slice(i, i + 50);
      const parts: PartUpdate[] = [];
      for (const { meterId, missing } of batch) {
        checkRun(ctx);
        try {
          parts.push(missing === 'details' ? { meterId, details: await this.deps.leap.getDetails(meterId, { signal: ctx.signal }) } : { meterId, enrollment: await this.deps.leap.getEnrollment(meterId, { signal: ctx.signal }) });
        } catch (err) {
          if (err instanceof LeapNotFoundError) continue;
          throw err;
        }
      }
      const r = await this.writer.write(parts, ctx);
      total.metersSeen += r.metersSeen;
      total.metersChanged += r.metersChanged;
      total.events.push(...r.events);
    }
    return total;
  }

  /** After a complete full walk: meters Leap no longer returned are archived (once). */
  private async archiveUnseen(epoch: Date, ctx: RunContext): Promise<UnitResult> {
    const total: UnitResult = { metersSeen: 0, metersChanged: 0, metersNew: 0, events: [] };
    for (;;) {
      const gone = await this.deps.meters.unseenSince(epoch, 200, ctx.tx);
      if (!gone.length) return total;
      const r = await this.writer.archive(gone, ctx, async (tx, result) => {
        if (ctx.runId) await this.deps.runs.addProgress(tx, ctx.runId, { pages: 0, metersSeen: 0, metersChanged: result.metersChanged, events: result.events.length });
      });
      total.metersChanged += r.metersChanged;
      total.events.push(...r.events);
    }
  }

  /**
   * Re-read named meters now (Leap's webhooks are hints, not data) and put them through the same
   * change detection as polling. Meters Leap does not know are skipped.
   */
  async refresh(meterIds: readonly string[], origin: 'leap_event' | 'poll' = 'leap_event'): Promise<{ metersSeen: number; metersChanged: number; events: number; notFound: string[] }> {
    const ctx: RunContext = { runId: null, kind: 'refresh', dryRun: false, origin, signal: new AbortController().signal, seenSince: null };
    const notFound: string[] = [];
    const totals = { metersSeen: 0, metersChanged: 0, events: 0 };
    const unique = [...new Set(meterIds)];
    for (let i = 0; i < unique.length; i += 50) {
      const parts: PartUpdate[] = [];
      await Promise.all(
        unique.slice(i, i + 50).map(async (meterId) => {
          try {
            if (this.deps.settings.apiVersion === 'v1') parts.push({ meterId, v1: await this.deps.leap.getMeterV1(meterId) });
            else {
              const [details, enrollment] = await Promise.all([this.deps.leap.getDetails(meterId), this.deps.leap.getEnrollment(meterId)]);
              parts.push({ meterId, details, enrollment });
            }
          } catch (err) {
            if (err instanceof LeapNotFoundError) notFound.push(meterId);
            else throw err;
          }
        }),
      );
      parts.sort((a, b) => a.meterId.localeCompare(b.meterId));
      const r = await this.writer.write(parts, ctx);
      totals.metersSeen += r.metersSeen;
      totals.metersChanged += r.metersChanged;
      totals.events += r.events.length;
    }
    return { ...totals, notFound };
  }
}
