import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { LeapNotFoundError } from '../../src/clients/leap-errors';
import type { LeapClient } from '../../src/clients/leap-client';
import { compose, leapClientFor } from '../../src/compose/compose';
import type { MeterEvent } from '../../src/domain/events';
import { AppError } from '../../src/errors';
import { silentLogger } from '../../src/logger';
import { DEFAULT_LEAP_EVENT_TYPES, LeapWebhooksService } from '../../src/services/leap-webhooks-service';
import { startSimulator, type LeapEnvelope, type RunningSimulator } from '../../src/simulator';
import { testConfig } from '../helpers/config';
import { testEngines } from '../helpers/db';
import { syncHarness, type SyncHarness } from '../helpers/sync-harness';

/** A header name in mixed case: Leap lower-cases header names, the connector must not care. */
const HEADER = 'X-Leap-Token';
const SECRET = 'leap-hook-secret-0123456789';
const EVENTS_YAML = `leap_events:\n  header_name: ${HEADER}\n  secret: ${SECRET}\n`;
const UNKNOWN_METER = '00000000-0000-4000-8000-00000000beef';

let counter = 0;
/** A webhook_event_id no other test uses. */
const eventId = () => `0000${(++counter).toString(16).padStart(4, '0')}-1111-4222-8333-${Date.now().toString(16).padStart(12, '0').slice(-12)}`;

const typeOf = (e: LeapEnvelope) => String((e.payload as { webhook_event_type?: unknown }).webhook_event_type);

interface ReceiptRow {
  webhook_event_id: string;
  event_type: string;
  meter_ids_json: string;
  processed_at: unknown;
  error: string | null;
}

async function receipts(h: SyncHarness): Promise<ReceiptRow[]> {
  return (await h.db.knex('leap_event_receipts').select('*').orderBy('webhook_event_id')) as ReceiptRow[];
}

async function receipt(h: SyncHarness, id: string): Promise<ReceiptRow | undefined> {
  return (await h.db.knex('leap_event_receipts').where({ webhook_event_id: id }).first()) as ReceiptRow | undefined;
}

async function lastEventId(h: SyncHarness): Promise<number> {
  const [row] = (await h.db.knex('meter_events').max({ id: 'id' })) as { id: number | string | null }[];
  return Number(row?.id ?? 0);
}

async function eventsAfter(h: SyncHarness, afterId: number): Promise<MeterEvent[]> {
  return h.composed.stores.events.list({ afterId }, 10_000);
}

/** Single-meter reads the simulator has answered (v2 details/enrollments and v1 GETs, any status). */
function meterReads(h: SyncHarness): number {
  let n = 0;
  for (const [route, statuses] of Object.entries(h.sim.simulator.state().requests.byRoute)) {
    if (!route.startsWith('GET ') || !route.includes('/meters/{meter_id}')) continue;
    for (const count of Object.values(statuses)) n += count;
  }
  return n;
}

/** The Leap webhook envelopes a simulator mutation emits. */
function capture(h: SyncHarness, mutate: () => void): LeapEnvelope[] {
  const seen: LeapEnvelope[] = [];
  const off = h.sim.simulator.onEvent((e) => seen.push(e));
  try {
    mutate();
  } finally {
    off();
  }
  return seen;
}

function post(h: SyncHarness, body: unknown, headers: Record<string, string> = { [HEADER]: SECRET }) {
  const req = request(h.composed.app).post('/leap/events');
  for (const [k, v] of Object.entries(headers)) req.set(k, v);
  return req.send(body as object);
}

for (const engine of testEngines()) {
  for (const apiVersion of ['v2', 'v1'] as const) {
    describe(`POST /leap/events (${engine}, Leap ${apiVersion})`, function () {
      this.timeout(60_000);
      let h: SyncHarness;
      before(async () => {
        h = await syncHarness(engine, { apiVersion, meters: 80, yaml: EVENTS_YAML });
        await h.pass();
      });
      after(() => h.close());

      it('refuses a missing or wrong header with 401 and records nothing', async () => {
        const [id] = h.sim.simulator.meterIds({ limit: 1 });
        const body = { webhook_event_id: eventId(), payload: { webhook_event_type: 'meter.created', meter_id: id } };
        const reads = meterReads(h);
        const events = await h.composed.stores.events.count();
        const attempts: Record<string, string>[] = [
          {},
          { [HEADER]: 'not-the-secret' },
          { [HEADER]: `${SECRET}x` },
          { [HEADER]: SECRET.slice(0, -1) },
          { [HEADER]: '' },
          { 'x-leap-webhook-secret': SECRET },
          { Authorization: `Bearer ${SECRET}` },
        ];
        for (const headers of attempts) {
          const res = await post(h, body, headers).expect(401);
          assert.equal(res.body.code, 'unauthorized', JSON.stringify(headers));
          assert.match(res.body.message, /x-leap-token/);
        }
        await h.composed.leapEvents.idle();
        assert.deepEqual(await receipts(h), []);
        assert.equal(meterReads(h), reads);
        assert.equal(await h.composed.stores.events.count(), events);
      });

      it('the header is checked before the body: a garbage body without the secret is 401, not 400', async () => {
        const res = await post(h, { nonsense: true }, {}).expect(401);
        assert.equal(res.body.code, 'unauthorized');
      });

      it('with no secret configured, or the intake disabled, nobody gets in', async () => {
        const env = { LEAP_API_KEY: 'sim-key-0123456789', LEAP_BASE_URL: h.sim.url };
        const noSecret = compose(testConfig(`leap_events:\n  header_name: ${HEADER}\n`, env), { db: h.db.knex, logger: silentLogger });
        const disabled = compose(testConfig(`leap_events:\n  enabled: false\n  header_name: ${HEADER}\n  secret: ${SECRET}\n`, env), { db: h.db.knex, logger: silentLogger });
        try {
          const [id] = h.sim.simulator.meterIds({ limit: 1 });
          const body = { webhook_event_id: eventId(), payload: { webhook_event_type: 'meter.created', meter_id: id } };
          for (const value of ['', SECRET, 'anything']) {
            const a = await request(noSecret.app).post('/leap/events').set(HEADER, value).send(body).expect(401);
            assert.equal(a.body.code, 'unauthorized');
            await request(disabled.app).post('/leap/events').set(HEADER, value).send(body).expect(401);
          }
          await request(noSecret.app).post('/leap/events').send(body).expect(401);
          assert.deepEqual(await receipts(h), []);
        } finally {
          await noSecret.close();
          await disabled.close();
        }
      });

      it('a malformed envelope is 400 naming each field by JSON pointer, and nothing is recorded', async () => {
        const [id] = h.sim.simulator.meterIds({ limit: 1 });
        const cases: [unknown, string[]][] = [
          [{}, ['/webhook_event_id', '/payload']],
          [[], ['']],
          [
            { webhook_event_id: 'not a uuid!', payload: { webhook_event_type: 'meter.enrollment.group.updated', meter_ids: [id, 42, 'bad id'] } },
            ['/webhook_event_id', '/payload/meter_ids/1', '/payload/meter_ids/2'],
          ],
          [{ webhook_event_id: eventId(), payload: { meter_id: 12 } }, ['/payload/webhook_event_type', '/payload/meter_id']],
          [{ webhook_event_id: eventId(), payload: { webhook_event_type: 'meter.enrollment.group.updated', meter_ids: id } }, ['/payload/meter_ids']],
          [{ webhook_event_id: eventId(), payload: [] }, ['/payload']],
          [{ webhook_event_id: 12345678, payload: null }, ['/webhook_event_id', '/payload']],
        ];
        for (const [body, paths] of cases) {
          const res = await post(h, body).expect(400);
          assert.equal(res.body.code, 'validation_failed', JSON.stringify(body));
          assert.deepEqual(
            (res.body.details as { path: string }[]).map((d) => d.path),
            paths,
            JSON.stringify(body),
          );
          assert.ok((res.body.details as { message: string }[]).every((d) => d.message.length > 0));
        }
        const json = await request(h.composed.app).post('/leap/events').set(HEADER, SECRET).set('Content-Type', 'application/json').send('{"webhook_event_id":').expect(400);
        assert.equal(json.body.code, 'invalid_json');
        assert.deepEqual(await receipts(h), []);
      });

      it('an event type longer than the receipts column holds is a 400 on every engine, not a 500 on MySQL', async () => {
        const [id] = h.sim.simulator.meterIds({ limit: 1 });
        const res = await post(h, { webhook_event_id: eventId(), payload: { webhook_event_type: `meter.${'x'.repeat(80)}`, meter_id: id } }).expect(400);
        assert.deepEqual(
          (res.body.details as { path: string }[]).map((d) => d.path),
          ['/payload/webhook_event_type'],
        );
        await h.composed.leapEvents.idle();
        assert.deepEqual(await receipts(h), []);
      });

      it('the same event delivered several times at once is accepted once', async () => {
        const [id] = h.sim.simulator.meterIds({ limit: 6 }).slice(-1);
        const body = { webhook_event_id: eventId(), payload: { webhook_event_type: 'meter.created', meter_id: id } };
        const answers = await Promise.all([1, 2, 3, 4].map(() => post(h, body)));
        assert.deepEqual(answers.map((r) => r.status).sort(), [200, 200, 200, 202]);
        assert.deepEqual(answers.map((r) => r.body.status as string).sort(), ['accepted', 'duplicate', 'duplicate', 'duplicate']);
        await h.composed.leapEvents.idle();
        assert.equal((await receipts(h)).filter((r) => r.webhook_event_id === body.webhook_event_id).length, 1);
      });

      it('a Leap event is 202 at once; after the refresh its meter change is recorded as leap_event meter events', async () => {
        const [id] = h.sim.simulator.meterIds({ status: 'ELIGIBLE', limit: 1 });
        assert.ok(id, 'an ELIGIBLE meter to activate');
        const seqBefore = (await h.composed.stores.meters.get(id!))!.sequence;
        const envelopes = capture(h, () => h.sim.simulator.activate(id!));
        const status = envelopes.find((e) => typeOf(e) === 'meter.enrollment.global-status.updated');
        assert.ok(status, `Leap announced the activation: ${envelopes.map(typeOf).join()}`);
        const from = await lastEventId(h);

        const res = await post(h, status).expect(202);
        assert.deepEqual(res.body, { status: 'accepted', webhook_event_id: status!.webhook_event_id, meter_ids: [id] });
        const row = await receipt(h, status!.webhook_event_id);
        assert.equal(row?.event_type, 'meter.enrollment.global-status.updated');
        assert.deepEqual(JSON.parse(row!.meter_ids_json), [id]);

        await h.composed.leapEvents.idle();
        const mine = (await eventsAfter(h, from)).filter((e) => e.meter_id === id);
        // Leap's change, then what it means for readiness: the activated meter awaits the partner.
        assert.deepEqual(
          mine.map((e) => `${e.type} ${e.origin}`),
          ['meter.enrollment.global-status.updated leap_event', 'meter.enrollment.activated leap_event', 'meter.enrollment.group.updated leap_event', 'meter.readiness.updated readiness'],
        );
        assert.deepEqual(mine[0]!.changes![0], { path: 'enrollment.status', from: 'ELIGIBLE', to: 'ACTIVE' });
        assert.ok(mine.every((e) => e.sync_run_id === null));
        assert.deepEqual(mine[3]!.changes![0], { path: 'readiness.state', from: 'not_required', to: 'awaiting' });
        assert.deepEqual(
          mine.map((e) => e.sequence),
          [seqBefore + 1, seqBefore + 2, seqBefore + 3, seqBefore + 4],
        );
        const done = await receipt(h, status!.webhook_event_id);
        assert.ok(done?.processed_at, 'the receipt is marked processed');
        assert.equal(done?.error, null);
        assert.equal((await h.composed.stores.meters.get(id!))!.sequence, seqBefore + 4);

        // The same change detection as polling: the next pass has nothing left to say about this meter.
        const { events } = await h.pass();
        assert.deepEqual(
          events.filter((e) => e.meter_id === id),
          [],
        );
      });

      it('the 202 does not wait for the refresh: with Leap answering slowly, the event is accepted while its meter is still being read', async () => {
        const [id] = h.sim.simulator.meterIds({ limit: 13 }).slice(-1);
        const envelopes = capture(h, () => h.sim.simulator.setParticipation(id!, 'IDLE'));
        const event = envelopes.find((e) => typeOf(e) === 'meter.enrollment.participation-status.updated');
        assert.ok(event, envelopes.map(typeOf).join());
        const seqBefore = (await h.composed.stores.meters.get(id!))!.sequence;
        h.sim.simulator.setFaults({ latency: 1, latencyMs: 1500 });
        try {
          await post(h, event).expect(202);
          const accepted = await receipt(h, event!.webhook_event_id);
          assert.ok(accepted, 'the receipt is recorded before the answer');
          assert.equal(accepted.processed_at, null, 'answered before the refresh finished');
          assert.equal((await h.composed.stores.meters.get(id!))!.sequence, seqBefore, 'the meter is not yet refreshed');
          await h.composed.leapEvents.idle();
        } finally {
          h.sim.simulator.clearFaults();
        }
        assert.ok((await receipt(h, event!.webhook_event_id))?.processed_at, 'then the refresh completes');
        assert.ok((await h.composed.stores.meters.get(id!))!.sequence > seqBefore, 'and records the change');
      });

      it('events are hints: an event for a meter with no change re-reads it and emits nothing', async () => {
        const [id] = h.sim.simulator.meterIds({ status: 'PENDING', limit: 3 }).slice(-1);
        assert.ok(id);
        const from = await lastEventId(h);
        const reads = meterReads(h);
        const wid = eventId();
        await post(h, { webhook_event_id: wid, payload: { webhook_event_type: 'meter.enrollment.global-status.updated', meter_id: id, global_enrollment_status: 'ACTIVE' } }).expect(202);
        await h.composed.leapEvents.idle();
        assert.ok(meterReads(h) > reads, 'the meter was read from Leap');
        assert.deepEqual(await eventsAfter(h, from), []);
        const row = await receipt(h, wid);
        assert.ok(row?.processed_at);
        assert.equal(row?.error, null);
      });

      it('the same webhook_event_id again is 200 duplicate and refreshes nothing', async () => {
        const [id] = h.sim.simulator.meterIds({ status: 'ACTIVE', limit: 2 }).slice(-1);
        const envelopes = capture(h, () => h.sim.simulator.addPartnerAction(id!, 'MRKT_0002', { keepStatus: true }));
        const actions = envelopes.find((e) => typeOf(e) === 'meter.enrollment.required-actions.updated')!;
        assert.ok(actions);
        let from = await lastEventId(h);
        await post(h, actions).expect(202);
        await h.composed.leapEvents.idle();
        const first = await eventsAfter(h, from);
        // v1 shows partner actions as status ActionRequired too, so a status change may come with them.
        assert.ok(first.some((e) => e.type === 'meter.enrollment.required-actions.updated'), first.map((e) => e.type).join());
        assert.ok(first.every((e) => e.meter_id === id && e.origin === 'leap_event'));

        // A change is waiting at Leap now, so a second refresh would show.
        h.sim.simulator.editDetails(id!, { tariff: true });
        from = await lastEventId(h);
        const reads = meterReads(h);
        for (let i = 0; i < 2; i++) {
          const res = await post(h, actions).expect(200);
          assert.deepEqual(res.body, { status: 'duplicate', webhook_event_id: actions.webhook_event_id, meter_ids: [id] });
        }
        await h.composed.leapEvents.idle();
        assert.equal(meterReads(h), reads, 'no second read of the meter');
        assert.deepEqual(await eventsAfter(h, from), []);
        assert.equal((await receipts(h)).filter((r) => r.webhook_event_id === actions.webhook_event_id).length, 1);
      });

      it('group.updated refreshes every meter it lists', async () => {
        // Absorb changes earlier tests left unsynced, so only the group move is new.
        await h.pass();
        // Active meters that can move to a group of their utility they are not in yet.
        const candidates = new Map<string, string[]>();
        for (const id of h.sim.simulator.meterIds({ status: 'ACTIVE', includeArchived: false })) {
          const current = h.sim.simulator.groupOn(id)?.id;
          for (const g of h.sim.simulator.marketGroupsFor(id)) if (g.id !== current) candidates.set(g.id, [...(candidates.get(g.id) ?? []), id]);
        }
        const [groupId, members] = [...candidates].sort((a, b) => b[1].length - a[1].length)[0]!;
        const ids = members.slice(0, 4);
        assert.ok(ids.length >= 2, `several meters can join one group (${ids.length})`);
        const envelopes = capture(h, () => h.sim.simulator.setMarketGroup(ids, groupId));
        assert.equal(envelopes.length, 1, envelopes.map(typeOf).join());
        const group = envelopes[0]!;
        assert.equal(typeOf(group), 'meter.enrollment.group.updated');
        const listed = (group.payload as { meter_ids: string[] }).meter_ids;
        assert.deepEqual([...listed].sort(), [...ids].sort());

        const from = await lastEventId(h);
        const res = await post(h, group).expect(202);
        assert.deepEqual([...(res.body.meter_ids as string[])].sort(), [...ids].sort());
        await h.composed.leapEvents.idle();
        const events = await eventsAfter(h, from);
        for (const id of ids) {
          const mine = events.filter((e) => e.meter_id === id);
          assert.deepEqual(
            mine.map((e) => [e.type, e.origin]),
            [['meter.enrollment.group.updated', 'leap_event']],
            id,
          );
          assert.ok(mine[0]!.meter.group_assignments.some((g) => g.market_group_id === groupId));
        }
        assert.deepEqual([...new Set(events.map((e) => e.meter_id))].sort(), [...ids].sort());
      });

      it('a meter Leap does not know is skipped; the other meters of the event are still refreshed', async () => {
        const [id] = h.sim.simulator.meterIds({ limit: 20 }).slice(-1);
        // Leap sends no event for detail edits, but a refresh for any reason sees them.
        h.sim.simulator.editDetails(id!, { address: true });
        const from = await lastEventId(h);
        const wid = eventId();
        const res = await post(h, { webhook_event_id: wid, payload: { webhook_event_type: 'meter.enrollment.group.updated', meter_ids: [UNKNOWN_METER, id] } }).expect(202);
        assert.deepEqual(res.body.meter_ids, [UNKNOWN_METER, id]);
        await h.composed.leapEvents.idle();
        assert.deepEqual(
          (await eventsAfter(h, from)).map((e) => [e.meter_id, e.type, e.origin]),
          [[id, 'meter.details.updated', 'leap_event']],
        );
        assert.equal(await h.composed.stores.meters.get(UNKNOWN_METER), undefined);
        const row = await receipt(h, wid);
        assert.ok(row?.processed_at);
        assert.equal(row?.error, null);
      });

      it('a refresh that keeps failing marks the receipt with its error and leaves the change to the next pass', async () => {
        const [id] = h.sim.simulator.meterIds({ limit: 25 }).slice(-1);
        h.sim.simulator.editDetails(id!, { address: true });
        const from = await lastEventId(h);
        const wid = eventId();
        h.sim.simulator.setFaults({ serverError: 1 });
        try {
          await post(h, { webhook_event_id: wid, payload: { webhook_event_type: 'meter.created', meter_id: id } }).expect(202);
          await h.composed.leapEvents.idle();
        } finally {
          h.sim.simulator.clearFaults();
        }
        const row = await receipt(h, wid);
        assert.ok(row?.processed_at, 'given up, not left pending forever');
        assert.ok(row?.error && row.error.length > 0, 'the error is recorded');
        assert.deepEqual(await eventsAfter(h, from), []);
        const { events } = await h.pass();
        assert.deepEqual(
          events.filter((e) => e.meter_id === id).map((e) => [e.type, e.origin]),
          [['meter.details.updated', 'poll']],
        );
      });

      it('a connect_session event names no meter: accepted, recorded as processed, and ignored', async () => {
        const from = await lastEventId(h);
        const reads = meterReads(h);
        const wid = eventId();
        const body = { webhook_event_id: wid, payload: { webhook_event_type: 'connect_session.updated', connect_session_id: '7d1e5c8a-3f9b-4d2e-9a61-0c4b8e2f7a13', status: 'COMPLETED' } };
        const res = await post(h, body).expect(202);
        assert.deepEqual(res.body, { status: 'ignored', webhook_event_id: wid, meter_ids: [] });
        // Nothing to refresh, so the receipt is done before the answer.
        const row = await receipt(h, wid);
        assert.equal(row?.event_type, 'connect_session.updated');
        assert.ok(row?.processed_at);
        await h.composed.leapEvents.idle();
        assert.equal(meterReads(h), reads);
        assert.deepEqual(await eventsAfter(h, from), []);
        const again = await post(h, body).expect(200);
        assert.equal(again.body.status, 'duplicate');
      });

      it("end to end: Leap's own webhook reaches the connector over HTTP and the change becomes meter events", async () => {
        const server: Server = h.composed.app.listen(0, '127.0.0.1');
        await new Promise<void>((resolve, reject) => {
          server.once('listening', resolve);
          server.once('error', reject);
        });
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/leap/events`;
        const hooks = new LeapWebhooksService(h.composed.leap, { headerName: HEADER, secret: SECRET, publicUrl: url });
        let webhookId: string | undefined;
        try {
          const registered = await hooks.register();
          webhookId = registered.webhookId;
          assert.equal(registered.created, true);
          const [sub] = h.sim.simulator.webhooks.list().filter((w) => w.receiver_url === url);
          assert.deepEqual(sub!.headers, [{ name: 'x-leap-token', value: SECRET }]);

          const [id] = h.sim.simulator.meterIds({ status: 'ELIGIBLE', limit: 4 }).slice(-1);
          assert.ok(id);
          const before = h.sim.simulator.webhooks.stats();
          const from = await lastEventId(h);
          const envelopes = capture(h, () => h.sim.simulator.addPartnerAction(id!, 'AUTH_0001'));
          assert.deepEqual(envelopes.map(typeOf).sort(), ['meter.enrollment.global-status.updated', 'meter.enrollment.required-actions.updated']);

          await h.sim.simulator.webhooksIdle();
          await h.composed.leapEvents.idle();

          const after = h.sim.simulator.webhooks.stats();
          assert.equal(after.delivered - before.delivered, envelopes.length, 'every Leap event was delivered');
          assert.equal(after.failedAttempts, before.failedAttempts, 'and none was refused');
          for (const e of envelopes) {
            const row = await receipt(h, e.webhook_event_id);
            assert.ok(row?.processed_at, `receipt of ${typeOf(e)} processed`);
            assert.equal(row?.error, null);
          }
          const mine = (await eventsAfter(h, from)).filter((e) => e.meter_id === id);
          assert.deepEqual(mine.map((e) => e.type).sort(), ['meter.enrollment.global-status.updated', 'meter.enrollment.required-actions.updated']);
          assert.ok(mine.every((e) => e.origin === 'leap_event'));
          assert.ok(mine.at(-1)!.meter.enrollment!.partner_actions.some((a) => a.code === 'AUTH_0001'));
        } finally {
          if (webhookId) await hooks.delete(webhookId);
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          });
        }
      });
    });
  }
}

describe('LeapWebhooksService against the simulator', function () {
  this.timeout(30_000);
  const KEY = 'sim-key-0123456789';
  const URL_A = 'https://connector.example.com/leap/events';
  let sim: RunningSimulator;
  let leap: LeapClient;
  let service: LeapWebhooksService;
  before(async () => {
    sim = await startSimulator({ meters: 10, seed: 3, apiKey: KEY });
    leap = leapClientFor(testConfig('leap:\n  rate_limit: { requests_per_second: 1000, max_concurrent: 4 }\n', { LEAP_API_KEY: KEY, LEAP_BASE_URL: sim.url }), silentLogger);
    service = new LeapWebhooksService(leap, { headerName: HEADER, secret: SECRET, publicUrl: URL_A });
  });
  after(async () => {
    await leap.close();
    await sim.close();
  });

  it('creates a subscription for the public URL when none exists, with the meter event types and the header', async () => {
    const r = await service.register();
    assert.equal(r.created, true);
    assert.equal(r.url, URL_A);
    assert.deepEqual(r.eventTypes, [...DEFAULT_LEAP_EVENT_TYPES]);
    assert.ok(r.eventTypes.every((t) => t.startsWith('meter.')) && r.eventTypes.length === 5);
    const subs = sim.simulator.webhooks.list();
    assert.deepEqual(subs, [{ webhook_id: r.webhookId, receiver_url: URL_A, event_types: [...DEFAULT_LEAP_EVENT_TYPES], headers: [{ name: 'x-leap-token', value: SECRET }] }]);

    // Registering again changes nothing but is an update, not a second subscription.
    const again = await service.register();
    assert.equal(again.created, false);
    assert.equal(again.webhookId, r.webhookId);
    assert.deepEqual(sim.simulator.webhooks.list(), subs);
  });

  it("updates an existing subscription for the same URL, keeping its other event types and headers (Leap's PUT replaces everything)", async () => {
    const url = 'https://crm.example.com/hooks/leap';
    const theirs = sim.simulator.webhooks.create({
      receiver_url: url,
      event_types: ['connect_session.updated', 'meter.created'],
      headers: [
        { name: 'X-Partner-Trace', value: 'keep-me' },
        { name: 'X-LEAP-TOKEN', value: 'an-old-secret' },
      ],
    });
    const others = sim.simulator.webhooks.list().filter((w) => w.webhook_id !== theirs.webhook_id);
    const r = await service.register({ url, eventTypes: ['meter.enrollment.group.updated', 'meter.created'] });
    assert.equal(r.created, false);
    assert.equal(r.webhookId, theirs.webhook_id);
    assert.deepEqual(r.eventTypes, ['connect_session.updated', 'meter.created', 'meter.enrollment.group.updated']);
    const updated = sim.simulator.webhooks.get(theirs.webhook_id)!;
    assert.deepEqual(updated.event_types, ['connect_session.updated', 'meter.created', 'meter.enrollment.group.updated']);
    assert.deepEqual(updated.headers, [
      { name: 'X-Partner-Trace', value: 'keep-me' },
      { name: 'x-leap-token', value: SECRET },
    ]);
    assert.equal(updated.receiver_url, url);
    assert.deepEqual(
      sim.simulator.webhooks.list().filter((w) => w.webhook_id !== theirs.webhook_id),
      others,
      'other subscriptions are untouched',
    );
  });

  it('refuses to register without a URL, with a URL that is not http(s), or without a secret', async () => {
    const count = sim.simulator.webhooks.list().length;
    const noUrl = new LeapWebhooksService(leap, { headerName: HEADER, secret: SECRET, publicUrl: '' });
    await assert.rejects(noUrl.register(), (err: unknown) => err instanceof AppError && err.code === 'leap_webhook_url_missing');
    await assert.rejects(service.register({ url: 'ftp://connector.example.com/leap/events' }), (err: unknown) => err instanceof AppError && err.code === 'leap_webhook_url_invalid');
    const noSecret = new LeapWebhooksService(leap, { headerName: HEADER, secret: '', publicUrl: URL_A });
    await assert.rejects(noSecret.register(), (err: unknown) => err instanceof AppError && err.code === 'leap_webhook_secret_missing');
    assert.equal(sim.simulator.webhooks.list().length, count);
  });

  it('lists subscriptions with header names but never their values', async () => {
    const listed = await service.list();
    assert.deepEqual(
      listed.map((w) => w.webhook_id).sort(),
      sim.simulator.webhooks
        .list()
        .map((w) => w.webhook_id)
        .sort(),
    );
    const ours = listed.find((w) => w.receiver_url === URL_A)!;
    assert.deepEqual(ours.headers, [{ name: 'x-leap-token', value: '********' }]);
    assert.ok(listed.every((w) => (w.headers ?? []).every((h) => h.value === '********')));
    const text = JSON.stringify(listed);
    assert.ok(!text.includes(SECRET) && !text.includes('keep-me'), text);
    // Hiding is a view: the subscription at Leap keeps its values.
    assert.equal(sim.simulator.webhooks.list().find((w) => w.receiver_url === URL_A)!.headers[0]!.value, SECRET);
  });

  it('deletes a subscription by id; an unknown id fails as not found', async () => {
    const ours = sim.simulator.webhooks.list().find((w) => w.receiver_url === URL_A)!;
    await service.delete(ours.webhook_id);
    assert.equal(sim.simulator.webhooks.get(ours.webhook_id), undefined);
    assert.ok(!(await service.list()).some((w) => w.webhook_id === ours.webhook_id));
    await assert.rejects(service.delete(ours.webhook_id), (err: unknown) => err instanceof LeapNotFoundError);
  });
});
