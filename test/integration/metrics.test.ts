import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Express } from 'express';
import request from 'supertest';
import { LEAP_ENDPOINTS } from '../../src/clients/leap-client';
import { compose, type Composed } from '../../src/compose/compose';
import { silentLogger } from '../../src/logger';
import { startReceiver, type RunningReceiver } from '../../src/receiver/receiver';
import { testConfig } from '../helpers/config';
import { createTestDb, testEngines, type TestDb } from '../helpers/db';
import { deliveryHarness, SECRET, type DeliveryHarness } from '../helpers/delivery-harness';
import { parsePrometheusText, type PromFamily, type PromSample } from '../helpers/prometheus';

const ROOT = path.resolve(__dirname, '../..');
const ALERTS = 'config/examples/prometheus/alerts.yml';
const ADMIN_KEY = 'metrics-admin-key-0123456789';
const PARTNER_KEY = 'metrics-partner-key-0123456789';
const KEYS = `api:\n  keys:\n    - { name: ops, key: ${ADMIN_KEY}, scopes: [admin] }\n    - { name: crm, key: ${PARTNER_KEY}, scopes: [partner] }\n`;
const NO_DESTINATIONS = { all: () => [], get: () => undefined };
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** The metrics the README's Metrics table lists, in its order. */
function readmeMetrics(): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = /\n## Metrics\n([\s\S]*?)\n## /.exec(readme)?.[1];
  assert.ok(section, 'README has a Metrics section');
  return [...section.matchAll(/^\| `(leap_connector_[a-z_]+)` \|/gm)].map((m) => m[1]!);
}

async function scrape(app: Express, key?: string): Promise<{ text: string; families: Map<string, PromFamily> }> {
  const req = request(app).get('/metrics');
  const res = await (key ? req.set('Authorization', `Bearer ${key}`) : req).expect(200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return { text: res.text, families: parsePrometheusText(res.text) };
}

/** A family's series: their values, or a histogram's counts. */
function series(families: Map<string, PromFamily>, name: string): PromSample[] {
  const f = families.get(name);
  if (!f) return [];
  return f.type === 'histogram' ? f.samples.filter((s) => s.name === `${name}_count`) : f.samples;
}

/** The value of one series (labels matched exactly), or undefined when it is not there. */
function value(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const key = JSON.stringify(Object.entries(labels).sort());
  return series(families, name).find((s) => JSON.stringify(Object.entries(s.labels).sort()) === key)?.value;
}

const sum = (families: Map<string, PromFamily>, name: string, where: (l: Record<string, string>) => boolean = () => true): number =>
  series(families, name)
    .filter((s) => where(s.labels))
    .reduce((n, s) => n + s.value, 0);

describe('metrics', function () {
  this.timeout(30_000);
  let db: TestDb;
  const composed: Composed[] = [];
  const connector = (yaml = ''): Composed => {
    const c = compose(testConfig(KEYS + yaml), { db: db.knex, logger: silentLogger, destinations: NO_DESTINATIONS });
    composed.push(c);
    return c;
  };
  before(async () => {
    db = await createTestDb('sqlite');
  });
  after(async () => {
    for (const c of composed) await c.close();
    await db?.destroy();
  });

  it('lists in the README exactly the metrics it registers', () => {
    const listed = readmeMetrics();
    assert.ok(listed.length >= 16, `${listed.length} metrics in the README`);
    assert.equal(new Set(listed).size, listed.length, 'each metric listed once');
    assert.deepEqual([...listed].sort(), connector().metrics.names());
  });

  it('serves the Prometheus text format: strict parse, the process metrics, lint clean for its own metrics', async () => {
    const { text, families } = await scrape(connector().app);
    for (const name of readmeMetrics()) assert.ok(families.has(name), `${name} is in the scrape`);
    assert.equal(families.get('leap_connector_leap_request_duration_seconds')?.type, 'histogram');
    assert.equal(families.get('leap_connector_deliveries_total')?.type, 'counter');
    assert.equal(families.get('leap_connector_delivery_queue_depth')?.type, 'gauge');
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) assert.ok(families.has(name), name);
    for (const f of families.values()) assert.ok(f.help.length > 0, `${f.name} has help`);
    // Prometheus' own parser and linter: it refuses what it cannot parse, and names what breaks its conventions.
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(lint.error, undefined, 'promtool runs (Debian package prometheus)');
    const problems = `${lint.stdout}${lint.stderr}`.split('\n').filter(Boolean);
    assert.ok(!problems.some((p) => /error while linting|parse/i.test(p)), problems.join('\n'));
    // prom-client's standard nodejs_*_total gauges are the only names promtool would have otherwise.
    assert.deepEqual(
      problems.filter((p) => !/^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(p)),
      [],
    );
  });

  it('asks for an admin key when metrics.require_key is set, and is gone when metrics are off', async () => {
    const guarded = connector('metrics: { require_key: true }\n').app;
    await request(guarded).get('/metrics').expect(401);
    await request(guarded).get('/metrics').set('Authorization', `Bearer ${PARTNER_KEY}`).expect(403);
    await scrape(guarded, ADMIN_KEY);
    await request(connector().app).get('/metrics').expect(200);
    await request(connector('metrics: { enabled: false }\n').app).get('/metrics').expect(404);
  });

  it('keeps each composed connector apart: a registry of its own', async () => {
    const a = connector();
    const b = connector();
    a.metrics.syncRun('full', 'failed');
    assert.equal(value((await scrape(a.app)).families, 'leap_connector_sync_runs_total', { kind: 'full', outcome: 'failed' }), 1);
    assert.equal(value((await scrape(b.app)).families, 'leap_connector_sync_runs_total', { kind: 'full', outcome: 'failed' }), undefined);
  });

  it('ships alert rules that promtool accepts, on metrics the connector has', () => {
    const r = spawnSync('promtool', ['check', 'rules', ALERTS], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.error, undefined, 'promtool runs (Debian package prometheus)');
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /SUCCESS: 4 rules found/);
    const used = new Set(readFileSync(path.join(ROOT, ALERTS), 'utf8').match(/leap_connector_[a-z_]+/g));
    const known = new Set(readmeMetrics());
    for (const name of used) assert.ok(known.has(name), `${name} (in the alert rules) is a metric the connector has`);
    for (const name of ['leap_connector_sync_last_success_timestamp_seconds', 'leap_connector_delivery_oldest_pending_seconds', 'leap_connector_destination_state', 'leap_connector_readiness_meters']) assert.ok(used.has(name), name);
  });
});

for (const engine of testEngines()) {
  describe(`metrics move with the connector's work (${engine})`, function () {
    this.timeout(60_000);
    let receiver: RunningReceiver;
    let h: DeliveryHarness;
    before(async () => {
      receiver = await startReceiver({ secrets: [SECRET] });
      h = await deliveryHarness(engine, { meters: 8, destinations: { crm: { url: `${receiver.url}/crm` } } });
    });
    after(async () => {
      await h?.close();
      await receiver?.close();
    });

    it('a sync and its deliveries: counters, histograms and the gauges read at scrape time', async () => {
      const before = (await scrape(h.composed.app)).families;
      assert.equal(sum(before, 'leap_connector_sync_runs_total'), 0);
      assert.equal(value(before, 'leap_connector_delivery_queue_depth', { destination: 'crm' }), 0);
      assert.equal(value(before, 'leap_connector_destination_state', { destination: 'crm', state: 'active' }), 1);

      const events = await h.sync();
      assert.ok(events.length > 8, `${events.length} events`);
      h.clock!.advance(90_000);
      const queued = (await scrape(h.composed.app)).families;
      const deliveries = await h.deliveries('crm');
      assert.equal(value(queued, 'leap_connector_sync_runs_total', { kind: 'incremental', outcome: 'succeeded' }), 1);
      // Every event committed, the run's own and the readiness moves it caused.
      const stored = await h.composed.stores.events.list({}, 100_000);
      assert.ok(stored.length >= events.length);
      assert.equal(sum(queued, 'leap_connector_meter_events_total'), stored.length);
      for (const type of new Set(stored.map((e) => e.type))) {
        assert.equal(value(queued, 'leap_connector_meter_events_total', { type }), stored.filter((e) => e.type === type).length, type);
      }
      const run = (await h.composed.stores.runs.lastSucceeded('incremental'))!;
      assert.equal(value(queued, 'leap_connector_sync_last_success_timestamp_seconds', { kind: 'incremental' }), run.finishedAt!.getTime() / 1000);
      assert.equal(value(queued, 'leap_connector_sync_last_success_timestamp_seconds', { kind: 'full' }), undefined, 'no full pass yet');
      assert.ok(sum(queued, 'leap_connector_sync_cursor_lag_seconds') > 0);
      assert.equal(sum(queued, 'leap_connector_meters'), 8);
      assert.equal(sum(queued, 'leap_connector_meters', (l) => l.status === 'ACTIVE'), (await h.composed.stores.meters.list({ status: 'ACTIVE' }, { limit: 100 })).length);
      const readiness = await h.composed.stores.readiness.counts();
      for (const [state, n] of Object.entries(readiness)) assert.equal(value(queued, 'leap_connector_readiness_meters', { state }), n, state);
      // Leap's calls: searches by their route template, all answered 2xx, each timed.
      const leapCalls = sum(queued, 'leap_connector_leap_requests_total');
      assert.ok(value(queued, 'leap_connector_leap_requests_total', { endpoint: 'v2.meters.search', status: '2xx' })! >= 1);
      assert.equal(sum(queued, 'leap_connector_leap_request_duration_seconds'), leapCalls, 'one duration per request');
      assert.equal(leapCalls, h.composed.leap.stats().requests);
      // Queued and not sent yet: the depth, and how long the oldest has waited on the clock.
      assert.equal(value(queued, 'leap_connector_delivery_queue_depth', { destination: 'crm' }), deliveries.length);
      assert.equal(value(queued, 'leap_connector_delivery_oldest_pending_seconds', { destination: 'crm' }), 90);
      assert.equal(sum(queued, 'leap_connector_deliveries_total'), 0);

      await h.settle();
      const after = (await scrape(h.composed.app)).families;
      assert.equal(value(after, 'leap_connector_deliveries_total', { destination: 'crm', outcome: 'delivered' }), deliveries.length);
      assert.equal(receiver.receiver.received().filter((d) => d.valid && !d.duplicate).length, deliveries.length);
      assert.equal(value(after, 'leap_connector_delivery_attempt_duration_seconds', { destination: 'crm' }), deliveries.length, 'one duration per attempt');
      assert.equal(value(after, 'leap_connector_delivery_queue_depth', { destination: 'crm' }), 0);
      assert.equal(value(after, 'leap_connector_delivery_oldest_pending_seconds', { destination: 'crm' }), 0);
      assert.equal(value(after, 'leap_connector_scrape_query_failures_total'), 0);
    });

    it("counts Leap's 429s as the simulator sends them", async () => {
      const sim = h.sim.simulator;
      const injected = () => sim.state().faults.injected.rateLimitedNoRetryAfter;
      const before = (await scrape(h.composed.app)).families;
      const sentBefore = injected();
      sim.setFaults({ rateLimitedNoRetryAfter: 1 });
      try {
        await assert.rejects(h.composed.leap.getDetails(sim.meterIds({ limit: 1 })[0]!));
      } finally {
        sim.clearFaults();
      }
      const after = (await scrape(h.composed.app)).families;
      const sent = injected() - sentBefore;
      assert.equal(sent, h.config.leap.retry.max_attempts);
      assert.equal(value(after, 'leap_connector_leap_rate_limited_total')! - value(before, 'leap_connector_leap_rate_limited_total')!, sent);
      const get = { endpoint: 'v2.meters.get', status: '4xx' };
      assert.equal(value(after, 'leap_connector_leap_requests_total', get)! - (value(before, 'leap_connector_leap_requests_total', get) ?? 0), sent);
    });

    it("counts Leap's webhooks by type and outcome", async () => {
      const c = compose(testConfig(`leap_events: { header_name: x-test-secret, secret: leap-events-secret-0123 }\n`), { db: h.db.knex, logger: silentLogger, destinations: NO_DESTINATIONS });
      try {
        const post = (body: object) => request(c.app).post('/leap/events').set('x-test-secret', 'leap-events-secret-0123').send(body);
        const id = '6f1c3a52-8d0e-4f7a-9b2c-0a1b2c3d4e5f';
        await post({ webhook_event_id: id, payload: { webhook_event_type: 'connect_session.updated' } }).expect(202);
        await post({ webhook_event_id: id, payload: { webhook_event_type: 'connect_session.updated' } }).expect(200);
        await post({ webhook_event_id: '7f1c3a52-8d0e-4f7a-9b2c-0a1b2c3d4e5f', payload: { webhook_event_type: 'partner.something.new' } }).expect(202);
        await post({ payload: {} }).expect(400);
        const { families } = await scrape(c.app);
        assert.equal(value(families, 'leap_connector_leap_events_received_total', { type: 'connect_session.updated', outcome: 'ignored' }), 1);
        assert.equal(value(families, 'leap_connector_leap_events_received_total', { type: 'connect_session.updated', outcome: 'duplicate' }), 1);
        assert.equal(value(families, 'leap_connector_leap_events_received_total', { type: 'other', outcome: 'ignored' }), 1, 'a type outside the catalogue');
        assert.equal(sum(families, 'leap_connector_leap_events_received_total'), 3, 'a malformed event is not counted');
      } finally {
        await c.close();
      }
    });

    it('keeps every label bounded: no meter ids, no URLs, endpoints from the fixed list', async () => {
      const { families } = await scrape(h.composed.app);
      for (const f of families.values()) {
        if (!f.name.startsWith('leap_connector_')) continue;
        for (const s of f.samples) {
          for (const [label, v] of Object.entries(s.labels)) {
            assert.ok(!UUID.test(v) && !v.includes('/'), `${s.name}{${label}="${v}"}`);
          }
        }
      }
      const endpoints = series(families, 'leap_connector_leap_requests_total').map((s) => s.labels.endpoint!);
      assert.ok(endpoints.length > 0);
      for (const e of endpoints) assert.ok((LEAP_ENDPOINTS as readonly string[]).includes(e), e);
    });
  });
}
