import assert from 'node:assert/strict';
import type { MeterEvent } from '../../src/domain/events';
import { testEngines } from '../helpers/db';
import { deliveryHarness, SECRET, sharedTestDb, until, type DeliveryHarness, type DestinationSpec } from '../helpers/delivery-harness';
import { startMisbehavingReceiver, type MisbehavingReceiver } from '../helpers/misbehaving-receiver';

/** Meters with at least `n` events, in the order they appear. */
function metersWith(events: MeterEvent[], n: number): string[] {
  const count = new Map<string, number>();
  for (const e of events) count.set(e.meter_id, (count.get(e.meter_id) ?? 0) + 1);
  return [...count].filter(([, c]) => c >= n).map(([m]) => m);
}

for (const engine of testEngines()) {
  describe(`delivery order and concurrency (${engine})`, function () {
    this.timeout(60_000);
    const testDb = sharedTestDb(engine);
    let partner: MisbehavingReceiver;
    let h: DeliveryHarness;
    afterEach(async () => {
      await h?.close();
      await partner?.close();
    });

    async function setUp(destinations: Record<string, Partial<DestinationSpec>>, meters: number, opts: { pollInterval?: string } = {}): Promise<MeterEvent[]> {
      let clockNow = () => new Date();
      partner = await startMisbehavingReceiver({ secrets: [SECRET], now: () => clockNow() });
      h = await deliveryHarness(engine, {
        db: testDb(),
        meters,
        ...opts,
        destinations: Object.fromEntries(Object.entries(destinations).map(([name, spec]) => [name, { url: `${partner.url}/${name}`, ...spec }])),
      });
      const clock = h.clock!;
      clockNow = () => clock.now();
      return h.sync();
    }
    /** Per destination path and meter, the sequences the partner was sent, in arrival order. */
    function arrivals(): Map<string, number[]> {
      const out = new Map<string, number[]>();
      for (const r of partner.requests) {
        const k = `${r.path} ${r.meterId}`;
        out.set(k, [...(out.get(k) ?? []), r.sequence!]);
      }
      return out;
    }
    function assertNeverAhead(): void {
      for (const [k, seqs] of arrivals()) assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${k} was sent a later event before an earlier one`);
      assert.deepEqual(partner.outOfOrder(), []);
    }

    it("holds a meter's later events until its first is delivered or dead; other meters, and other destinations, flow meanwhile", async () => {
      const events = await setUp(
        {
          crm: { events: ['*'], retry: { schedule: ['10s', '10s'], jitter: 0 }, dead_on: [422], pause_after_failures: 0 },
          other: { events: ['*'] },
        },
        5,
      );
      const [stuck, doomed] = metersWith(events, 3);
      assert.ok(stuck && doomed, 'two meters with three or more events');
      const seqs = (m: string) => events.filter((e) => e.meter_id === m).map((e) => e.sequence);
      partner.setRule({ path: '/crm', meterId: stuck, when: (r) => r.sequence === 1, answer: { kind: 'status', status: 500 }, times: 2 });
      partner.setRule({ path: '/crm', meterId: doomed, when: (r) => r.sequence === 1, answer: { kind: 'status', status: 422 } });

      // worker.drain() cannot be used while a meter's events wait behind a retry (see the drain test below).
      const firstTried = (attempts: number) => async () => {
        const all = await h.deliveries();
        const head = all.find((d) => d.destination === 'crm' && d.meterId === stuck && d.sequence === 1)!;
        const rest = all.filter((d) => !(d.destination === 'crm' && d.meterId === stuck));
        return head.status === 'pending' && head.attempts === attempts && rest.every((d) => d.status === 'delivered' || d.status === 'dead');
      };
      h.start();
      await until(firstTried(1), 'everything but the stuck meter is settled');
      const crm = await h.deliveries('crm');
      const of = (m: string) => crm.filter((d) => d.meterId === m).map((d) => [d.sequence, d.status, d.attempts]);
      assert.deepEqual(of(stuck), [[1, 'pending', 1], ...seqs(stuck).slice(1).map((s) => [s, 'pending', 0])]);
      assert.deepEqual(of(doomed), [[1, 'dead', 1], ...seqs(doomed).slice(1).map((s) => [s, 'delivered', 1])], 'a dead event no longer holds the rest');
      assert.ok(
        crm.filter((d) => d.meterId !== stuck && d.meterId !== doomed).every((d) => d.status === 'delivered'),
        'other meters are not held up',
      );
      assert.deepEqual(arrivals().get(`/other ${stuck}`), seqs(stuck), 'nor is another destination');

      h.clock!.advance(10_000);
      h.composed.worker.notify();
      await until(firstTried(2), 'the stuck meter was retried');
      assert.deepEqual(arrivals().get(`/crm ${stuck}`), [1, 1]);
      await h.advance(10_000);
      assert.deepEqual(arrivals().get(`/crm ${stuck}`), [1, 1, 1, ...seqs(stuck).slice(1)]);
      assert.ok((await h.deliveries('crm')).filter((d) => d.meterId === stuck).every((d) => d.status === 'delivered'));
      assertNeverAhead();
    });

    it("keeps to the destination's concurrency", async () => {
      const events = await setUp({ crm: { events: ['meter.created'], concurrency: 2 } }, 10);
      const total = events.filter((e) => e.type === 'meter.created').length;
      partner.setDefault({ kind: 'hold' });
      h.start();
      let released = 0;
      while (released < total) {
        const expected = Math.min(2, total - released);
        await until(() => partner.holding() === expected, `${expected} requests held (${released} of ${total} released)`);
        released += partner.release();
      }
      await h.settle();
      assert.equal(partner.maxConcurrency, 2);
      assert.equal(partner.accepted().length, total);
      assert.ok((await h.deliveries()).every((d) => d.status === 'delivered'));
    });

    it("keeps to the destination's rate limit", async () => {
      // 4 a second against a partner that refuses a seventh request within any second.
      const events = await setUp({ crm: { events: ['meter.created'], rate_limit_per_second: 4 } }, 8);
      partner.setRateLimit(6);
      await h.settle();
      const total = events.filter((e) => e.type === 'meter.created').length;
      assert.equal(partner.requests.length, total);
      assert.equal(partner.rateLimited, 0);
      assert.ok((await h.deliveries()).every((d) => d.status === 'delivered'));
    });

    it('a claim that came back short is not asked again until results are written, work is queued or a poll passes', async () => {
      // No poll within the test: only written results and new work may start another claim.
      await setUp({ crm: { events: ['*'], concurrency: 4 } }, 30, { pollInterval: '10m' });
      partner.setDefault({ kind: 'sleep', ms: 5 });
      const store = h.composed.stores.deliveryQueue;
      const claimDue = store.claimDue.bind(store);
      const claimIds = store.claimIds.bind(store);
      const claims: number[] = [];
      const chained: number[] = [];
      store.claimDue = async (...args) => {
        const got = await claimDue(...args);
        claims.push(got.length);
        return got;
      };
      store.claimIds = async (...args) => {
        const got = await claimIds(...args);
        chained.push(got.length);
        return got;
      };
      const queued = (await h.deliveries('crm')).length;
      assert.ok(queued > 40 && metersWith(await h.composed.stores.events.list({}, 10_000), 2).length > 5, 'meters with several events each');
      h.start();
      await until(async () => (await h.deliveries('crm')).every((d) => d.status === 'delivered'), 'everything delivered');
      assert.equal(
        [...claims, ...chained].reduce((a, b) => a + b, 0),
        queued,
        'each delivery claimed once',
      );
      // Later events leave as their meter's earlier one is written back, claimed in that same transaction.
      assert.ok(chained.reduce((a, b) => a + b, 0) > 0, 'later events claimed with the results that let them go');
      // Later events wait for their meter's earlier one to be written back: claiming on every freed
      // slot would find nothing most of the time.
      const empty = claims.filter((n) => n === 0).length;
      assert.ok(empty <= 2, `${empty} of ${claims.length} claims found nothing: ${claims.join(' ')}`);
      assertNeverAhead();
    });

    it('a delivery left waiting with nothing ahead of it (its line emptied as it joined) goes when a claim next comes back short, not at the minute\'s check', async () => {
      await setUp({ crm: { events: ['*'] } }, 5, { pollInterval: '10m' });
      await h.settle();
      const last = (await h.deliveries('crm')).at(-1)!;
      assert.equal(last.status, 'delivered');
      await h.composed.db('deliveries').where({ id: last.id }).update({ status: 'waiting', delivered_at: null });
      const sent = partner.requests.length;
      h.clock!.advance(1000);
      h.composed.worker.notify();
      await until(async () => (await h.delivery(last.id)).status === 'delivered', 'the delivery left behind is delivered');
      assert.equal(partner.requests.length, sent + 1);
      assert.equal(partner.requests.at(-1)!.webhookId, last.id);
    });

    it('claims further ahead for a receiver that answers fast: more than two rounds of its concurrency at once', async () => {
      await setUp({ crm: { events: ['meter.created'], concurrency: 2 } }, 300, { pollInterval: '10m' });
      const store = h.composed.stores.deliveryQueue;
      const claimDue = store.claimDue.bind(store);
      const asked: number[] = [];
      store.claimDue = async (destination, owner, limit, ...rest) => {
        asked.push(limit);
        return claimDue(destination, owner, limit, ...rest);
      };
      h.start();
      await until(async () => (await h.deliveries('crm')).every((d) => d.status === 'delivered'), 'everything delivered');
      assert.equal(asked[0], 4, 'two rounds before its pace is known');
      assert.ok(Math.max(...asked) > 4, `claims asked for ${asked.join(' ')}`);
      assert.ok(Math.max(...asked) <= 32, 'at most sixteen rounds');
    });

    it('two connectors on one database send every delivery once, never the same one at the same time, and keep each meter in order', async () => {
      const events = await setUp({ crm: { events: ['*'], concurrency: 4 } }, 30);
      partner.setDefault({ kind: 'sleep', ms: 5 });
      const other = await h.sibling('worker-b');
      other.worker.start();
      await Promise.all([h.settle(), other.worker.drain()]);
      await Promise.all([h.settle(), other.worker.drain()]);

      const deliveries = await h.deliveries();
      assert.equal(deliveries.length, events.length);
      assert.ok(deliveries.every((d) => d.status === 'delivered' && d.attempts === 1));
      const ids = partner.requests.map((r) => r.webhookId);
      assert.equal(ids.length, deliveries.length, 'one request per delivery');
      assert.deepEqual(new Set(ids), new Set(deliveries.map((d) => d.id)));
      assert.ok(partner.requests.every((r) => r.accepted && !r.duplicate));
      const a = h.composed.worker.counters.sent;
      const b = other.worker.counters.sent;
      assert.equal(a + b, deliveries.length);
      assert.ok(a > 0 && b > 0, `both connectors sent (${a} and ${b})`);
      assertNeverAhead();
    });

    it("drain() returns while a meter's later events wait behind its first one's retry", async () => {
      const events = await setUp({ crm: { events: ['*'], retry: { schedule: ['1h'], jitter: 0 } } }, 3);
      const [stuck] = metersWith(events, 2);
      partner.setRule({ meterId: stuck, when: (r) => r.sequence === 1, answer: { kind: 'status', status: 500 } });
      h.start();
      await h.composed.worker.drain(3_000);
      const held = (await h.deliveries()).filter((d) => d.meterId === stuck);
      assert.deepEqual(
        held.map((d) => [d.sequence, d.status, d.attempts]),
        held.map((d) => [d.sequence, 'pending', d.sequence === 1 ? 1 : 0]),
      );
    });
  });
}
