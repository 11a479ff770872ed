import assert from 'node:assert/strict';
import { LeapClient } from '../../src/clients/leap-client';
import type { MeterEvent } from '../../src/domain/events';
import { canonicalJson } from '../../src/domain/canonical-json';
import { readinessView } from '../../src/domain/readiness';
import { silentLogger } from '../../src/logger';
import { startSimulator } from '../../src/simulator';
import { localPages, type PageSource, PageThreadError, SyncPageThread } from '../../src/services/sync/page-source';
import { testEngines } from '../helpers/db';
import { syncSnapshot } from '../helpers/db-snapshot';
import { syncHarness, type SyncHarness } from '../helpers/sync-harness';

/** The same portfolio changed the same way on both simulators (same seed). */
function edit(h: SyncHarness): void {
  const sim = h.sim.simulator;
  for (const id of sim.meterIds({ every: 7 })) sim.editDetails(id, { address: true });
  for (const id of sim.meterIds({ status: 'ELIGIBLE', limit: 5 })) sim.activate(id);
  // New meters among stored ones: not built in the page thread (most of the page is stored), built here.
  sim.authorize({ count: 3 });
}

describe('the page thread (decoding a page)', function () {
  this.timeout(20_000);
  const thread = new SyncPageThread();
  after(() => thread.close());

  it('answers what is wrong with a page, naming the meter and the field, and quotes the failing meter', async () => {
    const sim = await startSimulator({ meters: 3, seed: 5, apiKey: 'sim-key-0123456789' });
    const leap = new LeapClient(
      { baseUrl: sim.url, apiKey: 'sim-key-0123456789', apiVersion: 'v2', pageSize: 10, timeoutMs: 5000, rateLimit: { requestsPerSecond: 100, maxConcurrent: 1 }, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 } },
      silentLogger,
    );
    try {
      const [good, other] = (await leap.searchDetails({}).next()).value!.items as unknown as Record<string, unknown>[];
      const bad: Record<string, unknown> = { ...other!, partner_reference: 42 };
      const walk = thread.walk();
      const answer = await walk.decode('details', JSON.stringify({ meters: [good, bad], next_page_token: null }));
      assert.equal(answer.ok, false);
      const problems = 'problems' in answer ? answer.problems : [];
      assert.ok(
        problems.length > 0 && problems.every((p) => p.meter_id === bad.meter_id && p.index === 1 && p.pointer.startsWith('/meters/1/partner_reference')),
        JSON.stringify(problems),
      );
      assert.deepEqual('excerpt' in answer ? answer.excerpt : undefined, bad);
      walk.end();
    } finally {
      await leap.close();
      await sim.close();
    }
  });

  it('answers why text that is not JSON is not, for the client to retry', async () => {
    const walk = thread.walk();
    const answer = await walk.decode('enrollment', '{"meters": [{"meter_id": "x"');
    assert.equal(answer.ok, false);
    assert.ok('notJson' in answer && /JSON/i.test(answer.notJson), JSON.stringify(answer));
    walk.end();
  });

  it('refuses to pair a page it no longer holds, with an error that says so', async () => {
    const walk = thread.walk();
    const answer = await walk.decode('details', JSON.stringify({ meters: [], next_page_token: null }));
    assert.ok(answer.ok);
    const page = answer.ok ? answer.value.page : null;
    walk.end();
    await assert.rejects(walk.pair(page!, [], true), (err: Error) => err.name === 'PageThreadError' || /not held/.test(err.message));
  });

  it('a walk stays with the thread holding its pages: once that thread is stopped, the walk fails, while the next walk gets a new thread', async () => {
    const own = new SyncPageThread();
    try {
      const page = JSON.stringify({ meters: [], next_page_token: null });
      const first = own.walk();
      const held = await first.decode('details', page);
      assert.ok(held.ok);
      await own.close();
      const second = own.walk();
      // The new thread numbers its pages from 1 too: the first walk's handle must not reach it.
      const fresh = await second.decode('details', page);
      assert.ok(fresh.ok && held.ok && fresh.value.page.handle === held.value.page.handle, 'both threads gave out the same handle');
      await assert.rejects(first.pair(held.value.page, [], true), (err: Error) => err instanceof PageThreadError && /stopped during this walk/.test(err.message));
      await assert.rejects(first.decode('details', page), PageThreadError);
      assert.deepEqual((await second.pair(fresh.value.page, [], true)).meters, []);
      second.end();
    } finally {
      await own.close();
    }
  });
});

for (const engine of testEngines()) {
  describe(`sync through the page thread (${engine})`, function () {
    this.timeout(120_000);

    it("leaves the same meters, groups, events and cursors as pages paired on the sync's own thread, first sync and reconcile after changes alike", async () => {
      const threaded = await syncHarness(engine, { apiVersion: 'v2', meters: 240, seed: 31, pageSize: 40 });
      const local = await syncHarness(engine, { apiVersion: 'v2', meters: 240, seed: 31, pageSize: 40, pages: localPages() });
      try {
        const seen: MeterEvent[] = [];
        const first = await threaded.composed.sync.run({ kind: 'incremental', trigger: 'test', onEvent: (e) => seen.push(e) });
        await local.pass();
        assert.equal(first.metersSeen, 240);
        assert.ok(seen.length >= 240);
        // An event's meter, built from the texts the thread sent back, is the meter the store shows;
        // a readiness event shows the partner's readiness as it moved, and the stored event keeps it.
        const stored = await threaded.composed.stores.events.list({ syncRunId: first.runId! }, 10_000);
        assert.deepEqual(
          seen.map((e) => [e.id, e.type, canonicalJson(e.meter)]),
          stored.map((e) => [e.id, e.type, canonicalJson(e.meter)]),
        );
        const readiness = seen.filter((e) => e.type.startsWith('meter.readiness.'));
        assert.ok(readiness.length > 0, 'the ACTIVE meters await readiness');
        assert.ok(
          seen.every((e) => (e.meter.readiness !== undefined) === e.type.startsWith('meter.readiness.')),
          'only readiness events carry readiness',
        );
        const threadedRefs = new Map(((await threaded.db.knex('meters').select('id', 'meter_id')) as { id: number | string; meter_id: string }[]).map((r) => [r.meter_id, Number(r.id)]));
        const records = await threaded.composed.stores.readiness.getMany(readiness.map((e) => threadedRefs.get(e.meter_id)!));
        assert.deepEqual(
          readiness.map((e) => e.meter.readiness),
          readiness.map((e) => readinessView(records.get(threadedRefs.get(e.meter_id)!)!)),
        );
        assert.deepEqual(await syncSnapshot(threaded.db.knex), await syncSnapshot(local.db.knex));

        // Stored meters that changed come back through the comparison with what is stored.
        edit(threaded);
        edit(local);
        const full = await threaded.pass({ kind: 'full' });
        await local.pass({ kind: 'full' });
        assert.ok(full.events.some((e) => e.type === 'meter.details.updated'));
        assert.ok(full.events.some((e) => e.type === 'meter.enrollment.activated'));
        assert.equal(full.events.filter((e) => e.type === 'meter.created').length, 3);
        assert.deepEqual(await syncSnapshot(threaded.db.knex), await syncSnapshot(local.db.knex));
      } finally {
        await threaded.close();
        await local.close();
      }
    });

    it('a page thread that stops mid-walk fails the run (sync_page_thread_failed); the next run resumes and ends as an uninterrupted run', async () => {
      const thread = new SyncPageThread();
      let pairs = 0;
      const pages: PageSource = {
        walk() {
          const w = thread.walk();
          return {
            ...w,
            pair: (details, enrollments, build) => {
              pairs += 1;
              const answer = w.pair(details, enrollments, build);
              // The thread is stopped with the third page in its hands.
              if (pairs === 3) void thread.close();
              return answer;
            },
          };
        },
      };
      const h = await syncHarness(engine, { apiVersion: 'v2', meters: 200, seed: 32, pageSize: 25, pages });
      const reference = await syncHarness(engine, { apiVersion: 'v2', meters: 200, seed: 32, pageSize: 25 });
      try {
        const failed = await h.pass().catch((err: Error & { code?: string }) => err);
        assert.ok(failed instanceof Error, 'the run failed');
        assert.equal((failed as { code?: string }).code, 'sync_page_thread_failed');
        const [run] = await h.composed.stores.runs.list({}, { limit: 1 });
        assert.equal(run?.status, 'failed');
        assert.equal(run?.errorCode, 'sync_page_thread_failed');
        const committed = await h.composed.stores.meters.count();
        assert.ok(committed > 0 && committed < 200, `pages before the stop were committed (${committed})`);

        const resumed = await h.pass();
        assert.ok(resumed.result.resumedFrom, 'the next run resumed the failed one');
        await reference.pass();
        assert.deepEqual(await syncSnapshot(h.db.knex), await syncSnapshot(reference.db.knex));
      } finally {
        await h.close();
        await reference.close();
        await thread.close();
      }
    });

    it('pages Leap sends garbled or cut short are read again, and the walk ends as without them', async () => {
      const h = await syncHarness(engine, { apiVersion: 'v2', meters: 200, seed: 33, pageSize: 25, maxAttempts: 12 });
      const reference = await syncHarness(engine, { apiVersion: 'v2', meters: 200, seed: 33, pageSize: 25 });
      try {
        h.sim.simulator.setFaults({ malformedJson: 0.15, truncatedJson: 0.15 });
        await h.pass();
        assert.ok(h.composed.leap.stats().malformedResponses > 0, 'some answers were not JSON');
        await reference.pass();
        assert.deepEqual(await syncSnapshot(h.db.knex), await syncSnapshot(reference.db.knex));
      } finally {
        await h.close();
        await reference.close();
      }
    });
  });
}
