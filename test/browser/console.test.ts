import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import request from 'supertest';
import { HOSTILE, plantHostileMeter } from '../helpers/console';
import { ADMIN_KEY, deliveryHarness, PARTNER_KEY, SECRET, until, type DeliveryHarness } from '../helpers/delivery-harness';
import { startMisbehavingReceiver, type MisbehavingReceiver } from '../helpers/misbehaving-receiver';

/**
 * The console in a real browser: Debian's chromium driven by playwright-core, against `serve`'s
 * app on a real port with the worker running. Each page is saved under test/artifacts/.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '../artifacts');

describe('support console in Chromium', function () {
  this.timeout(120_000);
  let receiver: MisbehavingReceiver;
  let h: DeliveryHarness;
  let server: http.Server;
  let base: string;
  let browser: Browser;
  let page: Page;
  let refuse: () => void;

  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `console-${name}.png`), fullPage: true });
  const badges = () => page.locator('.badge').allTextContents();

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    receiver = await startMisbehavingReceiver({ secrets: [SECRET] });
    h = await deliveryHarness('sqlite', {
      clock: 'system',
      meters: 12,
      destinations: {
        crm: { url: `${receiver.url}/crm`, events: ['*'], retry: { schedule: ['1s'], jitter: 0 }, dead_on: [422], pause_after_failures: 0 },
        'device-platform': { url: `${receiver.url}/devices`, events: ['meter.created', 'meter.enrollment.*'] },
      },
    });
    refuse = receiver.setRule({ path: '/crm', answer: { kind: 'status', status: 422, body: `{"error":"rejected","detail":${JSON.stringify(HOSTILE.attribute)}}` } });
    server = http.createServer(h.composed.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await h.sync();
    h.start();
    await until(async () => (await h.deliveries()).every((d) => d.status === 'delivered' || d.status === 'dead'), 'every first delivery settled', 30_000);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await h?.close();
    await receiver?.close();
  });

  it('signs in with an admin key in the password field and shows the overview', async () => {
    await page.goto(`${base}/console`);
    assert.equal(new URL(page.url()).pathname, '/console/login');
    assert.equal(await page.getAttribute('#key', 'type'), 'password');
    await shot('login');
    await page.fill('#key', PARTNER_KEY);
    await page.click('button[type=submit]');
    assert.match(await page.locator('.problem').innerText(), /lacks the admin scope/);
    await page.fill('#key', ADMIN_KEY);
    await page.click('button[type=submit]');
    assert.equal(new URL(page.url()).pathname, '/console');
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'lc_console')!;
    assert.ok(session.httpOnly && session.sameSite === 'Strict', 'HttpOnly, SameSite=Strict');
    assert.match(await page.locator('main').innerText(), /crm[\s\S]*device-platform/);
    await shot('overview');
  });

  it('finds a dead delivery, opens it, replays it once the receiver answers, and sees it delivered', async () => {
    await page.goto(`${base}/console/deliveries`);
    await page.selectOption('select[name=status]', 'dead');
    await page.selectOption('select[name=destination]', 'crm');
    await page.click('form.filters button[type=submit]');
    assert.equal(new URL(page.url()).searchParams.get('status'), 'dead');
    await shot('deliveries');
    const rows = page.locator('table tbody tr');
    assert.ok((await rows.count()) >= 3, 'several dead deliveries');
    await rows.first().locator('a').first().click();
    const id = new URL(page.url()).pathname.split('/').pop()!;
    assert.deepEqual((await badges()).slice(0, 1), ['dead']);
    assert.match(await page.locator('.attempt').first().innerText(), /Answered 422/);
    assert.ok((await page.locator('pre.answer').first().innerText()).includes('<img src=x onerror='), 'the answer shown as text');
    await shot('delivery');

    refuse();
    await page.click('text=Replay this delivery');
    assert.match(await page.locator('.notice').innerText(), /Queued again/);
    await until(async () => (await h.delivery(id)).status === 'delivered', 'the replay is delivered');
    await page.reload();
    assert.equal((await badges())[0], 'delivered');
    assert.equal(await page.locator('.attempt').count(), 2, 'the first attempt and the replay');
  });

  it('bulk-replays a filtered set: the count shown first is the count re-queued', async () => {
    const dead = (await h.deliveries('crm')).filter((d) => d.status === 'dead').length;
    assert.ok(dead >= 2);
    await page.goto(`${base}/console/deliveries?status=dead&destination=crm`);
    await page.click('text=Replay every delivery that matches');
    const shown = Number((await page.locator('form.confirm strong').innerText()).replace(/,/g, ''));
    assert.equal(shown, dead);
    await shot('replay-confirm');
    assert.equal((await h.deliveries('crm')).filter((d) => d.status === 'dead').length, dead, 'nothing re-sent before the confirmation');
    await page.click('form.confirm button[type=submit]');
    assert.match(new URL(page.url()).pathname, /^\/console\/replays\/[\w-]+$/);
    // The page refreshes itself while the job runs.
    await page.waitForFunction("document.querySelector('h1 .badge')?.textContent === 'succeeded'", null, { timeout: 30_000 });
    assert.equal(Number(await page.locator('#replayed').innerText()), shown);
    assert.equal(Number(await page.locator('#skipped').innerText()), 0);
    await shot('replay-job');
    await until(async () => (await h.deliveries('crm')).every((d) => d.status === 'delivered'), 'every replayed delivery delivered').catch(async (err) => {
      console.log((await h.deliveries('crm')).map((d) => `${d.meterId.slice(0, 6)} ${d.sequence} ${d.status} ${d.attempts} ${d.nextAttemptAt.toISOString()}`).join('\n'));
      throw err;
    });
  });

  it('pauses and resumes a destination, each after a confirmation', async () => {
    await page.goto(`${base}/console/destinations`);
    await shot('destinations');
    const row = page.locator('tr', { hasText: 'device-platform' });
    await row.locator('text=Pause…').click();
    assert.match(await page.locator('h1').innerText(), /Pause device-platform\?/);
    assert.equal((await h.state('device-platform')).paused, false);
    await page.click('button:has-text("Pause device-platform")');
    assert.match(await page.locator('.notice').innerText(), /device-platform paused/);
    assert.equal((await h.state('device-platform')).paused, true);
    assert.match(await page.locator('tr', { hasText: 'device-platform' }).innerText(), /paused/);
    await page.locator('tr', { hasText: 'device-platform' }).locator('text=Resume…').click();
    await page.click('button:has-text("Resume device-platform")');
    assert.equal((await h.state('device-platform')).paused, false);
    assert.match(await page.locator('tr', { hasText: 'device-platform' }).innerText(), /active/);
  });

  it('hostile text from Leap, the partner and a receiver runs nothing and adds no element', async () => {
    const [meterId] = h.sim.simulator.meterIds({ status: 'ACTIVE', limit: 1 });
    h.sim.simulator.setPartnerReference(meterId!, HOSTILE.script);
    await h.sync();
    await plantHostileMeter(h.db.knex, meterId!);
    await request(h.composed.app).put(`/api/v1/meters/${meterId}/readiness`).set('Authorization', `Bearer ${PARTNER_KEY}`).send({ status: 'not_ready', reason: HOSTILE.attribute }).expect(200);
    const delivery = (await h.deliveries('crm')).find((d) => d.attempts > 0)!;
    const pages = ['/console', `/console/meters?q=${encodeURIComponent('<script')}`, `/console/meters/${meterId}`, `/console/deliveries/${delivery.id}`, '/console/deliveries', '/console/readiness'];
    for (const p of pages) {
      await page.goto(`${base}${p}`);
      // Evaluated in the page (as text: these tests are type-checked without the DOM's types).
      const found = await page.evaluate(`({
        pwned: window.__pwned ?? null,
        scripts: document.scripts.length,
        images: document.images.length,
        handlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length,
        jsLinks: [...document.querySelectorAll('a')].filter((a) => a.href.startsWith('javascript:')).length,
      })`);
      assert.deepEqual(found, { pwned: null, scripts: 0, images: 0, handlers: 0, jsLinks: 0 }, p);
    }
    await page.goto(`${base}/console/meters/${meterId}`);
    const text = await page.locator('main').innerText();
    for (const t of [HOSTILE.script, HOSTILE.attribute, HOSTILE.url]) assert.ok(text.includes(t), `shown as text: ${t}`);
    await shot('meter');
    await page.goto(`${base}/console/readiness`);
    await shot('readiness');
  });

  it('fits a phone: no sideways scrolling of the page itself', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.context().addCookies(await page.context().cookies());
    for (const p of ['/console', '/console/deliveries', '/console/destinations']) {
      await phone.goto(`${base}${p}`);
      const width = await phone.evaluate<number>('document.documentElement.scrollWidth');
      assert.ok(width <= 391, `${p}: ${width}px wide`);
    }
    await phone.goto(`${base}/console`);
    await phone.screenshot({ path: path.join(ARTIFACTS, 'console-overview-phone.png'), fullPage: true });
    await phone.close();
  });
});
