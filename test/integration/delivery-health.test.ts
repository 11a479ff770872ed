import assert from 'node:assert/strict';
import type { Delivery } from '../../src/stores/deliveries/rows';
import { testEngines } from '../helpers/db';
import { deliveryHarness, SECRET, sharedTestDb, until, type DeliveryHarness, type DestinationSpec } from '../helpers/delivery-harness';
import { startMisbehavingReceiver, type MisbehavingReceiver } from '../helpers/misbehaving-receiver';

for (const engine of testEngines()) {
  describe(`destination health: pause, probe, resume (${engine})`, function () {
    this.timeout(60_000);
    const testDb = sharedTestDb(engine);
    let partner: MisbehavingReceiver;
    let h: DeliveryHarness;
    afterEach(async () => {
      await h?.close();
      await partner?.close();
    });

    /**
     * The destination under test at /NAME and a healthy `witness` at /witness, both subscribed to
     * `events`. While a destination is paused the worker cannot be drained, so tests watch the
     * database, and replay a witness delivery to know the worker has looked again since.
     */
    async function setUp(name: string, spec: Partial<DestinationSpec>, meters = 3): Promise<void> {
      let clockNow = () => new Date();
      partner = await startMisbehavingReceiver({ secrets: [SECRET], now: () => clockNow() });
      h = await deliveryHarness(engine, {
        db: testDb(),
        meters,
        destinations: {
          [name]: { url: `${partner.url}/${name}`, events: ['meter.created'], ...spec },
          witness: { url: `${partner.url}/witness`, events: ['meter.created'] },
        },
      });
      const clock = h.clock!;
      clockNow = () => clock.now();
    }
    const sentTo = (name: string) => partner.requests.filter((r) => r.path === `/${name}`);
    const idle = (name: string) => async () => (await h.deliveries(name)).every((d) => d.status !== 'delivering');
    const paused = (name: string) => async () => (await h.state(name)).paused;
    /** The worker ran a cycle after this call: a witness delivery was claimed and sent again. */
    async function tick(): Promise<void> {
      let w: Delivery | undefined;
      await until(async () => (w = (await h.deliveries('witness')).find((d) => d.status === 'delivered')) !== undefined, 'a witness delivery is delivered');
      await h.composed.replays.replay([w!.id]);
      await until(async () => {
        const d = await h.delivery(w!.id);
        return d.status === 'delivered' && d.attempts > w!.attempts;
      }, 'the worker sent the witness delivery again');
    }
    const attemptsBy = async (name: string, trigger: string) =>
      (await h.db.knex('delivery_attempts as a').join('deliveries as d', 'd.id', 'a.delivery_id').where({ 'd.destination': name, 'a.trigger': trigger }).select('a.delivery_id', 'a.outcome').orderBy('a.id')) as {
        delivery_id: string;
        outcome: string;
      }[];

    it('pauses a destination that answers 410 Gone; its deliveries wait, unprobed, until it is resumed by hand', async () => {
      await setUp('gone', {});
      const unrule = partner.setRule({ path: '/gone', answer: { kind: 'status', status: 410 } });
      h.start();
      await h.sync();
      await until(paused('gone'), 'gone is paused');
      await until(idle('gone'), 'nothing of gone is in flight');
      await until(async () => (await h.state('gone')).lastStatus === 410, 'the 410 is on record');
      const held = await h.deliveries('gone');
      const sentBefore = sentTo('gone').length;
      // Once each: the pause is written before a 410'd delivery is due again.
      assert.ok(held.length > 0);
      assert.equal(sentBefore, held.length);
      assert.ok(
        held.every((d) => d.status === 'pending' && d.retryIndex === 0 && d.lastStatus === 410),
        'held, not dead, and no retry used',
      );
      let st = await h.state('gone');
      assert.deepEqual([st.pausedReason, st.probeAt, st.lastStatus], ['gone', null, 410]);

      h.clock!.advance(24 * 3_600_000);
      await tick();
      await tick();
      assert.equal(sentTo('gone').length, sentBefore, 'a gone endpoint is not probed');

      unrule();
      const res = await h.api().post('/admin/v1/destinations/gone/resume').expect(200);
      assert.deepEqual([res.body.state, res.body.paused_reason], ['active', null]);
      await h.settle();
      assert.ok((await h.deliveries('gone')).every((d) => d.status === 'delivered'));
      const accepted = partner.accepted().filter((r) => r.path === '/gone');
      assert.deepEqual(accepted.map((r) => r.webhookId).sort(), held.map((d) => d.id).sort(), 'each held delivery arrives once');
      st = await h.state('gone');
      assert.deepEqual([st.paused, st.resumes, st.consecutiveFailures], [false, 1, 0]);
    });

    it('pauses after consecutive failures, holds every delivery, probes with backoff, and resumes when a probe succeeds', async () => {
      await setUp('flaky', { events: ['*'], pause_after_failures: 3, retry: { schedule: Array(10).fill('1s'), jitter: 0 } }, 5);
      const unrule = partner.setRule({ path: '/flaky', answer: { kind: 'status', status: 500 } });
      h.start();
      await h.sync();
      await until(paused('flaky'), 'flaky is paused');
      await until(idle('flaky'), 'nothing of flaky is in flight');
      let st = await h.state('flaky');
      assert.equal(st.pausedReason, 'failures');
      assert.ok(st.consecutiveFailures >= 3);
      assert.deepEqual([st.probeAt!.getTime() - st.pausedAt!.getTime(), st.probeBackoffMs], [30_000, 30_000]);
      const all = await h.deliveries('flaky');
      assert.ok(all.length > 5 && all.every((d) => d.status === 'pending'), 'nothing is dropped or dead');
      const sentBefore = sentTo('flaky').length;

      h.clock!.advance(29_999);
      await tick();
      assert.equal(sentTo('flaky').length, sentBefore, 'no probe before its time');

      // The probe fails: still paused, the next probe twice as far off, the probed delivery keeps its retries.
      const before = new Map(all.map((d) => [d.id, d.retryIndex]));
      h.clock!.advance(1);
      await tick();
      await until(async () => (await attemptsBy('flaky', 'probe')).length === 1, 'a probe was recorded');
      await until(idle('flaky'), 'nothing of flaky is in flight');
      assert.equal(sentTo('flaky').length, sentBefore + 1);
      const [probe] = await attemptsBy('flaky', 'probe');
      assert.equal(probe!.outcome, 'retry');
      assert.equal((await h.delivery(probe!.delivery_id)).retryIndex, before.get(probe!.delivery_id));
      st = await h.state('flaky');
      assert.deepEqual([st.paused, st.probeAt!.getTime() - h.clock!.now().getTime(), st.probeBackoffMs], [true, 60_000, 60_000]);

      unrule();
      h.clock!.advance(60_000);
      await tick();
      await until(async () => !(await h.state('flaky')).paused, 'flaky resumed');
      await h.settle();
      assert.deepEqual(
        (await attemptsBy('flaky', 'probe')).map((a) => a.outcome),
        ['retry', 'delivered'],
      );
      const after = await h.deliveries('flaky');
      assert.ok(after.every((d) => d.status === 'delivered'));
      const accepted = partner.accepted().filter((r) => r.path === '/flaky');
      assert.equal(accepted.length, after.length, 'every held delivery arrives, once');
      assert.equal(partner.outOfOrder().length, 0);
      st = await h.state('flaky');
      assert.deepEqual([st.paused, st.pauses, st.resumes, st.consecutiveFailures], [false, 1, 1, 0]);
      assert.ok(st.lastSuccessAt);
      assert.deepEqual([h.composed.worker.counters.pausedDestinations, h.composed.worker.counters.resumedDestinations], [1, 1]);
    });

    it('pauses and resumes by hand through the API: deliveries wait, are counted in the queue, and are never probed', async () => {
      await setUp('crm', {});
      const res = await h.api().post('/admin/v1/destinations/crm/pause').expect(200);
      assert.deepEqual([res.body.name, res.body.state, res.body.paused_reason], ['crm', 'paused', 'manual']);
      h.start();
      const created = h.clock!.now().toISOString();
      await h.sync();
      h.clock!.advance(3_600_000);
      await tick();
      await tick();
      assert.equal(sentTo('crm').length, 0);
      const held = await h.deliveries('crm');
      assert.ok(held.length > 0 && held.every((d) => d.status === 'pending'));
      const view = (await h.api().get('/admin/v1/destinations').expect(200)).body.destinations.find((d: { name: string }) => d.name === 'crm');
      assert.deepEqual([view.state, view.paused_reason, view.queue_depth, view.oldest_pending_at, view.next_probe_at], ['paused', 'manual', held.length, created, null]);

      await h.api().post('/admin/v1/destinations/crm/pause').expect(200);
      assert.equal((await h.state('crm')).pauses, 1, 'pausing a paused destination changes nothing');
      await h.api().post('/admin/v1/destinations/nope/pause').expect(404);
      await h.api().post('/admin/v1/destinations/crm/resume').expect(200);
      await h.settle();
      assert.deepEqual(sentTo('crm').map((r) => r.webhookId).sort(), held.map((d) => d.id).sort());
    });

    it('pauses, lists and resumes by hand through the CLI', async () => {
      await setUp('crm', {});
      let out = await h.cli('destinations', 'pause', 'crm');
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout, 'crm paused; 0 deliveries waiting');
      h.start();
      await h.sync();
      await tick();
      assert.equal(sentTo('crm').length, 0);
      const held = (await h.deliveries('crm')).length;
      out = await h.cli('destinations', 'list');
      assert.equal(out.code, 0, out.stderr);
      const line = out.stdout.split('\n').find((l) => l.startsWith('crm '))!;
      assert.match(line, new RegExp(`^crm +paused +\\(manual\\) +queue ${held} +in flight 0 +dead 0 +delivered 0 +oldest \\S+ +${partner.url}/crm$`));
      out = await h.cli('destinations', 'list', '--json');
      const rows = out.stdout.split('\n').map((l) => JSON.parse(l) as { name: string; state: string; queue_depth: number });
      assert.deepEqual(
        rows.map((r) => [r.name, r.state, r.queue_depth]),
        [
          ['crm', 'paused', held],
          ['witness', 'active', 0],
        ],
      );

      out = await h.cli('destinations', 'resume', 'crm');
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout, `crm active; ${held} deliveries waiting`);
      // A resume by another process reaches a running worker the next time it reads the destination states.
      h.clock!.advance(2_000);
      await h.settle();
      assert.equal(sentTo('crm').length, held);
      out = await h.cli('destinations', 'pause', 'nope');
      assert.equal(out.code, 1);
      assert.match(out.stderr, /destination nope not found/);
    });

    it('records the last failure even when a success is recorded with it', async () => {
      await setUp('crm', { concurrency: 2 }, 2);
      const [failing, fine] = h.sim.simulator.meterIds({ limit: 2 });
      partner.setRule({ path: '/crm', meterId: failing, answer: { kind: 'hold', then: { kind: 'status', status: 500 } } });
      partner.setRule({ path: '/crm', meterId: fine, answer: { kind: 'hold' } });
      h.start();
      await h.sync();
      // Both answers leave together, so both results are written in one batch.
      await until(() => partner.holding() === 2, 'both requests are held');
      partner.release();
      await until(async () => (await h.deliveries('crm')).every((d) => d.attempts === 1 && d.status !== 'delivering'), 'both results are recorded');
      // Destination health is written right after the deliveries' results, in the same flush.
      await until(async () => { const s = await h.state('crm'); return s.lastSuccessAt !== null && s.lastFailureAt !== null; }, 'the health update is written');
      const st = await h.state('crm');
      assert.equal(st.lastSuccessAt?.toISOString(), h.clock!.now().toISOString());
      assert.equal(st.lastFailureAt?.toISOString(), h.clock!.now().toISOString(), 'the 500 is on record');
    });

    it('drain() returns while a paused destination holds deliveries the worker will not send', async () => {
      await setUp('crm', {});
      await h.api().post('/admin/v1/destinations/crm/pause').expect(200);
      await h.sync();
      h.start();
      await h.composed.worker.drain(3_000);
      assert.ok((await h.deliveries('witness')).every((d) => d.status === 'delivered'));
      assert.ok((await h.deliveries('crm')).every((d) => d.status === 'pending'));
    });
  });
}
