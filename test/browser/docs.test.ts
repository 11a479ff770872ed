import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { compose, type Composed } from '../../src/compose/compose';
import { apiDescription } from '../../src/http/openapi';
import { silentLogger } from '../../src/logger';
import { testConfig } from '../helpers/config';
import { createTestDb, type TestDb } from '../helpers/db';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '../artifacts');

/** /docs in a real browser: Swagger UI renders the description under the page's own policy, with nothing refused. */
describe('API docs in Chromium', function () {
  this.timeout(60_000);
  let db: TestDb;
  let c: Composed;
  let server: http.Server;
  let browser: Browser;

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    db = await createTestDb('sqlite');
    c = compose(testConfig(''), { db: db.knex, logger: silentLogger });
    server = http.createServer(c.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await c?.close();
    await db?.destroy();
  });

  it('shows every operation and every webhook, with no script or style refused and no error', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/docs`);
    const doc = apiDescription({ leapEventsHeader: 'x-leap-webhook-secret' });
    const operations = Object.values(doc.paths).reduce((n, methods) => n + Object.keys(methods).length, 0) + Object.keys(doc.webhooks as object).length;
    await page.waitForFunction(`document.querySelectorAll('.opblock').length === ${operations}`, null, { timeout: 20_000 });
    await page.locator('.opblock-summary', { hasText: '/api/v1/meters/{meter_id}/readiness' }).first().click();
    await page.locator('.opblock-body').first().waitFor();
    assert.ok(await page.getByText('readiness_not_required', { exact: false }).count(), 'the 409 answer is shown');
    await page.screenshot({ path: path.join(ARTIFACTS, 'docs.png'), fullPage: false });
    assert.deepEqual(problems, []);
    await page.close();
  });
});
