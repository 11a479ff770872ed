import assert from 'node:assert/strict';
import { Simulator } from '../../src/simulator';
import { compileFilter, findPage, readV2Search } from '../../src/simulator/filters';

describe('simulator at 300,000 meters', function () {
  this.timeout(60_000);
  const sim = new Simulator({ meters: 300_000, seed: 300, apiKey: 'k', start: new Date('2026-06-10T12:00:00Z') });

  it('keeps per-meter state compact', () => {
    const state = sim.state();
    assert.equal(state.meters.total, 300_000);
    // Typed arrays only: about 80 bytes a meter, with headroom for growth.
    assert.ok(state.meters.stateBytes < 40_000_000, `${state.meters.stateBytes} bytes`);
    assert.ok(state.meters.archived > 4000 && state.meters.archived < 8000);
  });

  it('answers a delta search over the whole portfolio with exactly the meters changed', () => {
    const before = sim.now().toISOString();
    const summary = sim.advance(1);
    assert.ok(summary.metersChanged > 100);
    const parsed = readV2Search({ last_modified_date_time: before, page_size: 500 });
    assert.ok(parsed.ok);
    const compiled = compileFilter(parsed.request.filter, sim.store, sim.renderer);
    let found = 0;
    let position = 0;
    for (;;) {
      const page = findPage(compiled, sim.store.count, position, 500);
      found += page.indices.length;
      if (page.next < 0) break;
      position = page.next;
    }
    assert.equal(found, summary.metersChanged);
  });

  it('finds meters by id anywhere in the portfolio and pages a full search with tokens', () => {
    let token: string | undefined;
    let pages = 0;
    const request = readV2Search({ page_size: 500, meter_ids: [sim.store.meterId(299_999), sim.store.meterId(150_000)] });
    assert.ok(request.ok);
    const out = sim.search('e', request.request);
    assert.ok(out.ok && out.indices.length === 2 && out.nextPageToken === undefined);
    const all = readV2Search({ page_size: 500, exclude_archived: true });
    assert.ok(all.ok);
    do {
      const page = sim.search('d', { ...all.request, pageToken: token });
      assert.ok(page.ok);
      token = page.nextPageToken;
      pages++;
    } while (token && pages < 3);
    assert.equal(pages, 3);
  });
});
