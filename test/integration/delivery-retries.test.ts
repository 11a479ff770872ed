import assert from 'node:assert/strict';
import { RESPONSE_BODY_LIMIT } from '../../src/clients/webhook-sender';
import { REDACTED } from '../../src/domain/redaction';
import type { Delivery } from '../../src/stores/deliveries/rows';
import { testEngines } from '../helpers/db';
import { deliveryHarness, destinationYaml, SECRET, sharedTestDb, type DeliveryHarness, type DestinationSpec } from '../helpers/delivery-harness';
import { startMisbehavingReceiver, type MisbehavingReceiver } from '../helpers/misbehaving-receiver';

/** When the delivery is next due, in ms from the harness clock. */
const dueIn = (h: DeliveryHarness, d: Delivery) => d.nextAttemptAt.getTime() - h.clock!.now().getTime();

for (const engine of testEngines()) {
  describe(`delivery retries against a misbehaving partner (${engine})`, function () {
    this.timeout(60_000);
    const testDb = sharedTestDb(engine);
    let partner: MisbehavingReceiver;
    let h: DeliveryHarness;
    let id: string;
    afterEach(async () => {
      await h?.close();
      await partner?.close();
    });

    /** `meters` meter.created deliveries to the partner's /crm; returns the first one's id. */
    async function setUp(spec: Partial<DestinationSpec>, opts: { meters?: number; random?: () => number } = {}): Promise<string> {
      let clockNow = () => new Date();
      partner = await startMisbehavingReceiver({ secrets: [SECRET], now: () => clockNow() });
      h = await deliveryHarness(engine, {
        db: testDb(),
        meters: opts.meters ?? 1,
        random: opts.random,
        destinations: { crm: { url: `${partner.url}/crm`, events: ['meter.created'], retry: { schedule: ['10s', '20s', '40s'], jitter: 0 }, ...spec } },
      });
      const clock = h.clock!;
      clockNow = () => clock.now();
      await h.sync();
      id = (await h.deliveries())[0]!.id;
      return id;
    }
    const attempts = async () => (await h.attempts(id)).map((a) => [a.statusCode, a.errorClass, a.outcome]);

    it('retries 5xx on the schedule, to the millisecond, then delivers', async () => {
      await setUp({});
      partner.queue({ kind: 'status', status: 500 }, { kind: 'status', status: 502 });
      await h.settle();
      let d = await h.delivery(id);
      assert.deepEqual([d.status, d.retryIndex, dueIn(h, d)], ['pending', 1, 10_000]);
      await h.advance(9_999);
      assert.equal(partner.requests.length, 1, 'not before its time');
      await h.advance(1);
      d = await h.delivery(id);
      assert.deepEqual([partner.requests.length, d.retryIndex, dueIn(h, d)], [2, 2, 20_000]);
      await h.advance(20_000);
      d = await h.delivery(id);
      assert.deepEqual([d.status, d.attempts, d.lastStatus, d.deliveredAt?.getTime()], ['delivered', 3, 200, h.clock!.now().getTime()]);
      assert.deepEqual(await attempts(), [
        [500, null, 'retry'],
        [502, null, 'retry'],
        [200, null, 'delivered'],
      ]);
      assert.deepEqual([h.composed.worker.counters.retried, h.composed.worker.counters.delivered], [2, 1]);
      assert.deepEqual((await h.state('crm')).consecutiveFailures, 0, 'a success ends the run of failures');
    });

    it('waits out a 429 for Retry-After, in seconds or as an HTTP date, without using a retry', async () => {
      // One retry only: if a 429 used it up, the 500 after them would make the delivery dead.
      await setUp({ retry: { schedule: ['10s'], jitter: 0 } });
      partner.queue(
        { kind: 'retryAfter', status: 429, after: 120 },
        { kind: 'retryAfter', status: 429, after: new Date(h.clock!.now().getTime() + 120_000 + 300_000) },
        { kind: 'status', status: 500 },
      );
      await h.settle();
      let d = await h.delivery(id);
      assert.deepEqual([d.status, d.retryIndex, dueIn(h, d)], ['pending', 0, 120_000]);
      await h.advance(119_999);
      assert.equal(partner.requests.length, 1);
      await h.advance(1);
      d = await h.delivery(id);
      assert.deepEqual([partner.requests.length, d.retryIndex, dueIn(h, d)], [2, 0, 300_000]);
      assert.deepEqual((await h.state('crm')).consecutiveFailures, 0, 'a throttle is not a failure');
      await h.advance(300_000);
      d = await h.delivery(id);
      assert.deepEqual([d.status, d.retryIndex, dueIn(h, d)], ['pending', 1, 10_000]);
      await h.advance(10_000);
      assert.equal((await h.delivery(id)).status, 'delivered');
      assert.deepEqual(
        (await h.attempts(id)).map((a) => [a.statusCode, a.outcome, a.responseHeaders?.['retry-after'] !== undefined]),
        [
          [429, 'throttled', true],
          [429, 'throttled', true],
          [500, 'retry', false],
          [200, 'delivered', false],
        ],
      );
      assert.equal(h.composed.worker.counters.throttled, 2);
    });

    it('honours Retry-After on a 503 within its clamp, using a retry', async () => {
      await setUp({ retry: { schedule: ['10s', '10s'], jitter: 0 } });
      partner.queue({ kind: 'retryAfter', status: 503, after: 15 });
      await h.settle();
      const d = await h.delivery(id);
      assert.deepEqual([d.status, d.retryIndex, dueIn(h, d)], ['pending', 1, 15_000]);
      await h.advance(14_999);
      assert.equal(partner.requests.length, 1);
      await h.advance(1);
      assert.equal((await h.delivery(id)).status, 'delivered');
    });

    it("stretches a retry for a 503's Retry-After to at most twice the scheduled wait", async () => {
      // webhook-anchors §6 and Svix: the delay is clamped to [scheduled, 2 × scheduled].
      await setUp({ retry: { schedule: ['10s', '10s'], jitter: 0 } });
      partner.queue({ kind: 'retryAfter', status: 503, after: 3600 });
      await h.settle();
      const d = await h.delivery(id);
      assert.equal(d.status, 'pending');
      assert.ok(dueIn(h, d) <= 20_000, `next attempt in ${dueIn(h, d)} ms, more than 2 × 10 s`);
    });

    it('gives up on a partner slower than the timeout (error_class timeout), then delivers', async () => {
      await setUp({ timeout: '300ms' });
      partner.queue({ kind: 'sleep', ms: 10_000 });
      await h.settle();
      const d = await h.delivery(id);
      assert.deepEqual([d.status, d.lastStatus, d.lastErrorClass], ['pending', null, 'timeout']);
      await h.advance(10_000);
      assert.deepEqual(await attempts(), [
        [null, 'timeout', 'retry'],
        [200, null, 'delivered'],
      ]);
      assert.deepEqual(
        partner.requests.map((r) => r.webhookId),
        [id, id],
      );
    });

    it('retries a reset connection (error_class reset)', async () => {
      await setUp({});
      partner.queue({ kind: 'reset' });
      await h.settle();
      assert.equal((await h.delivery(id)).lastErrorClass, 'reset');
      await h.advance(10_000);
      assert.deepEqual(await attempts(), [
        [null, 'reset', 'retry'],
        [200, null, 'delivered'],
      ]);
    });

    it('retries a refused connection (error_class refused) until the partner is back', async () => {
      await setUp({});
      await partner.close();
      await h.settle();
      await h.advance(10_000);
      assert.deepEqual((await h.delivery(id)).lastErrorClass, 'refused');
      await partner.reopen();
      await h.advance(20_000);
      assert.deepEqual(await attempts(), [
        [null, 'refused', 'retry'],
        [null, 'refused', 'retry'],
        [200, null, 'delivered'],
      ]);
      assert.deepEqual(
        partner.requests.map((r) => [r.webhookId, r.signature.valid]),
        [[id, true]],
      );
    });

    it('classifies a name that does not resolve as dns, and a failed TLS handshake as tls', async () => {
      await setUp({ url: 'http://leap-connector-test.invalid/crm', timeout: '5s' });
      await h.settle();
      assert.deepEqual(await attempts(), [[null, 'dns', 'retry']]);
      // An https URL to a plain HTTP server: the handshake fails.
      h.destinations.write('crm', destinationYaml({ url: `https://127.0.0.1:${partner.port}/crm`, events: ['meter.created'], retry: { schedule: ['10s', '10s'], jitter: 0 } }));
      h.destinations.reload();
      await h.advance(10_000);
      assert.deepEqual((await attempts()).at(-1), [null, 'tls', 'retry']);
      assert.equal(partner.requests.length, 0);
    });

    it('does not follow redirects: a 3xx is a failure with error_class redirect, and nothing reaches the Location', async () => {
      await setUp({});
      partner.queue({ kind: 'redirect', status: 302 }, { kind: 'redirect', status: 307 }, { kind: 'redirect', status: 308, location: `${partner.url}/moved` });
      await h.settle();
      await h.advance(10_000);
      await h.advance(20_000);
      const d = await h.delivery(id);
      assert.deepEqual([d.status, d.lastStatus, d.lastErrorClass], ['pending', 308, 'redirect']);
      assert.match(d.lastError ?? '', /\/moved/);
      assert.deepEqual(await attempts(), [
        [302, 'redirect', 'retry'],
        [307, 'redirect', 'retry'],
        [308, 'redirect', 'retry'],
      ]);
      assert.equal(partner.redirectsFollowed, 0);
      assert.deepEqual(
        partner.requests.map((r) => r.path),
        ['/crm', '/crm', '/crm'],
      );
    });

    it('keeps at most 16 KB of a garbage or oversized answer in the attempt log', async () => {
      await setUp({ retry: { schedule: ['1s', '1s', '1s'], jitter: 0 } });
      partner.queue(
        { kind: 'garbage', form: 'huge', status: 500 },
        { kind: 'garbage', form: 'nonJson', status: 502 },
        { kind: 'garbage', form: 'invalidUtf8', status: 500 },
        { kind: 'garbage', form: 'huge', status: 200, bytes: 40_000 },
      );
      await h.settle();
      for (let i = 0; i < 3; i++) await h.advance(1_000);
      const log = await h.attempts(id);
      assert.deepEqual(
        log.map((a) => [a.statusCode, a.outcome]),
        [
          [500, 'retry'],
          [502, 'retry'],
          [500, 'retry'],
          [200, 'delivered'],
        ],
      );
      assert.equal(RESPONSE_BODY_LIMIT, 16 * 1024);
      assert.equal(log[0]!.responseBody, 'x'.repeat(RESPONSE_BODY_LIMIT));
      assert.equal(log[1]!.responseBody, '<html><body>Service temporarily confused</body></html>');
      assert.ok(log[2]!.responseBody!.startsWith('{"a":"') && log[2]!.responseBody!.includes('\uFFFD'), log[2]!.responseBody!);
      assert.equal(log[3]!.responseBody, 'x'.repeat(RESPONSE_BODY_LIMIT));
      assert.equal((await h.delivery(id)).status, 'delivered');
    });

    it('makes a delivery dead at once on a dead_on status; other statuses retry', async () => {
      await setUp({ dead_on: [409, 422] }, { meters: 3 });
      const [a, b, c] = await h.deliveries();
      partner.setRule({ meterId: a!.meterId, answer: { kind: 'status', status: 409 } });
      partner.setRule({ meterId: b!.meterId, answer: { kind: 'status', status: 422 } });
      // 400 is dead by default, but this destination's list replaces the default.
      partner.setRule({ meterId: c!.meterId, answer: { kind: 'status', status: 400 } });
      await h.settle();
      const after = await Promise.all([a, b, c].map((d) => h.delivery(d!.id)));
      assert.deepEqual(
        after.map((d) => [d.status, d.deadReason, d.attempts, d.retryIndex]),
        [
          ['dead', 'status_409', 1, 0],
          ['dead', 'status_422', 1, 0],
          ['pending', null, 1, 1],
        ],
      );
      await h.advance(3_600_000);
      assert.equal(partner.byMeter(a!.meterId).length, 1, 'a dead delivery is not sent again');
    });

    it('makes a delivery dead when its retries run out, and sends it no more', async () => {
      await setUp({ retry: { schedule: ['1s', '2s'], jitter: 0 } });
      partner.setDefault({ kind: 'status', status: 500 });
      await h.settle();
      await h.advance(1_000);
      await h.advance(2_000);
      const d = await h.delivery(id);
      assert.deepEqual([d.status, d.deadReason, d.attempts, d.deadAt?.getTime()], ['dead', 'retries_exhausted', 3, h.clock!.now().getTime()]);
      assert.deepEqual(
        (await attempts()).map((a) => a[2]),
        ['retry', 'retry', 'dead'],
      );
      await h.advance(86_400_000);
      assert.equal(partner.requests.length, 3);
      assert.equal(h.composed.worker.counters.dead, 1);
    });

    it('spreads each wait by up to ± the jitter', async () => {
      const draws = [0, 1, 0.5];
      await setUp({ retry: { schedule: ['100s', '100s', '100s'], jitter: 0.2 } }, { random: () => draws.shift() ?? 0.5 });
      partner.setDefault({ kind: 'status', status: 500 });
      const waits: number[] = [];
      await h.settle();
      for (let i = 0; i < 3; i++) {
        const wait = dueIn(h, await h.delivery(id));
        waits.push(wait);
        await h.advance(wait);
      }
      assert.deepEqual(waits, [80_000, 120_000, 100_000]);
    });

    it('logs every attempt: time, duration, redacted request headers, status, response headers and body, error class, trigger', async () => {
      await setUp({ headers: { Authorization: 'Bearer partner-token-do-not-log', 'X-Api-Key': 'key-do-not-log', 'X-Crm-Integration': 'leap-connector' } });
      partner.queue({ kind: 'status', status: 500, body: { error: 'boom' }, headers: { 'x-request-id': 'req-1' } }, { kind: 'reset' });
      const t0 = h.clock!.now().getTime();
      await h.settle();
      await h.advance(10_000);
      await h.advance(20_000);
      await h.api().post(`/admin/v1/deliveries/${id}/replay`).expect(202);
      await h.settle();
      await h.composed.replays.replay([id], 'manual');
      await h.settle();

      const log = await h.attempts(id);
      assert.deepEqual(
        log.map((a) => [a.attempt, a.trigger, a.statusCode, a.errorClass, a.outcome, a.startedAt.getTime() - t0]),
        [
          [1, 'scheduled', 500, null, 'retry', 0],
          [2, 'scheduled', null, 'reset', 'retry', 10_000],
          [3, 'scheduled', 200, null, 'delivered', 30_000],
          [4, 'replay', 200, null, 'delivered', 30_000],
          [5, 'manual', 200, null, 'delivered', 30_000],
        ],
      );
      const [first, second] = log;
      assert.ok(log.every((a) => Number.isInteger(a.durationMs) && a.durationMs >= 0 && a.url === `${partner.url}/crm`));
      assert.equal(first!.requestHeaders.authorization, REDACTED);
      assert.equal(first!.requestHeaders['x-api-key'], REDACTED);
      assert.equal(first!.requestHeaders['x-crm-integration'], 'leap-connector');
      assert.equal(first!.requestHeaders['content-type'], 'application/json');
      assert.equal(first!.requestHeaders['webhook-id'], id);
      assert.equal(first!.requestHeaders['webhook-signature'], partner.requests[0]!.headers['webhook-signature']);
      assert.equal(first!.responseHeaders?.['x-request-id'], 'req-1');
      assert.equal(first!.responseBody, '{"error":"boom"}');
      assert.deepEqual([second!.responseHeaders, second!.responseBody], [null, null]);
      assert.match(second!.errorMessage ?? '', /ECONNRESET|socket hang up/);
      // The partner got the real credentials; the database never holds them.
      assert.equal(partner.requests[0]!.headers.authorization, 'Bearer partner-token-do-not-log');
      const leaked = await h.db.knex('delivery_attempts').where('request_headers_json', 'like', '%do-not-log%').count({ n: '*' });
      assert.equal(Number(leaked[0]!.n), 0);

      const res = await h.api().get(`/admin/v1/deliveries/${id}`).expect(200);
      assert.equal(res.body.attempts_log.length, 5);
      assert.deepEqual(
        res.body.attempts_log.map((a: { trigger: string }) => a.trigger),
        ['scheduled', 'scheduled', 'scheduled', 'replay', 'manual'],
      );
      assert.equal(res.body.attempts_log[0].request_headers.authorization, REDACTED);
      assert.equal(res.body.attempts_log[0].started_at, new Date(t0).toISOString());
      assert.equal(res.body.attempts_log[0].response_body, '{"error":"boom"}');
      assert.equal(res.body.attempts_log[1].error_class, 'reset');
    });
  });
}
