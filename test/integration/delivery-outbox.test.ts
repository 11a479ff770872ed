import assert from 'node:assert/strict';
import type { MeterEvent } from '../../src/domain/events';
import { testEngines } from '../helpers/db';
import { deliveryHarness, destinationYaml, SECRET, sharedTestDb, type DeliveryHarness } from '../helpers/delivery-harness';
import { startMisbehavingReceiver, type MisbehavingReceiver } from '../helpers/misbehaving-receiver';

const key = (destination: string, eventId: number | null) => `${destination}/${eventId}`;
/** The subscription patterns as documented: `*`, a prefix ending in `.*`, or an exact name. */
const subscribed = (pattern: string, type: string) => pattern === '*' || pattern === type || (pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1)));

for (const engine of testEngines()) {
  describe(`delivery outbox (${engine})`, function () {
    this.timeout(60_000);
    const testDb = sharedTestDb(engine);
    let partner: MisbehavingReceiver;
    let h: DeliveryHarness | undefined;
    beforeEach(async () => {
      partner = await startMisbehavingReceiver({ secrets: [SECRET] });
    });
    afterEach(async () => {
      await h?.close();
      h = undefined;
      await partner.close();
    });

    it('queues one delivery per subscribed destination: exact names, wildcards and a filter; a disabled destination gets none', async () => {
      const url = (p: string) => `${partner.url}/${p}`;
      const subscriptions: Record<string, string[]> = {
        everything: ['*'],
        enrollment: ['meter.enrollment.*'],
        created: ['meter.created'],
        caiso: ['*'],
        off: ['*'],
      };
      h = await deliveryHarness(engine, {
        db: testDb(),
        meters: 8,
        destinations: {
          everything: { url: url('everything'), events: subscriptions.everything },
          enrollment: { url: url('enrollment'), events: subscriptions.enrollment },
          created: { url: url('created'), events: subscriptions.created },
          caiso: { url: url('caiso'), events: subscriptions.caiso, filter: 'transmission_region = "CAISO"' },
          off: { url: url('off'), events: subscriptions.off, enabled: false },
        },
      });
      const events = await h.sync();
      const caisoMeters = new Set(events.filter((e) => e.meter.transmission_region === 'CAISO').map((e) => e.meter_id));
      // The portfolio must give every rule something to include and something to leave out.
      assert.ok(caisoMeters.size > 0 && caisoMeters.size < new Set(events.map((e) => e.meter_id)).size, 'meters in and out of CAISO');
      assert.ok(events.some((e) => e.type.startsWith('meter.enrollment.')) && events.some((e) => !e.type.startsWith('meter.enrollment.')));

      const expected = new Set<string>();
      for (const e of events)
        for (const [name, patterns] of Object.entries(subscriptions)) {
          if (name === 'off' || !patterns.some((p) => subscribed(p, e.type))) continue;
          if (name === 'caiso' && !caisoMeters.has(e.meter_id)) continue;
          expected.add(key(name, e.id));
        }
      const queued = await h.deliveries();
      assert.deepEqual(new Set(queued.map((d) => key(d.destination, d.eventId))), expected);
      assert.equal(queued.length, expected.size, 'no event is queued twice for one destination');
      const byId = new Map(events.map((e) => [e.id, e]));
      for (const d of queued) {
        const e = byId.get(d.eventId!)!;
        assert.deepEqual([d.status, d.meterId, d.sequence, d.eventType, d.attempts], ['pending', e.meter_id, e.sequence, e.type, 0]);
      }

      await h.settle();
      for (const name of ['everything', 'enrollment', 'created', 'caiso']) {
        const got = partner.requests.filter((r) => r.path === `/${name}`).map((r) => r.webhookId);
        assert.deepEqual(got.sort(), queued.filter((d) => d.destination === name).map((d) => d.id).sort(), name);
      }
      assert.equal(partner.requests.filter((r) => r.path === '/off').length, 0);
      assert.ok((await h.deliveries()).every((d) => d.status === 'delivered'));
    });

    it('stores the body as {type, timestamp, data: {...mapped, meter_id, sequence, changes}} and sends exactly those bytes', async () => {
      h = await deliveryHarness(engine, {
        db: testDb(),
        meters: 4,
        destinations: {
          crm: {
            url: `${partner.url}/crm`,
            mapping: { external_id: 'partner_reference', region: 'transmission_region', status: { from: 'enrollment.status', transform: 'lowercase' }, event: { expr: '$event.type' } },
          },
        },
      });
      const events = await h.sync();
      assert.ok(events.some((e) => e.changes?.length) && events.some((e) => !e.changes), 'events with and without changes');
      await h.settle();
      const byId = new Map<number, MeterEvent>(events.map((e) => [e.id, e]));
      const deliveries = await h.deliveries();
      assert.equal(deliveries.length, events.length);
      assert.equal(partner.requests.length, deliveries.length);
      for (const d of deliveries) {
        const e = byId.get(d.eventId!)!;
        const data: Record<string, unknown> = {
          external_id: e.meter.partner_reference,
          region: e.meter.transmission_region,
          status: e.meter.enrollment!.status.toLowerCase(),
          event: e.type,
          meter_id: e.meter_id,
          sequence: e.sequence,
        };
        if (e.changes?.length) data.changes = e.changes;
        const parsed = JSON.parse(d.body) as Record<string, unknown>;
        assert.deepEqual(parsed, { type: e.type, timestamp: e.occurred_at, data });
        assert.deepEqual(Object.keys(parsed), ['type', 'timestamp', 'data']);
        assert.deepEqual(Object.keys(parsed.data as object), Object.keys(data), 'mapped fields first, then meter_id, sequence, changes');

        const [sent, ...again] = partner.requests.filter((r) => r.webhookId === d.id);
        assert.ok(sent && !again.length, `${d.id} sent once`);
        assert.ok(sent.rawBody.equals(Buffer.from(d.body, 'utf8')), 'the bytes sent are the bytes stored');
        assert.equal(sent.headers['content-type'], 'application/json');
        assert.equal(sent.signature.valid, true);
      }
    });

    it('skips a detail update the destination does not map; lifecycle events are always queued', async () => {
      h = await deliveryHarness(engine, {
        db: testDb(),
        meters: 6,
        destinations: {
          ref: { url: `${partner.url}/ref`, mapping: { external_id: 'partner_reference' } },
          address: { url: `${partner.url}/address`, mapping: { external_id: 'partner_reference', customer: 'customer' } },
        },
      });
      await h.sync();
      await h.settle();
      const before = new Set((await h.deliveries()).map((d) => d.id));
      const [edited, extended, idled] = h.sim.simulator.meterIds({ status: 'ACTIVE', limit: 3 });
      h.sim.simulator.editDetails(edited!, { address: true });
      h.sim.simulator.addUnknownField(extended!, 'battery_warranty_years', 10);
      h.sim.simulator.setParticipation(idled!, 'IDLE', { end: new Date(h.sim.simulator.now().getTime() + 7 * 86_400_000) });
      const events = await h.sync();
      const types = (m: string) => events.filter((e) => e.meter_id === m).map((e) => e.type);
      assert.deepEqual(types(edited!), ['meter.details.updated']);
      assert.deepEqual(types(extended!), ['meter.details.updated']);
      assert.ok(types(idled!).includes('meter.enrollment.participation-status.updated'), types(idled!).join());

      const added = (await h.deliveries()).filter((d) => !before.has(d.id));
      const summary = added.map((d) => `${d.destination} ${d.meterId} ${d.eventType}`).sort();
      const expected = [
        `address ${edited} meter.details.updated`,
        ...events.filter((e) => e.meter_id === idled).flatMap((e) => [`address ${idled} ${e.type}`, `ref ${idled} ${e.type}`]),
      ].sort();
      assert.deepEqual(summary, expected);

      await h.settle();
      const sent = partner.requests.find((r) => r.path === '/address' && r.meterId === edited && r.type === 'meter.details.updated')!;
      const data = (sent.json as { data: { customer: unknown; changes: { path: string }[] } }).data;
      const edit = events.find((e) => e.meter_id === edited)!;
      assert.deepEqual(data.customer, edit.meter.customer, 'the edited address is what the partner gets');
      assert.ok(data.changes.length > 0 && data.changes.every((c) => c.path.startsWith('customer.')));
      assert.equal(partner.requests.filter((r) => r.meterId === extended && r.type === 'meter.details.updated').length, 0);
    });

    it('a mapping that fails leaves a dead mapping_failed delivery; fixed, a replay renders and delivers it', async () => {
      const broken = { url: `${partner.url}/crm`, events: ['meter.created'], mapping: { external_id: { from: 'customer.partner_customer_ref', required: true } } };
      h = await deliveryHarness(engine, {
        db: testDb(),
        meters: 3,
        destinations: { crm: broken, other: { url: `${partner.url}/other`, events: ['meter.created'] } },
      });
      const events = await h.sync();
      await h.settle();
      const crm = await h.deliveries('crm');
      assert.equal(crm.length, events.filter((e) => e.type === 'meter.created').length);
      for (const d of crm) {
        assert.deepEqual([d.status, d.deadReason, d.body, d.attempts], ['dead', 'mapping_failed', '', 0]);
        assert.match(d.lastError ?? '', /external_id/);
      }
      assert.ok((await h.deliveries('other')).every((d) => d.status === 'delivered'), 'other destinations are not held up');
      assert.equal(partner.requests.filter((r) => r.path === '/crm').length, 0);

      const [first, ...rest] = crm;
      const still = await h.api().post(`/admin/v1/deliveries/${first!.id}/replay`).expect(422);
      assert.equal(still.body.code, 'mapping_failed');
      assert.deepEqual([(await h.delivery(first!.id)).status, (await h.delivery(first!.id)).body], ['dead', '']);

      h.destinations.write('crm', destinationYaml({ ...broken, mapping: { external_id: { from: 'partner_reference', required: true } } }));
      h.destinations.reload();
      const replayed = await h.api().post(`/admin/v1/deliveries/${first!.id}/replay`).expect(202);
      assert.equal(replayed.body.status, 'pending');
      await h.settle();
      const done = await h.delivery(first!.id);
      const event = events.find((e) => e.id === done.eventId)!;
      assert.equal(done.status, 'delivered');
      assert.deepEqual(JSON.parse(done.body), { type: 'meter.created', timestamp: event.occurred_at, data: { external_id: event.meter.partner_reference, meter_id: event.meter_id, sequence: event.sequence } });
      const got = partner.requests.filter((r) => r.webhookId === first!.id);
      assert.equal(got.length, 1);
      assert.ok(got[0]!.rawBody.equals(Buffer.from(done.body)));
      assert.deepEqual((await h.attempts(first!.id)).map((a) => [a.trigger, a.outcome]), [['replay', 'delivered']]);
      // The others are still dead, waiting for their own replay.
      for (const d of rest) assert.equal((await h.delivery(d.id)).status, 'dead');
    });
  });
}
