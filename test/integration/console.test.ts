import assert from 'node:assert/strict';
import request from 'supertest';
import { testEngines } from '../helpers/db';
import { assertInert, hiddenValue, HOSTILE, plantHostileMeter, signedIn } from '../helpers/console';
import { ADMIN_KEY, deliveryHarness, PARTNER_KEY, SECRET, sharedTestDb, until, type DeliveryHarness } from '../helpers/delivery-harness';
import { startMisbehavingReceiver, type MisbehavingReceiver } from '../helpers/misbehaving-receiver';

const PAGES = ['/console', '/console/deliveries', '/console/deliveries?status=dead', '/console/replays', '/console/destinations', '/console/meters?q=a', '/console/readiness'];

for (const engine of testEngines()) {
  describe(`support console (${engine})`, function () {
    this.timeout(60_000);
    const testDb = sharedTestDb(engine);
    let receiver: MisbehavingReceiver;
    let h: DeliveryHarness;

    beforeEach(async () => {
      receiver = await startMisbehavingReceiver({ secrets: [SECRET], now: () => h?.clock?.now() ?? new Date() });
      h = await deliveryHarness(engine, {
        db: testDb(),
        meters: 6,
        destinations: {
          crm: { url: `${receiver.url}/crm`, events: ['*'], retry: { schedule: ['10s'], jitter: 0 }, dead_on: [422], pause_after_failures: 0 },
          other: { url: `${receiver.url}/other`, events: ['meter.created'] },
        },
      });
    });
    afterEach(async () => {
      await h?.close();
      await receiver?.close();
    });

    it('without a session every page is the sign-in page, and a POST changes nothing', async () => {
      for (const page of PAGES) {
        const res = await request(h.composed.app).get(page).expect(303);
        assert.equal(res.headers.location, `/console/login?next=${encodeURIComponent(page)}`);
      }
      await request(h.composed.app).get('/console').set('Cookie', 'lc_console=forged-session-id').expect(303);
      const res = await request(h.composed.app).post('/console/destinations/crm/pause').type('form').send({ _csrf: 'x' }).expect(401);
      assert.match(res.text, /sign in again/);
      assert.equal((await h.state('crm')).paused, false);
    });

    it('signs in with an admin key only; the cookie is HttpOnly, SameSite=Strict, expiring, and holds no key', async () => {
      const app = h.composed.app;
      const attempt = async (key: string, token?: string) => {
        const agent = request.agent(app);
        const login = await agent.get('/console/login').expect(200);
        return agent.post('/console/login').type('form').send({ _login: token ?? hiddenValue(login.text, '_login'), key });
      };
      const wrong = await attempt('not-a-key-at-all-0123456789');
      assert.equal(wrong.status, 401);
      assert.match(wrong.text, /That key is not valid/);
      const partner = await attempt(PARTNER_KEY);
      assert.equal(partner.status, 403);
      assert.match(partner.text, /lacks the admin scope/);
      assert.equal((await attempt(ADMIN_KEY, 'a-token-from-elsewhere')).status, 403, 'a sign-in posted from another page is refused');
      for (const r of [wrong, partner]) assert.ok(!String(r.headers['set-cookie'] ?? '').includes('lc_console='), 'no session for a refused key');

      const ok = await attempt(ADMIN_KEY);
      assert.equal(ok.status, 303);
      assert.equal(ok.headers.location, '/console');
      const cookie = ([] as string[]).concat(ok.headers['set-cookie'] ?? []).find((c) => c.startsWith('lc_console='))!;
      assert.ok(cookie, 'a session cookie');
      assert.match(cookie, /HttpOnly/);
      assert.match(cookie, /SameSite=Strict/);
      assert.match(cookie, /Path=\/console/);
      assert.match(cookie, /Max-Age=28800/);
      assert.doesNotMatch(cookie, /Secure/, 'plain http here');
      const id = /^lc_console=([^;]+)/.exec(cookie)![1]!;
      assert.ok(!cookie.includes(ADMIN_KEY));
      const rows = (await h.db.knex('console_sessions').select('*')) as Record<string, unknown>[];
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.key_name, 'support');
      assert.ok(!JSON.stringify(rows).includes(id) && !JSON.stringify(rows).includes(ADMIN_KEY), 'the table keeps a hash of the id, never the id or the key');
    });

    it('a session ends at console.session_ttl and at sign-out', async () => {
      const { agent, csrf } = await signedIn(h.composed.app, ADMIN_KEY);
      h.clock!.advance(8 * 3_600_000 - 1000);
      await agent.get('/console').expect(200);
      h.clock!.advance(2000);
      assert.equal((await agent.get('/console/deliveries').expect(303)).headers.location, '/console/login?next=%2Fconsole%2Fdeliveries');

      const again = await signedIn(h.composed.app, ADMIN_KEY);
      await again.agent.post('/console/logout').type('form').send({ _csrf: 'stale' }).expect(403);
      await again.agent.get('/console').expect(200);
      await again.agent.post('/console/logout').type('form').send({ _csrf: again.csrf }).expect(303);
      await again.agent.get('/console').expect(303);
      assert.notEqual(csrf, again.csrf, 'each session has its own token');
    });

    it('every page has the security headers and no script', async () => {
      await h.sync();
      const { agent } = await signedIn(h.composed.app, ADMIN_KEY);
      const meterId = h.sim.simulator.meterIds({ limit: 1 })[0]!;
      for (const page of [...PAGES, `/console/meters/${meterId}`, '/console/login', '/console/destinations/crm/pause', '/console/replays/new?status=dead']) {
        const res = await agent.get(page);
        assert.equal(res.status, 200, page);
        const csp = String(res.headers['content-security-policy']);
        assert.match(csp, /default-src 'none'/, page);
        assert.match(csp, /frame-ancestors 'none'/, page);
        assert.doesNotMatch(csp, /unsafe-inline|script-src/, `${page}: no script may run`);
        assert.equal(res.headers['x-content-type-options'], 'nosniff', page);
        assert.equal(res.headers['x-frame-options'], 'DENY', page);
        assert.equal(res.headers['cache-control'], 'no-store', page);
        assert.ok(!res.text.includes('<script'), page);
      }
      const css = await agent.get('/console/assets/console.css').expect(200);
      assert.match(String(css.headers['content-type']), /text\/css/);
    });

    it('a POST without the session token is refused and changes nothing; with it, pause and resume work', async () => {
      const { agent, csrf } = await signedIn(h.composed.app, ADMIN_KEY);
      const confirm = await agent.get('/console/destinations/crm/pause').expect(200);
      assert.match(confirm.text, /Pause crm\?/);
      assert.equal((await h.state('crm')).paused, false, 'the confirmation page changes nothing');
      await agent.post('/console/destinations/crm/pause').type('form').send({}).expect(403);
      await agent.post('/console/destinations/crm/pause').type('form').send({ _csrf: `${csrf}x` }).expect(403);
      await agent.post('/console/destinations/crm/pause').set('Content-Type', 'application/json').send(JSON.stringify({})).expect(403);
      assert.equal((await h.state('crm')).paused, false);

      const paused = await agent.post('/console/destinations/crm/pause').type('form').send({ _csrf: csrf }).expect(303);
      assert.equal(paused.headers.location, '/console/destinations?done=paused&name=crm');
      assert.equal((await h.state('crm')).paused, true);
      const list = await agent.get(paused.headers.location).expect(200);
      assert.match(list.text, /crm paused\./);
      assert.match(list.text, /Resume…/);
      await agent.post('/console/destinations/crm/resume').type('form').send({ _csrf: csrf }).expect(303);
      assert.equal((await h.state('crm')).paused, false);
      await agent.post('/console/destinations/nope/pause').type('form').send({ _csrf: csrf }).expect(404);
    });

    it('a dead delivery: listed, shown with its attempts and the answer, replayed; a bulk replay shows its count first and re-queues that many', async () => {
      const refuse = receiver.setRule({ path: '/crm', answer: { kind: 'status', status: 422, body: `rejected ${HOSTILE.script}` } });
      await h.sync();
      await h.settle();
      const dead = (await h.deliveries('crm')).filter((d) => d.status === 'dead');
      assert.ok(dead.length >= 2, 'the receiver refused every crm delivery');
      const { agent, csrf } = await signedIn(h.composed.app, ADMIN_KEY);

      const list = await agent.get('/console/deliveries?status=dead&destination=crm').expect(200);
      for (const d of dead) assert.ok(list.text.includes(`/console/deliveries/${d.id}`), `${d.id} listed`);
      assert.match(list.text, /Replay every delivery that matches/);
      assertInert(list.text, 'list');

      const one = dead[0]!;
      const page = await agent.get(`/console/deliveries/${one.id}`).expect(200);
      assert.match(page.text, /Answered <code>422<\/code>/);
      assert.ok(page.text.includes('rejected &lt;script&gt;window.__pwned=1&lt;/script&gt;'), 'the answer, escaped');
      assert.ok(page.text.includes('&quot;webhook_event_id&quot;') || page.text.includes('&quot;type&quot;'), 'the body as sent, pretty-printed');
      assertInert(page.text, 'delivery');

      refuse();
      await agent.post(`/console/deliveries/${one.id}/replay`).type('form').send({}).expect(403);
      assert.equal((await h.delivery(one.id)).status, 'dead');
      const replayed = await agent.post(`/console/deliveries/${one.id}/replay`).type('form').send({ _csrf: csrf }).expect(303);
      assert.equal(replayed.headers.location, `/console/deliveries/${one.id}?replayed=1`);
      await h.settle();
      assert.equal((await h.delivery(one.id)).status, 'delivered');
      assert.match((await agent.get(`/console/deliveries/${one.id}`).expect(200)).text, /delivered/);

      const since = new Date(h.clock!.now().getTime() - 3_600_000).toISOString().slice(0, 16);
      const count = await agent.get(`/console/replays/new?status=dead&destination=crm&since=${since}`).expect(200);
      const expected = Number(hiddenValue(count.text, 'expected'));
      assert.equal(expected, dead.length - 1);
      assert.match(count.text, new RegExp(`<strong>${expected}</strong> deliveries match`));
      assert.equal((await h.deliveries('crm')).filter((d) => d.status === 'dead').length, expected, 'counting re-sent nothing');
      const form = Object.fromEntries(['status', 'destination', 'meter_id', 'event_type', 'since', 'until', 'expected'].map((k) => [k, hiddenValue(count.text, k)]));
      const started = await agent.post('/console/replays').type('form').send({ ...form, _csrf: csrf }).expect(303);
      const jobPath = started.headers.location as string;
      assert.match(jobPath, /^\/console\/replays\/[\w-]+$/);
      const jobId = jobPath.split('/').pop()!;
      await until(async () => (await h.composed.replays.get(jobId))?.status === 'succeeded', 'the replay job runs in the background');
      await h.settle();
      const job = await agent.get(jobPath).expect(200);
      assert.match(job.text, new RegExp(`id="replayed">${expected}<`));
      assert.match(job.text, /succeeded/);
      assert.equal((await h.deliveries('crm')).filter((d) => d.status === 'dead').length, 0);
    });

    it('hostile text from Leap, the partner and a receiver is shown escaped on every page', async () => {
      await h.sync();
      const [meterId] = h.sim.simulator.meterIds({ status: 'ACTIVE', limit: 1 });
      assert.ok(meterId, 'an ACTIVE meter');
      h.sim.simulator.setPartnerReference(meterId!, HOSTILE.attribute);
      receiver.setRule({ path: '/crm', answer: { kind: 'status', status: 500, body: HOSTILE.attribute } });
      await h.sync();
      await h.settle();
      await plantHostileMeter(h.db.knex, meterId!);
      await request(h.composed.app)
        .put(`/api/v1/meters/${meterId}/readiness`)
        .set('Authorization', `Bearer ${PARTNER_KEY}`)
        .send({ status: 'not_ready', reason: HOSTILE.script })
        .expect(200);
      const { agent } = await signedIn(h.composed.app, ADMIN_KEY);
      const meter = await agent.get(`/console/meters/${meterId}`).expect(200);
      assert.ok(meter.text.includes('&quot;&gt;&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;'), 'the street, escaped');
      assert.ok(meter.text.includes('&lt;script&gt;window.__pwned=1&lt;/script&gt;'), 'the device and reasons, escaped');
      assert.ok(meter.text.includes(HOSTILE.url), 'the javascript: text is shown as text');
      const failing = (await h.deliveries('crm')).find((d) => d.meterId === meterId && d.attempts > 0)!;
      const pages = [
        ...PAGES,
        `/console/meters?q=${encodeURIComponent('<img')}`,
        `/console/meters?q=${encodeURIComponent(HOSTILE.attribute)}`,
        `/console/meters/${meterId}`,
        `/console/deliveries/${failing.id}`,
        `/console/deliveries?status=retrying`,
        `/console/deliveries?meter_id=${encodeURIComponent(HOSTILE.script)}`,
        `/console/nowhere/${encodeURIComponent(HOSTILE.script)}`,
      ];
      for (const p of pages) {
        const res = await agent.get(p);
        assert.ok([200, 404].includes(res.status), `${p}: ${res.status}`);
        assertInert(res.text, p);
      }
      const search = await agent.get(`/console/meters?q=${encodeURIComponent(HOSTILE.attribute)}`).expect(200);
      assert.ok(search.text.includes(`/console/meters/${meterId}`), 'the search finds the meter by its hostile reference');
    });

    it('a filter it cannot read says which field, and shows nothing', async () => {
      const { agent } = await signedIn(h.composed.app, ADMIN_KEY);
      const status = await agent.get('/console/deliveries?status=lost').expect(400);
      assert.match(status.text, /status must be one of pending, retrying, delivering, delivered, dead/);
      const since = await agent.get('/console/deliveries?since=yesterday').expect(400);
      assert.match(since.text, /since must be a date and time/);
      const type = await agent.get('/console/deliveries?event_type=meter.exploded').expect(400);
      assert.match(type.text, /event type &quot;meter.exploded&quot; is not one the connector emits/);
      const bulk = await agent.get('/console/replays/new?status=delivering').expect(400);
      assert.match(bulk.text, /a bulk replay takes dead, delivered or pending deliveries/);
      await agent.get('/console/deliveries/msg_nope').expect(404);
      await agent.get('/console/readiness/groups/none?trade_date=tomorrow').expect(400);
      const huge = await agent.post('/console/login').type('form').send({ key: 'x'.repeat(100_000) }).expect(413);
      assert.match(huge.text, /Request body is larger than the limit of 65536 bytes/);
    });
  });
}
