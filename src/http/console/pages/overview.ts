import type { Router } from 'express';
import { destinationState } from '../format';
import type { ConsoleDeps } from '../deps';
import { render } from '../render';

const HOUR_MS = 3_600_000;

/** A stream's cursor (Leap's nine-digit time) as a Date, to say how far behind Leap it is. */
function cursorTime(cursor: string | null): Date | null {
  if (!cursor) return null;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,3})?\d*(Z|[+-]\d\d:\d\d)?$/.exec(cursor);
  const d = new Date(m ? `${m[1]}${m[2] ?? ''}${m[3] ?? 'Z'}` : cursor);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** `/console`: the last sync runs, how far behind Leap each stream is, each destination's queue and last hour, readiness counts. */
export function overviewPage(router: Router, deps: ConsoleDeps): void {
  router.get('/', async (req, res) => {
    const now = deps.clock.now();
    const [runs, streams, destinations, lastHour, overdue] = await Promise.all([
      deps.syncAdmin.listRuns({}, 8),
      deps.syncAdmin.streams(),
      deps.deliveryAdmin.destinations(),
      deps.deliveryAdmin.recentOutcomes(HOUR_MS),
      deps.readiness.oldest('overdue', 5),
    ]);
    render(
      res,
      'overview',
      {
        title: 'Overview',
        section: 'overview',
        now,
        runs,
        streams: streams.map((s) => {
          const at = cursorTime(s.cursor);
          return { name: s.name, cursor: s.cursor, lagMs: at ? now.getTime() - at.getTime() : null, running: s.run_id !== null, page: s.page_number };
        }),
        destinations: destinations.map((d) => ({ ...d, shown: destinationState(d), lastHour: lastHour.get(d.name) ?? { delivered: 0, failed: 0 } })),
        readiness: overdue.counts,
        overdue: overdue.meters,
      },
      req.console!,
    );
  });
}
