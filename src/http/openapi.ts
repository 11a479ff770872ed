import { METER_EVENT_TYPES } from '../domain/events';
import { bulkReplaySchema, deliveryListQuerySchema, eventListQuerySchema, replayListQuerySchema, startSyncRunSchema, syncRunListQuerySchema } from './schemas/admin';
import {
  idempotencyKeySchema,
  marketGroupParamSchema,
  meterIdParamSchema,
  meterListQuerySchema,
  partnerRosterSchema,
  readinessAnswerSchema,
  readinessBatchItemSchema,
  readinessBatchSchema,
  readinessListQuerySchema,
  tradeDateQuerySchema,
} from './schemas/partner';
import { responseSchemas } from './schemas/responses';
import { EVENT_DESCRIPTIONS, WEBHOOK_HEADERS, webhookEnvelope, webhookSchemas } from './schemas/webhooks';

/**
 * The API description (OpenAPI 3.1), built from the JSON Schemas the routes validate with
 * (schemas/partner.ts, schemas/admin.ts) and those of the answers (schemas/responses.ts), so the
 * document and the checks cannot say different things. Served at /openapi.json, rendered at
 * /docs, printed by `leap-connector openapi`.
 */

type Schema = Record<string, unknown>;
export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, Record<string, Schema>> };

export interface ApiDescriptionOptions {
  /** The header Leap's webhooks carry their shared secret in (leap_events.header_name). */
  leapEventsHeader: string;
}

type Access = 'public' | 'partner' | 'admin' | 'leap';
type ObjectSchema = { properties: Record<string, unknown>; required?: readonly string[] };

interface Operation {
  summary: string;
  tag: string;
  access: Access;
  description?: string;
  path?: ObjectSchema;
  query?: ObjectSchema;
  headers?: Schema[];
  /** A JSON body; `strict` routes refuse anything but application/json (415). */
  body?: { schema: Schema; required: boolean; strict: boolean; description?: string };
  /** Status → [description, schema name in components, or a content object]. */
  answers: Record<number, [string, string | Schema, Record<string, Schema>?]>;
  /** Error statuses this route answers beyond those its access and inputs imply. */
  errors?: Record<number, string>;
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema): Schema => ({ 'application/json': { schema } });
const textParam = (name: string, description: string): ObjectSchema => ({ required: [name], properties: { [name]: { type: 'string', minLength: 1, description } } });
const LOCATION = { Location: { description: 'where to follow the progress', schema: { type: 'string' } } };

function parameters(where: 'path' | 'query', s: ObjectSchema | undefined): Schema[] {
  if (!s) return [];
  return Object.entries(s.properties).map(([name, schema]) => ({ name, in: where, required: where === 'path' || (s.required ?? []).includes(name), schema }));
}

function errorAnswers(op: Operation): Record<string, Schema> {
  const out: Record<number, string> = {};
  if (op.path || op.query || op.body || op.headers) out[400] = 'Invalid input: details lists each field by JSON pointer (code validation_failed, invalid_json)';
  if (op.access === 'partner' || op.access === 'admin') {
    out[401] = 'No API key, an unknown one, or none configured (WWW-Authenticate: Bearer)';
    out[403] = `The key lacks the ${op.access === 'partner' ? 'partner or admin' : 'admin'} scope`;
  }
  if (op.access === 'leap') out[401] = 'The header with Leap\'s shared secret is missing or wrong';
  if (op.body) out[413] = 'The body is larger than server.body_limit';
  if (op.body?.strict) out[415] = 'The body is not application/json';
  Object.assign(out, op.errors);
  out[500] = 'Internal error; the request id finds the log line';
  return Object.fromEntries(Object.entries(out).map(([status, description]) => [status, { $ref: '#/components/responses/Error', description }]));
}

function operation(method: string, route: string, op: Operation): Schema {
  const security = { public: [], leap: [{ leapSecret: [] }], partner: [{ bearer: ['partner'] }, { bearer: ['admin'] }], admin: [{ bearer: ['admin'] }] }[op.access];
  const responses: Record<string, Schema> = {};
  for (const [status, [description, schema, headers]] of Object.entries(op.answers)) {
    const content = typeof schema === 'string' ? json(ref(schema)) : schema;
    responses[status] = { description, headers: { 'X-Request-Id': { $ref: '#/components/headers/RequestId' }, ...headers }, content };
  }
  Object.assign(responses, errorAnswers(op));
  return {
    operationId: `${method}${route.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [op.tag],
    security,
    parameters: [...parameters('path', op.path), ...parameters('query', op.query), ...(op.headers ?? [])],
    ...(op.body ? { requestBody: { required: op.body.required, description: op.body.description, content: json(op.body.schema) } } : {}),
    responses,
  };
}

/** Leap's webhook envelope, as the connector reads it (checked field by field in the Leap event service). */
const leapEventSchema: Schema = {
  type: 'object',
  required: ['webhook_event_id', 'payload'],
  properties: {
    webhook_event_id: { type: 'string', description: 'the event id (a UUID); a repeat is answered 200 duplicate' },
    payload: {
      type: 'object',
      required: ['webhook_event_type'],
      properties: {
        webhook_event_type: { type: 'string', maxLength: 64 },
        meter_id: { type: 'string', description: 'a meter id to refresh' },
        meter_ids: { type: 'array', items: { type: 'string' }, description: 'meter ids to refresh (group.updated)' },
      },
    },
  },
};

const MARKET_GROUP = marketGroupParamSchema as ObjectSchema;

/** Every route the app serves, by path and method. */
function routes(): Record<string, Record<string, Operation>> {
  const ops = {
    '/healthz': { get: { summary: 'The process answers', tag: 'health', access: 'public', answers: { 200: ['Alive', 'Health'] } } },
    '/readyz': {
      get: {
        summary: 'Database reachable, migrations current, configuration loaded',
        tag: 'health',
        access: 'public',
        answers: { 200: ['Ready', 'ReadyChecks'], 503: ['Not ready: each check says why', 'ReadyChecks'] },
      },
    },
    '/metrics': {
      get: {
        summary: "Prometheus metrics (text format 0.0.4); absent when metrics.enabled is false",
        description: 'Public by default, as scrapers expect; with metrics.require_key it asks for an admin key. The README lists every metric.',
        tag: 'health',
        access: 'public',
        answers: { 200: ['The metrics', { 'text/plain': { schema: { type: 'string' } } }] },
      },
    },
    '/openapi.json': { get: { summary: 'This document', tag: 'API description', access: 'public', answers: { 200: ['OpenAPI 3.1', { 'application/json': { schema: { type: 'object' } } }] } } },
    '/docs': { get: { summary: 'This document, rendered for reading (Swagger UI)', tag: 'API description', access: 'public', answers: { 200: ['An HTML page', { 'text/html': { schema: { type: 'string' } } }] } } },
    '/leap/events': {
      post: {
        summary: "Leap's webhooks: refresh the meters named",
        description: 'Answered at once (Leap gives up after 10 s); the meters are re-read afterwards through the same change detection as polling.',
        tag: 'Leap',
        access: 'leap',
        body: { schema: leapEventSchema, required: true, strict: false },
        answers: { 200: ['Received before (duplicate)', 'LeapEventAnswer'], 202: ['Accepted, or ignored (names no meter)', 'LeapEventAnswer'] },
      },
    },
    '/api/v1/meters': { get: { summary: 'Stored meters, filtered, in meter id order', tag: 'meters', access: 'partner', query: meterListQuerySchema, answers: { 200: ['A page of meters', 'MeterPage'] } } },
    '/api/v1/meters/{meter_id}': {
      get: { summary: 'One stored meter, with its readiness and history', tag: 'meters', access: 'partner', path: meterIdParamSchema, answers: { 200: ['The meter', 'MeterRecord'] }, errors: { 404: 'No such meter' } },
    },
    '/api/v1/meters/{meter_id}/readiness': {
      put: {
        summary: "The partner's readiness answer for one meter",
        description: 'The same answer again is unchanged and emits nothing.',
        tag: 'readiness',
        access: 'partner',
        path: meterIdParamSchema,
        body: { schema: readinessAnswerSchema, required: true, strict: true },
        answers: { 200: ['Applied or unchanged', 'ReadinessAnswerResult'] },
        errors: { 404: 'No such meter', 409: 'readiness_not_required: the meter is not ACTIVE and has no upcoming market group' },
      },
    },
    '/api/v1/readiness/batch': {
      post: {
        summary: 'Up to 1,000 answers in one transaction',
        description: 'Each item is answered in order (applied, unchanged, or error); an invalid item is an error result, not a 400. With an Idempotency-Key the same key and body within 24 h get the stored answer again (Idempotent-Replayed: true).',
        tag: 'readiness',
        access: 'partner',
        headers: [{ name: 'Idempotency-Key', in: 'header', required: false, schema: idempotencyKeySchema }],
        body: { schema: { ...readinessBatchSchema, properties: { items: { ...readinessBatchSchema.properties.items, items: ref('ReadinessBatchItem') } } }, required: true, strict: true },
        answers: { 200: ['One result per item', 'ReadinessBatchAnswer', { 'Idempotent-Replayed': { description: 'true: the stored answer of an earlier request with this key', schema: { const: 'true' } } }] },
        errors: { 409: 'The Idempotency-Key was used with another body (details.code idempotency_key_reused) or is being answered (idempotency_key_in_use)' },
      },
    },
    '/api/v1/readiness': { get: { summary: 'Meters in a readiness state, with counts of every state', tag: 'readiness', access: 'partner', query: readinessListQuerySchema, answers: { 200: ['A page of meters', 'ReadinessPage'] } } },
    '/api/v1/market-groups': { get: { summary: 'Market groups with their trade dates or delivery periods', tag: 'market groups', access: 'partner', answers: { 200: ['Every group', 'MarketGroupList'] } } },
    '/api/v1/market-groups/{id}/roster': {
      get: {
        summary: "A group's members on a trade date, with readiness and at_risk",
        tag: 'market groups',
        access: 'partner',
        path: MARKET_GROUP,
        query: tradeDateQuerySchema,
        answers: { 200: ['The roster', 'Roster'] },
        errors: { 404: 'No such market group', 409: 'no_upcoming_trade_date: name one with trade_date' },
      },
    },
    '/api/v1/market-groups/{id}/members': {
      put: {
        summary: "The partner's own member list against Leap's",
        tag: 'market groups',
        access: 'partner',
        path: MARKET_GROUP,
        query: tradeDateQuerySchema,
        body: { schema: partnerRosterSchema, required: true, strict: true },
        answers: { 200: ['missing, extra and matched; stored as the last check', 'RosterComparison'] },
        errors: { 404: 'No such market group', 409: 'no_upcoming_trade_date: name one with trade_date' },
      },
      get: {
        summary: 'The last comparison for the trade date',
        tag: 'market groups',
        access: 'partner',
        path: MARKET_GROUP,
        query: tradeDateQuerySchema,
        answers: { 200: ['The last check', 'RosterComparison'] },
        errors: { 404: 'No such market group, or no check for the date', 409: 'no_upcoming_trade_date: name one with trade_date' },
      },
    },
    '/admin/v1/sync/runs': {
      get: { summary: 'Sync runs, newest first', tag: 'sync', access: 'admin', query: syncRunListQuerySchema, answers: { 200: ['A page of runs', 'SyncRunPage'] } },
      post: {
        summary: 'Start a sync run',
        tag: 'sync',
        access: 'admin',
        body: { schema: startSyncRunSchema, required: false, strict: false },
        answers: { 202: ['Started', 'SyncRun', LOCATION] },
        errors: { 409: 'sync_in_progress: a sync is already running', 503: 'sync_stopped: the process is shutting down' },
      },
    },
    '/admin/v1/sync/runs/{id}': { get: { summary: 'One sync run', tag: 'sync', access: 'admin', path: textParam('id', 'the run id'), answers: { 200: ['The run', 'SyncRun'] }, errors: { 404: 'No such run' } } },
    '/admin/v1/events': { get: { summary: 'Meter events, oldest first', tag: 'sync', access: 'admin', query: eventListQuerySchema, answers: { 200: ['A page of events', 'MeterEventPage'] } } },
    '/admin/v1/deliveries': { get: { summary: 'Deliveries, newest first', tag: 'deliveries', access: 'admin', query: deliveryListQuerySchema, answers: { 200: ['A page of deliveries', 'DeliveryPage'] } } },
    '/admin/v1/deliveries/{id}': {
      get: { summary: 'One delivery with its body and every attempt', tag: 'deliveries', access: 'admin', path: textParam('id', 'the delivery id (webhook-id)'), answers: { 200: ['The delivery', 'DeliveryDetail'] }, errors: { 404: 'No such delivery' } },
    },
    '/admin/v1/deliveries/{id}/replay': {
      post: {
        summary: 'Send one delivery again (same webhook-id and body)',
        tag: 'deliveries',
        access: 'admin',
        path: textParam('id', 'the delivery id (webhook-id)'),
        answers: { 202: ['Queued again', 'Delivery'] },
        errors: { 404: 'No such delivery', 409: 'Being sent right now, its destination is no longer configured (destination_unknown), or its event is gone (event_missing)', 422: 'mapping_failed: the mapping still fails for this event' },
      },
    },
    '/admin/v1/replays': {
      get: { summary: 'Bulk replay jobs', tag: 'deliveries', access: 'admin', query: replayListQuerySchema, answers: { 200: ['The jobs, newest first', 'ReplayJobList'] } },
      post: {
        summary: 'Replay deliveries in bulk (a background job)',
        tag: 'deliveries',
        access: 'admin',
        body: { schema: bulkReplaySchema, required: true, strict: false },
        answers: { 200: ['A dry run: counted only', 'ReplayJob', LOCATION], 202: ['Started', 'ReplayJob', LOCATION] },
      },
    },
    '/admin/v1/replays/{id}': { get: { summary: "One job's progress", tag: 'deliveries', access: 'admin', path: textParam('id', 'the job id'), answers: { 200: ['The job', 'ReplayJob'] }, errors: { 404: 'No such job' } } },
    '/admin/v1/destinations': { get: { summary: 'Destinations with state and queue', tag: 'destinations', access: 'admin', answers: { 200: ['Every destination', 'DestinationList'] } } },
    '/admin/v1/destinations/{name}/pause': {
      post: { summary: 'Hold a destination (its deliveries wait)', tag: 'destinations', access: 'admin', path: textParam('name', 'the destination'), answers: { 200: ['Paused', 'Destination'] }, errors: { 404: 'No such destination' } },
    },
    '/admin/v1/destinations/{name}/resume': {
      post: { summary: 'Release a paused destination', tag: 'destinations', access: 'admin', path: textParam('name', 'the destination'), answers: { 200: ['Active', 'Destination'] }, errors: { 404: 'No such destination' } },
    },
  } satisfies Record<string, Record<string, Operation>>;
  return ops;
}

function webhooks(): Record<string, Schema> {
  const headers = Object.entries(WEBHOOK_HEADERS).map(([name, schema]) => ({ name, in: 'header', required: true, schema }));
  return Object.fromEntries(
    METER_EVENT_TYPES.map((type) => [
      type,
      {
        post: {
          operationId: `webhook-${type}`,
          summary: type,
          description: `${EVENT_DESCRIPTIONS[type]}\n\nSent to each destination that subscribes to ${type}, signed the Standard Webhooks way; per destination and meter in sequence order.`,
          tags: ['outbound webhooks'],
          parameters: headers,
          requestBody: { required: true, content: json(webhookEnvelope(type)) },
          responses: {
            '2XX': { description: 'Delivered. Answer quickly; a repeated webhook-id should get 2xx without being applied twice' },
            '410': { description: 'Gone: the destination is paused until resumed by hand' },
            '429': { description: 'Wait for Retry-After (or 60 s) without using a retry step' },
            '503': { description: 'Retried, honouring Retry-After up to twice the step' },
            default: { description: "A status in the destination's dead_on (default 400, 404, 413, 422) is dead at once; any other failure, a timeout or a redirect is retried on its schedule" },
          },
        },
      },
    ]),
  );
}

export function apiDescription(opts: ApiDescriptionOptions): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const [route, methods] of Object.entries(routes())) {
    paths[route] = Object.fromEntries(Object.entries(methods).map(([method, op]) => [method, operation(method, route, op as Operation)]));
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'leap-connector',
      version: '1',
      summary: "Keeps a Leap partner's systems in step with its Leap meter portfolio",
      description:
        'The partner API (/api/v1: stored meters, dispatch readiness, market group rosters), the support API (/admin/v1: sync runs, events, deliveries, replays, destinations), health, and the intake of Leap\'s own webhooks. Every error is `{code, message, details, request_id}`. The webhooks section describes what each destination receives.',
    },
    'x-console': {
      path: '/console',
      reason: 'The support console is HTML for browsers (a session cookie from signing in with an admin key, forms with a CSRF token), not an API to call; its pages are listed in the README under Support console.',
    },
    tags: [
      { name: 'health' },
      { name: 'meters', description: 'The stored meters, for partner systems' },
      { name: 'readiness', description: "The partner's dispatch readiness answers" },
      { name: 'market groups', description: "Leap's group rosters and the partner's check of its own" },
      { name: 'sync', description: 'Sync runs and meter events, for support' },
      { name: 'deliveries', description: 'Outbound deliveries, their attempts and replays, for support' },
      { name: 'destinations', description: 'Destination state, pause and resume, for support' },
      { name: 'Leap', description: "Leap's own webhooks" },
      { name: 'API description' },
      { name: 'outbound webhooks', description: 'What the connector sends to each destination' },
    ],
    paths,
    webhooks: webhooks(),
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A key from api.keys (ADMIN_API_KEY, PARTNER_API_KEY), compared in constant time. Scopes: partner (the /api/v1 routes, which admin keys may call too) and admin (/admin/v1).',
        },
        leapSecret: { type: 'apiKey', in: 'header', name: opts.leapEventsHeader.toLowerCase(), description: "The static header value Leap's webhook subscription sends (leap_events.secret)" },
      },
      headers: { RequestId: { description: "The request's id (the caller's X-Request-Id when sane); in every error body too", schema: { type: 'string' } } },
      responses: { Error: { description: 'An error', headers: { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } }, content: json(ref('Error')) } },
      schemas: { ReadinessBatchItem: readinessBatchItemSchema, ...responseSchemas, ...webhookSchemas },
    },
  };
}
