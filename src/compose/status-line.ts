import type { Composed } from './compose';

/** What the status line shows: the portfolio, the last sync, deliveries, readiness. */
export interface StatusFigures {
  meters: number;
  lastSync: { status: string; finishedAt: string | null } | null;
  delivered: number;
  pending: number;
  dead: number;
  ready: number;
  awaiting: number;
  overdue: number;
}

const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
/** 12,345 up to 99,999; 100K, 1.2M past that, so the line stays short at any scale. */
const n = (x: number) => (x < 100_000 ? x.toLocaleString('en-US') : compact.format(x));

/** One line, under 120 characters: `meters 500 · sync ok 12:03:04 · delivered 1,234, queued 56, dead 0 · ready 96, awaiting 132`. */
export function statusText(f: StatusFigures): string {
  const sync = !f.lastSync ? 'sync pending' : `sync ${f.lastSync.status === 'succeeded' ? 'ok' : f.lastSync.status}${f.lastSync.finishedAt ? ` ${f.lastSync.finishedAt.slice(11, 19)}` : ''}`;
  const readiness = `ready ${n(f.ready)}, awaiting ${n(f.awaiting)}${f.overdue ? `, overdue ${n(f.overdue)}` : ''}`;
  return `meters ${n(f.meters)} · ${sync} · delivered ${n(f.delivered)}, queued ${n(f.pending)}, dead ${n(f.dead)} · ${readiness}`;
}

/** The figures, from the same aggregate queries the console's overview uses. */
export async function statusFigures(c: Composed): Promise<StatusFigures> {
  const [meters, runs, queues, readiness] = await Promise.all([c.stores.meters.count(), c.stores.runs.list({}, { limit: 1 }), c.stores.deliveries.queueStats(), c.stores.readiness.counts()]);
  const sum = (k: 'delivered' | 'pending' | 'dead') => queues.reduce((a, q) => a + q[k], 0);
  const run = runs[0];
  return {
    meters,
    lastSync: run ? { status: run.status, finishedAt: run.finishedAt?.toISOString() ?? null } : null,
    delivered: sum('delivered'),
    pending: sum('pending'),
    dead: sum('dead'),
    ready: readiness.ready ?? 0,
    awaiting: readiness.awaiting ?? 0,
    overdue: readiness.overdue ?? 0,
  };
}

/**
 * A line redrawn in place on a terminal, every `everyMs`: what a newcomer watching `npm start`
 * wants to see move, instead of a scroll of logs. Ends with a newline when stopped.
 */
export class StatusLine {
  private timer: NodeJS.Timeout | null = null;
  private drawn = false;
  private busy = false;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly figures: () => Promise<StatusFigures>,
    private readonly everyMs = 1000,
  ) {}

  start(): void {
    void this.draw();
    this.timer = setInterval(() => void this.draw(), this.everyMs);
    this.timer.unref();
  }

  private async draw(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const text = statusText(await this.figures());
      this.out.write(`\r\x1b[2K${text}`);
      this.drawn = true;
    } catch {
      // The database is busy or closing: the next tick draws again.
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
