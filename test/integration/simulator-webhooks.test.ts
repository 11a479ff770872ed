import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RETRY_SCHEDULE_MINUTES, startSimulator, type RunningSimulator } from '../../src/simulator';

type Json = Record<string, unknown>;

const KEY = 'webhook-test-key';
const AUTH = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };

interface Hit {
  headers: http.IncomingHttpHeaders;
  body: Json;
}

/** A partner receiver on port 0 that answers each request with what `answer` says. */
async function receiver(answer: (hit: Hit, attempt: number) => number): Promise<{ url: string; hits: Hit[]; close(): Promise<void> }> {
  const hits: Hit[] = [];
  const attempts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      const hit = { headers: req.headers, body: JSON.parse(data) as Json };
      hits.push(hit);
      const id = String(hit.body.webhook_event_id);
      const n = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, n);
      res.writeHead(answer(hit, n)).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

describe('simulator Leap webhooks', function () {
  this.timeout(30_000);
  let running: RunningSimulator;
  const subscribe = async (body: Json): Promise<string> => {
    const res = await fetch(`${running.url}/v1.1/webhooks`, { method: 'POST', headers: AUTH, body: JSON.stringify(body) });
    assert.equal(res.status, 200);
    return String(((await res.json()) as Json).webhook_id);
  };

  beforeEach(async () => {
    running = await startSimulator({ meters: 100, seed: 55, apiKey: KEY, start: new Date('2026-03-10T15:00:00Z'), webhookTimeScale: 0.00002 });
  });
  afterEach(() => running.close());

  it('delivers Leap envelopes of subscribed types only, with the static headers lower-cased', async () => {
    const r = await receiver(() => 204);
    try {
      await subscribe({ receiver_url: r.url, event_types: ['meter.created', 'meter.enrollment.global-status.updated'], headers: [{ name: 'X-Api-Key', value: 's3cr3t' }, { name: 'X-Partner', value: 'acme' }] });
      const sim = running.simulator;
      const [id] = sim.authorize({ count: 1 });
      sim.setStatus(id, 'ELIGIBLE');
      sim.setParticipation(id, 'IDLE');
      await sim.webhooksIdle();
      assert.deepEqual(
        r.hits.map((h) => (h.body.payload as Json).webhook_event_type),
        ['meter.created', 'meter.enrollment.global-status.updated', 'meter.enrollment.global-status.updated'],
      );
      for (const h of r.hits) {
        assert.equal(h.headers['x-api-key'], 's3cr3t');
        assert.equal(h.headers['x-partner'], 'acme');
        assert.equal(h.headers['content-type'], 'application/json');
        assert.deepEqual(Object.keys(h.body).sort(), ['payload', 'webhook_event_id']);
      }
      const emitted = new Set(sim.events().map((e) => e.webhook_event_id));
      assert.ok(r.hits.every((h) => emitted.has(String(h.body.webhook_event_id))));
      const stats = sim.state().webhooks;
      assert.equal(stats.delivered, 3);
      assert.equal(stats.pending, 0);
      assert.equal(stats.eventsByType['meter.enrollment.participation-status.updated'], 1);
    } finally {
      await r.close();
    }
  });

  it('retries a failing receiver with the same webhook_event_id until it answers 2xx', async () => {
    const r = await receiver((_hit, attempt) => (attempt <= 2 ? 500 : 200));
    try {
      await subscribe({ receiver_url: r.url, event_types: ['meter.created'] });
      const ids = running.simulator.authorize({ count: 2 });
      await running.simulator.webhooksIdle();
      assert.equal(r.hits.length, 6);
      for (const id of ids) {
        const mine = r.hits.filter((h) => (h.body.payload as Json).meter_id === id);
        assert.equal(mine.length, 3);
        assert.equal(new Set(mine.map((h) => h.body.webhook_event_id)).size, 1);
      }
      const stats = running.simulator.state().webhooks;
      assert.deepEqual([stats.delivered, stats.failedAttempts, stats.gaveUp, stats.pending], [2, 4, 0, 0]);
      assert.deepEqual(stats.recent.filter((d) => d.ok).map((d) => d.attempt), [3, 3]);
      assert.ok(stats.recent.filter((d) => !d.ok).every((d) => d.status === 500));
    } finally {
      await r.close();
    }
  });

  it('gives up after ten attempts, on Leap schedule scaled down', async () => {
    assert.deepEqual([...RETRY_SCHEDULE_MINUTES], [0, 1, 2, 4, 8, 16, 29, 60, 120, 240]);
    const r = await receiver(() => 503);
    try {
      await subscribe({ receiver_url: r.url, event_types: ['meter.enrollment.global-status.updated'] });
      const [id] = running.simulator.meterIds({ status: 'ELIGIBLE' });
      running.simulator.setStatus(id, 'ACTIVE');
      await running.simulator.webhooksIdle();
      assert.equal(r.hits.length, 10);
      const stats = running.simulator.state().webhooks;
      assert.deepEqual([stats.delivered, stats.failedAttempts, stats.gaveUp, stats.pending], [0, 10, 1, 0]);
    } finally {
      await r.close();
    }
  });

  it('PUT replaces every setting and DELETE stops deliveries', async () => {
    const r = await receiver(() => 200);
    try {
      const id = await subscribe({ receiver_url: r.url, event_types: ['meter.created'], headers: [{ name: 'x-old', value: '1' }] });
      const put = await fetch(`${running.url}/v1.1/webhooks/${id}`, { method: 'PUT', headers: AUTH, body: JSON.stringify({ receiver_url: r.url, event_types: ['meter.enrollment.required-actions.updated'] }) });
      assert.deepEqual(await put.json(), { webhook_id: id });
      const listed = (await (await fetch(`${running.url}/v1.1/webhooks`, { headers: AUTH })).json()) as Json;
      assert.deepEqual(listed.webhooks, [{ webhook_id: id, event_types: ['meter.enrollment.required-actions.updated'], headers: [], receiver_url: r.url }]);
      const sim = running.simulator;
      sim.authorize();
      const [eligible] = sim.meterIds({ status: 'ELIGIBLE' });
      sim.addPartnerAction(eligible, 'SERV_0005');
      await sim.webhooksIdle();
      assert.deepEqual(r.hits.map((h) => (h.body.payload as Json).webhook_event_type), ['meter.enrollment.required-actions.updated']);
      assert.equal(r.hits[0].headers['x-old'], undefined);
      const del = await fetch(`${running.url}/v1.1/webhooks/${id}`, { method: 'DELETE', headers: AUTH });
      assert.equal(del.status, 200);
      sim.clearPartnerActions(eligible);
      await sim.webhooksIdle();
      assert.equal(r.hits.length, 1);
      assert.equal((await fetch(`${running.url}/v1.1/webhooks/${id}`, { method: 'DELETE', headers: AUTH })).status, 404);
    } finally {
      await r.close();
    }
  });

  it('the test endpoint reports what the receiver answered; bad bodies are 400', async () => {
    const r = await receiver((hit) => ((hit.body.payload as Json).meter_id === 'fail' ? 500 : 200));
    try {
      const id = await subscribe({ receiver_url: r.url, event_types: ['meter.created'] });
      const ok = (await (await fetch(`${running.url}/v1.1/webhooks/${id}/test`, { method: 'POST', headers: AUTH, body: JSON.stringify({ webhook_event_type: 'meter.created', meter_id: 'ok' }) })).json()) as Json;
      assert.equal(ok.is_successful, true);
      assert.equal(ok.status_code, 200);
      assert.equal(typeof ok.response_time_ms, 'number');
      const failed = (await (await fetch(`${running.url}/v1.1/webhooks/${id}/test`, { method: 'POST', headers: AUTH, body: JSON.stringify({ webhook_event_type: 'meter.created', meter_id: 'fail' }) })).json()) as Json;
      assert.deepEqual([failed.is_successful, failed.status_code, failed.error], [false, 500, 'HTTP 500']);
      assert.deepEqual(r.hits[0].body.payload, { webhook_event_type: 'meter.created', meter_id: 'ok' });
      const bad = await fetch(`${running.url}/v1.1/webhooks/${id}/test`, { method: 'POST', headers: AUTH, body: JSON.stringify({ meter_id: 'x' }) });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as Json).error, 'Bad Request');
      const badCreate = await fetch(`${running.url}/v1.1/webhooks`, { method: 'POST', headers: AUTH, body: JSON.stringify({ receiver_url: 'ftp://x', event_types: ['meter.created'] }) });
      assert.equal(badCreate.status, 400);
    } finally {
      await r.close();
    }
  });

  it('close() ends pending retries: nothing is attempted afterwards', async () => {
    const r = await receiver(() => 500);
    // Retries one real minute apart scaled to 60 ms: all three first attempts fail before any retry is due.
    const slow = await startSimulator({ meters: 10, seed: 1, apiKey: KEY, webhookTimeScale: 0.001 });
    try {
      const res = await fetch(`${slow.url}/v1.1/webhooks`, { method: 'POST', headers: AUTH, body: JSON.stringify({ receiver_url: r.url, event_types: ['meter.created'] }) });
      assert.equal(res.status, 200);
      slow.simulator.authorize({ count: 3 });
      while (r.hits.length < 3) await new Promise((resolve) => setTimeout(resolve, 2));
      await slow.close();
      // Past the first two retry delays: a surviving timer would have fired by now.
      await new Promise((resolve) => setTimeout(resolve, 250));
      assert.equal(r.hits.length, 3);
    } finally {
      await slow.close();
      await r.close();
    }
  });

  it('an unreachable receiver counts as a failed attempt', async () => {
    const r = await receiver(() => 200);
    const url = r.url;
    await r.close();
    await subscribe({ receiver_url: url, event_types: ['meter.created'] });
    running.simulator.authorize();
    while (running.simulator.state().webhooks.failedAttempts < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const failure = running.simulator.state().webhooks.recent.find((d) => !d.ok);
    assert.ok(failure && failure.status === undefined && typeof failure.error === 'string');
  });
});
