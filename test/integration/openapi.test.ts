import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { compose, type Composed } from '../../src/compose/compose';
import { METER_EVENT_TYPES } from '../../src/domain/events';
import { webhookHeaders } from '../../src/domain/signing';
import { webhookBody } from '../../src/domain/webhook-body';
import { apiDescription, type OpenApiDocument } from '../../src/http/openapi';
import { deliveryListQuerySchema } from '../../src/http/schemas/admin';
import { readinessAnswerSchema } from '../../src/http/schemas/partner';
import { silentLogger } from '../../src/logger';
import { ApiContract } from '../helpers/api-contract';
import { testConfig } from '../helpers/config';
import { createTestDb, type TestDb } from '../helpers/db';

const ROOT = path.resolve(__dirname, '../..');

interface Layer {
  rawPath?: string;
  slash: boolean;
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/**
 * Every method and path the express app routes, walking express 5's router stack: routes of the
 * app's routers, with the path a router is mounted at. /console is left to the console's own
 * tests: its pages are HTML for browsers, which the description leaves out (see x-console).
 */
function servedRoutes(app: Composed['app']): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') out.push(`${method.toUpperCase()} ${prefix}${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
      } else if (layer.handle.stack) {
        const mount = layer.slash ? '' : (layer.rawPath ?? '?');
        if (`${prefix}${mount}` === '/console') continue;
        walk(layer.handle.stack, `${prefix}${mount}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return [...new Set(out)].sort();
}

const describedRoutes = (doc: OpenApiDocument): string[] =>
  Object.entries(doc.paths)
    .flatMap(([route, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${route}`))
    .sort();

describe('API description (OpenAPI 3.1)', () => {
  let db: TestDb;
  let c: Composed;
  const contract = new ApiContract(apiDescription({ leapEventsHeader: 'X-Partner-Hook' }));
  let api: ReturnType<ApiContract['wrap']>;
  before(async () => {
    db = await createTestDb('sqlite');
    c = compose(testConfig('leap_events:\n  header_name: X-Partner-Hook\n'), { db: db.knex, logger: silentLogger });
    api = contract.wrap(c.app);
  });
  after(async () => {
    await c.close();
    await db.destroy();
  });
  after(() => contract.verify());

  it('is a valid OpenAPI 3.1 document (swagger-parser)', async () => {
    const doc = (await request(api).get('/openapi.json').expect(200).expect('Content-Type', /application\/json/)).body as OpenApiDocument;
    assert.equal(doc.openapi, '3.1.0');
    await SwaggerParser.validate(structuredClone(doc) as never);
  });

  it('serves the document the configuration describes, with its Leap header', async () => {
    const served = (await request(api).get('/openapi.json').expect(200)).body as OpenApiDocument;
    assert.deepEqual(served, JSON.parse(JSON.stringify(apiDescription({ leapEventsHeader: 'X-Partner-Hook' }))));
    assert.deepEqual((served.components as { securitySchemes: Record<string, unknown> }).securitySchemes.leapSecret, {
      type: 'apiKey',
      in: 'header',
      name: 'x-partner-hook',
      description: "The static header value Leap's webhook subscription sends (leap_events.secret)",
    });
  });

  it('describes every route the app serves, and serves every route it describes', () => {
    const served = servedRoutes(c.app);
    const described = describedRoutes(contract.document);
    assert.ok(served.length >= 25, `the walk found only ${served.length} routes: ${served.join(', ')}`);
    assert.deepEqual(
      described.filter((r) => !served.includes(r)),
      [],
      'described but not served',
    );
    assert.deepEqual(
      served.filter((r) => !described.includes(r)),
      [],
      'served but not described',
    );
    assert.match(String((contract.document['x-console'] as { reason: string }).reason), /HTML for browsers/);
  });

  it('takes its request schemas from the ones the routes validate with', () => {
    const op = (route: string, method: string) => contract.document.paths[route]![method] as { parameters: { name: string; schema: unknown }[]; requestBody?: { content: Record<string, { schema: unknown }> } };
    const list = op('/admin/v1/deliveries', 'get').parameters;
    assert.deepEqual(Object.fromEntries(list.map((p) => [p.name, p.schema])), JSON.parse(JSON.stringify(deliveryListQuerySchema.properties)));
    assert.equal(op('/api/v1/meters/{meter_id}/readiness', 'put').requestBody!.content['application/json']!.schema, readinessAnswerSchema);
  });

  it('names the scopes each route takes', () => {
    const security = (route: string, method: string) => (contract.document.paths[route]![method] as { security: unknown }).security;
    assert.deepEqual(security('/api/v1/meters', 'get'), [{ bearer: ['partner'] }, { bearer: ['admin'] }]);
    assert.deepEqual(security('/admin/v1/deliveries', 'get'), [{ bearer: ['admin'] }]);
    assert.deepEqual(security('/leap/events', 'post'), [{ leapSecret: [] }]);
    assert.deepEqual(security('/healthz', 'get'), []);
  });

  it('describes health answers and errors as they are served', async () => {
    await request(api).get('/healthz').expect(200);
    await request(api).get('/readyz').expect(200);
    await request(api).get('/api/v1/meters').expect(401);
    await request(api).get('/no/such/route').expect(404);
    await request(api).post('/leap/events').send({}).expect(401);
    assert.deepEqual(contract.check().problems, []);
  });

  it('catches an answer that differs from its description', () => {
    const bad = (body: unknown, status = 200, url = '/healthz') => contract.problem({ method: 'GET', url, status, contentType: 'application/json', body: Buffer.from(JSON.stringify(body)) });
    assert.equal(bad({ status: 'ok' }), null);
    assert.match(bad({ status: 'ok', uptime: 5 })!, /uptime/);
    assert.match(bad({ status: 'ok' }, 418)!, /describes no 418 answer/);
    assert.match(bad({ meters: [], next_after: null, more: true }, 200, '/api/v1/meters')!, /more/);
    assert.equal(bad({ meters: [], next_after: null }, 200, '/api/v1/meters'), null);
  });

  it('describes what each destination receives: one webhook per event type, with the Standard Webhooks headers', () => {
    const hooks = contract.document.webhooks as Record<string, { post: { parameters: { name: string; schema: { pattern?: string } }[]; requestBody: { content: Record<string, { schema: unknown }> } } }>;
    assert.deepEqual(Object.keys(hooks), [...METER_EVENT_TYPES]);
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(contract.document as object, 'doc');
    const body = webhookBody({
      type: 'meter.enrollment.activated',
      timestamp: new Date('2026-11-27T18:37:38.473Z'),
      record: { external_id: 'site-05t9319' },
      meterId: 'fe28fcbc-ab37-4914-9531-3e03a57faccd',
      sequence: 3,
      changes: [{ path: 'enrollment.status', from: 'ELIGIBLE', to: 'ACTIVE' }],
    });
    const envelope = ajv.compile({ $ref: 'doc#/webhooks/meter.enrollment.activated/post/requestBody/content/application~1json/schema' });
    assert.ok(envelope(JSON.parse(body)), JSON.stringify(envelope.errors));
    const unmapped = webhookBody({ type: 'meter.enrollment.activated', timestamp: new Date(), record: {}, meterId: 'm-1', sequence: 1, changes: null });
    assert.ok(envelope(JSON.parse(unmapped)), 'the default body (no mapping) is described');
    assert.equal(envelope({ ...JSON.parse(body), type: 'meter.created' }), false, 'each envelope names its own type');

    const headers = webhookHeaders([{ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', expires_at: null }] as never, 'msg_1', body, new Date());
    const described = hooks['meter.created']!.post.parameters;
    assert.deepEqual(described.map((p) => p.name).sort(), Object.keys(headers).sort());
    for (const p of described) if (p.schema.pattern) assert.match(headers[p.name]!, new RegExp(p.schema.pattern), p.name);
  });

  it('renders at /docs from swagger-ui-dist, under a policy that allows only its own scripts', async () => {
    const page = await request(api).get('/docs').expect(200).expect('Content-Type', /text\/html/);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(page.text, /<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    const scripts = [...page.text.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]!);
    const styles = [...page.text.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((m) => m[1]!);
    assert.deepEqual(scripts, ['/docs/assets/swagger-ui-bundle.js', '/docs/init.js']);
    // The page's files are static files, not operations of the API: asked of the app itself.
    for (const src of scripts) await request(c.app).get(src).expect(200).expect('Content-Type', /javascript/);
    for (const href of styles) await request(c.app).get(href).expect(200).expect('Content-Type', /text\/css/);
    assert.match((await request(c.app).get('/docs/init.js')).text, /url: '\/openapi.json'/);
    // The package's other files (its own index.html points at a petstore) are not served.
    await request(api).get('/docs/assets/index.html').expect(404);
    await request(api).get('/docs/assets/swagger-initializer.js').expect(404);
  });

  it('is printed by `leap-connector openapi` without a server or a database', function () {
    this.timeout(30_000);
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: 'mysql://nobody:x@127.0.0.1:9/none', LEAP_API_KEY: 'k' };
    const run = spawnSync(process.execPath, [path.join(ROOT, 'bin/leap-connector.js'), 'openapi'], { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), JSON.parse(JSON.stringify(apiDescription({ leapEventsHeader: 'x-leap-webhook-secret' }))));
  });
});
