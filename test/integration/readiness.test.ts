import assert from 'node:assert/strict';
import request from 'supertest';
import { compose, type Composed } from '../../src/compose/compose';
import type { Destination } from '../../src/domain/destination';
import type { MeterEvent } from '../../src/domain/events';
import { silentLogger } from '../../src/logger';
import { startReceiver } from '../../src/receiver/receiver';
import { testConfig } from '../helpers/config';
import { testEngines } from '../helpers/db';
import { destinationOf } from '../helpers/destinations';
import { syncHarness, type SyncHarness } from '../helpers/sync-harness';
import { ApiContract } from '../helpers/api-contract';

const PARTNER = 'partner-key-0123456789abcdef';
const SUPPORT = 'support-key-0123456789abcdef';
const KEYS_YAML = ['api:', '  keys:', `    - { name: crm, key: ${PARTNER}, scopes: [partner] }`, `    - { name: support, key: ${SUPPORT}, scopes: [admin] }`, 'readiness:', '  overdue_after: 200ms', '  check_every: 1h', ''].join('\n');
const UNKNOWN_ID = '00000000-0000-4000-8000-00000000f00d';
const bearer = { Authorization: `Bearer ${PARTNER}` };

/** A destination that takes readiness events and maps the readiness fields. */
function readinessDestination(): Destination {
  return destinationOf(
    [
      'url: https://partner.example.com/hooks',
      'events: ["meter.readiness.*"]',
      'secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw]',
      'mapping:',
      '  meter: { from: meter_id }',
      '  state: { from: readiness.state }',
      '  why: { from: readiness.reason }',
      '  source: { from: readiness.source }',
      '',
    ].join('\n'),
    'readiness.yaml',
  );
}

for (const engine of testEngines()) {
  describe(`partner readiness (${engine}, Leap v2)`, function () {
    this.timeout(60_000);
    let h: SyncHarness;
    let c: Composed;
    // Every answer below is checked against the API description once the suite ends.
    const contract = new ApiContract();
    let api: ReturnType<ApiContract['wrap']>;
    let active: string[];
    let inactive: string;
    const dest = readinessDestination();

    before(async () => {
      h = await syncHarness(engine, { apiVersion: 'v2', meters: 80, yaml: KEYS_YAML });
      // The harness's connector, with a destination that subscribes to readiness events.
      c = compose(h.config, { db: h.db.knex, logger: silentLogger, destinations: { all: () => [dest], get: (n) => (n === dest.name ? dest : undefined) } });
      api = contract.wrap(c.app);
      await c.sync.run({ kind: 'incremental', trigger: 'test' });
      const rows = (await h.db.knex('meters').select('meter_id', 'enrollment_status').where('is_archived', false).orderBy('meter_id')) as { meter_id: string; enrollment_status: string | null }[];
      active = rows.filter((r) => r.enrollment_status === 'ACTIVE').map((r) => r.meter_id);
      const candidates = rows.filter((r) => r.enrollment_status !== 'ACTIVE').map((r) => r.meter_id);
      assert.ok(active.length >= 6, `the portfolio has active meters (${active.length})`);
      // A meter that needs no readiness: not ACTIVE and no market group that has not passed.
      inactive = '';
      for (const id of candidates) {
        if ((await c.readiness.forMeter((await c.stores.meters.get(id))!)).state === 'not_required') {
          inactive = id;
          break;
        }
      }
      assert.ok(inactive, 'some meter needs no readiness');
    });
    after(async () => {
      await c.close();
      await h.close();
    });
    after(() => contract.verify());

    const put = (meterId: string, body: unknown, key = PARTNER) => request(api).put(`/api/v1/meters/${meterId}/readiness`).set({ Authorization: `Bearer ${key}` }).send(body as object);
    const eventsOf = async (meterId: string, prefix = 'meter.readiness.'): Promise<MeterEvent[]> => (await c.stores.events.list({ meterId }, 1000)).filter((e) => e.type.startsWith(prefix));
    const readinessRows = async () => (await h.db.knex('meter_readiness').select('*').orderBy('meter_ref')) as Record<string, unknown>[];
    const historyCount = async () => Number(((await h.db.knex('readiness_history').count({ n: '*' })) as { n: number }[])[0]!.n);
    const outboxFor = async (meterId: string) => (await h.db.knex('deliveries').select('event_type', 'body', 'sequence').where({ meter_id: meterId, destination: dest.name }).orderBy('sequence')) as { event_type: string; body: string; sequence: number }[];

    it('the sync puts every ACTIVE meter in awaiting, with one meter.readiness.updated each, and leaves the others untracked', async () => {
      for (const id of active) {
        const res = await request(api).get(`/api/v1/meters/${id}`).set(bearer).expect(200);
        assert.equal(res.body.readiness.state, 'awaiting', id);
        assert.equal(res.body.readiness.source, 'sync');
        assert.equal(res.body.readiness.required_by, 'active');
        assert.deepEqual(
          res.body.readiness.history.map((t: { from: string; to: string }) => [t.from, t.to]),
          [['not_required', 'awaiting']],
        );
        const events = await eventsOf(id);
        assert.deepEqual(
          events.map((e) => e.type),
          ['meter.readiness.updated'],
        );
        assert.deepEqual(events[0]!.changes!.find((x) => x.path === 'readiness.state'), { path: 'readiness.state', from: 'not_required', to: 'awaiting' });
        // Its sequence follows the sync's own events of the meter.
        const all = await c.stores.events.list({ meterId: id }, 1000);
        assert.equal(events[0]!.sequence, Math.max(...all.map((e) => e.sequence)));
        const stored = await c.stores.meters.get(id);
        assert.equal(stored!.sequence, events[0]!.sequence);
      }
      const res = await request(api).get(`/api/v1/meters/${inactive}`).set(bearer).expect(200);
      assert.equal(res.body.readiness.state, 'not_required');
      assert.deepEqual(res.body.readiness.history, []);
      assert.deepEqual(await eventsOf(inactive), []);
    });

    it('PUT answers readiness once: the same body again changes nothing and emits nothing', async () => {
      const id = active[0]!;
      const first = await put(id, { status: 'ready', device_ids: ['bat-1'], reason: 'commissioned' }).expect(200);
      assert.equal(first.body.outcome, 'applied');
      assert.equal(first.body.readiness.state, 'ready');
      assert.equal(first.body.readiness.source, 'partner:crm');
      assert.deepEqual(first.body.readiness.device_ids, ['bat-1']);
      const events = await eventsOf(id);
      const history = await historyCount();
      const again = await put(id, { status: 'ready', device_ids: ['bat-1'], reason: 'commissioned' }).expect(200);
      assert.equal(again.body.outcome, 'unchanged');
      assert.deepEqual(await eventsOf(id), events, 'no new event');
      assert.equal(await historyCount(), history, 'no new history');
      const meter = await request(api).get(`/api/v1/meters/${id}`).set(bearer).expect(200);
      assert.equal(meter.body.readiness.state, 'ready');
      assert.equal(meter.body.readiness.reason, 'commissioned');
      assert.deepEqual(meter.body.readiness.history[0], { at: meter.body.readiness.since, from: 'awaiting', to: 'ready', source: 'partner:crm', reason: 'commissioned', device_ids: ['bat-1'], effective_at: null });
      // The destination got the event with the readiness fields mapped.
      const sent = (await outboxFor(id)).map((d) => ({ type: d.event_type, data: JSON.parse(d.body).data as Record<string, unknown> }));
      assert.deepEqual(
        sent.map((s) => [s.type, s.data.state, s.data.source]),
        [
          ['meter.readiness.updated', 'awaiting', 'sync'],
          ['meter.readiness.updated', 'ready', 'partner:crm'],
        ],
      );
      // not_ready with a reason is another answer.
      const no = await put(id, { status: 'not_ready', reason: 'inverter offline', effective_at: '2026-12-01T00:00:00Z' }).expect(200);
      assert.equal(no.body.outcome, 'applied');
      assert.equal(no.body.readiness.effective_at, '2026-12-01T00:00:00.000Z');
      assert.equal((await outboxFor(id)).at(-1)!.body.includes('inverter offline'), true);
    });

    it('refuses what it cannot apply, naming why, and changes nothing', async () => {
      const rows = await readinessRows();
      const events = await h.db.knex('meter_events').count({ n: '*' });
      const notRequired = await put(inactive, { status: 'ready' }).expect(409);
      assert.equal(notRequired.body.code, 'readiness_not_required');
      assert.equal((await put(UNKNOWN_ID, { status: 'ready' }).expect(404)).body.code, 'not_found');
      const badId = await put('not-a-meter-id', { status: 'ready' }).expect(400);
      assert.deepEqual(
        badId.body.details.map((d: { path: string }) => d.path),
        ['/meter_id'],
      );
      const bad = await put(active[1]!, { status: 'maybe', device_ids: 'x', colour: 'red', effective_at: 'yesterday' }).expect(400);
      assert.deepEqual(bad.body.details.map((d: { path: string }) => d.path).sort(), ['/colour', '/device_ids', '/effective_at', '/status']);
      assert.equal((await put(active[1]!, {}).expect(400)).body.details[0].path, '/status');
      const text = await request(api).put(`/api/v1/meters/${active[1]}/readiness`).set(bearer).set('Content-Type', 'text/plain').send('ready').expect(415);
      assert.equal(text.body.code, 'unsupported_media_type');
      await request(api).put(`/api/v1/meters/${active[1]}/readiness`).set(bearer).expect(415);
      const broken = await request(api).put(`/api/v1/meters/${active[1]}/readiness`).set(bearer).set('Content-Type', 'application/json').send('{"status": "ready"').expect(400);
      assert.equal(broken.body.code, 'invalid_json');
      const lone = await request(api).put(`/api/v1/meters/${active[1]}/readiness`).set(bearer).set('Content-Type', 'application/json').send('{"status":"ready","reason":"\\ud800"}').expect(400);
      assert.equal(lone.body.details[0].path, '/reason');
      const nul = await put(active[1]!, { status: 'ready', reason: 'a\u0000b' }).expect(400);
      assert.equal(nul.body.details[0].path, '/reason');
      assert.equal((await put(active[1]!, { status: 'ready' }, 'wrong-key-0123456789').expect(401)).body.code, 'unauthorized');
      assert.deepEqual(await readinessRows(), rows);
      assert.deepEqual(await h.db.knex('meter_events').count({ n: '*' }), events);
    });

    it('answers that arrive together are written together, each with its own outcome, error, history and event', async () => {
      const [a, b, c2, d] = active.slice(2, 6) as [string, string, string, string];
      const history = await historyCount();
      const before = new Map(await Promise.all([a, b, c2, d].map(async (id) => [id, (await eventsOf(id)).length] as const)));
      // The first starts a transaction at once; the others wait for it and go in the next one together.
      const answers = [
        c.readiness.answer(d, { status: 'not_ready', reason: 'first' }, 'crm'),
        c.readiness.answer(a, { status: 'ready' }, 'crm'),
        c.readiness.answer(b, { status: 'ready', reason: 'grouped' }, 'crm'),
        c.readiness.answer(UNKNOWN_ID, { status: 'ready' }, 'crm'),
        c.readiness.answer(inactive, { status: 'ready' }, 'crm'),
        c.readiness.answer(c2, { status: 'ready' }, 'crm'),
        c.readiness.answer(a, { status: 'not_ready', reason: 'changed its mind' }, 'crm'),
      ];
      const settled = await Promise.allSettled(answers);
      const value = (i: number) => (settled[i] as PromiseFulfilledResult<Awaited<(typeof answers)[0]>>).value;
      const reason = (i: number) => (settled[i] as PromiseRejectedResult).reason as { status: number; code: string };
      assert.deepEqual([reason(3).status, reason(3).code], [404, 'not_found']);
      assert.deepEqual([reason(4).status, reason(4).code], [409, 'readiness_not_required']);
      for (const i of [0, 1, 2, 5, 6]) assert.equal(value(i).outcome, 'applied', `answer ${i}`);
      assert.deepEqual([value(1).readiness.state, value(6).readiness.state, value(6).readiness.reason], ['ready', 'not_ready', 'changed its mind'], 'the same meter twice: in order, each applied');
      assert.equal(new Set([1, 2, 5].map((i) => value(i).readiness.since)).size, 1, 'the waiting answers shared one transaction');
      assert.equal(await historyCount(), history + 5, 'a history row per applied answer');
      const added = async (id: string) => (await eventsOf(id)).length - before.get(id)!;
      assert.deepEqual([await added(a), await added(b), await added(c2), await added(d)], [2, 1, 1, 1], 'an event per applied answer');
      const seqs = (await eventsOf(a)).map((e) => e.sequence);
      assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
      assert.equal(new Set(seqs).size, seqs.length, 'no sequence twice');
    });

    it('a stored readiness event shows the readiness it was delivered with, as the API and a replay read it', async () => {
      const id = active[6]!;
      await put(id, { status: 'not_ready', reason: 'kept with the event' }).expect(200);
      const [last] = (await eventsOf(id)).slice(-1);
      assert.equal(last!.type, 'meter.readiness.updated');
      assert.deepEqual([last!.meter.readiness?.state, last!.meter.readiness?.reason, last!.meter.readiness?.source], ['not_ready', 'kept with the event', 'partner:crm']);
      assert.equal(last!.meter.meter_id, id, "with Leap's side of the meter");
      const api = await request(c.app).get(`/admin/v1/events?meter_id=${id}&type=meter.readiness.updated`).set({ Authorization: `Bearer ${SUPPORT}` }).expect(200);
      assert.equal(api.body.events.at(-1).meter.readiness.reason, 'kept with the event');
      const sync = (await c.stores.events.list({ meterId: id }, 1000)).filter((e) => !e.type.startsWith('meter.readiness.'));
      assert.ok(sync.every((e) => e.meter.readiness === undefined), "Leap's events keep Leap's side only");
    });

    it('admin keys pass the partner routes too', async () => {
      const res = await request(api).get(`/api/v1/readiness?state=awaiting`).set({ Authorization: `Bearer ${SUPPORT}` }).expect(200);
      assert.ok(res.body.counts.awaiting >= 1);
    });

    it('a meter that leaves ACTIVE is not_required; back to ACTIVE it awaits a new confirmation', async () => {
      const id = active[2]!;
      await put(id, { status: 'ready' }).expect(200);
      h.sim.simulator.setStatus(id, 'INELIGIBLE');
      await c.sync.run({ kind: 'incremental', trigger: 'test' });
      let r = (await request(api).get(`/api/v1/meters/${id}`).set(bearer).expect(200)).body.readiness;
      assert.equal(r.state, 'not_required');
      assert.equal(r.source, 'sync');
      assert.equal((await put(id, { status: 'ready' }).expect(409)).body.code, 'readiness_not_required');
      h.sim.simulator.activate(id);
      await c.sync.run({ kind: 'incremental', trigger: 'test' });
      r = (await request(api).get(`/api/v1/meters/${id}`).set(bearer).expect(200)).body.readiness;
      assert.equal(r.state, 'awaiting', 'the earlier confirmation was for the earlier activation');
      assert.equal(r.device_ids, null);
    });

    it('a replaced device awaits a new confirmation; a detail edit does not', async () => {
      const withDevice = [];
      for (const id of active.slice(3)) if ((await c.stores.meters.get(id))!.raw.details?.device) withDevice.push(id);
      assert.ok(withDevice.length, 'an active meter with a device');
      const id = withDevice[0]!;
      await put(id, { status: 'ready', device_ids: ['inv-7'] }).expect(200);
      h.sim.simulator.editDetails(id, { address: true });
      await c.sync.run({ kind: 'incremental', trigger: 'test' });
      assert.equal((await request(api).get(`/api/v1/meters/${id}`).set(bearer).expect(200)).body.readiness.state, 'ready');
      // Two device edits: another unit, then replaced hardware (a new serial number).
      h.sim.simulator.editDetails(id, { device: true });
      h.sim.simulator.editDetails(id, { device: true });
      await c.sync.run({ kind: 'incremental', trigger: 'test' });
      const r = (await request(api).get(`/api/v1/meters/${id}`).set(bearer).expect(200)).body.readiness;
      assert.equal(r.state, 'awaiting');
      assert.equal(r.source, 'sync');
    });

    it('the deadline check makes awaiting meters overdue once, under a lease only one process holds', async () => {
      const waiting = (await c.readiness.list('awaiting', 500)).meters.map((m) => m.meter_id);
      assert.ok(waiting.length > 0);
      await new Promise((r) => setTimeout(r, 250));
      const other = compose(h.config, { db: h.db.knex, logger: silentLogger, owner: 'another-replica' });
      try {
        const first = await c.deadlines.runOnce();
        assert.ok(first, 'this process took the lease');
        assert.equal(first.overdue, waiting.length);
        assert.equal(await other.deadlines.runOnce(), null, 'the other replica does not check while the lease is held');
      } finally {
        await other.close();
      }
      for (const id of waiting) {
        const types = (await eventsOf(id)).map((e) => e.type).slice(-2);
        assert.deepEqual(types, ['meter.readiness.updated', 'meter.readiness.overdue'], id);
        const r = await c.readiness.forMeter((await c.stores.meters.get(id))!);
        assert.equal(r.state, 'overdue');
        assert.equal(r.source, 'deadline');
      }
      const again = await c.deadlines.runOnce();
      assert.equal(again!.overdue, 0, 'overdue is announced once');
      // A partner answer takes an overdue meter to ready.
      assert.equal((await put(waiting[0]!, { status: 'ready' }).expect(200)).body.readiness.state, 'ready');
      const list = (await request(api).get('/api/v1/readiness?state=overdue&limit=2').set(bearer).expect(200)).body;
      assert.equal(list.counts.overdue, waiting.length - 1);
      assert.equal(list.meters.length, Math.min(2, waiting.length - 1));
      assert.ok(list.meters.every((m: { readiness: { state: string } }) => m.readiness.state === 'overdue'));
    });

    it('lists meters by state with counts, page by page', async () => {
      const seen: string[] = [];
      let after: string | null = null;
      let counts: Record<string, number> = {};
      do {
        const res: request.Response = await request(api).get(`/api/v1/readiness?state=ready&limit=1${after ? `&after=${after}` : ''}`).set(bearer).expect(200);
        seen.push(...res.body.meters.map((m: { meter_id: string }) => m.meter_id));
        counts = res.body.counts;
        after = res.body.next_after;
      } while (after);
      assert.equal(seen.length, counts.ready);
      assert.deepEqual(seen, [...seen].sort());
      assert.deepEqual(Object.keys(counts).sort(), ['awaiting', 'not_ready', 'not_required', 'overdue', 'ready']);
      const missing = await request(api).get('/api/v1/readiness').set(bearer).expect(400);
      assert.equal(missing.body.details[0].path, '/state');
    });

    describe('batches', () => {
      const batch = (body: unknown, key?: string) => {
        const r = request(api).post('/api/v1/readiness/batch').set(bearer);
        if (key) r.set('Idempotency-Key', key);
        return r.send(body as object);
      };

      it('answers every item in order: valid ones applied in one transaction, invalid ones change nothing', async () => {
        const targets = active.slice(-3);
        const reference = (await c.stores.meters.get(targets[2]!))!;
        const partnerReference = (await h.db.knex('meters').select('partner_reference').where('meter_id', reference.meterId).first()).partner_reference as string;
        const res = await batch({
          items: [
            { meter_id: targets[0], status: 'ready' },
            { meter_id: UNKNOWN_ID, status: 'ready' },
            { meter_id: inactive, status: 'ready' },
            { meter_id: targets[1], status: 'maybe' },
            { partner_reference: partnerReference, status: 'not_ready', reason: 'no signal' },
            { meter_id: targets[0], partner_reference: partnerReference, status: 'ready' },
            { meter_id: targets[0], status: 'ready' },
          ],
        }).expect(200);
        const r = res.body.results;
        assert.deepEqual(
          r.map((x: { index: number; outcome: string; code?: string }) => [x.index, x.outcome, x.code ?? null]),
          [
            [0, 'applied', null],
            [1, 'error', 'not_found'],
            [2, 'error', 'readiness_not_required'],
            [3, 'error', 'validation_failed'],
            [4, 'applied', null],
            [5, 'error', 'validation_failed'],
            [6, 'unchanged', null],
          ],
        );
        assert.equal(r[3].details[0].path, '/items/3/status');
        assert.ok(r[4].meter_ids.includes(targets[2]));
        assert.deepEqual([res.body.applied, res.body.unchanged, res.body.errors], [2, 1, 4]);
        assert.equal((await c.readiness.forMeter((await c.stores.meters.get(targets[0]!))!)).state, 'ready');
        assert.notEqual((await c.readiness.forMeter((await c.stores.meters.get(targets[1]!))!)).state, 'ready', 'the invalid item changed nothing');
        assert.equal((await c.readiness.forMeter(reference)).reason, 'no signal');
      });

      it('refuses a batch over 1,000 items, or without items, as a whole', async () => {
        const rows = await readinessRows();
        const over = await batch({ items: Array.from({ length: 1001 }, () => ({ meter_id: active[0], status: 'ready' })) }).expect(400);
        assert.equal(over.body.details[0].path, '/items');
        await batch({ items: [] }).expect(400);
        await batch({}).expect(400);
        await batch([]).expect(400);
        assert.deepEqual(await readinessRows(), rows);
      });

      it('with an Idempotency-Key, the same body gets the stored answer and another body is 409', async () => {
        const id = active[4]!;
        const body = { items: [{ meter_id: id, status: 'not_ready', reason: 'key test' }] };
        const first = await batch(body, 'batch-key-1').expect(200);
        assert.equal(first.body.results[0].outcome, 'applied');
        const events = await eventsOf(id);
        await put(id, { status: 'ready' }).expect(200);
        const replay = await batch(body, 'batch-key-1').expect(200);
        assert.deepEqual(replay.body, first.body, 'the stored answer, not a new application');
        assert.equal(replay.headers['idempotent-replayed'], 'true');
        assert.equal((await c.readiness.forMeter((await c.stores.meters.get(id))!)).state, 'ready', 'the replay applied nothing');
        assert.equal((await eventsOf(id)).length, events.length + 1);
        const other = await batch({ items: [{ meter_id: id, status: 'ready' }] }, 'batch-key-1').expect(409);
        assert.equal(other.body.details.code, 'idempotency_key_reused');
        const badKey = await batch(body, 'has spaces in it').expect(400);
        assert.equal(badKey.body.details[0].path, 'Idempotency-Key');
        // Keys of another caller never meet this one's.
        const asAdmin = await request(api).post('/api/v1/readiness/batch').set({ Authorization: `Bearer ${SUPPORT}`, 'Idempotency-Key': 'batch-key-1' }).send({ items: [{ meter_id: id, status: 'not_ready' }] }).expect(200);
        assert.equal(asAdmin.body.results[0].outcome, 'applied');
      });
    });
  });
}

describe('readiness configuration', () => {
  it('defaults to 24h overdue_after, checked every minute, and names a bad duration', () => {
    const config = testConfig('', {});
    assert.deepEqual(config.readiness, { overdue_after: '24h', check_every: '1m' });
    assert.throws(() => testConfig('readiness:\n  overdue_after: soon\n', {}), /readiness\/overdue_after/);
  });
});

describe('the sample receiver closes the readiness loop', function () {
  this.timeout(60_000);
  it('confirms readiness for every meter it hears activated, through the partner API, and the connector shows them ready', async () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const receiver = await startReceiver({ secrets: [secret] });
    const h = await syncHarness('sqlite', { apiVersion: 'v2', meters: 60, yaml: KEYS_YAML });
    const dest = destinationOf(['url: ' + `${receiver.url}/devices`, 'events: ["meter.enrollment.activated"]', `secrets: [${secret}]`, 'mapping:', '  id: { from: meter_id }', ''].join('\n'), 'devices.yaml');
    const c = compose(h.config, { db: h.db.knex, logger: silentLogger, destinations: { all: () => [dest], get: () => dest } });
    const server = c.app.listen(0, '127.0.0.1');
    try {
      await new Promise((r) => server.once('listening', r));
      const { port } = server.address() as { port: number };
      receiver.receiver.confirmReadinessVia({ connectorUrl: `http://127.0.0.1:${port}`, apiKey: PARTNER, delayMs: 10 });
      c.worker.start();
      await c.sync.run({ kind: 'incremental', trigger: 'test' });
      const active = ((await h.db.knex('meters').where({ enrollment_status: 'ACTIVE', is_archived: false }).select('meter_id')) as { meter_id: string }[]).map((m) => m.meter_id);
      assert.ok(active.length > 0);
      for (let i = 0; i < 200 && (receiver.receiver.confirmations()?.confirmed ?? 0) < active.length; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(receiver.receiver.confirmations()!.confirmed, active.length);
      for (const id of active) {
        const r = await c.readiness.forMeter((await c.stores.meters.get(id))!);
        assert.equal(r.state, 'ready', id);
        assert.equal(r.source, 'partner:crm');
        assert.equal(r.reason, 'sample receiver: devices commissioned');
      }
    } finally {
      server.close();
      await c.close();
      await receiver.close();
      await h.close();
    }
  });
});
