import type { MessagePort } from 'node:worker_threads';
import { type DecodedAnswer, type DecodedPage, decodePage } from '../../clients/leap-validate';
import { audit, latestOf, type SerializedPart, serializePart } from '../../domain/raw-parts';
import { freshMeter, type FreshMeter } from './fresh-meter';

/**
 * The sync's page thread: a whole-portfolio walk's pages are parsed, checked, serialized, hashed
 * and normalized here, in a worker thread, while the sync's own thread compares and writes the
 * page before. Those steps took more than half of that thread's time in a first sync. Pages stay
 * here, by handle, until they are paired; only their texts, hashes and rows go back.
 */

/** A page held in the thread: its meters' ids and the latest cursor time among them. */
export interface PageRef {
  handle: number;
  meterIds: string[];
  latest: string | null;
}

/** A meter of a paired page: its parts' texts and hashes, and (when asked for) its first write, should it not be stored yet. */
export interface ReadMeter {
  id: string;
  details: SerializedPart;
  enrollment: SerializedPart | null;
  fresh: FreshMeter | null;
}

/** A details page with its meters' enrollments. */
export interface PairedMeters {
  meters: ReadMeter[];
  /** The latest cursor time among the enrollments paired. */
  enrollmentsLatest: string | null;
}

export type ToPageThread =
  | { id: number; op: 'parse'; walk: number; kind: 'details' | 'enrollment'; text: string }
  | { id: number; op: 'pair'; walk: number; details: number; enrollments: number[]; build: boolean }
  | { op: 'end'; walk: number };

/**
 * Paired meters as they cross to the sync's thread: their raw parts' texts in one array (strings
 * are copied whole), everything else in one JSON text. Cloning the meters as objects cost the
 * sync's thread twice as long to take in.
 */
export interface PackedPairs {
  /** Per meter, its details text then its enrollment text (null when not read). */
  texts: (string | null)[];
  /** Per meter: [id, detailsHash, enrollmentHash, fresh: [columns, assignments, events, leapUpdatedAt, contentHash] or null]. */
  rows: string;
  enrollmentsLatest: string | null;
}

type PackedFresh = [unknown[], unknown[][], FreshMeter['events'], string | null, string];
type PackedRow = [string, string, string | null, PackedFresh | null];

export function packPairs(p: PairedMeters): PackedPairs {
  const texts: (string | null)[] = [];
  const rows: PackedRow[] = [];
  for (const m of p.meters) {
    texts.push(m.details.json, m.enrollment?.json ?? null);
    const f = m.fresh;
    rows.push([m.id, m.details.hash, m.enrollment?.hash ?? null, f && [f.columns, f.assignments, f.events, f.leapUpdatedAt, f.contentHash]]);
  }
  return { texts, rows: JSON.stringify(rows), enrollmentsLatest: p.enrollmentsLatest };
}

export function unpackPairs(p: PackedPairs): PairedMeters {
  const rows = JSON.parse(p.rows) as PackedRow[];
  const meters = rows.map(([id, detailsHash, enrollmentHash, f], i): ReadMeter => {
    const details = { json: p.texts[2 * i]!, hash: detailsHash };
    const text = p.texts[2 * i + 1] ?? null;
    const enrollment = text === null ? null : { json: text, hash: enrollmentHash! };
    const fresh: FreshMeter | null = f && { meterId: id, columns: f[0], assignments: f[1], events: f[2], leapUpdatedAt: f[3], contentHash: f[4], details, enrollment };
    return { id, details, enrollment, fresh };
  });
  return { meters, enrollmentsLatest: p.enrollmentsLatest };
}

type Answer = DecodedAnswer<DecodedPage<PageRef>> | PackedPairs;

export type FromPageThread = { id: number; answer: Answer } | { id: number; error: string };

type Item = Record<string, unknown>;

/** A pair being built: each step builds up to `count` more meters, and answers the whole once done. */
export interface Pairing {
  step(count: number): PairedMeters | null;
}

/** Pages held by handle, per walk, until paired; the same in the thread and (without one) in-process. */
export class PagePairing {
  private readonly walks = new Map<number, Map<number, Item[]>>();
  /** Walks that ended: a page of theirs still on its way when they did is not kept. */
  private readonly ended = new Set<number>();
  private nextHandle = 1;

  /** Parse and check a search answer; keep its items, answer what the sync needs of them. */
  parse(walk: number, kind: 'details' | 'enrollment', text: string): DecodedAnswer<DecodedPage<PageRef>> {
    const decoded = decodePage(kind, text);
    if (!decoded.ok) return decoded;
    const items = decoded.value.page as unknown as Item[];
    const handle = this.nextHandle++;
    let pages = this.walks.get(walk);
    if (!pages && !this.ended.has(walk)) this.walks.set(walk, (pages = new Map()));
    pages?.set(handle, items);
    return { ok: true, value: { page: { handle, meterIds: items.map((i) => String(i.meter_id)), latest: latestOf(items, (i) => audit(i).updated_at) }, items: decoded.value.items, nextPageToken: decoded.value.nextPageToken } };
  }

  /**
   * A details page and its meters' enrollments, let go of once paired. The meters are built a few
   * at a time (`step`), so that a page arriving meanwhile is not kept waiting for a whole pair.
   */
  pair(walk: number, detailsHandle: number, enrollmentHandles: readonly number[], build: boolean): Pairing {
    // The last read of a meter wins, at the place it was first read (as a Map keeps it).
    const details = new Map<string, Item>();
    for (const d of this.take(walk, detailsHandle)) details.set(String(d.meter_id), d);
    const enrollments = new Map<string, Item>();
    const found: Item[] = [];
    for (const h of enrollmentHandles) {
      for (const e of this.take(walk, h)) {
        const id = String(e.meter_id);
        // Only the page's own meters: an enrollment search that ignored its filter answers others.
        if (!details.has(id)) continue;
        found.push(e);
        enrollments.set(id, e);
      }
    }
    const todo = [...details];
    const meters: PairedMeters['meters'] = [];
    return {
      step(count) {
        for (const [id, d] of todo.splice(0, count)) {
          const e = enrollments.get(id) ?? null;
          const details = serializePart(d);
          const enrollment = e ? serializePart(e) : null;
          // Where most meters are stored already (a reconcile), they are compared with what is stored on
          // the sync's thread and none is built here; where most are new (a first sync), all are.
          const fresh = build ? freshMeter({ details: d, enrollment: e, v1: null }, details, enrollment).fresh : null;
          meters.push({ id, details, enrollment, fresh });
        }
        return todo.length ? null : { meters, enrollmentsLatest: latestOf(found, (e) => audit(e).updated_at) };
      },
    };
  }

  end(walk: number): void {
    this.walks.delete(walk);
    this.ended.add(walk);
  }

  private take(walk: number, handle: number): Item[] {
    const items = this.walks.get(walk)?.get(handle);
    if (!items) throw new Error(`page ${handle} of walk ${walk} is not held (was the page thread restarted?)`);
    this.walks.get(walk)!.delete(handle);
    return items;
  }
}

export function servePages(port: MessagePort): void {
  const pages = new PagePairing();
  const reply = (id: number, work: () => Answer | null): boolean => {
    let message: FromPageThread;
    try {
      const answer = work();
      if (answer === null) return false;
      message = { id, answer };
    } catch (err) {
      message = { id, error: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(message);
    return true;
  };
  // Pages are parsed as they arrive, ahead of the pairs being built: a details page's token is what
  // the next request waits for, while a pair is wanted only when the sync's thread is done with the
  // page before. Pairs are built PAIR_STEP meters per turn of this thread's loop, so that pages
  // arriving meanwhile go first.
  const pairs: { id: number; pairing: Pairing | null; message: Extract<ToPageThread, { op: 'pair' }> }[] = [];
  const work = (): void => {
    const job = pairs[0];
    if (!job) return;
    const done = reply(job.id, () => {
      job.pairing ??= pages.pair(job.message.walk, job.message.details, job.message.enrollments, job.message.build);
      const paired = job.pairing.step(PAIR_STEP);
      return paired && packPairs(paired);
    });
    if (done) pairs.shift();
    if (pairs.length) setImmediate(work);
  };
  port.on('message', (m: ToPageThread) => {
    if (m.op === 'end') pages.end(m.walk);
    else if (m.op === 'parse') reply(m.id, () => pages.parse(m.walk, m.kind, m.text));
    else if (pairs.push({ id: m.id, pairing: null, message: m }) === 1) setImmediate(work);
  });
}

/** Meters built per turn of the page thread's loop: a few milliseconds' work. */
const PAIR_STEP = 50;
