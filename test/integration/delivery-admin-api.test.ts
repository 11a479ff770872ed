import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { DeliveryView, DestinationView } from '../../src/services/delivery/admin-service';
import { testEngines } from '../helpers/db';
import { ApiContract } from '../helpers/api-contract';
import { ADMIN_KEY, deliveryHarness, PARTNER_KEY, SECRET, type DeliveryHarness } from '../helpers/delivery-harness';
import { startMisbehavingReceiver, type MisbehavingReceiver } from '../helpers/misbehaving-receiver';

for (const engine of testEngines()) {
  describe(`admin API and CLI for deliveries and destinations (${engine})`, function () {
    this.timeout(60_000);
    let partner: MisbehavingReceiver;
    let h: DeliveryHarness;
    let t0: Date;
    let t1: Date;
    let failing: string;
    // Every answer below is checked against the API description once the suite ends.
    const contract = new ApiContract();
    const api = () => request.agent(contract.wrap(h.composed.app)).set('Authorization', `Bearer ${ADMIN_KEY}`);

    /**
     * Two destinations, a (all events) and b (meter.created); one meter's delivery to b fails (dead
     * at once on 422), and another waits for a retry. A second pass an hour later.
     */
    before(async () => {
      let clockNow = () => new Date();
      partner = await startMisbehavingReceiver({ secrets: [SECRET], now: () => clockNow() });
      h = await deliveryHarness(engine, {
        meters: 6,
        destinations: {
          a: { url: `${partner.url}/a` },
          b: { url: `${partner.url}/b`, events: ['meter.created'], retry: { schedule: ['1h'], jitter: 0 } },
          off: { url: `${partner.url}/off`, enabled: false },
        },
      });
      const clock = h.clock!;
      clockNow = () => clock.now();
      t0 = clock.now();
      const events = await h.sync();
      failing = events[0]!.meter_id;
      partner.setRule({ path: '/b', meterId: failing, answer: { kind: 'status', status: 422 } });
      const waiting = events.find((e) => e.meter_id !== failing)!.meter_id;
      partner.setRule({ path: '/b', meterId: waiting, answer: { kind: 'status', status: 500 }, times: 1 });
      await h.settle();
      clock.advance(3_600_000 - 1);
      t1 = clock.now();
      for (const m of h.sim.simulator.meterIds({ limit: 6 }).slice(-2)) h.sim.simulator.setParticipation(m, 'IDLE', { end: new Date(h.sim.simulator.now().getTime() + 86_400_000) });
      assert.ok((await h.sync()).length > 0);
      await h.settle();
    });
    after(async () => {
      await h?.close();
      await partner?.close();
    });
    after(() => contract.verify());

    async function list(query: string): Promise<DeliveryView[]> {
      const out: DeliveryView[] = [];
      let before: string | null = null;
      for (let page = 0; page < 100; page++) {
        const res = await api().get(`/admin/v1/deliveries?${query}${before ? `&before=${before}` : ''}`).expect(200);
        out.push(...(res.body.deliveries as DeliveryView[]));
        before = res.body.next_before as string | null;
        if (!before) return out;
      }
      throw new Error('paging did not end');
    }
    const ids = (xs: { id: string }[]) => xs.map((x) => x.id).sort();

    it('asks for an admin key on every delivery, replay and destination route', async () => {
      const routes: [string, string][] = [
        ['get', '/admin/v1/deliveries'],
        ['get', '/admin/v1/deliveries/msg_x'],
        ['post', '/admin/v1/deliveries/msg_x/replay'],
        ['get', '/admin/v1/replays'],
        ['post', '/admin/v1/replays'],
        ['get', '/admin/v1/replays/x'],
        ['get', '/admin/v1/destinations'],
        ['post', '/admin/v1/destinations/a/pause'],
        ['post', '/admin/v1/destinations/a/resume'],
      ];
      for (const [method, url] of routes) {
        const call = (key?: string) => {
          const r = method === 'post' ? request(contract.wrap(h.composed.app)).post(url).send({}) : request(contract.wrap(h.composed.app)).get(url);
          return key ? r.set('Authorization', `Bearer ${key}`) : r;
        };
        assert.equal((await call()).status, 401, `${method} ${url} without a key`);
        assert.equal((await call('not-a-key-0123456789')).status, 401, `${method} ${url} with an unknown key`);
        const forbidden = await call(PARTNER_KEY);
        assert.deepEqual([forbidden.status, forbidden.body.code], [403, 'forbidden'], `${method} ${url} with a partner key`);
      }
      assert.equal((await h.state('a')).paused, false, 'a refused pause changed nothing');
      await request(contract.wrap(h.composed.app)).get('/admin/v1/destinations').set('Authorization', `Bearer ${ADMIN_KEY}`).expect(200);
    });

    it('lists deliveries newest first, a page at a time, by status, destination, meter, event type and time', async () => {
      const all = await h.deliveries();
      const everything = await list('limit=4');
      assert.deepEqual(ids(everything), ids(all));
      assert.equal(new Set(everything.map((d) => d.id)).size, everything.length, 'no delivery on two pages');
      assert.deepEqual(
        everything.map((d) => d.id),
        [...everything.map((d) => d.id)].sort().reverse(),
        'newest (highest id) first',
      );
      const cases: [string, (d: (typeof all)[number]) => boolean][] = [
        ['status=dead', (d) => d.status === 'dead'],
        ['status=pending', (d) => d.status === 'pending'],
        ['status=delivered&destination=b', (d) => d.status === 'delivered' && d.destination === 'b'],
        [`meter_id=${failing}`, (d) => d.meterId === failing],
        ['event_type=meter.created', (d) => d.eventType === 'meter.created'],
        [`since=${t1.toISOString()}`, (d) => d.createdAt >= t1],
        [`until=${t1.toISOString()}&destination=a`, (d) => d.createdAt < t1 && d.destination === 'a'],
      ];
      for (const [query, match] of cases) {
        const expected = all.filter(match);
        assert.ok(expected.length > 0, `${query} matches something`);
        assert.deepEqual(ids(await list(`${query}&limit=3`)), ids(expected), query);
      }
      const one = (await api().get('/admin/v1/deliveries?status=dead&limit=1').expect(200)).body;
      assert.equal(one.deliveries.length, 1);
      const d = one.deliveries[0] as DeliveryView;
      assert.deepEqual([d.destination, d.meter_id, d.status, d.dead_reason, d.last_status, d.next_attempt_at], ['b', failing, 'dead', 'status_422', 422, null]);

      for (const bad of ['status=bogus', 'limit=0', 'limit=501', 'event_type=meter.nope', 'since=yesterday', 'colour=red']) {
        const res = await api().get(`/admin/v1/deliveries?${bad}`).expect(400);
        assert.equal(res.body.code, 'validation_failed', bad);
      }
    });

    it('shows one delivery with its body and attempt log', async () => {
      const waiting = (await h.deliveries('b')).find((x) => x.status === 'pending')!;
      const res = await api().get(`/admin/v1/deliveries/${waiting.id}`).expect(200);
      assert.equal(res.body.body, waiting.body);
      assert.deepEqual([res.body.status, res.body.attempts, res.body.next_attempt_at, res.body.last_status], ['pending', 1, waiting.nextAttemptAt.toISOString(), 500]);
      assert.equal(res.body.attempts_log.length, 1);
      const [a] = res.body.attempts_log;
      assert.deepEqual([a.attempt, a.trigger, a.status_code, a.outcome, a.url], [1, 'scheduled', 500, 'retry', `${partner.url}/b`]);
      assert.equal(a.request_headers['webhook-id'], waiting.id);
      const missing = await api().get('/admin/v1/deliveries/msg_nope').expect(404);
      assert.equal(missing.body.code, 'not_found');
    });

    it('describes each destination: state, queue depth, oldest waiting, last success, failures', async () => {
      const views = (await api().get('/admin/v1/destinations').expect(200)).body.destinations as DestinationView[];
      assert.deepEqual(
        views.map((v) => [v.name, v.state, v.enabled, v.configured]),
        [
          ['a', 'active', true, true],
          ['b', 'active', true, true],
          ['off', 'disabled', false, true],
        ],
      );
      const all = await h.deliveries();
      const [a, b] = views;
      const ofB = all.filter((d) => d.destination === 'b');
      const pendingB = ofB.filter((d) => d.status === 'pending');
      assert.deepEqual([a!.queue_depth, a!.in_flight, a!.dead, a!.delivered, a!.oldest_pending_at], [0, 0, 0, all.filter((d) => d.destination === 'a').length, null]);
      assert.deepEqual(
        [b!.queue_depth, b!.dead, b!.delivered, b!.oldest_pending_at],
        [pendingB.length, ofB.filter((d) => d.status === 'dead').length, ofB.filter((d) => d.status === 'delivered').length, t0.toISOString()],
      );
      assert.deepEqual([pendingB.length, b!.dead], [1, 1]);
      assert.equal(a!.last_success_at, t1.toISOString());
      const stB = await h.state('b');
      assert.deepEqual([b!.consecutive_failures, b!.last_success_at, b!.next_probe_at], [stB.consecutiveFailures, t0.toISOString(), null]);
    });

    it('lists deliveries from the CLI, with the same filters', async () => {
      const dead = (await h.deliveries()).filter((d) => d.status === 'dead');
      let out = await h.cli('deliveries', 'list', '--status', 'dead', '--json');
      assert.equal(out.code, 0, out.stderr);
      const rows = out.stdout.split('\n').map((l) => JSON.parse(l) as DeliveryView);
      assert.deepEqual(ids(rows), ids(dead));
      out = await h.cli('deliveries', 'list', '--meter', failing, '--destination', 'b');
      const lines = out.stdout.split('\n');
      const ofMeter = (await h.deliveries('b')).filter((d) => d.meterId === failing);
      assert.equal(lines.at(-1), `${ofMeter.length} shown`);
      for (const d of ofMeter) assert.ok(lines.some((l) => l.startsWith(`${d.id}  dead `) && l.includes(`#${d.sequence}  attempts 1  last 422  (status_422)`)), d.id);
      out = await h.cli('deliveries', 'list', '--status', 'delivered', '--limit', '2');
      assert.equal(out.stdout.split('\n').at(-1), '2 shown (more: narrow the filter or raise --limit)');
      out = await h.cli('deliveries', 'list', '--destination', 'off');
      assert.equal(out.stdout, 'no deliveries match');
      out = await h.cli('deliveries', 'list', '--status', 'bogus');
      assert.equal(out.code, 1);
      assert.match(out.stderr, /Allowed choices are pending, delivering, delivered, dead/);
    });

    it('still shows a destination removed from the configuration, as disabled, with its deliveries', async () => {
      const kept = (await h.deliveries('a')).length;
      rmSync(path.join(h.destinations.dir, 'a.yaml'));
      h.destinations.reload();
      const a = ((await api().get('/admin/v1/destinations').expect(200)).body.destinations as DestinationView[]).find((v) => v.name === 'a')!;
      assert.deepEqual([a.configured, a.enabled, a.state, a.url, a.delivered], [false, false, 'disabled', '', kept]);
      await api().post('/admin/v1/destinations/a/pause').expect(404);
    });
  });
}
