import type { LeapClient } from '../../clients/leap-client';
import { LeapPageTokenExpiredError } from '../../clients/leap-errors';
import type { Clock } from '../../domain/clock';
import type { LeapPage, LeapSearchFilter } from '../../domain/leap-types';
import { audit, latestOf, maxInstant } from '../../domain/raw-parts';
import { instantToWire } from '../../domain/timestamps';
import type { Logger } from '../../logger';
import type { MeterStore } from '../../stores/meter-store';
import type { StreamState, SyncStateStore } from '../../stores/sync-state-store';
import type { SyncRunStore } from '../../stores/sync-run-store';
import type { PartUpdate } from './compare';
import type { PageRef, PageSource, PageWalk } from './page-source';
import { checkRun, type PageWriter, type RunContext, type UnitResult } from './page-writer';

/** One searchable stream of meter parts and the time field its cursor follows. */
export interface StreamSpec {
  name: string;
  part: 'details' | 'enrollment' | 'v1';
  cursorField: (item: Record<string, unknown>) => unknown;
  filterFrom: (from: string | null) => Record<string, unknown>;
  search: (filter: Record<string, unknown>, opts: { pageToken?: string; signal?: AbortSignal }) => AsyncGenerator<LeapPage<Record<string, unknown>>, void, undefined>;
}

/** The streams a pass walks, in order: v2's details and enrollments; v1's new authorizations and modifications. */
export function streamsFor(leap: LeapClient, apiVersion: 'v1' | 'v2', kind: 'incremental' | 'full'): StreamSpec[] {
  if (apiVersion === 'v2') {
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

export interface StreamWalkerDeps {
  leap: LeapClient;
  meters: MeterStore;
  state: SyncStateStore;
  runs: SyncRunStore;
  clock: Clock;
  logger: Logger;
  writer: PageWriter;
  /** Where whole-portfolio walks parse and pair their pages. */
  pages: PageSource;
}

/**
 * Walks a stream page by page, each page one unit of work that also stores the stream's position,
 * so that a run stopped anywhere resumes at its last committed page.
 */
export class StreamWalker {
  constructor(private readonly deps: StreamWalkerDeps) {}

  /**
   * Walk one stream from `position`. With `enrollments` (a v2 details walk of the whole
   * portfolio), each page is completed with its meters' enrollments, whose stream position (its
   * pending cursor) is saved with the page.
   */
  async walk(stream: StreamSpec, position: StreamState, ctx: RunContext, enrollments: StreamState | null, onPage: (r: UnitResult) => void): Promise<void> {
    let restarts = 0;
    for (;;) {
      // Whole-portfolio v2 walks: details pages and their enrollments are parsed and paired in the page thread.
      const walk = enrollments ? this.deps.pages.walk() : null;
      // Whether the page thread builds new meters' first writes: where most meters are new. Guessed
      // from an empty store, then taken from the page last written.
      const build = { wanted: walk !== null && (await this.deps.meters.none(ctx.tx)) };
      try {
        // Paired, three details pages ahead: pages read, paired in the page thread and written overlap.
        const pages = walk ? prefetching(this.pairedPages(position, walk, build, ctx.signal), 3) : prefetching(this.plainPages(stream, position, ctx.signal));
        for await (const page of pages) {
          checkRun(ctx);
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
          const result = await this.deps.writer.write(read.parts, ctx, async (tx, r) => {
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
          this.deps.logger.warn('Leap page token expired; restarting the stream from its first page', { stream: stream.name, page: position.pageNumber });
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
            if (!warned) this.deps.logger.warn('the enrollment search by meter_ids answered other meters; meters it did not answer are completed one by one', { unasked });
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
}
