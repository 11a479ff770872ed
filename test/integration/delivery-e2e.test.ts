import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { MeterEvent } from '../../src/domain/events';
import { verify } from '../../src/domain/signing';
import { startReceiver, type ReceivedDelivery, type RunningReceiver } from '../../src/receiver/receiver';
import { testEngines } from '../helpers/db';
import { deliveryHarness, SECRET, type DeliveryHarness } from '../helpers/delivery-harness';
import { checkSignature } from '../helpers/misbehaving-receiver';

const CRM_YAML = readFileSync(path.resolve(__dirname, '../../config/examples/crm.yaml'), 'utf8');
const key = (meterId: string | null, sequence: number | null, type: string | null) => `${meterId}#${sequence} ${type}`;

for (const engine of testEngines()) {
  describe(`delivery end to end: simulator → sync → outbox → worker → sample receiver (${engine})`, function () {
    this.timeout(60_000);
    let receiver: RunningReceiver;
    let h: DeliveryHarness;
    before(async () => {
      receiver = await startReceiver({ secrets: [SECRET] });
      // The example as shipped; its URL and secret come from the environment it names.
      h = await deliveryHarness(engine, {
        meters: 12,
        clock: 'system',
        destinations: { crm: CRM_YAML },
        env: { CRM_WEBHOOK_URL: `${receiver.url}/crm`, CRM_WEBHOOK_SECRET: SECRET },
      });
    });
    after(async () => {
      await h?.close();
      await receiver?.close();
    });

    const crm = () => h.destinations.get('crm')!;
    const accepted = (from = 0) => receiver.receiver.received().slice(from).filter((d) => d.valid && !d.duplicate);
    function assertClean(): void {
      const s = receiver.receiver.stats();
      assert.deepEqual([s.invalid, s.duplicates, s.out_of_order, s.refused], [0, 0, 0, 0], JSON.stringify(s));
    }
    function assertSentAsStored(got: ReceivedDelivery[], deliveries: Map<string, string>): void {
      for (const d of got) {
        assert.equal(d.body, deliveries.get(d.id!), `${d.id}: the stored bytes`);
        assert.equal(d.headers['x-crm-integration'], 'leap-connector');
        assert.equal(verify([SECRET], d.headers, d.body), null);
        assert.equal(checkSignature([SECRET], d.headers, d.body, new Date()).valid, true, 'an independent check agrees');
      }
    }

    let firstPass: MeterEvent[] = [];
    let seen = 0;

    it('delivers every event of a first sync once, signed, in order per meter', async () => {
      assert.equal(crm().url, `${receiver.url}/crm`);
      firstPass = await h.sync();
      const expected = firstPass.filter((e) => crm().matchesEvent(e.type));
      assert.ok(expected.length > 12, `${expected.length} events`);
      await h.settle();
      const got = accepted();
      assert.deepEqual(got.map((d) => key(d.meterId, d.sequence, d.type)).sort(), expected.map((e) => key(e.meter_id, e.sequence, e.type)).sort());
      const deliveries = await h.deliveries();
      assert.ok(deliveries.every((d) => d.status === 'delivered' && d.attempts === 1));
      assertSentAsStored(got, new Map(deliveries.map((d) => [d.id, d.body])));
      for (const d of got) {
        const e = expected.find((x) => x.meter_id === d.meterId && x.sequence === d.sequence)!;
        const data = (JSON.parse(d.body) as { data: Record<string, unknown> }).data;
        assert.deepEqual([data.external_id, data.last_change, data.active], [e.meter.partner_reference, e.type, true]);
      }
      assertClean();
      seen = receiver.receiver.received().length;
    });

    let extended = '';
    let edited = '';

    it('after changes at Leap, an incremental sync delivers each new event once', async () => {
      assert.ok(firstPass.length, 'runs after the first pass');
      const sim = h.sim.simulator;
      const [e1, e2, idled, archived, referenced] = sim.meterIds({ limit: 12 }).slice(-5);
      edited = e1!;
      extended = e2!;
      sim.editDetails(edited, { address: true });
      sim.addUnknownField(extended, 'battery_warranty_years', 10);
      sim.setParticipation(idled!, 'IDLE', { end: new Date(sim.now().getTime() + 7 * 86_400_000) });
      sim.archive(archived!);
      sim.setPartnerReference(referenced!, 'crm-e2e-42');
      const events = await h.sync();
      assert.deepEqual(new Set(events.map((e) => e.meter_id)), new Set([edited, extended, idled, archived, referenced]), 'only the changed meters have events');
      await h.settle();

      // Every one it subscribes to is news to the CRM: the example maps last_change from $event.type,
      // so even the unmapped field's update renders a record unlike the meter.created it last
      // received. (The archived meter's readiness moving to not_required is not among them.)
      const got = accepted(seen);
      const subscribed = events.filter((e) => crm().matchesEvent(e.type));
      assert.ok(events.some((e) => e.meter_id === archived && e.type === 'meter.readiness.updated'), 'the archived meter no longer needs readiness');
      assert.deepEqual(got.map((d) => key(d.meterId, d.sequence, d.type)).sort(), subscribed.map((e) => key(e.meter_id, e.sequence, e.type)).sort());
      assertSentAsStored(got, new Map((await h.deliveries()).map((d) => [d.id, d.body])));
      const data = (m: string, type: string) => (JSON.parse(got.find((d) => d.meterId === m && d.type === type)!.body) as { data: Record<string, unknown> }).data;
      assert.equal(data(archived!, 'meter.archived').active, false);
      assert.equal(data(referenced!, 'meter.partner-reference.updated').external_id, 'crm-e2e-42');
      const address = data(edited, 'meter.details.updated');
      const after = events.find((e) => e.meter_id === edited)!.meter.customer!;
      assert.equal((address.address as Record<string, unknown>).street, after.street_1);
      assert.ok((address.changes as { path: string }[]).every((c) => c.path.startsWith('customer.')));
      assert.ok(
        got.filter((d) => d.meterId === idled).every((d) => d.type!.startsWith('meter.enrollment.')),
        'the preference change',
      );
      assertClean();
      seen = receiver.receiver.received().length;
    });

    it('a detail change the CRM does not map is not sent; one it maps is', async () => {
      assert.ok(extended && edited, 'runs after the second pass');
      h.sim.simulator.addUnknownField(extended, 'meter_firmware', '2.1.0');
      h.sim.simulator.editDetails(edited, { address: true });
      const events = await h.sync();
      assert.deepEqual(
        events.map((e) => `${e.meter_id} ${e.type}`).sort(),
        [`${edited} meter.details.updated`, `${extended} meter.details.updated`].sort(),
      );
      await h.settle();
      const got = accepted(seen);
      assert.deepEqual(
        got.map((d) => key(d.meterId, d.sequence, d.type)),
        events.filter((e) => e.meter_id === edited).map((e) => key(e.meter_id, e.sequence, e.type)),
      );
      const queued = (await h.deliveries()).filter((d) => d.eventId === events.find((e) => e.meter_id === extended)!.id);
      assert.deepEqual(queued, [], 'not even queued');
      assertClean();
    });
  });
}
