import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { compose, type Composed } from '../../src/compose/compose';
import { silentLogger } from '../../src/logger';
import type { MeterRecord } from '../../src/services/meter-query-service';
import type { SyncRunView } from '../../src/services/sync/admin-service';
import type { RegionCode } from '../../src/simulator/catalog';
import { testConfig } from '../helpers/config';
import { testEngines } from '../helpers/db';
import { syncHarness, type SyncHarness } from '../helpers/sync-harness';
import { ApiContract } from '../helpers/api-contract';

const ADMIN = 'admin-key-0123456789abcdef';
const SUPPORT = 'support-key-0123456789abcdef';
const PARTNER = 'partner-key-0123456789abcdef';
const KEYS_YAML = [
  'api:',
  '  keys:',
  `    - { name: ops, key: ${ADMIN}, scopes: [admin, partner] }`,
  `    - { name: support, key: ${SUPPORT}, scopes: [admin] }`,
  `    - { name: crm, key: ${PARTNER}, scopes: [partner] }`,
  '',
].join('\n');
const SIM_KEY = 'sim-key-0123456789';
const UNKNOWN_ID = '00000000-0000-4000-8000-00000000f00d';

/** What supertest takes: the app itself, or the app wrapped by the API contract. */
type App = Parameters<typeof request>[0];

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const paths = (body: { details?: { path: string }[] }) => (body.details ?? []).map((d) => d.path);

function get(app: App, url: string, key = ADMIN) {
  return request(app).get(url).set(bearer(key));
}

/** Every page of GET /api/v1/meters for a query, following next_after. */
async function allMeters(app: App, query: string, limit = 500): Promise<MeterRecord[]> {
  const out: MeterRecord[] = [];
  let after: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const res = await get(app, `/api/v1/meters?limit=${limit}${query ? `&${query}` : ''}${after ? `&after=${after}` : ''}`, PARTNER).expect(200);
    out.push(...(res.body.meters as MeterRecord[]));
    after = res.body.next_after as string | null;
    if (!after) return out;
  }
  throw new Error('paging did not end');
}

const ids = (records: MeterRecord[]) => records.map((r) => r.meter.meter_id);
const sorted = (xs: readonly string[]) => [...xs].sort();

for (const engine of testEngines()) {
  describe(`admin and partner API (${engine}, Leap v2)`, function () {
    this.timeout(60_000);
    let h: SyncHarness;
    // Every answer below is checked against the API description once the suite ends.
    const contract = new ApiContract();
    let api: App;
    before(async () => {
      h = await syncHarness(engine, { apiVersion: 'v2', meters: 60, yaml: KEYS_YAML });
      api = contract.wrap(h.composed.app);
      await h.pass();
    });
    after(() => h.close());
    after(() => contract.verify());

    /** A second connector on the same database, with other settings (another process, as it were). */
    function sibling(yaml: string, env: NodeJS.ProcessEnv = {}, baseUrl = h.sim.url): Composed {
      const config = testConfig(['leap:', '  page_size: 50', '  rate_limit: { requests_per_second: 1000, max_concurrent: 4 }', yaml].join('\n'), { LEAP_API_KEY: SIM_KEY, LEAP_BASE_URL: baseUrl, ...env });
      return compose(config, { db: h.db.knex, logger: silentLogger });
    }

    describe('authentication', () => {
      const routes: [string, string][] = [
        ['GET', '/admin/v1/sync/runs'],
        ['POST', '/admin/v1/sync/runs'],
        ['GET', '/admin/v1/events'],
        ['GET', '/api/v1/meters'],
        ['GET', `/api/v1/meters/${UNKNOWN_ID}`],
      ];
      const send = (app: App, method: string, url: string) => (method === 'POST' ? request(app).post(url).send({}) : request(app).get(url));

      it('with no API key configured every /admin/v1 and /api/v1 request is 401, saying how to configure one', async () => {
        const bare = sibling('');
        try {
          const runs = (await h.composed.stores.runs.list({}, { limit: 1000 })).length;
          for (const [method, url] of routes) {
            const res = await send(contract.wrap(bare.app), method, url).set(bearer(ADMIN)).expect(401);
            assert.equal(res.body.code, 'unauthorized');
            assert.match(res.body.message, /api\.keys/, url);
            assert.match(res.body.message, /ADMIN_API_KEY/, url);
            assert.equal(res.headers['www-authenticate'], 'Bearer');
          }
          assert.equal((await h.composed.stores.runs.list({}, { limit: 1000 })).length, runs, 'no run was started');
        } finally {
          await bare.close();
        }
      });

      it('a missing, malformed or unknown bearer key is 401 with WWW-Authenticate: Bearer', async () => {
        const headers: (Record<string, string> | null)[] = [
          null,
          { Authorization: `Basic ${Buffer.from(`x:${ADMIN}`).toString('base64')}` },
          { Authorization: 'Bearer' },
          { Authorization: `Bearer ${ADMIN} ${ADMIN}` },
          { Authorization: `Bearer ${ADMIN}x` },
          { Authorization: `Bearer ${ADMIN.slice(0, -1)}` },
          { Authorization: ADMIN },
          { 'X-Api-Key': ADMIN },
        ];
        for (const [method, url] of [...routes, ['GET', '/admin/v1/no-such-route'] as [string, string]]) {
          for (const hdr of headers) {
            const req = send(api, method, url);
            if (hdr) req.set(hdr);
            const res = await req.expect(401);
            assert.equal(res.body.code, 'unauthorized', `${method} ${url} ${JSON.stringify(hdr)}`);
            assert.equal(res.headers['www-authenticate'], 'Bearer');
            assert.ok(res.body.request_id);
          }
        }
        const none = await get(api, '/admin/v1/sync/runs', '').unset('Authorization').expect(401);
        assert.match(none.body.message, /Authorization: Bearer/);
        const wrong = await get(api, '/admin/v1/sync/runs', 'not-a-configured-key-at-all').expect(401);
        assert.match(wrong.body.message, /not valid/);
      });

      it('the scheme is case-insensitive and the key is not', async () => {
        await request(api).get('/admin/v1/sync/runs').set('Authorization', `bearer ${ADMIN}`).expect(200);
        await request(api).get('/admin/v1/sync/runs').set('Authorization', `BEARER  ${ADMIN}`).expect(200);
        await request(api).get('/admin/v1/sync/runs').set('Authorization', `Bearer ${ADMIN.toUpperCase()}`).expect(401);
      });

      it('a partner key on /admin/v1 is 403; an admin-only key also passes /api/v1 (support reads what partners read)', async () => {
        for (const [method, url] of routes.filter(([, u]) => u.startsWith('/admin/'))) {
          const res = await send(api, method, url).set(bearer(PARTNER)).expect(403);
          assert.equal(res.body.code, 'forbidden');
          assert.match(res.body.message, /admin scope/);
        }
        await get(api, '/api/v1/meters', SUPPORT).expect(200);
        await get(api, '/api/v1/meters', PARTNER).expect(200);
        await get(api, '/admin/v1/sync/runs', SUPPORT).expect(200);
      });

      it('a key with both scopes, like ADMIN_API_KEY from the environment, works on both', async () => {
        await get(api, '/admin/v1/sync/runs', ADMIN).expect(200);
        await get(api, '/admin/v1/events?limit=1', ADMIN).expect(200);
        await get(api, '/api/v1/meters?limit=1', ADMIN).expect(200);
        const fromEnv = sibling('', { ADMIN_API_KEY: 'env-admin-key-0123456789', PARTNER_API_KEY: 'env-partner-key-0123456789' });
        try {
          await get(contract.wrap(fromEnv.app), '/admin/v1/sync/runs', 'env-admin-key-0123456789').expect(200);
          await get(contract.wrap(fromEnv.app), '/api/v1/meters?limit=1', 'env-admin-key-0123456789').expect(200);
          await get(contract.wrap(fromEnv.app), '/api/v1/meters?limit=1', 'env-partner-key-0123456789').expect(200);
          await get(contract.wrap(fromEnv.app), '/admin/v1/sync/runs', 'env-partner-key-0123456789').expect(403);
        } finally {
          await fromEnv.close();
        }
      });
    });

    describe('sync runs', () => {
      before(async () => {
        // One of each: the first pass (in the outer before), a full reconcile, a failed pass.
        await h.pass({ kind: 'full' });
        h.sim.simulator.setFaults({ serverError: 1 });
        try {
          await h.pass().catch(() => undefined);
        } finally {
          h.sim.simulator.clearFaults();
        }
      });

      it('GET /admin/v1/sync/runs lists the runs newest first, as the store has them', async () => {
        const res = await get(api, '/admin/v1/sync/runs').expect(200);
        const runs = res.body.runs as SyncRunView[];
        const stored = await h.composed.stores.runs.list({}, { limit: 50 });
        assert.deepEqual(
          runs.map((r) => r.id),
          stored.map((r) => r.id),
        );
        assert.equal(res.body.next_before, null, 'fewer runs than the limit');
        for (let i = 1; i < runs.length; i++) assert.ok(runs[i - 1]!.started_at >= runs[i]!.started_at);
        const failed = runs.find((r) => r.status === 'failed')!;
        assert.equal(failed.error_code, 'leap_unavailable');
        assert.ok(failed.error && failed.finished_at);
        const first = runs.at(-1)!;
        assert.deepEqual(Object.keys(first).sort(), [
          'cursor_from',
          'cursor_to',
          'dry_run',
          'error',
          'error_code',
          'events',
          'finished_at',
          'id',
          'kind',
          'meters_changed',
          'meters_seen',
          'owner',
          'pages',
          'resumed_from',
          'since',
          'started_at',
          'status',
          'trigger',
        ]);
        assert.equal(first.status, 'succeeded');
        // Distinct meters, though on v2 each one is read in the details search and again in the enrollment search.
        assert.equal(first.meters_seen, h.sim.simulator.meterCount());
        assert.ok(first.pages >= 2);
        assert.equal(first.events, await h.composed.stores.events.count({ syncRunId: first.id }));
      });

      it('filters by kind and status, and pages with limit and next_before', async () => {
        const all = (await get(api, '/admin/v1/sync/runs').expect(200)).body.runs as SyncRunView[];
        const full = (await get(api, '/admin/v1/sync/runs?kind=full').expect(200)).body.runs as SyncRunView[];
        assert.ok(full.length >= 1);
        assert.deepEqual(
          full.map((r) => r.id),
          all.filter((r) => r.kind === 'full').map((r) => r.id),
        );
        const failed = (await get(api, '/admin/v1/sync/runs?status=failed').expect(200)).body.runs as SyncRunView[];
        assert.ok(failed.length >= 1 && failed.every((r) => r.status === 'failed'));
        assert.deepEqual(
          failed.map((r) => r.id),
          all.filter((r) => r.status === 'failed').map((r) => r.id),
        );
        const both = (await get(api, '/admin/v1/sync/runs?kind=incremental&status=succeeded').expect(200)).body.runs as SyncRunView[];
        assert.deepEqual(
          both.map((r) => r.id),
          all.filter((r) => r.kind === 'incremental' && r.status === 'succeeded').map((r) => r.id),
        );

        const paged: string[] = [];
        let before: string | null = null;
        for (let i = 0; i < 50; i++) {
          const res = await get(api, `/admin/v1/sync/runs?limit=1${before ? `&before=${encodeURIComponent(before)}` : ''}`).expect(200);
          const page = res.body.runs as SyncRunView[];
          assert.ok(page.length <= 1);
          paged.push(...page.map((r) => r.id));
          before = res.body.next_before as string | null;
          if (page.length) assert.equal(before, page[0]!.started_at);
          if (!before) break;
        }
        assert.deepEqual(
          paged,
          all.map((r) => r.id),
        );
      });

      it('rejects bad query parameters with 400 naming each by JSON pointer', async () => {
        const cases: [string, string[]][] = [
          ['limit=0', ['/limit']],
          ['limit=201', ['/limit']],
          ['limit=ten', ['/limit']],
          ['kind=weekly', ['/kind']],
          ['status=done', ['/status']],
          ['before=yesterday', ['/before']],
          ['page=2', ['/page']],
          ['limit=0&kind=weekly&page=2', ['/page', '/kind', '/limit']],
        ];
        for (const [query, expected] of cases) {
          const res = await get(api, `/admin/v1/sync/runs?${query}`).expect(400);
          assert.equal(res.body.code, 'validation_failed', query);
          assert.deepEqual(sorted(paths(res.body)), sorted(expected), query);
        }
      });

      it('POST starts a run: 202 with the run and its Location; the run then finishes and its events are listed', async () => {
        const [meterId] = h.sim.simulator.meterIds({ limit: 30 }).slice(-1);
        h.sim.simulator.editDetails(meterId!, { address: true });
        const res = await request(api).post('/admin/v1/sync/runs').set(bearer(ADMIN)).send({}).expect(202);
        const run = res.body as SyncRunView;
        assert.equal(run.kind, 'incremental');
        assert.equal(run.status, 'running');
        assert.equal(run.trigger, 'api:ops');
        assert.equal(run.owner, h.composed.owner);
        assert.equal(run.finished_at, null);
        assert.equal(res.headers.location, `/admin/v1/sync/runs/${run.id}`);
        await h.composed.scheduler.idle();

        const done = (await get(api, res.headers.location!).expect(200)).body as SyncRunView;
        assert.equal(done.id, run.id);
        assert.equal(done.status, 'succeeded');
        assert.ok(done.finished_at);
        assert.ok(done.events >= 1);
        const events = (await get(api, `/admin/v1/events?sync_run_id=${run.id}`).expect(200)).body.events as { meter_id: string; type: string; sync_run_id: string }[];
        assert.equal(events.length, done.events);
        assert.ok(events.some((e) => e.meter_id === meterId && e.type === 'meter.details.updated'));
        assert.ok(events.every((e) => e.sync_run_id === run.id));

        const full = await request(api).post('/admin/v1/sync/runs').set(bearer(SUPPORT)).send({ kind: 'full' }).expect(202);
        assert.equal(full.body.kind, 'full');
        assert.equal(full.body.trigger, 'api:support');
        await h.composed.scheduler.idle();
        assert.equal((await get(api, `/admin/v1/sync/runs/${full.body.id as string}`).expect(200)).body.status, 'succeeded');

        const since = await request(api).post('/admin/v1/sync/runs').set(bearer(ADMIN)).send({ since: '2020-01-01T00:00:00Z' }).expect(202);
        assert.equal(since.body.since, '2020-01-01T00:00:00.000000000Z');
        await h.composed.scheduler.idle();
      });

      it('a second POST while a run is in progress is 409 sync_in_progress, from this process or another sharing the database', async () => {
        // Leap's answers are held at a gate, so the first run is surely still running.
        let open!: () => void;
        const gate = new Promise<void>((resolve) => (open = resolve));
        const proxy = http.createServer((req, res) => {
          void gate.then(() => h.sim.simulator.app(req, res));
        });
        await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
        const gated = sibling(KEYS_YAML, {}, `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
        try {
          const first = await request(contract.wrap(gated.app)).post('/admin/v1/sync/runs').set(bearer(ADMIN)).send({ kind: 'incremental' }).expect(202);
          const same = await request(contract.wrap(gated.app)).post('/admin/v1/sync/runs').set(bearer(ADMIN)).send({}).expect(409);
          assert.equal(same.body.code, 'sync_in_progress');
          const other = await request(api).post('/admin/v1/sync/runs').set(bearer(ADMIN)).send({ kind: 'full' }).expect(409);
          assert.equal(other.body.code, 'sync_in_progress');
          assert.equal(other.body.details.holder, gated.owner);
          const running = (await get(api, '/admin/v1/sync/runs?status=running').expect(200)).body.runs as SyncRunView[];
          assert.deepEqual(
            running.map((r) => r.id),
            [first.body.id],
          );
          open();
          await gated.scheduler.idle();
          assert.equal((await get(api, `/admin/v1/sync/runs/${first.body.id as string}`).expect(200)).body.status, 'succeeded');
          // The lease is free again.
          await request(api).post('/admin/v1/sync/runs').set(bearer(ADMIN)).send({}).expect(202);
          await h.composed.scheduler.idle();
        } finally {
          open();
          await gated.close();
          await new Promise<void>((resolve) => {
            proxy.close(() => resolve());
            proxy.closeAllConnections();
          });
        }
      });

      it('a bad body is 400 naming each field, and starts nothing', async () => {
        const before = (await h.composed.stores.runs.list({}, { limit: 1000 })).length;
        const cases: [unknown, string[]][] = [
          [{ kind: 'weekly' }, ['/kind']],
          [{ since: 'yesterday' }, ['/since']],
          [{ dry_run: true }, ['/dry_run']],
          [{ kind: 'refresh', since: 5 }, ['/kind', '/since']],
          [[], ['']],
        ];
        for (const [body, expected] of cases) {
          const res = await request(api).post('/admin/v1/sync/runs').set(bearer(ADMIN)).send(body as object).expect(400);
          assert.equal(res.body.code, 'validation_failed', JSON.stringify(body));
          assert.deepEqual(sorted(paths(res.body)), sorted(expected), JSON.stringify(body));
        }
        const json = await request(api).post('/admin/v1/sync/runs').set(bearer(ADMIN)).set('Content-Type', 'application/json').send('{"kind":').expect(400);
        assert.equal(json.body.code, 'invalid_json');
        await h.composed.scheduler.idle();
        assert.equal((await h.composed.stores.runs.list({}, { limit: 1000 })).length, before);
      });

      it('GET /admin/v1/sync/runs/{id} is 404 for an unknown run', async () => {
        const res = await get(api, `/admin/v1/sync/runs/${UNKNOWN_ID}`).expect(404);
        assert.equal(res.body.code, 'not_found');
        assert.match(res.body.message, new RegExp(UNKNOWN_ID));
        const [latest] = (await get(api, '/admin/v1/sync/runs?limit=1').expect(200)).body.runs as SyncRunView[];
        assert.deepEqual((await get(api, `/admin/v1/sync/runs/${latest!.id}`).expect(200)).body, latest);
      });
    });

    describe('meter events', () => {
      let meterId: string;
      before(async () => {
        [meterId] = h.sim.simulator.meterIds({ status: 'ELIGIBLE', limit: 2 }).slice(-1) as [string];
        h.sim.simulator.activate(meterId);
        await h.pass();
      });

      it("GET /admin/v1/events?meter_id= lists that meter's events in order", async () => {
        const res = await get(api, `/admin/v1/events?meter_id=${meterId}`).expect(200);
        const events = res.body.events as { id: number; meter_id: string; sequence: number; type: string; meter: { meter_id: string } }[];
        const rows = (await h.db.knex('meter_events').where({ meter_id: meterId }).orderBy('id').select('id', 'type')) as { id: number | string; type: string }[];
        assert.deepEqual(
          events.map((e) => [e.id, e.type]),
          rows.map((r) => [Number(r.id), r.type]),
        );
        assert.ok(events.length >= 4, 'created, then the activation events');
        assert.equal(events[0]!.type, 'meter.created');
        assert.deepEqual(
          events.map((e) => e.sequence),
          events.map((_, i) => i + 1),
        );
        assert.ok(events.every((e) => e.meter_id === meterId && e.meter.meter_id === meterId));
        assert.equal(res.body.next_after_id, null);
        assert.deepEqual((await get(api, `/admin/v1/events?meter_id=${UNKNOWN_ID}`).expect(200)).body, { events: [], next_after_id: null });
      });

      it('filters by type, alone or with meter_id', async () => {
        const created = (await get(api, '/admin/v1/events?type=meter.created&limit=500').expect(200)).body.events as { type: string; meter_id: string }[];
        assert.ok(created.every((e) => e.type === 'meter.created'));
        assert.deepEqual(sorted(created.map((e) => e.meter_id)), sorted(h.sim.simulator.meterIds()));
        const activated = (await get(api, `/admin/v1/events?type=meter.enrollment.activated&meter_id=${meterId}`).expect(200)).body.events as { type: string }[];
        assert.deepEqual(
          activated.map((e) => e.type),
          ['meter.enrollment.activated'],
        );
      });

      it('pages with after_id and next_after_id through every event exactly once', async () => {
        const all = ((await h.db.knex('meter_events').orderBy('id').select('id')) as { id: number | string }[]).map((r) => Number(r.id));
        const seen: number[] = [];
        let after: number | null = 0;
        let pages = 0;
        while (after !== null && pages++ < 1000) {
          const res = await get(api, `/admin/v1/events?limit=25&after_id=${after}`).expect(200);
          const page = res.body.events as { id: number }[];
          assert.ok(page.length <= 25);
          seen.push(...page.map((e) => e.id));
          after = res.body.next_after_id as number | null;
          if (after !== null) assert.equal(after, page.at(-1)!.id);
        }
        assert.deepEqual(seen, all);
        assert.ok(pages > 2, 'more than one page');
      });

      it('rejects bad query parameters with 400 naming each', async () => {
        const cases: [string, string[]][] = [
          ['type=meter.exploded', ['/type']],
          ['after_id=-1', ['/after_id']],
          ['after_id=abc', ['/after_id']],
          ['limit=501', ['/limit']],
          ['meter=x', ['/meter']],
          [`meter_id=${'x'.repeat(65)}`, ['/meter_id']],
        ];
        for (const [query, expected] of cases) {
          const res = await get(api, `/admin/v1/events?${query}`).expect(400);
          assert.equal(res.body.code, 'validation_failed', query);
          assert.deepEqual(paths(res.body), expected, query);
        }
      });
    });

    describe('partner meters', () => {
      let actionMeter: string;
      let reference: string[];
      before(async () => {
        reference = h.sim.simulator.authorize({ count: 2, partnerReference: 'crm-site-77' });
        [actionMeter] = h.sim.simulator.meterIds({ status: 'ELIGIBLE', limit: 3 }).slice(-1) as [string];
        h.sim.simulator.addPartnerAction(actionMeter, 'SERV_0005');
        await h.pass();
      });

      it('GET /api/v1/meters pages with after and next_after through every stored meter once, in id order', async () => {
        const first = await get(api, '/api/v1/meters?limit=7', PARTNER).expect(200);
        assert.equal((first.body.meters as MeterRecord[]).length, 7);
        assert.equal(first.body.next_after, (first.body.meters as MeterRecord[])[6]!.meter.meter_id);
        const paged = await allMeters(api, '', 7);
        assert.deepEqual(ids(paged), sorted(h.sim.simulator.meterIds()));
        const last = await get(api, `/api/v1/meters?limit=7&after=${ids(paged).at(-1)!}`, PARTNER).expect(200);
        assert.deepEqual(last.body, { meters: [], next_after: null });
        // A page that ends exactly on the last meter says so.
        const exact = await get(api, `/api/v1/meters?limit=1&after=${ids(paged).at(-2)!}`, PARTNER).expect(200);
        assert.equal(exact.body.next_after, null);
      });

      it('filters by partner_reference', async () => {
        const found = await allMeters(api, 'partner_reference=crm-site-77');
        assert.deepEqual(ids(found), sorted(reference));
        assert.ok(found.every((r) => r.meter.partner_reference === 'crm-site-77'));
        assert.deepEqual(await allMeters(api, 'partner_reference=nobody'), []);
      });

      it('filters by status', async () => {
        for (const status of ['ACTIVE', 'PENDING', 'INELIGIBLE'] as const) {
          const found = await allMeters(api, `status=${status}`);
          assert.ok(found.length > 0, status);
          assert.deepEqual(ids(found), sorted(h.sim.simulator.meterIds({ status })), status);
          assert.ok(found.every((r) => r.meter.enrollment?.status === status));
        }
      });

      it('filters by market_group_id', async () => {
        const [active] = h.sim.simulator.meterIds({ status: 'ACTIVE', includeArchived: false, limit: 1 });
        const group = h.sim.simulator.groupOn(active!)!;
        const found = await allMeters(api, `market_group_id=${group.id}`);
        assert.ok(ids(found).includes(active!));
        assert.ok(found.every((r) => r.meter.group_assignments.some((g) => g.market_group_id === group.id)));
        const everyone = await allMeters(api, '');
        const expected = everyone.filter((r) => r.meter.group_assignments.some((g) => g.market_group_id === group.id));
        assert.deepEqual(ids(found), ids(expected));
        assert.ok(found.length < everyone.length);
        assert.deepEqual(await allMeters(api, `market_group_id=${UNKNOWN_ID}`), []);
      });

      it('filters by partner_action_required', async () => {
        const yes = await allMeters(api, 'partner_action_required=true');
        const no = await allMeters(api, 'partner_action_required=false');
        assert.ok(ids(yes).includes(actionMeter));
        assert.ok(!ids(no).includes(actionMeter));
        assert.ok(yes.every((r) => r.meter.enrollment!.partner_action_required && r.meter.enrollment!.partner_actions.length > 0));
        assert.ok(no.every((r) => !r.meter.enrollment!.partner_action_required));
        assert.equal(yes.length + no.length, h.sim.simulator.meterCount());
        const both = await allMeters(api, 'partner_action_required=true&status=INELIGIBLE');
        assert.ok(ids(both).includes(actionMeter));
        assert.ok(both.every((r) => r.meter.enrollment!.status === 'INELIGIBLE'));
      });

      it('filters by archived and transmission_region', async () => {
        const [gone] = h.sim.simulator.meterIds({ includeArchived: false, limit: 12 }).slice(-1);
        h.sim.simulator.archive(gone!);
        await h.pass();
        const archived = await allMeters(api, 'archived=true');
        assert.ok(ids(archived).includes(gone!));
        assert.ok(archived.every((r) => r.meter.is_archived));
        const live = await allMeters(api, 'archived=false');
        assert.ok(!ids(live).includes(gone!) && live.every((r) => !r.meter.is_archived));
        assert.equal(archived.length + live.length, h.sim.simulator.meterCount());
        const region = String(h.sim.simulator.meter(gone!).details.transmission_region);
        const inRegion = await allMeters(api, `transmission_region=${region}`);
        assert.deepEqual(ids(inRegion), sorted(h.sim.simulator.meterIds({ region: region as RegionCode })));
        assert.ok(inRegion.every((r) => r.meter.transmission_region === region));
      });

      it('rejects bad query parameters with 400 naming each', async () => {
        const cases: [string, string[]][] = [
          ['status=active', ['/status']],
          ['partner_action_required=maybe', ['/partner_action_required']],
          ['trade_date=2026-02-30', ['/trade_date']],
          ['trade_date=tomorrow', ['/trade_date']],
          ['limit=0', ['/limit']],
          ['limit=501', ['/limit']],
          ['partner_reference=', ['/partner_reference']],
          ['sort=meter_id', ['/sort']],
        ];
        for (const [query, expected] of cases) {
          const res = await get(api, `/api/v1/meters?${query}`, PARTNER).expect(400);
          assert.equal(res.body.code, 'validation_failed', query);
          assert.deepEqual(paths(res.body), expected, query);
        }
      });

      it('GET /api/v1/meters/{id} is 404 for an unknown meter', async () => {
        const res = await get(api, `/api/v1/meters/${UNKNOWN_ID}`, PARTNER).expect(404);
        assert.equal(res.body.code, 'not_found');
        assert.match(res.body.message, new RegExp(UNKNOWN_ID));
      });

      it('GET /api/v1/meters/{id} shows the normalized meter, its partner actions, group assignments and bookkeeping', async () => {
        const res = await get(api, `/api/v1/meters/${actionMeter}`, PARTNER).expect(200);
        const r = res.body as MeterRecord;
        const leap = h.sim.simulator.meter(actionMeter);
        assert.equal(r.meter.meter_id, actionMeter);
        assert.equal(r.meter.source, 'v2');
        assert.equal(r.meter.partner_reference, leap.details.partner_reference ?? null);
        assert.equal(r.meter.transmission_region, leap.details.transmission_region);
        assert.equal(r.meter.enrollment!.status, 'INELIGIBLE');
        assert.equal(r.meter.enrollment!.partner_action_required, true);
        assert.ok(r.meter.enrollment!.partner_actions.some((a) => a.code === 'SERV_0005' && a.type === 'NO_MISSING_FIELDS'));
        assert.ok(Array.isArray(r.meter.group_assignments));
        assert.ok(!('raw' in r.meter), 'Leap raw JSON stays inside');
        assert.equal(r.complete, true);
        assert.equal(r.missing_since, null);
        const [{ seq }] = (await h.db.knex('meter_events').where({ meter_id: actionMeter }).max({ seq: 'sequence' })) as { seq: number | string }[];
        assert.equal(r.sequence, Number(seq));
        assert.ok(r.first_seen_at <= r.last_changed_at && r.last_changed_at <= r.last_seen_at);
        assert.match(r.last_seen_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

        const [active] = h.sim.simulator.meterIds({ status: 'ACTIVE', includeArchived: false, limit: 1 });
        const withGroup = (await get(api, `/api/v1/meters/${active!}`, PARTNER).expect(200)).body as MeterRecord;
        assert.ok(withGroup.meter.group_assignments.some((g) => g.market_group_id === h.sim.simulator.groupOn(active!)!.id));
        assert.ok(withGroup.meter.group_assignments.every((g) => g.key && g.market_group_id));

        // A pass that reads the meter again (it changed within the overlap window) without a change
        // moves last_seen_at only; a real change moves last_changed_at too.
        await new Promise((resolve) => setTimeout(resolve, 5));
        await h.pass();
        const seen = (await get(api, `/api/v1/meters/${actionMeter}`, PARTNER).expect(200)).body as MeterRecord;
        assert.ok(seen.last_seen_at > r.last_seen_at, `${seen.last_seen_at} > ${r.last_seen_at}`);
        assert.equal(seen.last_changed_at, r.last_changed_at);
        assert.equal(seen.sequence, r.sequence);
        h.sim.simulator.addUnknownField(actionMeter, 'probe_field', 1);
        await new Promise((resolve) => setTimeout(resolve, 5));
        await h.pass();
        const changed = (await get(api, `/api/v1/meters/${actionMeter}`, PARTNER).expect(200)).body as MeterRecord;
        assert.ok(changed.last_changed_at > r.last_changed_at);
        assert.equal(changed.sequence, r.sequence + 1);
        assert.equal(changed.meter.extra.probe_field, 1);
        assert.equal(changed.first_seen_at, r.first_seen_at);
      });
    });
  });

  describe(`partner meters by trade date (${engine}, Leap v1)`, function () {
    this.timeout(60_000);
    let h: SyncHarness;
    const contract = new ApiContract();
    let api: App;
    before(async () => {
      h = await syncHarness(engine, { apiVersion: 'v1', meters: 60, yaml: KEYS_YAML });
      api = contract.wrap(h.composed.app);
      await h.pass();
    });
    after(() => h.close());
    after(() => contract.verify());

    it('filters by trade_date, alone and with market_group_id', async () => {
      const [active] = h.sim.simulator.meterIds({ status: 'ACTIVE', includeArchived: false, limit: 1 });
      const record = (await get(api, `/api/v1/meters/${active!}`, PARTNER).expect(200)).body as MeterRecord;
      assert.equal(record.meter.source, 'v1');
      const dated = record.meter.group_assignments.filter((g) => g.trade_date !== null);
      assert.equal(dated.length, 3, 'today and the next two trade dates');
      const { trade_date: day, market_group_id: group } = dated[0]!;
      assert.equal(group, h.sim.simulator.groupOn(active!, day!)!.id);

      const onDay = await allMeters(api, `trade_date=${day!}`);
      assert.ok(ids(onDay).includes(active!));
      assert.ok(onDay.every((r) => r.meter.group_assignments.some((g) => g.trade_date === day)));
      const inGroup = await allMeters(api, `trade_date=${day!}&market_group_id=${group}`);
      assert.ok(ids(inGroup).includes(active!));
      assert.ok(inGroup.every((r) => r.meter.group_assignments.some((g) => g.trade_date === day && g.market_group_id === group)));
      assert.ok(inGroup.length <= onDay.length);
      assert.deepEqual(await allMeters(api, `trade_date=2099-01-01&market_group_id=${group}`), []);
      assert.deepEqual(await allMeters(api, 'trade_date=2001-01-01'), []);
    });

    it('a market group moving on Leap moves the trade-date filter after the next pass', async () => {
      const [id] = h.sim.simulator.meterIds({ status: 'ACTIVE', includeArchived: false, limit: 2 }).slice(-1);
      const current = h.sim.simulator.groupOn(id!)!;
      const other = h.sim.simulator.marketGroupsFor(id!).find((g) => g.id !== current.id)!;
      h.sim.simulator.setMarketGroup(id!, other.id);
      await h.pass();
      const record = (await get(api, `/api/v1/meters/${id!}`, PARTNER).expect(200)).body as MeterRecord;
      const days = record.meter.group_assignments.map((g) => g.trade_date!);
      assert.ok(record.meter.group_assignments.every((g) => g.market_group_id === other.id));
      for (const day of days) {
        assert.ok(ids(await allMeters(api, `trade_date=${day}&market_group_id=${other.id}`)).includes(id!));
        assert.ok(!ids(await allMeters(api, `trade_date=${day}&market_group_id=${current.id}`)).includes(id!));
      }
    });
  });
}
