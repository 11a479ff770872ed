import assert from 'node:assert/strict';
import path from 'node:path';
import { METER_EVENT_TYPES, meterView } from '../../src/domain/events';
import { loadDestinationsDir } from '../../src/mapping/destinations';
import { storedMeter } from '../../src/services/sync/compare';
import { syncHarness, type SyncHarness } from '../helpers/sync-harness';

const EXAMPLES = path.resolve(__dirname, '../../config/examples');

/**
 * `mappings test` over a whole simulated portfolio: each shipped example renders every meter of
 * 500, for every event type it subscribes to, without a mapping failure (the demo delivers through
 * these files, and a failure there would be a dead letter on a newcomer's first screen).
 */
for (const apiVersion of ['v2', 'v1'] as const) {
  describe(`shipped example destinations over a simulated portfolio (Leap ${apiVersion})`, function () {
    this.timeout(120_000);
    let h: SyncHarness;
    before(async () => {
      h = await syncHarness('sqlite', { apiVersion, meters: 500, seed: 1 });
      await h.pass();
    });
    after(() => h?.close());

    it('render every meter for every event they subscribe to', async () => {
      const { destinations, problems } = loadDestinationsDir(EXAMPLES, {});
      assert.deepEqual(problems, []);
      const stored = await h.composed.stores.meters.list({}, { limit: 10_000 });
      assert.equal(stored.length, 500);
      const failures: string[] = [];
      const sent = new Map<string, number>();
      for (const s of stored) {
        const view = meterView(storedMeter(s));
        for (const d of destinations) {
          for (const type of METER_EVENT_TYPES.filter((t) => d.matchesEvent(t))) {
            const ctx = { type, sequence: 1, changes: [], occurred_at: '2026-12-07T12:00:00.000Z' };
            try {
              if (!(await d.filter(view, ctx))) continue;
              await d.render(view, ctx);
              sent.set(d.name, (sent.get(d.name) ?? 0) + 1);
            } catch (err) {
              failures.push(`${d.name} ${type} ${s.meterId}: ${(err as Error).message}`);
            }
          }
        }
      }
      assert.deepEqual(failures.slice(0, 5), [], `${failures.length} renders failed`);
      for (const d of destinations) assert.ok((sent.get(d.name) ?? 0) > 100, `${d.name} rendered meters (${sent.get(d.name) ?? 0})`);
    });
  });
}
