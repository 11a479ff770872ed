import assert from 'node:assert/strict';
import { LeapClient, type LeapClientConfig } from '../../src/clients/leap-client';
import { LeapPageTokenExpiredError } from '../../src/clients/leap-errors';
import type { LeapPage } from '../../src/domain/leap-types';
import { silentLogger } from '../../src/logger';
import { type FaultConfig, type RunningSimulator, startSimulator } from '../../src/simulator';

/**
 * The client against the Leap simulator with each fault turned on: every search either returns
 * every meter exactly once or fails with a typed error. Backoff sleeps are injected, so the
 * suite never waits out a Retry-After for real.
 */

const API_KEY = 'sim-test-key:0123456789abcdef0123456789';
const METERS = 600;

type SearchName = 'v2 details' | 'v2 enrollments' | 'v1 meters';
type Pages = AsyncGenerator<LeapPage<{ meter_id: string }>, void, undefined>;
const SEARCHES: Record<SearchName, (c: LeapClient) => Pages> = {
  'v2 details': (c) => c.searchDetails({}),
  'v2 enrollments': (c) => c.searchEnrollments({}),
  'v1 meters': (c) => c.searchMetersV1({}),
};

/** Each fault at a rate that hits most pages at least once, with the counter that proves it fired. */
const FAULTS: [string, FaultConfig, keyof ReturnType<RunningSimulator['simulator']['state']>['faults']['injected']][] = [
  ['429 with Retry-After in seconds', { rateLimited: 0.3 }, 'rateLimited'],
  ['429 with Retry-After as an HTTP date', { rateLimitedHttpDate: 0.3 }, 'rateLimitedHttpDate'],
  ['429 without Retry-After', { rateLimitedNoRetryAfter: 0.3 }, 'rateLimitedNoRetryAfter'],
  ["500 with Leap's bare-string body", { serverError: 0.3 }, 'serverError'],
  ['latency', { latency: 0.5, latencyMs: [5, 40] }, 'latency'],
  ['malformed JSON', { malformedJson: 0.3 }, 'malformedJson'],
  ['truncated JSON', { truncatedJson: 0.3 }, 'truncatedJson'],
];

describe('LeapClient against the Leap simulator', function () {
  this.timeout(60_000);
  let sim: RunningSimulator;
  let sleeps: number[];
  const baseline = new Map<SearchName, string[]>();

  function makeClient(over: Partial<LeapClientConfig> = {}): LeapClient {
    return new LeapClient(
      {
        baseUrl: sim.url,
        apiKey: API_KEY,
        apiVersion: 'v2',
        accountId: sim.simulator.accountId,
        pageSize: 50,
        timeoutMs: 5_000,
        rateLimit: { requestsPerSecond: 1_000, maxConcurrent: 2 },
        retry: { maxAttempts: 10, baseDelayMs: 10, maxDelayMs: 200 },
        ...over,
      },
      silentLogger,
      {
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      },
    );
  }

  async function idsOf(pages: Pages): Promise<string[]> {
    const ids: string[] = [];
    for await (const page of pages) for (const m of page.items) ids.push(m.meter_id);
    return ids;
  }

  before(async () => {
    sim = await startSimulator({ meters: METERS, seed: 20260301, apiKey: API_KEY });
    const client = makeClient();
    try {
      for (const [name, search] of Object.entries(SEARCHES) as [SearchName, (c: LeapClient) => Pages][]) baseline.set(name, (await idsOf(search(client))).sort());
    } finally {
      await client.close();
    }
  });

  after(async () => {
    await sim?.close();
  });

  beforeEach(() => {
    sleeps = [];
  });

  afterEach(() => {
    sim.simulator.clearFaults();
  });

  it('without faults, each search sees the whole portfolio once', () => {
    for (const [name, ids] of baseline) {
      assert.equal(ids.length, METERS, name);
      assert.equal(new Set(ids).size, METERS, `${name} has duplicates`);
    }
    assert.deepEqual(baseline.get('v2 details'), baseline.get('v2 enrollments'));
    assert.deepEqual(baseline.get('v2 details'), baseline.get('v1 meters'));
  });

  for (const [label, fault, counter] of FAULTS) {
    describe(label, () => {
      for (const [name, search] of Object.entries(SEARCHES) as [SearchName, (c: LeapClient) => Pages][]) {
        it(`${name}: every meter exactly once`, async () => {
          const client = makeClient();
          try {
            const injectedBefore = sim.simulator.state().faults.injected[counter];
            sim.simulator.setFaults(fault);
            const ids = await idsOf(search(client));
            assert.equal(ids.length, METERS, 'no short result, no extra items');
            assert.equal(new Set(ids).size, METERS, 'no duplicates');
            assert.deepEqual([...ids].sort(), baseline.get(name));
            assert.ok(sim.simulator.state().faults.injected[counter] > injectedBefore, 'the fault really happened');
            if (counter !== 'latency') assert.ok(client.stats().retries > 0, 'the client retried');
          } finally {
            await client.close();
          }
        });
      }
    });
  }

  it('all faults at once, on every search', async () => {
    const client = makeClient();
    try {
      sim.simulator.setFaults({
        rateLimited: 0.08,
        rateLimitedHttpDate: 0.06,
        rateLimitedNoRetryAfter: 0.06,
        serverError: 0.08,
        malformedJson: 0.08,
        truncatedJson: 0.08,
        latency: 0.3,
        latencyMs: [1, 20],
      });
      for (const [name, search] of Object.entries(SEARCHES) as [SearchName, (c: LeapClient) => Pages][]) {
        const ids = await idsOf(search(client));
        assert.deepEqual([...ids].sort(), baseline.get(name), name);
      }
      assert.ok(client.stats().retries > 0);
    } finally {
      await client.close();
    }
  });

  describe('expired page tokens', () => {
    for (const [name, search] of Object.entries(SEARCHES) as [SearchName, (c: LeapClient) => Pages][]) {
      it(`${name}: LeapPageTokenExpiredError on the page whose token expired, never a short result`, async () => {
        const client = makeClient();
        try {
          sim.simulator.setFaults({ expiredPageToken: 1 });
          const seen: string[] = [];
          let failure: unknown;
          try {
            for await (const page of search(client)) seen.push(...page.items.map((m) => m.meter_id));
          } catch (err) {
            failure = err;
          }
          assert.ok(failure instanceof LeapPageTokenExpiredError, `expected LeapPageTokenExpiredError, got ${String(failure)}`);
          assert.equal(failure.code, 'leap_page_token_expired');
          assert.equal(failure.pageNumber, 2, 'the first page needs no token; the second is refused');
          assert.equal(seen.length, 50);
          assert.equal(client.stats().retries, 0, 'an expired token is not retried');
        } finally {
          await client.close();
        }
      });
    }

    it('a caller that restarts from its cursor on LeapPageTokenExpiredError still gets every meter', async () => {
      const client = makeClient();
      try {
        sim.simulator.setFaults({ expiredPageToken: 0.05 });
        const seen = new Set<string>();
        let restarts = 0;
        for (;;) {
          try {
            for await (const page of client.searchDetails({})) for (const m of page.items) seen.add(m.meter_id);
            break;
          } catch (err) {
            assert.ok(err instanceof LeapPageTokenExpiredError);
            restarts += 1;
            assert.ok(restarts < 20, 'too many restarts');
          }
        }
        assert.deepEqual([...seen].sort(), baseline.get('v2 details'));
        assert.ok(sim.simulator.state().faults.injected.expiredPageToken > 0);
      } finally {
        await client.close();
      }
    });
  });

  it('stays under Leap’s rate limit when configured below it: no 429 at all', async () => {
    const limited = await startSimulator({ meters: 100, seed: 7, apiKey: API_KEY, rateLimit: 5 });
    const client = new LeapClient(
      {
        baseUrl: limited.url,
        apiKey: API_KEY,
        apiVersion: 'v2',
        pageSize: 20,
        timeoutMs: 5_000,
        rateLimit: { requestsPerSecond: 4, maxConcurrent: 1 },
        retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 },
      },
      silentLogger,
    );
    try {
      const ids = await idsOf(client.searchDetails({}));
      assert.equal(new Set(ids).size, 100);
      assert.equal(client.stats().throttled429, 0);
      assert.equal(limited.simulator.state().faults.injected.rateLimit, 0);
    } finally {
      await client.close();
      await limited.close();
    }
  });

  describe('10,000 meters', () => {
    let big: RunningSimulator;
    before(async () => {
      big = await startSimulator({ meters: 10_000, seed: 99, apiKey: API_KEY });
    });
    after(async () => {
      await big?.close();
    });

    for (const [name, search] of Object.entries(SEARCHES) as [SearchName, (c: LeapClient) => Pages][]) {
      it(`${name} with page_size 500: 10,000 distinct meters in 20 pages`, async () => {
        const client = new LeapClient(
          {
            baseUrl: big.url,
            apiKey: API_KEY,
            apiVersion: 'v2',
            accountId: big.simulator.accountId,
            pageSize: 500,
            timeoutMs: 20_000,
            rateLimit: { requestsPerSecond: 100, maxConcurrent: 2 },
            retry: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 100 },
          },
          silentLogger,
        );
        try {
          const ids = new Set<string>();
          let count = 0;
          let pages = 0;
          for await (const page of search(client)) {
            pages += 1;
            assert.ok(page.items.length <= 500);
            count += page.items.length;
            for (const m of page.items) ids.add(m.meter_id);
          }
          assert.equal(count, 10_000);
          assert.equal(ids.size, 10_000);
          assert.equal(pages, 20);
          assert.equal(client.stats().requests, 20);
        } finally {
          await client.close();
        }
      });
    }
  });
});
