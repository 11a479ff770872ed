import { randomUUID } from 'node:crypto';
import type { LeapClient } from '../clients/leap-client';
import { LeapNotFoundError, LeapPageTokenExpiredError } from '../clients/leap-errors';
import type { Clock } from '../domain/clock';
import { deriveEvents, meterView, type MeterEvent, type MeterView, type PendingEvent } from '../domain/events';
import type { LeapPage, LeapSearchFilter } from '../domain/leap-types';
import type { Meter, MeterRaw } from '../domain/meter';
import { meterFromRaw } from '../domain/normalize';
import { audit, contentHash, latestOf, leapUpdatedAt, maxInstant, parsePart, rawPartHash, serializePart } from '../domain/raw-parts';
import { freshMeter, freshWrite, isComplete, type FreshMeter } from './fresh-meter';
import { localPages, type PageRef, type PageSource, type PageWalk } from './sync-pages';
import type { ReadMeter } from './sync-page-thread';
import { canonicalInstant, instantToWire, shiftInstant } from '../domain/timestamps';
import { AppError, errorMessage } from '../errors';
import type { Logger } from '../logger';
import type { EventStore, NewMeterEvent, KeptSnapshot } from '../stores/event-store';
import type { LeaseStore } from '../stores/lease-store';
import { groupRows, meterColumns, type MeterStore, type MeterWrite, type RawPart, type StoredMeter } from '../stores/meter-store';
import type { StreamState, SyncStateStore } from '../stores/sync-state-store';
import type { SyncKind, SyncRun, SyncRunStore } from '../stores/sync-run-store';
import type { Transactor, Tx } from '../stores/transaction';

export const SYNC_LEASE = 'sync';

/** Receives the events of each committed unit of work, inside its transaction (the outbox). */
export interface EventSink {
  enqueue(tx: Tx, events: readonly MeterEvent[]): Promise<void>;
}

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
  /** Where whole-portfolio walks parse and pair their pages: the page thread; by default this thread. */
  pages?: PageSource;
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

/** Another process (or this one) holds the sync lease. */
export class SyncBusyError extends AppError {
  constructor(holder: string | null, expiresAt: Date | null) {
    super(409, 'sync_in_progress', `a sync is already running${holder ? ` (held by ${holder} until ${expiresAt?.toISOString()})` : ''}`, { holder, expires_at: expiresAt?.toISOString() ?? null });
  }
}

export class SyncStoppedError extends AppError {
  constructor() {
    super(503, 'sync_stopped', 'the sync was stopped (shutdown) after its last committed page; the next run resumes from there');
  }
}

export class SyncLeaseLostError extends AppError {
  constructor() {
    super(409, 'sync_lease_lost', 'the sync lease expired and may be held by another process; this run stopped without committing further pages');
  }
}

/** One searchable stream of meter parts and the time field its cursor follows. */
interface StreamSpec {
  name: string;
  part: 'details' | 'enrollment' | 'v1';
  cursorField: (item: Record<string, unknown>) => unknown;
  filterFrom: (from: string | null) => Record<string, unknown>;
  search: (filter: Record<string, unknown>, opts: { pageToken?: string; signal?: AbortSignal }) => AsyncGenerator<LeapPage<Record<string, unknown>>, void, undefined>;
}

/** Part of a meter as read from Leap. A refresh reads both v2 parts at once. */
interface PartUpdate {
  meterId: string;
  details?: Record<string, unknown>;
  enrollment?: Record<string, unknown>;
  v1?: Record<string, unknown>;
  /**
   * The v2 parts as the page thread read them: their texts and hashes, and (for a meter it did
   * not know to be stored) the meter's first write. Parsed here only to compare a stored meter
   * that changed.
   */
  read?: ReadMeter;
}

/** Nothing to compare: the parts read hash the same as the parts stored. */
function unchanged(part: PartUpdate, s: StoredMeter): boolean {
  if (s.missingSince) return false;
  if (part.v1 !== undefined) return s.source === 'v1' && s.detailsHash === rawPartHash(part.v1);
  if (s.source !== 'v2') return false;
  const r = part.read;
  // undefined: the part was not read this time.
  const details = r ? r.details.hash : part.details && rawPartHash(part.details);
  const enrollment = r ? r.enrollment?.hash : part.enrollment && rawPartHash(part.enrollment);
  if (details !== undefined && s.detailsHash !== details) return false;
  if (enrollment !== undefined && s.enrollmentHash !== enrollment) return false;
  return true;
}

/** A part read by the page thread, as objects, for the comparison with a stored meter. */
function parsed(part: PartUpdate): PartUpdate {
  const r = part.read;
  if (!r) return part;
  return { meterId: part.meterId, details: parsePart(r.details), ...(r.enrollment ? { enrollment: parsePart(r.enrollment) } : {}) };
}

/** What a unit writes for one meter: the write, its events, and the meter they show (computed when first read). */
interface Outcome {
  write: MeterWrite;
  events: PendingEvent[];
  before: Meter | null;
  view: () => MeterView;
}

/** The meter an event shows, computed once, when first asked for. */
function once(make: () => MeterView): () => MeterView {
  let view: MeterView | undefined;
  return () => (view ??= make());
}

/** The events of a committed write, as the outbox and `onEvent` receive them; the meter is built when read. */
function toMeterEvents(pending: readonly { e: NewMeterEvent; view: () => MeterView }[], ids: readonly number[]): MeterEvent[] {
  return pending.map(({ e, view }, i) => ({
    id: ids[i]!,
    meter_id: e.meter_id,
    sequence: e.sequence,
    type: e.type,
    occurred_at: e.occurred_at.toISOString(),
    origin: e.origin,
    sync_run_id: e.sync_run_id,
    get meter() {
      return view();
    },
    changes: e.changes,
  }));
}

interface UnitResult {
  metersSeen: number;
  metersChanged: number;
  /** Meters stored for the first time. */
  metersNew: number;
  events: MeterEvent[];
}

interface RunContext {
  /** A dry run does all its work in this one transaction, rolled back at the end. */
  tx?: Tx;
  runId: string | null;
  kind: SyncKind;
  dryRun: boolean;
  origin: 'poll' | 'reconcile' | 'leap_event';
  signal: AbortSignal;
  onEvent?: (e: MeterEvent) => void;
  /**
   * When the run started: a meter already read since then (its other part, on v2) is not counted
   * as seen again. Null: every meter read counts (a targeted refresh).
   */
  seenSince: Date | null;
}

/** One turn of the event loop: sockets are read (the next pages arrive) and timers run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A turn of the event loop once `everyMs` have passed since the last one, else nothing. Leap's
 * pages come one after another (each needs its predecessor's token) and each is read only when
 * the event loop turns: comparing a page without a turn left the next one unread until the page
 * was committed, and the sync waited for it, page after page.
 */
function turnsEvery(everyMs: number): () => Promise<void> | null {
  let last = performance.now();
  return () => {
    const now = performance.now();
    if (now - last < everyMs) return null;
    last = now;
    return turn();
  };
}

/** How long a page is compared before the event loop gets a turn. */
const COMPARE_SLICE_MS = 5;

/** A page on its way: where its stream goes next, and its meters' parts once read (and paired). */
interface ReadPage {
  nextPageToken: string | null;
  /** The latest cursor time on the page. */
  latest: string | null;
  parts: Promise<{ parts: PartUpdate[]; enrollmentsLatest: string | null }>;
}

/** Leap's meter_ids filter takes up to 1,000 ids; a details page has at most 500 meters. */
const ENROLLMENT_IDS_PER_SEARCH = 500;

/**
 * Fetch ahead while the current page is being written: up to `depth` pages requested, their
 * results held in order (a generator answers its queued next() calls one after another).
 */
async function* prefetching<T>(source: AsyncGenerator<T, void, undefined>, depth = 1): AsyncGenerator<T, void, undefined> {
  const ahead: Promise<IteratorResult<T, void>>[] = [];
  const request = (): void => {
    const next = source.next();
    next.catch(() => undefined);
    ahead.push(next);
  };
  try {
    for (let i = 0; i < depth; i++) request();
    for (;;) {
      const r = await ahead.shift()!;
      if (r.done) return;
      request();
      yield r.value;
    }
  } finally {
    await source.return(undefined).catch(() => undefined);
  }
}

/**
 * Keeps the local copy of the partner's Leap portfolio current and turns every change into meter
 * events, exactly once: each page is one transaction (meters, events, outbox, page position);
 * cursors move only when a run completes; a crashed run resumes at its last committed page.
 */
export class SyncService {
  private readonly log: Logger;
  private readonly pages: PageSource;

  constructor(private readonly deps: SyncServiceDeps) {
    this.log = deps.logger;
    this.pages = deps.pages ?? localPages();
  }

  private streams(kind: 'incremental' | 'full'): StreamSpec[] {
    const leap = this.deps.leap;
    if (this.deps.settings.apiVersion === 'v2') {
      const v2 = (name: string, part: 'details' | 'enrollment'): StreamSpec => ({
        name,
        part,
        cursorField: (item) => audit(item).updated_at,
        filterFrom: (from) => (from ? { last_modified_date_time: instantToWire(from) } : {}),
        search: (filter, opts) =>
          (part === 'details' ? leap.searchDetails(filter, opts) : leap.searchEnrollments(filter, opts)) as AsyncGenerator<LeapPage<Record<string, unknown>>, void, undefined>,
      });
      return [v2('v2:details', 'details'), v2('v2:enrollments', 'enrollment')];
    }
    const v1 = (name: string, field: 'date_added' | 'date_last_modified', filterKey: 'date_added_from' | 'date_last_modified'): StreamSpec => ({
      name,
      part: 'v1',
      cursorField: (item) => item[field] ?? audit(item)[field === 'date_added' ? 'created_at' : 'updated_at'],
      filterFrom: (from) => (from ? { [filterKey]: instantToWire(from) } : {}),
      search: (filter, opts) => leap.searchMetersV1(filter, opts) as AsyncGenerator<LeapPage<Record<string, unknown>>, void, undefined>,
    });
    // New authorizations by date added, then everything modified; a full walk needs one search.
    return kind === 'full' ? [v1('v1:modified', 'date_last_modified', 'date_last_modified')] : [v1('v1:added', 'date_added', 'date_added_from'), v1('v1:modified', 'date_last_modified', 'date_last_modified')];
  }

  /** One pass: incremental from the cursors (or `since`), or a full reconcile of the whole portfolio. */
  async run(opts: SyncOptions): Promise<SyncResult> {
    // A dry run is one transaction, rolled back: it sees its own writes, and none of them stays.
    if (opts.dryRun) return this.deps.transactor.run((tx) => this.execute(opts, tx), { rollback: true, attempts: 1 });
    return this.execute(opts, undefined);
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

    const streams = this.streams(opts.kind);
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
        await this.walkStream(stream, position, ctx, paired?.position ?? null, (p) => {
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
      await this.unit(ctx, async (tx) => {
          this.checkLease(ctx);
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

  /**
   * One unit of work: its own transaction (retried whole on a lock conflict), or, in a dry run,
   * the run's single transaction, so later pages see what earlier ones would have written.
   */
  private unit<T>(ctx: RunContext, work: (tx: Tx) => Promise<T>): Promise<T> {
    if (ctx.tx) return work(ctx.tx);
    if (!ctx.runId) return this.deps.transactor.run(work);
    // A run's pages commit only while it holds the lease: renewing inside the transaction, as its
    // last statement, fences a holder that stalled past its expiry (another process may have taken
    // over meanwhile). Last, so that the work before it holds no write lock on SQLite while it
    // gives the event loop its turns.
    return this.deps.transactor.run(async (tx) => {
      const result = await work(tx);
      const held = await this.deps.leases.renew(SYNC_LEASE, this.deps.owner, this.deps.settings.leaseTtlMs, this.deps.clock.now(), tx);
      if (!held) throw new SyncLeaseLostError();
      return result;
    });
  }

  /** Stop before writing another page when the lease was lost or a shutdown began. */
  private checkLease(ctx: RunContext): void {
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new SyncLeaseLostError();
  }

  /**
   * Walk one stream page by page, each page one unit of work. With `enrollments` (a v2 details
   * walk of the whole portfolio), each page is completed with its meters' enrollments, whose
   * stream position (its pending cursor) is saved with the page.
   */
  private async walkStream(stream: StreamSpec, position: StreamState, ctx: RunContext, enrollments: StreamState | null, onPage: (r: UnitResult) => void): Promise<void> {
    let restarts = 0;
    for (;;) {
      // Whole-portfolio v2 walks: details pages and their enrollments are parsed and paired in the page thread.
      const walk = enrollments ? this.pages.walk() : null;
      // Whether the page thread builds new meters' first writes: where most meters are new. Guessed
      // from an empty store, then taken from the page last written.
      const build = { wanted: walk !== null && (await this.deps.meters.none(ctx.tx)) };
      try {
        // Paired, three details pages ahead: pages read, paired in the page thread and written overlap.
        const pages = walk ? prefetching(this.pairedPages(position, walk, build, ctx.signal), 3) : prefetching(this.plainPages(stream, position, ctx.signal));
        for await (const page of pages) {
          this.checkLease(ctx);
          const read = await page.parts;
          const next: StreamState = {
            ...position,
            pending: maxInstant(position.pending, page.latest),
            pageToken: page.nextPageToken,
            pageNumber: position.pageNumber + 1,
            streamDone: page.nextPageToken === null,
          };
          // Its page count stays: the pages are the details stream's.
          const nextEnrollments: StreamState | null = enrollments ? { ...enrollments, pending: maxInstant(enrollments.pending, read.enrollmentsLatest), streamDone: next.streamDone } : null;
          const result = await this.applyUnit(read.parts, ctx, async (tx, r) => {
            const at = this.deps.clock.now();
            await this.deps.state.save(tx, next, at);
            if (nextEnrollments) await this.deps.state.save(tx, nextEnrollments, at);
            if (ctx.runId) await this.deps.runs.addProgress(tx, ctx.runId, { pages: 1, metersSeen: r.metersSeen, metersChanged: r.metersChanged, events: r.events.length });
          });
          Object.assign(position, next);
          if (nextEnrollments) Object.assign(enrollments!, nextEnrollments);
          build.wanted = result.metersNew * 2 >= read.parts.length && read.parts.length > 0;
          onPage(result);
        }
        return;
      } catch (err) {
        // An expired token only costs a re-read: unchanged meters produce nothing the second time.
        if (err instanceof LeapPageTokenExpiredError && restarts < 3) {
          restarts += 1;
          this.log.warn('Leap page token expired; restarting the stream from its first page', { stream: stream.name, page: position.pageNumber });
          position.pageToken = null;
          position.pageNumber = 0;
          continue;
        }
        throw err;
      } finally {
        walk?.end();
      }
    }
  }

  /** A stream's pages, each meter as its part was read. */
  private async *plainPages(stream: StreamSpec, position: StreamState, signal: AbortSignal): AsyncGenerator<ReadPage, void, undefined> {
    for await (const page of stream.search(position.pageFilter ?? {}, { pageToken: position.pageToken ?? undefined, signal })) {
      const parts = new Map<string, PartUpdate>();
      for (const item of page.items) parts.set(String(item.meter_id), { meterId: String(item.meter_id), [stream.part]: item });
      yield { nextPageToken: page.nextPageToken, latest: latestOf(page.items, stream.cursorField), parts: Promise.resolve({ parts: [...parts.values()], enrollmentsLatest: null }) };
    }
  }

  /**
   * Each details page with its meters' enrollments (searched by meter_ids, as many pages as that
   * takes), requested as soon as the details page arrives: while it is on its way, the next details
   * page can be too. The page thread pairs them while this thread writes the page before.
   */
  private async *pairedPages(position: StreamState, walk: PageWalk, build: { wanted: boolean }, signal: AbortSignal): AsyncGenerator<ReadPage, void, undefined> {
    let warned = false;
    const enrollmentsOf = async (ids: string[]): Promise<PageRef[]> => {
      const found: PageRef[] = [];
      for (let i = 0; i < ids.length; i += ENROLLMENT_IDS_PER_SEARCH) {
        const asked = new Set(ids.slice(i, i + ENROLLMENT_IDS_PER_SEARCH));
        for await (const page of this.deps.leap.searchDecoded('enrollment', { meter_ids: [...asked] }, walk.decode, { signal })) {
          found.push(page.page);
          const unasked = page.page.meterIds.filter((id) => !asked.has(id)).length;
          if (unasked > 0) {
            // Leap answered meters it was not asked for (the filter ignored): paging on would walk
            // every enrollment for each details page. Meters left without one are read with a GET.
            if (!warned) this.log.warn('the enrollment search by meter_ids answered other meters; meters it did not answer are completed one by one', { unasked });
            warned = true;
            break;
          }
        }
      }
      return found;
    };
    const details = this.deps.leap.searchDecoded('details', (position.pageFilter ?? {}) as LeapSearchFilter, walk.decode, { pageToken: position.pageToken ?? undefined, signal });
    for await (const page of details) {
      const parts = enrollmentsOf([...new Set(page.page.meterIds)])
        .then((found) => walk.pair(page.page, found, build.wanted))
        .then((paired) => ({ parts: paired.meters.map((m): PartUpdate => ({ meterId: m.id, read: m })), enrollmentsLatest: paired.enrollmentsLatest }));
      // Awaited when the page is written; until then a failure must not count as unhandled.
      parts.catch(() => undefined);
      yield { nextPageToken: page.nextPageToken, latest: page.page.latest, parts };
    }
  }

  /**
   * Compare, write and emit for a set of meter parts, in one transaction (retried whole on a
   * lock conflict or a concurrent writer). `extra` runs inside the same transaction.
   */
  private async applyUnit(parts: PartUpdate[], ctx: RunContext, extra?: (tx: Tx, r: UnitResult) => Promise<void>): Promise<UnitResult> {
    return this.unit(
      ctx,
      async (tx) => {
        this.checkLease(ctx);
        const now = this.deps.clock.now();
        // The last read of a meter wins if one unit holds it twice.
        const byId = new Map<string, PartUpdate>();
        for (const p of parts) byId.set(p.meterId, { ...byId.get(p.meterId), ...p });
        // Most re-read meters are unchanged: compare hashes first, load raw JSON only for the rest.
        const heads = await this.deps.meters.getHeads([...byId.keys()], tx);
        // SQLite answers synchronously: the pages being fetched get turns of the event loop while
        // this one is compared, before anything is written.
        const due = turnsEvery(COMPARE_SLICE_MS);
        await turn();
        const touched: number[] = [];
        const toCompare: PartUpdate[] = [];
        for (const part of byId.values()) {
          const head = heads.get(part.meterId);
          if (head && unchanged(part, head)) touched.push(head.ref);
          else toCompare.push(part);
        }
        // Heads read above (locked on MySQL) are completed with their raw parts; the meters rows are not read again.
        const stored = new Map((await this.deps.meters.withRaw(toCompare.flatMap((p) => heads.get(p.meterId) ?? []), tx)).map((m) => [m.meterId, m]));
        const writes: MeterWrite[] = [];
        const newEvents: { e: NewMeterEvent; view: () => MeterView }[] = [];
        const kept: KeptSnapshot[] = [];
        for (const part of toCompare) {
          const pause = due();
          if (pause) await pause;
          const prior = stored.get(part.meterId) ?? null;
          const outcome = part.read?.fresh && !prior ? freshOutcome(part.read.fresh, viewFromTexts(part.read.fresh)) : this.compare(parsed(part), prior);
          if (!outcome) {
            touched.push(prior!.ref);
            continue;
          }
          writes.push(outcome.write);
          // The meter's last event showed it as stored until now: it keeps that state for good.
          if (prior && prior.sequence > 0) kept.push({ ref: prior.ref, sequence: prior.sequence, meter: meterView(outcome.before ?? this.storedMeter(prior)) });
          outcome.events.forEach((e, i) =>
            newEvents.push({
              e: {
                meter_id: part.meterId,
                sequence: outcome.write.sequence - outcome.events.length + i + 1,
                type: e.type,
                occurred_at: now,
                origin: ctx.origin,
                sync_run_id: ctx.runId,
                changes: e.changes,
              },
              view: outcome.view,
            }),
          );
        }
        await turn();
        await this.deps.events.keepSnapshots(tx, kept);
        const refs = await this.deps.meters.write(tx, writes, now);
        // And between the meters and their events: pages and the page thread's answers wait for turns.
        await turn();
        await this.deps.meters.touch(tx, touched, now);
        const ids = await this.deps.events.append(
          tx,
          newEvents.map((n) => n.e),
          refs,
        );
        const events = toMeterEvents(newEvents, ids);
        if (this.deps.sink && events.length) await this.deps.sink.enqueue(tx, events);
        // Distinct meters: on v2 a meter read in the details search is read again in the enrollment search.
        const since = ctx.seenSince;
        const seen = since
          ? [...byId.keys()].filter((id) => {
              const head = heads.get(id);
              return !head || head.lastSeenAt.getTime() < since.getTime();
            }).length
          : byId.size;
        const result: UnitResult = { metersSeen: seen, metersChanged: writes.filter((w) => w.changed).length, metersNew: writes.filter((w) => w.ref === null).length, events };
        if (extra) await extra(tx, result);
        if (ctx.onEvent) for (const e of events) ctx.onEvent(e);
        return result;
      },
    );
  }

  /** null when nothing changed; otherwise the write and the events it produces. */
  private compare(part: PartUpdate, stored: StoredMeter | null): Outcome | null {
    const v1 = part.v1 !== undefined;
    const raw: MeterRaw = v1
      ? { details: null, enrollment: null, v1: part.v1! }
      : { details: part.details ?? stored?.raw.details ?? null, enrollment: part.enrollment ?? stored?.raw.enrollment ?? null, v1: null };
    // Parts read now are serialized once; a part not re-read keeps the stored text and hash.
    const readDetails = v1 ? part.v1! : part.details;
    if (!stored) {
      const { fresh, meter } = freshMeter(raw, readDetails ? serializePart(readDetails) : null, !v1 && part.enrollment ? serializePart(part.enrollment) : null);
      const view = meterView(meter);
      return freshOutcome(fresh, () => view);
    }
    const d = readDetails ? serializePart(readDetails) : !v1 ? { json: stored.rawText.details, hash: stored.detailsHash } : { json: null, hash: null };
    const e = v1 ? { json: null, hash: null } : part.enrollment ? serializePart(part.enrollment) : { json: stored.rawText.enrollment, hash: stored.enrollmentHash };
    const detailsHash = d.hash;
    const enrollmentHash = e.hash;
    if (!stored.missingSince && stored.source === (v1 ? 'v1' : 'v2') && stored.detailsHash === detailsHash && stored.enrollmentHash === enrollmentHash) return null;

    const after = meterFromRaw(raw);
    const before = isComplete(stored.raw) ? this.storedMeter(stored) : null;
    const events = isComplete(raw) ? deriveEvents(before, after) : [];
    // Raw JSON that differs without any difference in the meter (a reordered array) is stored, not announced.
    const changed = events.length > 0 || stored.missingSince !== null || !before;
    const view = meterView(after);
    return {
      write: {
        meterId: after.meter_id,
        columns: meterColumns(after),
        assignments: groupRows(after.group_assignments),
        ref: stored.ref,
        detailsHash,
        enrollmentHash,
        rawParts: changedParts(stored, v1, { details: d.json, enrollment: e.json }),
        contentHash: contentHash(detailsHash, enrollmentHash, false),
        leapUpdatedAt: leapUpdatedAt(raw, after.updated_at),
        previousChangedAt: stored.lastChangedAt,
        sequence: stored.sequence + events.length,
        changed,
        missingSince: null,
      },
      events,
      before,
      view: () => view,
    };
  }

  /** The stored meter as last known: derived from its raw parts, archived if a reconcile found it gone. */
  storedMeter(stored: StoredMeter): Meter {
    return meterFromRaw(stored.raw, stored.missingSince !== null);
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
        this.checkLease(ctx);
        try {
          parts.push(missing === 'details' ? { meterId, details: await this.deps.leap.getDetails(meterId, { signal: ctx.signal }) } : { meterId, enrollment: await this.deps.leap.getEnrollment(meterId, { signal: ctx.signal }) });
        } catch (err) {
          if (err instanceof LeapNotFoundError) continue;
          throw err;
        }
      }
      const r = await this.applyUnit(parts, ctx);
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
      const r = await this.unit(ctx, async (tx) => {
          this.checkLease(ctx);
          const now = this.deps.clock.now();
          const writes: MeterWrite[] = [];
          const newEvents: { e: NewMeterEvent; view: () => MeterView }[] = [];
          const kept: KeptSnapshot[] = [];
          for (const s of gone) {
            const meter = meterFromRaw(s.raw);
            if (s.sequence > 0) kept.push({ ref: s.ref, sequence: s.sequence, meter: meterView(meter) });
            const archived: Meter = { ...meter, is_archived: true };
            const emit = !meter.is_archived && isComplete(s.raw);
            writes.push({
              meterId: archived.meter_id,
              columns: meterColumns(archived),
              assignments: groupRows(archived.group_assignments),
              ref: s.ref,
              detailsHash: s.detailsHash,
              enrollmentHash: s.enrollmentHash,
              // Keep the stored raw parts: a meter that comes back is compared against what it was.
              rawParts: {},
              contentHash: contentHash(s.detailsHash, s.enrollmentHash, true),
              leapUpdatedAt: s.leapUpdatedAt,
              previousChangedAt: s.lastChangedAt,
              sequence: s.sequence + (emit ? 1 : 0),
              changed: true,
              missingSince: now,
            });
            const view = meterView(archived);
            if (emit)
              newEvents.push({
                e: {
                  meter_id: s.meterId,
                  sequence: s.sequence + 1,
                  type: 'meter.archived',
                  occurred_at: now,
                  origin: 'reconcile',
                  sync_run_id: ctx.runId,
                  changes: [{ path: 'is_archived', from: false, to: true }],
                },
                view: () => view,
              });
          }
          await this.deps.events.keepSnapshots(tx, kept);
          const refs = await this.deps.meters.write(tx, writes, now);
          const ids = await this.deps.events.append(
            tx,
            newEvents.map((n) => n.e),
            refs,
          );
          const events = toMeterEvents(newEvents, ids);
          if (this.deps.sink && events.length) await this.deps.sink.enqueue(tx, events);
          if (ctx.runId) await this.deps.runs.addProgress(tx, ctx.runId, { pages: 0, metersSeen: 0, metersChanged: writes.length, events: events.length });
          if (ctx.onEvent) for (const e of events) ctx.onEvent(e);
          return { metersSeen: 0, metersChanged: writes.length, metersNew: 0, events };
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
      const r = await this.applyUnit(parts, ctx);
      totals.metersSeen += r.metersSeen;
      totals.metersChanged += r.metersChanged;
      totals.events += r.events.length;
    }
    return { ...totals, notFound };
  }
}

/** A meter not stored yet: written whole, its events showing `view`. */
function freshOutcome(f: FreshMeter, view: () => MeterView): Outcome {
  return { write: freshWrite(f), events: f.events, before: null, view };
}

/** The meter a fresh meter's events show, parsed again from its texts only if they are read. */
function viewFromTexts(f: FreshMeter): () => MeterView {
  return once(() => meterView(meterFromRaw({ details: f.details && parsePart(f.details), enrollment: f.enrollment && parsePart(f.enrollment), v1: null })));
}

/** The raw parts whose text differs from what is stored (a v1 meter has no enrollment part). */
function changedParts(stored: StoredMeter | null, v1: boolean, texts: Record<RawPart, string | null>): MeterWrite['rawParts'] {
  const out: MeterWrite['rawParts'] = {};
  for (const p of ['details', 'enrollment'] as const) {
    const text = v1 && p === 'enrollment' ? null : texts[p];
    if (text !== (stored?.rawText[p] ?? null)) out[p] = text;
  }
  return out;
}
