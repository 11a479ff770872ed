import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { describeErrors, loadOpenApi, newAjv, type OpenApiValidator } from '../helpers/openapi';

/**
 * Everything the simulator answers or sends, validated against Leap's published OpenAPI files:
 * a 300-meter portfolio read page by page and meter by meter after an evolution, the error
 * envelopes, the webhook subscription API, and the webhook envelopes a receiver gets.
 */

const API_KEY = 'contract-key:0123456789abcdef';
const EVENT_TYPES = [
  'meter.created',
  'meter.enrollment.global-status.updated',
  'meter.enrollment.participation-status.updated',
  'meter.enrollment.required-actions.updated',
  'meter.enrollment.group.updated',
];

type Json = Record<string, unknown>;

interface Received {
  headers: http.IncomingHttpHeaders;
  body: Json;
}

function assertValid(validate: ReturnType<OpenApiValidator['schema']>, value: unknown, what: string): void {
  assert.ok(validate(value), `${what} does not match Leap's schema:\n${describeErrors(validate.errors)}\n${JSON.stringify(value).slice(0, 1500)}`);
}

describe('simulator contract against Leap OpenAPI files', function () {
  this.timeout(60_000);
  let running: RunningSimulator;
  let receiver: http.Server;
  let receiverUrl: string;
  const received: Received[] = [];
  const ajv = newAjv();
  const meters = loadOpenApi('leap-meters-openapi-original.yml', ajv);
  const metersNewer = loadOpenApi('leapfrog-power-meter-details-openapi.yml', newAjv());
  const enrollments = loadOpenApi('leap-enrollments-openapi-original.yml', newAjv());
  const webhooks = loadOpenApi('leap-webhooks-openapi-original.yml', newAjv());
  const webhooksNewer = loadOpenApi('leapfrog-power-webhooks-openapi.yml', newAjv());

  const call = async (method: string, path: string, body?: unknown, key: string | null = API_KEY): Promise<{ status: number; json: unknown; headers: Headers }> => {
    const headers: Record<string, string> = {};
    if (key !== null) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${running.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
  };

  before(async () => {
    receiver = http.createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body: JSON.parse(data) as Json });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/leap`;
    running = await startSimulator({ meters: 300, seed: 20260310, apiKey: API_KEY, start: new Date('2026-03-10T15:00:00Z'), webhookTimeScale: 0.0001 });
    const created = await call('POST', '/v1.1/webhooks', { receiver_url: receiverUrl, event_types: EVENT_TYPES, headers: [{ name: 'X-Api-Key', value: 'shared-secret' }] });
    assert.equal(created.status, 200);

    // Evolve, then drive every kind of change once more by hand so every event type is sent.
    const sim = running.simulator;
    const advanced = await call('POST', '/_sim/advance', { hours: 96 });
    assert.equal(advanced.status, 200);
    const [first] = sim.authorize({ count: 2, region: 'NYISO' });
    sim.setStatus(first, 'ELIGIBLE');
    sim.activate(first);
    const active = sim.meterIds({ status: 'ACTIVE', includeArchived: false });
    sim.setParticipation(active[0], 'IDLE', { end: new Date('2026-04-01T07:00:00Z') });
    sim.setParticipation(active[1], 'DISENROLL');
    sim.setParticipation(active[0], 'PARTICIPATE');
    sim.addPartnerAction(active[2], 'SERV_0005');
    sim.clearPartnerActions(active[2]);
    const groups = sim.marketGroupsFor(active[3]);
    sim.setMarketGroup(active[3], groups[groups.length - 1].name, { fromTradeDate: '2026-03-15' });
    sim.addUnknownField(active[4], 'grid_zone_v3', { name: 'ZONE J' });
    await sim.webhooksIdle();
  });

  after(async () => {
    await running?.close();
    await new Promise<void>((r) => receiver?.close(() => r()));
  });

  it('v2 meter details: every page of a search and every single meter match MeterDetailsResponse (both spec copies)', async () => {
    const page = meters.response('/v2/meters/search', 'post', 200);
    const one = meters.response('/v2/meters/{meter_id}', 'get', 200);
    const newer = metersNewer.response('/v2/meters/{meter_id}', 'get', 200);
    const seen: Json[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await call('POST', '/v2/meters/search', { page_size: 50, ...(token ? { page_token: token } : {}) });
      assert.equal(r.status, 200);
      assertValid(page, r.json, `search page ${pages + 1}`);
      const body = r.json as { meters: Json[]; next_page_token?: string };
      seen.push(...body.meters);
      token = body.next_page_token;
      pages++;
    } while (token);
    assert.equal(seen.length, running.simulator.meterCount());
    assert.ok(pages > 5);
    for (const m of seen) {
      const r = await call('GET', `/v2/meters/${String(m.meter_id)}`);
      assert.equal(r.status, 200);
      assertValid(one, r.json, `meter ${String(m.meter_id)}`);
      assertValid(newer, r.json, `meter ${String(m.meter_id)} (newer spec copy)`);
    }

    // The validation above only means something if the optional blocks actually occur.
    const has = (pred: (m: Json) => boolean): boolean => seen.some(pred);
    const site = (m: Json): Json[] => ((m.site as Json | undefined)?.site_devices as Json[] | undefined) ?? [];
    assert.ok(has((m) => m.device !== undefined), 'a device block');
    assert.ok(has((m) => m.caiso !== undefined) && has((m) => m.isone !== undefined) && has((m) => m.nyiso !== undefined), 'market blocks');
    assert.ok(has((m) => (m.customer as Json).billing !== undefined), 'a billing address');
    assert.ok(has((m) => (m.customer as Json).street_2 !== undefined), 'a street_2');
    assert.ok(has((m) => site(m).some((d) => 'pv_connected' in d)) && has((m) => site(m).some((d) => 'is_connected_to_solar' in d)), 'both site_devices spellings');
    assert.ok(has((m) => m.is_archived === true), 'an archived meter');
    assert.ok(has((m) => m.grid_zone_v3 !== undefined), 'an unknown field');
    for (const t of ['UTILITY_METER', 'DEVICE', 'SUBMETER']) assert.ok(has((m) => m.meter_type === t), t);
  });

  it('v2 enrollments: every page and every single meter match MeterEnrollmentResponse, all statuses included', async () => {
    const page = enrollments.response('/v2/meters/enrollments/search', 'post', 200);
    const one = enrollments.response('/v2/meters/{meter_id}/enrollments', 'get', 200);
    const seen: Json[] = [];
    let token: string | undefined;
    do {
      const r = await call('POST', '/v2/meters/enrollments/search', { page_size: 64, ...(token ? { page_token: token } : {}) });
      assert.equal(r.status, 200);
      assertValid(page, r.json, 'enrollment search page');
      const body = r.json as { meters: Json[]; next_page_token?: string };
      seen.push(...body.meters);
      token = body.next_page_token;
    } while (token);
    for (const m of seen) {
      const r = await call('GET', `/v2/meters/${String(m.meter_id)}/enrollments`);
      assertValid(one, r.json, `enrollment of ${String(m.meter_id)}`);
    }
    const statuses = new Set(seen.map((m) => m.global_enrollment_status));
    for (const s of ['PENDING', 'ELIGIBLE', 'ACTIVE', 'INELIGIBLE', 'NOT_PARTICIPATING']) assert.ok(statuses.has(s), `status ${s} present`);
    const actions = (m: Json, side: string): Json[] => ((m.required_actions as Json)[side] as Json[]) ?? [];
    assert.ok(seen.some((m) => actions(m, 'partner').length > 0) && seen.some((m) => actions(m, 'leap').length > 0), 'partner and leap actions');
    assert.ok(seen.some((m) => (m.program_enrollment as Json[]).some((p) => p.market_group_id !== undefined)), 'market groups');
    const prefs = new Set(seen.flatMap((m) => (m.participation_preferences as Json[]).map((p) => p.participation_preference)));
    for (const p of ['PARTICIPATE', 'IDLE', 'DISENROLL']) assert.ok(prefs.has(p), `preference ${p}`);
  });

  it('error envelopes match the declared 400, 401, 403, 404 and 500 responses', async () => {
    const unknown = '5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d';
    const cases: [string, string, unknown, string | null, number, OpenApiValidator, string][] = [
      ['GET', '/v2/meters/abcdef', undefined, API_KEY, 400, meters, '/v2/meters/{meter_id}'],
      ['GET', `/v2/meters/${unknown}`, undefined, null, 401, meters, '/v2/meters/{meter_id}'],
      ['GET', `/v2/meters/${unknown}`, undefined, 'wrong-key', 403, meters, '/v2/meters/{meter_id}'],
      ['GET', `/v2/meters/${unknown}`, undefined, API_KEY, 404, meters, '/v2/meters/{meter_id}'],
      ['POST', '/v2/meters/search', { page_size: 501 }, API_KEY, 400, meters, '/v2/meters/search'],
      ['GET', `/v2/meters/${unknown}/enrollments`, undefined, API_KEY, 404, enrollments, '/v2/meters/{meter_id}/enrollments'],
      ['POST', '/v2/meters/enrollments/search', { page_token: 'not-a-token' }, API_KEY, 400, enrollments, '/v2/meters/enrollments/search'],
      ['POST', '/v2/meters/enrollments/search', {}, null, 401, enrollments, '/v2/meters/enrollments/search'],
    ];
    for (const [method, path, body, key, status, spec, template] of cases) {
      const r = await call(method, path, body, key);
      assert.equal(r.status, status, `${method} ${path}`);
      assertValid(spec.response(template, method, status), r.json, `${status} from ${method} ${path}`);
    }
    const notUuid = await call('GET', '/v2/meters/abcdef');
    assert.deepEqual(notUuid.json, { title: 'Meter id is not a UUID', status: 400, details: { meter_id: 'abcdef' } });

    running.simulator.setFaults({ serverError: 1 });
    try {
      const r = await call('POST', '/v2/meters/search', {});
      assert.equal(r.status, 500);
      assertValid(meters.response('/v2/meters/search', 'post', 500), r.json, '500');
      assert.equal(r.json, 'An error happened whilst processing your request');
      const w = await call('GET', '/v1.1/webhooks');
      assert.equal(w.status, 500);
      assertValid(webhooks.response('/v1.1/webhooks', 'get', 500), w.json, 'webhooks 500');
    } finally {
      running.simulator.clearFaults();
    }
  });

  it('webhook subscription API: list, create, update, delete and test match the spec, errors included', async () => {
    const list = await call('GET', '/v1.1/webhooks');
    assertValid(webhooks.response('/v1.1/webhooks', 'get', 200), list.json, 'list');
    const created = await call('POST', '/v1.1/webhooks', { receiver_url: receiverUrl, event_types: ['meter.created'] });
    assertValid(webhooks.response('/v1.1/webhooks', 'post', 200), created.json, 'create');
    const id = String((created.json as Json).webhook_id);
    const updated = await call('PUT', `/v1.1/webhooks/${id}`, { receiver_url: receiverUrl, event_types: ['meter.created', 'meter.enrollment.group.updated'], headers: [{ name: 'x-other', value: 'v' }] });
    assertValid(webhooks.response('/v1.1/webhooks/{webhook_id}', 'put', 200), updated.json, 'update');
    const tested = await call('POST', `/v1.1/webhooks/${id}/test`, { webhook_event_type: 'meter.created', meter_id: '364be407-1f08-48fa-afd2-ee1dd228b76b', partner_reference: 'sample-ref-123' });
    assertValid(webhooks.response('/v1.1/webhooks/{webhook_id}/test', 'post', 200), tested.json, 'test');
    assert.equal((tested.json as Json).is_successful, true);
    const deleted = await call('DELETE', `/v1.1/webhooks/${id}`);
    assertValid(webhooks.response('/v1.1/webhooks/{webhook_id}', 'delete', 200), deleted.json, 'delete');
    assert.deepEqual(deleted.json, { message: 'Operation completed successfully' });

    const errors: [string, string, unknown, string | null, number, string][] = [
      ['GET', '/v1.1/webhooks', undefined, null, 401, '/v1.1/webhooks'],
      ['GET', '/v1.1/webhooks', undefined, 'wrong', 403, '/v1.1/webhooks'],
      ['DELETE', `/v1.1/webhooks/${id}`, undefined, API_KEY, 404, '/v1.1/webhooks/{webhook_id}'],
      ['PUT', `/v1.1/webhooks/${id}`, { receiver_url: receiverUrl, event_types: [] }, API_KEY, 404, '/v1.1/webhooks/{webhook_id}'],
      ['POST', `/v1.1/webhooks/${id}/test`, { webhook_event_type: 'meter.created' }, API_KEY, 404, '/v1.1/webhooks/{webhook_id}/test'],
      ['POST', '/v1.1/webhooks', { receiver_url: receiverUrl }, 'wrong', 403, '/v1.1/webhooks'],
    ];
    for (const [method, path, body, key, status, template] of errors) {
      const r = await call(method, path, body, key);
      assert.equal(r.status, status, `${method} ${path}`);
      assertValid(webhooks.response(template, method, status), r.json, `${status} from ${method} ${path}`);
    }
    const bad = await call('POST', '/v1.1/webhooks', { receiver_url: receiverUrl, event_types: ['meter.deleted'] });
    assert.equal(bad.status, 400);
    assertValid(webhooks.schema('ErrorResponse'), bad.json, '400 from create');
  });

  it('webhook envelopes the receiver got match WebhookPayload in both webhook spec copies, one of each event type', () => {
    const envelope = webhooks.schema('WebhookPayload');
    const envelopeNewer = webhooksNewer.schema('WebhookPayload');
    const meterEvents = received.filter((r) => EVENT_TYPES.includes(String((r.body.payload as Json).webhook_event_type)) && r.headers['x-api-key'] === 'shared-secret');
    assert.ok(meterEvents.length > 20, `only ${meterEvents.length} events received`);
    for (const r of meterEvents) {
      assertValid(envelope, r.body, 'envelope');
      assertValid(envelopeNewer, r.body, 'envelope (newer spec copy)');
      assert.equal(r.headers['content-type'], 'application/json');
    }
    const types = new Set(meterEvents.map((r) => (r.body.payload as Json).webhook_event_type));
    for (const t of EVENT_TYPES) assert.ok(types.has(t), `received ${t}`);
    const cleared = meterEvents.find((r) => {
      const p = r.body.payload as Json;
      return p.webhook_event_type === 'meter.enrollment.required-actions.updated' && ((p.required_actions as Json).partner as unknown[]).length === 0;
    });
    assert.ok(cleared, 'a required-actions event with an empty partner list once cleared');
  });
});
