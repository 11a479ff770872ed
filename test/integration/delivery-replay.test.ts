import assert from 'node:assert/strict';
import type { Delivery } from '../../src/stores/deliveries/rows';
import { testEngines } from '../helpers/db';
import { deliveryHarness, destinationYaml, SECRET, sharedTestDb, until, type DeliveryHarness, type DestinationSpec } from '../helpers/delivery-harness';
import { startMisbehavingReceiver, type MisbehavingReceiver } from '../helpers/misbehaving-receiver';

interface JobView {
  id: string;
  status: string;
  dry_run: boolean;
  cap: number;
  matched: number;
  replayed: number;
  skipped: number;
  skipped_because: { in_flight: number; unrenderable: number };
  requested_by: string;
  error: string | null;
}

for (const engine of testEngines()) {
  describe(`delivery replay (${engine})`, function () {
    this.timeout(60_000);
    const testDb = sharedTestDb(engine);
    let partner: MisbehavingReceiver;
    let h: DeliveryHarness;
    afterEach(async () => {
      await h?.close();
      await partner?.close();
    });

    async function setUp(destinations: Record<string, Partial<DestinationSpec>>, meters = 1): Promise<void> {
      let clockNow = () => new Date();
      partner = await startMisbehavingReceiver({ secrets: [SECRET], now: () => clockNow() });
      h = await deliveryHarness(engine, {
        db: testDb(),
        meters,
        destinations: Object.fromEntries(Object.entries(destinations).map(([name, spec]) => [name, { url: `${partner.url}/${name}`, retry: { schedule: ['10s'], jitter: 0 }, ...spec }])),
      });
      const clock = h.clock!;
      clockNow = () => clock.now();
    }
    const replayOne = (id: string) => h.api().post(`/admin/v1/deliveries/${id}/replay`);
    async function bulk(body: Record<string, unknown>, expect = 202): Promise<JobView> {
      const res = await h.api().post('/admin/v1/replays').send(body).expect(expect);
      if (expect === 202) {
        assert.equal(res.headers.location, `/admin/v1/replays/${res.body.id}`);
        let job = res.body as JobView;
        await until(async () => {
          job = (await h.api().get(`/admin/v1/replays/${res.body.id}`).expect(200)).body as JobView;
          return job.status !== 'pending' && job.status !== 'running';
        }, 'the replay job finished');
        return job;
      }
      return res.body as JobView;
    }
    const statuses = (ds: Delivery[]) => ds.map((d) => d.status);

    it('replays one delivery with the same webhook-id and body and a new signature, starts its schedule again, and keeps the earlier attempts', async () => {
      await setUp({ crm: { events: ['meter.created'] } });
      await h.sync();
      const [{ id }] = await h.deliveries();
      partner.setDefault({ kind: 'status', status: 500 });
      await h.settle();
      await h.advance(10_000);
      const dead = await h.delivery(id);
      assert.deepEqual([dead.status, dead.deadReason, dead.retryIndex], ['dead', 'retries_exhausted', 1]);

      partner.setDefault({ kind: 'status', status: 200 });
      partner.queue({ kind: 'status', status: 500 });
      await h.advance(5_000);
      const res = await replayOne(id).expect(202);
      assert.deepEqual([res.body.id, res.body.status, res.body.replays, res.body.dead_reason], [id, 'pending', 1, null]);
      await h.settle();
      let d = await h.delivery(id);
      assert.deepEqual([d.status, d.retryIndex], ['pending', 1], 'the replay failed and is retried on the schedule, not dead');
      await h.advance(10_000);
      d = await h.delivery(id);
      assert.deepEqual([d.status, d.attempts, d.replays, d.body], ['delivered', 4, 1, dead.body]);
      assert.deepEqual(
        (await h.attempts(id)).map((a) => [a.attempt, a.trigger, a.statusCode, a.outcome]),
        [
          [1, 'scheduled', 500, 'retry'],
          [2, 'scheduled', 500, 'dead'],
          [3, 'replay', 500, 'retry'],
          [4, 'scheduled', 200, 'delivered'],
        ],
      );
      const sent = partner.requests;
      assert.ok(sent.every((r) => r.webhookId === id && r.rawBody.equals(sent[0]!.rawBody) && r.signature.valid));
      assert.equal(new Set(sent.map((r) => r.headers['webhook-signature'])).size, sent.length, 'signed afresh every time');
      assert.equal((await h.deliveries()).length, 1, 'no new delivery');
    });

    it('replaying a waiting delivery only brings it forward; one being sent is refused with 409', async () => {
      await setUp({ crm: { events: ['meter.created'], retry: { schedule: ['1h'], jitter: 0 } } });
      await h.sync();
      const [{ id }] = await h.deliveries();
      partner.queue({ kind: 'status', status: 503 });
      await h.settle();
      assert.equal((await h.delivery(id)).status, 'pending');

      const res = await replayOne(id).expect(202);
      assert.deepEqual([res.body.status, res.body.replays, res.body.next_attempt_at], ['pending', 0, h.clock!.now().toISOString()]);
      await h.settle();
      assert.deepEqual(
        partner.requests.map((r) => r.status),
        [503, 200],
      );
      assert.equal((await h.delivery(id)).status, 'delivered');

      partner.queue({ kind: 'hold' });
      await replayOne(id).expect(202);
      await until(() => partner.holding() === 1, 'the replay is in flight');
      const busy = await replayOne(id).expect(409);
      assert.equal(busy.body.code, 'conflict');
      assert.deepEqual(busy.body.details, { in_flight: [id] });
      partner.release();
      await h.settle();
      assert.deepEqual(partner.accepted().map((r) => r.webhookId), [id], 'the partner processed it once');
      assert.equal(partner.requests.length, 3);
      await h.api().post('/admin/v1/deliveries/msg_nope/replay').expect(404);
    });

    it('replays by id from the CLI', async () => {
      await setUp({ crm: { events: ['meter.created'] } }, 2);
      await h.sync();
      await h.settle();
      const ids = (await h.deliveries()).map((d) => d.id);
      const out = await h.cli('replay', ...ids);
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(
        out.stdout.split('\n').map((l) => l.split(' ')[0]),
        ids,
      );
      assert.match(out.stdout, /queued again \(crm, meter\.created, meter [0-9a-f-]+\); a running connector sends it/);
      assert.deepEqual(statuses(await h.deliveries()), ['pending', 'pending']);
      // The CLI, like any other process, reads the system clock: catch up with it.
      h.clock!.set(new Date());
      await h.settle();
      assert.deepEqual(
        (await h.deliveries()).map((d) => [d.status, d.replays]),
        [
          ['delivered', 1],
          ['delivered', 1],
        ],
      );
      const none = await h.cli('replay', 'msg_nope');
      assert.equal(none.code, 1);
      assert.match(none.stderr, /delivery msg_nope not found/);
    });

    describe('bulk', () => {
      let t0: Date;
      let t1: Date;
      let all: Delivery[];
      /** Two passes an hour apart to two destinations, every delivery dead (422). */
      async function deadEverywhere(): Promise<void> {
        await setUp({ a: { events: ['*'] }, b: { events: ['*'] } }, 4);
        partner.setDefault({ kind: 'status', status: 422 });
        t0 = h.clock!.now();
        await h.sync();
        await h.settle();
        h.clock!.advance(3_600_000);
        t1 = h.clock!.now();
        for (const m of h.sim.simulator.meterIds({ limit: 2 })) h.sim.simulator.editDetails(m, { address: true });
        h.destinations.write('a', destinationYaml({ url: `${partner.url}/a`, mapping: { external_id: 'partner_reference', customer: 'customer' } }));
        h.destinations.reload();
        await h.sync();
        await h.settle();
        all = await h.deliveries();
        assert.ok(all.every((d) => d.status === 'dead' && d.deadReason === 'status_422'));
        assert.ok(all.some((d) => d.createdAt.getTime() === t1.getTime()), 'some deliveries from the second pass');
        partner.setDefault({ kind: 'status', status: 200 });
      }
      const count = (f: (d: Delivery) => boolean) => all.filter(f).length;

      it('a dry run only counts, up to the cap, by destination, event type, meter and time', async () => {
        await deadEverywhere();
        const since = t0.toISOString();
        const dry = async (filter: Record<string, unknown>) => {
          const job = await bulk({ since, dry_run: true, ...filter }, 200);
          assert.deepEqual([job.status, job.dry_run, job.replayed], ['succeeded', true, 0]);
          return job.matched;
        };
        const meter = all[0]!.meterId;
        assert.equal(await dry({}), all.length);
        assert.equal(await dry({ status: 'dead' }), all.length);
        assert.equal(await dry({ cap: 3 }), 3);
        assert.equal(await dry({ destination: 'a' }), count((d) => d.destination === 'a'));
        assert.equal(await dry({ event_type: 'meter.created' }), count((d) => d.eventType === 'meter.created'));
        assert.equal(await dry({ meter_id: meter }), count((d) => d.meterId === meter));
        assert.equal(await dry({ since: t1.toISOString() }), count((d) => d.createdAt >= t1));
        assert.equal(await dry({ until: t1.toISOString() }), count((d) => d.createdAt < t1));
        assert.equal(await dry({ status: 'delivered' }), 0);
        assert.ok(count((d) => d.createdAt >= t1) > 0 && count((d) => d.createdAt < t1) > 0);
        assert.ok(statuses(await h.deliveries()).every((s) => s === 'dead'), 'a dry run changes nothing');
        assert.equal(partner.requests.length, all.length);

        const invalid = await h.api().post('/admin/v1/replays').send({ status: 'dead' }).expect(400);
        assert.deepEqual(
          invalid.body.details.map((d: { path: string }) => d.path),
          ['/since'],
        );
        await h.api().post('/admin/v1/replays').send({ since, until: since }).expect(400);
        await h.api().post('/admin/v1/replays').send({ since, cap: 0 }).expect(400);
        await h.api().post('/admin/v1/replays').send({ since, status: 'delivering' }).expect(400);
      });

      it('a real one runs in the background within its cap and filter, reports progress on the job, and delivers', async () => {
        await deadEverywhere();
        const ofA = all.filter((d) => d.destination === 'a');
        const capped = await bulk({ since: t0.toISOString(), destination: 'a', cap: 2 });
        assert.deepEqual([capped.status, capped.dry_run, capped.cap, capped.matched, capped.replayed, capped.skipped, capped.requested_by, capped.error], ['succeeded', false, 2, 2, 2, 0, 'api:support', null]);
        await h.settle();
        const after = await h.deliveries();
        assert.equal(after.filter((d) => d.status === 'delivered').length, 2);
        assert.ok(
          after.filter((d) => d.status === 'delivered').every((d) => d.destination === 'a' && d.replays === 1),
          'only a, and only the cap',
        );

        const cappedIds = after.filter((d) => d.status === 'delivered').map((d) => d.id);

        const created = await bulk({ since: t0.toISOString(), destination: 'b', event_type: 'meter.created' });
        assert.equal(created.replayed, count((d) => d.destination === 'b' && d.eventType === 'meter.created'));
        const late = await bulk({ since: t1.toISOString(), destination: 'a' });
        const lateOfA = ofA.filter((d) => d.createdAt >= t1).map((d) => d.id);
        assert.equal(late.replayed, lateOfA.filter((id) => !cappedIds.includes(id)).length, 'what the first job delivered is no longer dead');
        await h.settle();
        const delivered = new Set((await h.deliveries()).filter((d) => d.status === 'delivered').map((d) => d.id));
        const expected = new Set([...cappedIds, ...all.filter((d) => d.destination === 'b' && d.eventType === 'meter.created').map((d) => d.id), ...lateOfA]);
        assert.deepEqual(delivered, expected);
        assert.ok(partner.accepted().every((r) => r.signature.valid));
        assert.equal(partner.accepted().length, delivered.size, 'each replayed delivery arrives once');

        const jobs = (await h.api().get('/admin/v1/replays').expect(200)).body.replays as JobView[];
        assert.deepEqual(
          jobs.map((j) => j.id).sort(),
          [capped.id, created.id, late.id].sort(),
        );
        await h.api().get('/admin/v1/replays/00000000-0000-4000-8000-000000000000').expect(404);
      });

      it('from the CLI: a dry run, then a real run that prints its job', async () => {
        await deadEverywhere();
        const since = t0.toISOString();
        let out = await h.cli('replay', '--status', 'dead', '--since', since, '--dry-run');
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.stdout, `dry run: ${all.length} deliveries would be replayed`);
        out = await h.cli('replay', '--status', 'dead', '--since', since, '--cap', '2', '--dry-run');
        assert.equal(out.stdout, 'dry run: 2 deliveries would be replayed (capped at 2)');
        out = await h.cli('replay', '--status', 'dead', '--since', since, '--destination', 'b', '--event-type', 'meter.created');
        assert.equal(out.code, 0, out.stderr);
        const job = JSON.parse(out.stdout) as JobView;
        const expected = count((d) => d.destination === 'b' && d.eventType === 'meter.created');
        assert.deepEqual([job.status, job.matched, job.replayed, job.requested_by], ['succeeded', expected, expected, 'cli']);
        assert.match(out.stderr, new RegExp(`replay ${job.id}: matched ${expected}, queued ${expected}, skipped 0`));
        h.clock!.set(new Date());
        await h.settle();
        assert.equal(partner.accepted().length, expected);

        out = await h.cli('replay');
        assert.equal(out.code, 1);
        assert.match(out.stderr, /give delivery ids, or --status dead --since TIME/);
        out = await h.cli('replay', all[0]!.id, '--status', 'dead');
        assert.equal(out.code, 1);
        assert.match(out.stderr, /not both/);
      });
    });

    it('a bulk replay includes deliveries held while the destination was paused, and skips what still cannot be rendered', async () => {
      await setUp({ crm: { events: ['meter.created'] }, broken: { events: ['meter.created'], mapping: { id: { from: 'customer.no_such_field', required: true } } } }, 3);
      const since = h.clock!.now().toISOString();
      await h.api().post('/admin/v1/destinations/crm/pause').expect(200);
      await h.sync();
      const held = await h.deliveries('crm');
      assert.ok(held.length > 0 && held.every((d) => d.status === 'pending'));

      const dry = await bulk({ since, status: 'pending', destination: 'crm', dry_run: true }, 200);
      assert.equal(dry.matched, held.length);
      const job = await bulk({ since, status: 'pending', destination: 'crm' });
      assert.deepEqual([job.matched, job.replayed, job.skipped], [held.length, held.length, 0]);
      await h.api().post('/admin/v1/destinations/crm/resume').expect(200);
      await h.settle();
      assert.deepEqual(partner.accepted().map((r) => r.webhookId).sort(), held.map((d) => d.id).sort(), 'each once');

      const broken = await h.deliveries('broken');
      assert.ok(broken.every((d) => d.deadReason === 'mapping_failed'));
      const skipped = await bulk({ since, destination: 'broken' });
      assert.deepEqual([skipped.status, skipped.matched, skipped.replayed, skipped.skipped], ['succeeded', broken.length, 0, broken.length]);
      assert.deepEqual(skipped.skipped_because, { in_flight: 0, unrenderable: broken.length }, 'skipped because the mapping still fails');
      assert.ok(statuses(await h.deliveries('broken')).every((s) => s === 'dead'));
    });
  });
}
