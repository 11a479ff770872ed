import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { DecodedAnswer, DecodedPage, PageDecoder } from '../../clients/leap-client';
import { startThread } from '../../worker-thread';
import { type FromPageThread, type PackedPairs, type PageRef, PagePairing, type PairedMeters, type ToPageThread, unpackPairs } from './page-thread';

export type { PageRef, PairedMeters } from './page-thread';

/** One walk's pages in the page thread: decoded there, paired there, let go when the walk ends. */
export interface PageWalk {
  decode: PageDecoder<PageRef>;
  /** `build`: also build each meter's first write (worth it where most meters are new). */
  pair(details: PageRef, enrollments: readonly PageRef[], build: boolean): Promise<PairedMeters>;
  /** Lets go of pages decoded and never paired (the walk stopped early). */
  end(): void;
}

/** Where a walk's pages are parsed and paired: the page thread, or this thread. */
export interface PageSource {
  walk(): PageWalk;
}

/** Pages parsed and paired on this thread, by the same code as in the page thread. */
export function localPages(): PageSource {
  const pages = new PagePairing();
  let nextWalk = 1;
  return {
    walk() {
      const walk = nextWalk++;
      return {
        decode: (kind, text) => Promise.resolve().then(() => pages.parse(walk, kind as 'details' | 'enrollment', text)),
        pair: (details, enrollments, build) => Promise.resolve().then(() => pages.pair(walk, details.handle, enrollments.map((e) => e.handle), build).step(Infinity)!),
        end: () => pages.end(walk),
      };
    },
  };
}

/** The page thread failed or stopped; the sync stops after its last committed page and the next run resumes there. */
export class PageThreadError extends Error {
  readonly code = 'sync_page_thread_failed';
}

/** One started page thread and the answers it owes. */
interface PageThreadRun {
  worker: Worker;
  waiting: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>;
  /** Stopped or stopping: it takes no more work. */
  gone: boolean;
}

/**
 * The sync's page thread (sync-page-thread.ts), started at its first use and held alive only
 * while it has work. A walk stays with the thread that holds its pages: once that thread has
 * died or been stopped, everything the walk asks fails (the run stops after its last committed
 * page, and the next run resumes there). The next walk starts another thread.
 */
export class SyncPageThread implements PageSource {
  private current: PageThreadRun | null = null;
  private nextId = 1;
  private nextWalk = 1;

  walk(): PageWalk {
    const walk = this.nextWalk++;
    let thread: PageThreadRun | null = null;
    const on = (): PageThreadRun => (thread ??= this.thread());
    return {
      decode: (kind, text) => this.ask<DecodedAnswer<DecodedPage<PageRef>>>(on(), { op: 'parse', walk, kind: kind as 'details' | 'enrollment', text }),
      pair: (details, enrollments, build) => this.ask<PackedPairs>(on(), { op: 'pair', walk, details: details.handle, enrollments: enrollments.map((e) => e.handle), build }).then(unpackPairs),
      end: () => {
        if (thread && !thread.gone) thread.worker.postMessage({ op: 'end', walk } satisfies ToPageThread);
      },
    };
  }

  async close(): Promise<void> {
    const thread = this.current;
    this.current = null;
    if (!thread) return;
    thread.gone = true;
    await thread.worker.terminate();
  }

  private ask<T>(thread: PageThreadRun, message: DistributiveOmit<ToPageThread & { id: number }, 'id'>): Promise<T> {
    if (thread.gone) return Promise.reject(new PageThreadError("the sync's page thread stopped during this walk"));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      thread.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (thread.waiting.size === 1) thread.worker.ref();
      thread.worker.postMessage({ ...message, id } as ToPageThread);
    });
  }

  private thread(): PageThreadRun {
    if (this.current) return this.current;
    // A smaller young generation than V8's default: the pages it parses are let go of at once, and
    // the connector's memory stays within its bound.
    const worker = startThread(path.join(__dirname, 'page-thread'), 'servePages', { resourceLimits: { maxYoungGenerationSizeMb: 24 } });
    const thread: PageThreadRun = { worker, waiting: new Map(), gone: false };
    worker.unref();
    worker.on('message', (m: FromPageThread) => {
      const w = thread.waiting.get(m.id);
      if (!w) return;
      thread.waiting.delete(m.id);
      if (thread.waiting.size === 0) worker.unref();
      if ('error' in m) w.reject(new PageThreadError(`the sync's page thread failed: ${m.error}`));
      else w.resolve(m.answer);
    });
    let failure = '';
    worker.on('error', (err) => (failure = err.message));
    worker.on('exit', (code) => {
      thread.gone = true;
      if (this.current === thread) this.current = null;
      for (const w of thread.waiting.values()) w.reject(new PageThreadError(`the sync's page thread stopped (exit code ${code}${failure ? `: ${failure}` : ''})`));
      thread.waiting.clear();
    });
    this.current = thread;
    return thread;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
