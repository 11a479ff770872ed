import type { Router } from 'express';
import { parseLeapInstant } from '../../../domain/timestamps';
import { destinationState } from '../format';
import type { ConsoleDeps } from '../deps';
import { render } from '../render';

const HOUR_MS = 3_600_000;

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
          // The cursor is Leap's nine-digit time: how far behind Leap the stream is.
          const at = s.cursor ? parseLeapInstant(s.cursor) : null;
          return { name: s.name, cursor: s.cursor, lagMs: at ? now.getTime() - at.ms : null, running: s.run_id !== null, page: s.page_number };
        }),
        destinations: destinations.map((d) => ({ ...d, shown: destinationState(d), lastHour: lastHour.get(d.name) ?? { delivered: 0, failed: 0 } })),
        readiness: overdue.counts,
        overdue: overdue.meters,
      },
      req.console!,
    );
  });
}
