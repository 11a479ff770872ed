import assert from 'node:assert/strict';
import request from 'supertest';
import { Simulator, startSimulator, type RunningSimulator } from '../../src/simulator';

type Json = Record<string, unknown>;

const KEY = 'AbCdEfGh12345678:secret-part';
const AUTH = `Bearer ${KEY}`;
const START = new Date('2026-03-10T15:00:00Z');
const UNKNOWN = '5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d';

async function collect(sim: Simulator, path: string, body: Json, listKey = 'meters'): Promise<{ ids: string[]; pages: Json[] }> {
  const ids: string[] = [];
  const pages: Json[] = [];
  let token: string | undefined;
  do {
    const res = await request(sim.app).post(path).set('authorization', AUTH).send({ ...body, ...(token ? { page_token: token } : {}) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const page = res.body as Json;
    pages.push(page);
    ids.push(...(page[listKey] as Json[]).map((m) => String(m.meter_id)));
    token = typeof page.next_page_token === 'string' ? page.next_page_token : undefined;
  } while (token);
  return { ids, pages };
}

describe('simulator HTTP API', function () {
  this.timeout(30_000);

  describe('auth, single meters and errors', () => {
    const sim = new Simulator({ meters: 60, seed: 4, apiKey: KEY, start: START });
    const id = sim.meterIds()[7];

    it('401 without or with malformed auth, 403 with another key, in each service envelope', async () => {
      for (const header of [undefined, 'Basic abc', 'Bearer', 'Bearer  ', KEY]) {
        const r = request(sim.app).get(`/v2/meters/${id}`);
        const res = header === undefined ? await r : await r.set('authorization', header);
        assert.equal(res.status, 401, String(header));
        assert.deepEqual(res.body, { title: 'Unauthorized', status: 401, details: {} });
      }
      const forbidden = await request(sim.app).post('/v2/meters/search').set('authorization', 'Bearer other-key').send({});
      assert.equal(forbidden.status, 403);
      assert.deepEqual(forbidden.body, { title: 'You do not have the necessary permissions for this operation', status: 403, details: {} });
      const hooks = await request(sim.app).get('/v1.1/webhooks');
      assert.deepEqual([hooks.status, hooks.body], [401, { error: 'Unauthorized', message: 'Auth token is invalid' }]);
      const hooks403 = await request(sim.app).get('/v1.1/webhooks').set('authorization', 'Bearer nope');
      assert.deepEqual([hooks403.status, hooks403.body], [403, { error: 'Forbidden', message: 'You do not have permission to perform this action' }]);
      const v1 = await request(sim.app).get(`/v1.1/account/${sim.accountId}/meters/${id}`).set('authorization', 'Bearer nope');
      assert.equal(v1.status, 403);
    });

    it('GET details and enrollments: 200, 400 for a non-uuid, 404 for an unknown meter', async () => {
      const details = await request(sim.app).get(`/v2/meters/${id}`).set('authorization', AUTH);
      assert.equal(details.status, 200);
      assert.deepEqual(details.body, sim.meter(id).details);
      assert.match(String(details.headers['content-type']), /^application\/json/);
      const enrollment = await request(sim.app).get(`/v2/meters/${id.toUpperCase()}/enrollments`).set('authorization', AUTH);
      assert.deepEqual(enrollment.body, sim.meter(id).enrollment);
      const bad = await request(sim.app).get('/v2/meters/abcdef/enrollments').set('authorization', AUTH);
      assert.deepEqual([bad.status, bad.body], [400, { title: 'Meter id is not a UUID', status: 400, details: { meter_id: 'abcdef' } }]);
      const missing = await request(sim.app).get(`/v2/meters/${UNKNOWN}`).set('authorization', AUTH);
      assert.deepEqual([missing.status, missing.body], [404, { title: 'Meter not found', status: 404, details: { meter_id: UNKNOWN } }]);
      const route = await request(sim.app).get('/v2/nothing/here').set('authorization', AUTH);
      assert.equal(route.status, 404);
    });

    it('400 for invalid bodies and malformed JSON, with the field named', async () => {
      const res = await request(sim.app).post('/v2/meters/search').set('authorization', AUTH).send({ page_size: 0, global_enrollment_statuses: ['DONE'] });
      assert.equal(res.status, 400);
      assert.equal(res.body.title, 'Invalid request body');
      assert.deepEqual(Object.keys(res.body.details as Json).sort(), ['global_enrollment_statuses[0]', 'page_size']);
      const untyped = await request(sim.app).post('/v2/meters/search').set('authorization', AUTH).set('content-type', 'application/x-www-form-urlencoded').send('{"page_size": 3}');
      assert.equal((untyped.body.meters as Json[]).length, 3, 'a JSON body is read whatever its content type');
      const malformed = await request(sim.app).post('/v2/meters/enrollments/search').set('authorization', AUTH).set('content-type', 'application/json').send('{"page_size": ');
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.title, 'Malformed JSON body');
    });

    it('v1: Get Meter, Search Meters with an empty body, other accounts forbidden', async () => {
      const one = await request(sim.app).get(`/v1.1/account/${sim.accountId}/meters/${id}`).set('authorization', AUTH);
      assert.deepEqual(one.body, sim.meter(id).v1);
      const all = await request(sim.app).post(`/v1.1/account/${sim.accountId}/meters/search`).set('authorization', AUTH);
      assert.equal(all.status, 200);
      assert.equal((all.body.results as Json[]).length, 60);
      assert.equal(all.body.next_page_token, null);
      const other = await request(sim.app).post(`/v1.1/account/${UNKNOWN}/meters/search`).set('authorization', AUTH).send({});
      assert.deepEqual([other.status, other.body.title], [403, 'You do not have the necessary permissions for this operation']);
      const missing = await request(sim.app).get(`/v1.1/account/${sim.accountId}/meters/${UNKNOWN}`).set('authorization', AUTH);
      assert.equal(missing.status, 404);
      const bad = await request(sim.app).post(`/v1.1/account/${sim.accountId}/meters/search`).set('authorization', AUTH).send({ date_last_modified: 'last week' });
      assert.equal(bad.status, 400);
    });
  });

  describe('searching and paging', () => {
    const sim = new Simulator({ meters: 300, seed: 21, apiKey: KEY, start: START, pageTokenTtlSeconds: 3600 });

    it('pages through every meter once, in creation order, with no token on the last page', async () => {
      for (const path of ['/v2/meters/search', '/v2/meters/enrollments/search']) {
        const { ids, pages } = await collect(sim, path, { page_size: 37 });
        assert.deepEqual(ids, sim.meterIds());
        assert.equal(pages.length, Math.ceil(300 / 37));
        assert.ok(!('next_page_token' in pages[pages.length - 1]));
      }
      const whole = await request(sim.app).post('/v2/meters/search').set('authorization', AUTH).send({});
      assert.equal((whole.body.meters as Json[]).length, 300);
      assert.ok(!('next_page_token' in whole.body), 'default page size 500 fits all');
      const exact = await collect(sim, '/v2/meters/search', { page_size: 100 });
      assert.equal(exact.pages.length, 3, 'no empty trailing page when the count divides evenly');
    });

    it('a token alone continues with its filters; a token with other filters is refused', async () => {
      const filters = { global_enrollment_statuses: ['ACTIVE'], exclude_archived: true };
      const first = await request(sim.app).post('/v2/meters/search').set('authorization', AUTH).send({ ...filters, page_size: 20 });
      const token = String(first.body.next_page_token);
      const withFilters = await request(sim.app).post('/v2/meters/search').set('authorization', AUTH).send({ ...filters, page_size: 20, page_token: token });
      const alone = await request(sim.app).post('/v2/meters/search').set('authorization', AUTH).send({ page_token: token, page_size: 20 });
      assert.deepEqual(alone.body.meters, withFilters.body.meters);
      assert.equal(typeof alone.body.next_page_token, 'string');
      assert.ok((alone.body.meters as Json[]).length === 20);
      const other = await request(sim.app).post('/v2/meters/search').set('authorization', AUTH).send({ global_enrollment_statuses: ['PENDING'], page_token: token });
      assert.equal(other.status, 400);
      assert.equal(other.body.title, 'Page token does not match the search filters');
      assert.equal((other.body.details as Json).page_token, token);
      const elsewhere = await request(sim.app).post('/v2/meters/enrollments/search').set('authorization', AUTH).send({ page_token: token });
      assert.equal(elsewhere.status, 400);
      const tampered = await request(sim.app).post('/v2/meters/search').set('authorization', AUTH).send({ page_token: `${token.slice(0, -2)}xx` });
      assert.deepEqual([tampered.status, tampered.body.title], [400, 'Invalid page token']);
    });

    it('tokens expire after pageTokenTtlSeconds', async () => {
      const short = new Simulator({ meters: 30, seed: 1, apiKey: KEY, start: START, pageTokenTtlSeconds: 0.001 });
      const first = await request(short.app).post('/v2/meters/search').set('authorization', AUTH).send({ page_size: 10 });
      await new Promise((r) => setTimeout(r, 20));
      const next = await request(short.app).post('/v2/meters/search').set('authorization', AUTH).send({ page_size: 10, page_token: first.body.next_page_token });
      assert.equal(next.status, 400);
      assert.equal(next.body.title, 'Page token expired');
      assert.equal((next.body.details as Json).page_token, first.body.next_page_token);
    });

    it('meters created while paging show up on later pages', async () => {
      const first = await request(sim.app).post('/v2/meters/enrollments/search').set('authorization', AUTH).send({ page_size: 250 });
      const added = sim.authorize({ count: 2 });
      const next = await request(sim.app).post('/v2/meters/enrollments/search').set('authorization', AUTH).send({ page_size: 250, page_token: first.body.next_page_token });
      const ids = (next.body.meters as Json[]).map((m) => m.meter_id);
      assert.deepEqual(ids.slice(-2), added);
      assert.equal((first.body.meters as Json[]).length + ids.length, sim.meterCount());
    });

    it('a delta search from the previous clock returns exactly the meters changed since', async () => {
      // Earlier tests' helpers stamped meters at the current clock; start from a clean instant.
      sim.advance(0.01);
      const before = sim.now().toISOString();
      const summary = sim.advance(6);
      const delta = await collect(sim, '/v2/meters/enrollments/search', { last_modified_date_time: before, page_size: 50 });
      assert.equal(delta.ids.length, summary.metersChanged);
      const after = await collect(sim, '/v2/meters/search', { last_modified_date_time: summary.to, page_size: 50 });
      assert.deepEqual(after.ids, []);
      const v1 = await collect(sim, `/v1.1/account/${sim.accountId}/meters/search`, { date_last_modified: before, page_size: 7 }, 'results');
      assert.deepEqual(v1.ids, delta.ids);
      assert.equal(v1.pages[v1.pages.length - 1].next_page_token, null);
    });

    it('v1 date_added_from and date_added_to bound creation time inclusively', async () => {
      const ids = sim.meterIds();
      const from = String(sim.meter(ids[10]).v1.date_added);
      const to = String(sim.meter(ids[19]).v1.date_added);
      const res = await collect(sim, `/v1.1/account/${sim.accountId}/meters/search`, { date_added_from: from, date_added_to: to }, 'results');
      assert.deepEqual(res.ids, ids.slice(10, 20));
    });
  });

  describe('faults and rate limits', () => {
    let running: RunningSimulator;
    const post = (path: string, body: unknown, auth = AUTH): Promise<Response> =>
      fetch(`${running.url}${path}`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const setFaults = async (config: unknown): Promise<Response> => post('/_sim/faults', config);

    before(async () => {
      running = await startSimulator({ meters: 120, seed: 12, apiKey: KEY, start: START });
    });
    afterEach(async () => {
      await fetch(`${running.url}/_sim/faults`, { method: 'DELETE' });
    });
    after(() => running.close());

    it('429 with Retry-After in seconds, as an HTTP date, or without it', async () => {
      await setFaults({ rateLimited: 1, retryAfterSeconds: 2 });
      let res = await post('/v2/meters/search', {});
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('retry-after'), '2');
      assert.deepEqual(await res.json(), { title: 'Too Many Requests', status: 429, details: {} });
      await setFaults({ rateLimitedHttpDate: 1, retryAfterSeconds: 30 });
      res = await post('/v2/meters/search', {});
      assert.equal(res.status, 429);
      const date = Date.parse(String(res.headers.get('retry-after')));
      assert.ok(Number.isFinite(date) && date > Date.now() + 10_000, String(res.headers.get('retry-after')));
      await setFaults({ rateLimitedNoRetryAfter: 1 });
      res = await fetch(`${running.url}/v1.1/webhooks`, { headers: { authorization: AUTH } });
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('retry-after'), null);
      assert.deepEqual(await res.json(), { error: 'Too Many Requests', message: 'Rate limit exceeded' });
    });

    it('500 is the bare JSON string', async () => {
      await setFaults({ serverError: 1 });
      const res = await post('/v2/meters/enrollments/search', {});
      assert.equal(res.status, 500);
      assert.equal(await res.text(), '"An error happened whilst processing your request"');
    });

    it('malformed and truncated bodies arrive with 200', async () => {
      const good = await (await post('/v2/meters/search', { page_size: 40 })).text();
      await setFaults({ malformedJson: 1 });
      let res = await post('/v2/meters/search', { page_size: 40 });
      assert.equal(res.status, 200);
      const malformed = await res.text();
      assert.throws(() => JSON.parse(malformed) as unknown, SyntaxError);
      await setFaults({ truncatedJson: 1 });
      res = await post('/v2/meters/search', { page_size: 40 });
      assert.equal(res.status, 200);
      const truncated = await res.text();
      assert.ok(truncated.length < good.length && good.startsWith(truncated));
      assert.throws(() => JSON.parse(truncated) as unknown, SyntaxError);
    });

    it('expired-token faults only hit requests with a page token; paths scope faults; /_sim is never faulted', async () => {
      const first = (await (await post('/v2/meters/search', { page_size: 30 })).json()) as Json;
      await setFaults({ expiredPageToken: 1, serverError: 0 });
      assert.equal((await post('/v2/meters/search', { page_size: 30 })).status, 200);
      const next = await post('/v2/meters/search', { page_size: 30, page_token: first.next_page_token });
      assert.equal(next.status, 400);
      assert.equal(((await next.json()) as Json).title, 'Page token expired');

      await setFaults({ serverError: 1, paths: ['/v2/meters/enrollments'] });
      assert.equal((await post('/v2/meters/search', {})).status, 200);
      assert.equal((await post('/v2/meters/enrollments/search', {})).status, 500);
      assert.equal((await fetch(`${running.url}/_sim/state`)).status, 200);
      const config = (await (await fetch(`${running.url}/_sim/faults`)).json()) as Json;
      assert.deepEqual(config, { serverError: 1, paths: ['/v2/meters/enrollments'], rateLimit: null });
      const cleared = await fetch(`${running.url}/_sim/faults`, { method: 'DELETE' });
      assert.deepEqual(await cleared.json(), { rateLimit: null });
      assert.equal((await post('/v2/meters/enrollments/search', {})).status, 200);
    });

    it('rejects an invalid fault body', async () => {
      const res = await setFaults({ serverError: 3, bogus: true });
      assert.equal(res.status, 400);
      const body = (await res.json()) as Json;
      assert.deepEqual(Object.keys(body.details as Json).sort(), ['bogus', 'serverError']);
    });

    it('latency and the rate limit are counted in /_sim/state', async () => {
      await setFaults({ latency: 1, latencyMs: 1, rateLimit: 2 });
      const statuses: number[] = [];
      const retryAfter: (string | null)[] = [];
      for (let k = 0; k < 10; k++) {
        const res = await post('/v2/meters/search', { page_size: 1 });
        statuses.push(res.status);
        if (res.status === 429) retryAfter.push(res.headers.get('retry-after'));
        await res.arrayBuffer();
      }
      assert.ok(statuses.includes(429) && statuses.includes(200), statuses.join());
      assert.ok(retryAfter.every((v) => Number(v) >= 1));
      const state = (await (await fetch(`${running.url}/_sim/state`)).json()) as Json;
      const injected = (state.faults as Json).injected as Json;
      assert.equal(injected.rateLimit, statuses.filter((s) => s === 429).length);
      // Requests the limiter turns away never reach fault injection.
      assert.equal(injected.latency, statuses.filter((s) => s === 200).length);
      const byRoute = ((state.requests as Json).byRoute as Json)['POST /v2/meters/search'] as Json;
      assert.ok(Number(byRoute['429']) >= retryAfter.length);
    });

    it('the rateLimit option limits from the start', async () => {
      const limited = await startSimulator({ meters: 5, seed: 1, apiKey: KEY, rateLimit: 1 });
      try {
        const statuses: number[] = [];
        for (let k = 0; k < 6; k++) statuses.push((await fetch(`${limited.url}/v1.1/webhooks`, { headers: { authorization: AUTH } })).status);
        assert.ok(statuses.filter((s) => s === 429).length >= 2, statuses.join());
      } finally {
        await limited.close();
      }
    });
  });

  describe('/_sim control endpoints', () => {
    const sim = new Simulator({ meters: 80, seed: 6, apiKey: KEY, start: START });

    it('advance validates hours and reports a summary; state counts requests by route and status', async () => {
      for (const hours of [0, -2, 'six', 9999]) {
        const res = await request(sim.app).post('/_sim/advance').send({ hours });
        assert.equal(res.status, 400, String(hours));
      }
      assert.equal((await request(sim.app).post('/_sim/advance').send({})).status, 400);
      const res = await request(sim.app).post('/_sim/advance').send({ hours: 1.5 });
      assert.equal(res.status, 200);
      assert.equal(res.body.from, '2026-03-10T15:00:00.000Z');
      assert.equal(res.body.to, '2026-03-10T16:30:00.000Z');
      assert.equal(sim.now().toISOString(), '2026-03-10T16:30:00.000Z');
      const id = sim.meterIds()[0];
      for (let k = 0; k < 3; k++) await request(sim.app).get(`/v2/meters/${id}`).set('authorization', AUTH);
      await request(sim.app).get(`/v2/meters/${UNKNOWN}`).set('authorization', AUTH);
      const state = (await request(sim.app).get('/_sim/state')).body as Json;
      assert.deepEqual(((state.requests as Json).byRoute as Json)['GET /v2/meters/{meter_id}'], { '200': 3, '404': 1 });
      assert.equal(state.now, '2026-03-10T16:30:00.000Z');
      const meters = state.meters as Json;
      assert.equal(meters.total, sim.meterCount());
      assert.equal(Object.values(meters.byStatus as Json).reduce((a: number, b) => a + Number(b), 0), sim.meterCount());
      assert.equal((state.advances as Json).count, 1);
    });

    it('scenario endpoints drive the same helpers over HTTP', async () => {
      const created = await request(sim.app).post('/_sim/authorizations').send({ count: 2, partnerReference: 'http-site-1' });
      assert.equal(created.status, 200);
      const [id] = created.body.meter_ids as string[];
      assert.equal(sim.meter(id).details.partner_reference, 'http-site-1');
      const activated = await request(sim.app).post(`/_sim/meters/${id}/status`).send({ status: 'ACTIVE' });
      assert.equal(activated.status, 200);
      assert.equal((activated.body.enrollment as Json).global_enrollment_status, 'ACTIVE');
      const idle = await request(sim.app).post(`/_sim/meters/${id}/participation`).send({ preference: 'IDLE', end: '2026-04-01T00:00:00Z' });
      assert.equal((idle.body.v1 as Json).enrollment && ((idle.body.v1 as Json).enrollment as Json).partner_preferred_action, 'Idle');
      assert.equal((await request(sim.app).post(`/_sim/meters/${id}/participation`).send({ preference: 'SLEEP' })).status, 400);
      assert.equal((await request(sim.app).post(`/_sim/meters/${id}/explode`).send({})).status, 404);
      assert.equal((await request(sim.app).post(`/_sim/meters/${UNKNOWN}/archive`).send({})).status, 404);
      const listed = await request(sim.app).get('/_sim/meters?status=ACTIVE&limit=5');
      assert.equal((listed.body.meter_ids as string[]).length, 5);
      const events = await request(sim.app).get('/_sim/events?limit=3');
      assert.equal((events.body.events as Json[]).length, 3);
    });
  });
});
