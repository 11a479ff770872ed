/**
 * HTTP face of the simulator: Leap's v2 meter and enrollment endpoints, v1 Search/Get Meter, the
 * v1.1 Webhook Subscription API, and /_sim control endpoints. Every Leap request passes auth, the
 * rate limit and fault injection first; errors use each Leap service's own envelope.
 */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { DEVICE_TYPES, LEAP_ACTION_CODES, METER_TYPE_CODES, PARTNER_ACTION_CODES, PREFERENCES, REGION_CODES, STATUS_CODES } from './catalog';
import { validateFaultConfig } from './faults';
import { readV1Search, readV2Search } from './filters';
import { UUID_PATTERN } from './random';
import type { SearchKind } from './search';
import type { ServedSimulator } from './served-simulator';
import { validateWebhookRequest, WEBHOOK_EVENT_TYPES } from './webhooks';

type Family = 'meters' | 'webhooks' | 'sim' | 'other';

/** A value from `allowed`, undefined when absent; anything else is the caller's 400. */
function oneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new RangeError(`${name} must be one of ${allowed.join(', ')}`);
}

const FORBIDDEN_TITLE = 'You do not have the necessary permissions for this operation';
const SERVER_ERROR_TEXT = 'An error happened whilst processing your request';

const ROUTES: [string, RegExp, string][] = [
  ['POST', /^\/v2\/meters\/search\/?$/, 'POST /v2/meters/search'],
  ['POST', /^\/v2\/meters\/enrollments\/search\/?$/, 'POST /v2/meters/enrollments/search'],
  ['GET', /^\/v2\/meters\/[^/]+\/enrollments\/?$/, 'GET /v2/meters/{meter_id}/enrollments'],
  ['GET', /^\/v2\/meters\/[^/]+\/?$/, 'GET /v2/meters/{meter_id}'],
  ['POST', /^\/v1\.1\/account\/[^/]+\/meters\/search\/?$/, 'POST /v1.1/account/{account_id}/meters/search'],
  ['GET', /^\/v1\.1\/account\/[^/]+\/meters\/[^/]+\/?$/, 'GET /v1.1/account/{account_id}/meters/{meter_id}'],
  ['GET', /^\/v1\.1\/webhooks\/?$/, 'GET /v1.1/webhooks'],
  ['POST', /^\/v1\.1\/webhooks\/?$/, 'POST /v1.1/webhooks'],
  ['PUT', /^\/v1\.1\/webhooks\/[^/]+\/?$/, 'PUT /v1.1/webhooks/{webhook_id}'],
  ['DELETE', /^\/v1\.1\/webhooks\/[^/]+\/?$/, 'DELETE /v1.1/webhooks/{webhook_id}'],
  ['POST', /^\/v1\.1\/webhooks\/[^/]+\/test\/?$/, 'POST /v1.1/webhooks/{webhook_id}/test'],
];

function familyOf(path: string): Family {
  if (path.startsWith('/v1.1/webhooks')) return 'webhooks';
  if (path.startsWith('/v2/') || path.startsWith('/v1.1/')) return 'meters';
  if (path.startsWith('/_sim')) return 'sim';
  return 'other';
}

function routeLabel(method: string, path: string): string {
  for (const [m, re, label] of ROUTES) if (m === method && re.test(path)) return label;
  if (path.startsWith('/_sim/')) return `${method} ${path.replace(/^\/_sim\/meters\/[^/]+/, '/_sim/meters/{meter_id}')}`;
  return `${method} (unmatched)`;
}

interface Locals {
  family: Family;
  mangle?: 'malformedJson' | 'truncatedJson';
}

function locals(res: Response): Locals {
  return res.locals as Locals;
}

export function createApp(sim: ServedSimulator): Express {
  const app = express();
  app.disable('x-powered-by');
  // ETags would hash every 1 MB search page for nothing.
  app.set('etag', false);
  // Any content type: `curl -d '{...}'` sends form encoding, and Leap's bodies are JSON whatever the header says.
  const jsonParser = express.json({ limit: '2mb', type: () => true });
  const parseBody = (req: Request, res: Response): Promise<unknown> =>
    new Promise((resolve) => {
      jsonParser(req, res, (err?: unknown) => resolve(err ?? null));
    });

  const send = (res: Response, status: number, body: unknown, headers: Record<string, string> = {}): void => sendText(res, status, JSON.stringify(body), headers);
  /** Sends JSON text as it is (meter views and search pages are rendered as text), or mangled by an injected fault. */
  const sendText = (res: Response, status: number, json: string, headers: Record<string, string> = {}): void => {
    let text = json;
    const mangle = locals(res).mangle;
    if (status === 200 && mangle === 'malformedJson') {
      // A stray brace before the object: what a broken proxy or serializer produces; never valid JSON.
      text = `{${text}`;
    } else if (status === 200 && mangle === 'truncatedJson') {
      text = text.slice(0, sim.faults.cutPoint(text.length));
    }
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.status(status).type('application/json').send(text);
  };
  /** Sends a search page body (UTF-8 JSON), as sendText would send its text. */
  const sendBody = (res: Response, body: Buffer): void => {
    if (locals(res).mangle) return sendText(res, 200, body.toString('utf8'));
    res.status(200).set('Content-Type', 'application/json; charset=utf-8').send(body);
  };
  const metersError = (res: Response, status: number, title: string, details: Record<string, unknown> = {}, headers: Record<string, string> = {}): void =>
    send(res, status, { title, status, details }, headers);
  const webhooksError = (res: Response, status: number, error: string, message: string, headers: Record<string, string> = {}): void =>
    send(res, status, { error, message }, headers);
  const familyError = (res: Response, status: number, title: string, message: string, headers: Record<string, string> = {}): void => {
    if (locals(res).family === 'webhooks') webhooksError(res, status, title, message, headers);
    else metersError(res, status, title, {}, headers);
  };
  const serverError = (res: Response): void => {
    if (locals(res).family === 'webhooks') webhooksError(res, 500, 'Internal Server Error', 'An unexpected error occurred');
    else send(res, 500, SERVER_ERROR_TEXT);
  };

  // Request accounting for /_sim/state.
  app.use((req, res, next) => {
    const path = req.path;
    locals(res).family = familyOf(path);
    const label = routeLabel(req.method, path);
    res.on('finish', () => sim.recordRequest(label, res.statusCode));
    next();
  });

  // Leap API gate: auth, rate limit, body, faults.
  app.use(async (req, res, next) => {
    const family = locals(res).family;
    if (family !== 'meters' && family !== 'webhooks') return next();
    const auth = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    if (!auth) {
      if (family === 'webhooks') webhooksError(res, 401, 'Unauthorized', 'Auth token is invalid');
      else metersError(res, 401, 'Unauthorized');
      return;
    }
    if (auth[1] !== sim.apiKey) {
      if (family === 'webhooks') webhooksError(res, 403, 'Forbidden', 'You do not have permission to perform this action');
      else metersError(res, 403, FORBIDDEN_TITLE);
      return;
    }
    const wait = sim.faults.limiter.take(Date.now());
    if (wait > 0) {
      sim.faults.injected.rateLimit++;
      familyError(res, 429, 'Too Many Requests', 'Rate limit exceeded', { 'Retry-After': String(wait) });
      return;
    }
    const parseError = await parseBody(req, res);
    if (parseError) {
      const message = parseError instanceof Error ? parseError.message : 'invalid JSON';
      if (family === 'webhooks') webhooksError(res, 400, 'Bad Request', `Malformed JSON body: ${message}`);
      else metersError(res, 400, 'Malformed JSON body', { body: message });
      return;
    }
    const body: unknown = req.body;
    const hasPageToken = body !== null && typeof body === 'object' && typeof (body as Record<string, unknown>).page_token === 'string';
    const decision = sim.faults.decide(req.path, hasPageToken);
    if (decision.latencyMs > 0) await new Promise((r) => setTimeout(r, decision.latencyMs));
    const retryAfter = sim.faults.retryAfterSeconds();
    switch (decision.fault) {
      case 'rateLimited':
        return familyError(res, 429, 'Too Many Requests', 'Rate limit exceeded', { 'Retry-After': String(retryAfter) });
      case 'rateLimitedHttpDate':
        return familyError(res, 429, 'Too Many Requests', 'Rate limit exceeded', { 'Retry-After': new Date(Date.now() + retryAfter * 1000).toUTCString() });
      case 'rateLimitedNoRetryAfter':
        return familyError(res, 429, 'Too Many Requests', 'Rate limit exceeded');
      case 'serverError':
        return serverError(res);
      case 'expiredPageToken': {
        const token = String((body as Record<string, unknown>).page_token);
        return metersError(res, 400, 'Page token expired', { page_token: token.length > 4096 ? `${token.slice(0, 4096)}...` : token });
      }
      case 'malformedJson':
      case 'truncatedJson':
        locals(res).mangle = decision.fault;
        break;
      default:
        break;
    }
    next();
  });

  // ---- Meters API v2 ----
  const v2Search = (kind: SearchKind) => (req: Request, res: Response) => {
    const parsed = readV2Search(req.body);
    if (!parsed.ok) return metersError(res, 400, 'Invalid request body', parsed.errors);
    const out = sim.search(kind, parsed.request);
    if (!out.ok) return metersError(res, 400, out.title, out.details);
    sendBody(res, sim.pageBody(kind, out.indices, out.nextPageToken));
  };
  const meterIndex = (res: Response, id: string): number => {
    if (!UUID_PATTERN.test(id)) {
      metersError(res, 400, 'Meter id is not a UUID', { meter_id: id });
      return -1;
    }
    const i = sim.store.indexOf(id);
    if (i < 0) metersError(res, 404, 'Meter not found', { meter_id: id });
    return i;
  };
  app.post('/v2/meters/search', v2Search('d'));
  app.post('/v2/meters/enrollments/search', v2Search('e'));
  app.get('/v2/meters/:meter_id/enrollments', (req, res) => {
    const i = meterIndex(res, req.params.meter_id);
    if (i >= 0) sendText(res, 200, sim.renderer.enrollment.json(i));
  });
  app.get('/v2/meters/:meter_id', (req, res) => {
    const i = meterIndex(res, req.params.meter_id);
    if (i >= 0) sendText(res, 200, sim.renderer.details.json(i));
  });

  // ---- Meters API v1 (deprecated, still served) ----
  const accountOk = (req: Request, res: Response): boolean => {
    if (String(req.params.account_id).toLowerCase() === sim.accountId) return true;
    metersError(res, 403, FORBIDDEN_TITLE);
    return false;
  };
  app.post('/v1.1/account/:account_id/meters/search', (req, res) => {
    if (!accountOk(req, res)) return;
    const parsed = readV1Search(req.body);
    if (!parsed.ok) return metersError(res, 400, 'Invalid request body', parsed.errors);
    const out = sim.search('1', parsed.request);
    if (!out.ok) return metersError(res, 400, out.title, out.details);
    sendBody(res, sim.pageBody('1', out.indices, out.nextPageToken));
  });
  app.get('/v1.1/account/:account_id/meters/:meter_id', (req, res) => {
    if (!accountOk(req, res)) return;
    const i = meterIndex(res, req.params.meter_id);
    if (i >= 0) sendText(res, 200, sim.renderer.v1.json(i, sim.now().getTime()));
  });

  // ---- Webhook Subscription API v1.1 ----
  const notFound = (res: Response): void => webhooksError(res, 404, 'Not Found', 'The specified resource was not found');
  app.get('/v1.1/webhooks', (_req, res) => send(res, 200, { webhooks: sim.webhooks.list() }));
  app.post('/v1.1/webhooks', (req, res) => {
    const v = validateWebhookRequest(req.body);
    if (!v.ok) return webhooksError(res, 400, 'Bad Request', v.message);
    send(res, 200, { webhook_id: sim.webhooks.create(v.request).webhook_id });
  });
  app.put('/v1.1/webhooks/:webhook_id', (req, res) => {
    const id = String(req.params.webhook_id).toLowerCase();
    if (!sim.webhooks.get(id)) return notFound(res);
    const v = validateWebhookRequest(req.body);
    if (!v.ok) return webhooksError(res, 400, 'Bad Request', v.message);
    sim.webhooks.update(id, v.request);
    send(res, 200, { webhook_id: id });
  });
  app.delete('/v1.1/webhooks/:webhook_id', (req, res) => {
    if (!sim.webhooks.delete(String(req.params.webhook_id).toLowerCase())) return notFound(res);
    send(res, 200, { message: 'Operation completed successfully' });
  });
  app.post('/v1.1/webhooks/:webhook_id/test', async (req, res) => {
    const id = String(req.params.webhook_id).toLowerCase();
    if (!sim.webhooks.get(id)) return notFound(res);
    const body: unknown = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body) || !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(String((body as Record<string, unknown>).webhook_event_type))) {
      return webhooksError(res, 400, 'Bad Request', `Body must be an event payload with webhook_event_type one of: ${WEBHOOK_EVENT_TYPES.join(', ')}`);
    }
    const result = await sim.webhooks.test(id, body as Record<string, unknown>);
    if (!result) return notFound(res);
    send(res, 200, result);
  });

  // ---- Simulator control ----
  const sim400 = (res: Response, title: string, details: Record<string, unknown> = {}): void => send(res, 400, { title, status: 400, details });
  app.use('/_sim', express.json({ limit: '1mb', type: () => true }));
  app.post('/_sim/advance', (req, res) => {
    const hours: unknown = (req.body as Record<string, unknown> | undefined)?.hours;
    if (typeof hours !== 'number' || !Number.isFinite(hours) || hours <= 0 || hours > 8784) {
      return sim400(res, 'Invalid advance', { hours: 'must be a number greater than 0 and at most 8784 (fractions allowed)' });
    }
    send(res, 200, sim.advance(hours));
  });
  app.get('/_sim/state', (_req, res) => send(res, 200, sim.state()));
  app.get('/_sim/faults', (_req, res) => send(res, 200, sim.faults.current()));
  app.post('/_sim/faults', (req, res) => {
    const v = validateFaultConfig(req.body ?? {});
    if (!v.ok) return sim400(res, 'Invalid fault configuration', v.errors);
    sim.setFaults(v.config);
    send(res, 200, sim.faults.current());
  });
  app.delete('/_sim/faults', (_req, res) => {
    sim.clearFaults();
    send(res, 200, sim.faults.current());
  });
  app.get('/_sim/events', (req, res) => {
    const limit = Math.min(2000, Math.max(1, Number(req.query.limit ?? 100) || 100));
    send(res, 200, { events: sim.events().slice(-limit) });
  });
  app.get('/_sim/meters', (req, res) => {
    const status = oneOf(req.query.status, STATUS_CODES, 'status');
    const limit = Math.min(100_000, Math.max(1, Number(req.query.limit ?? 100) || 100));
    send(res, 200, { meter_ids: sim.meterIds({ status, limit }) });
  });
  app.post('/_sim/authorizations', (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const count = b.count === undefined ? undefined : Number(b.count);
    const partnerReference = typeof b.partnerReference === 'string' ? b.partnerReference : undefined;
    const utility = typeof b.utility === 'string' ? b.utility : undefined;
    const ids = sim.authorize({
      count,
      partnerReference,
      utility,
      region: oneOf(b.region, REGION_CODES, 'region'),
      meterType: oneOf(b.meterType, METER_TYPE_CODES, 'meterType'),
      deviceType: oneOf(b.deviceType, DEVICE_TYPES, 'deviceType'),
    });
    send(res, 200, { meter_ids: ids });
  });
  app.get('/_sim/meters/:meter_id', (req, res) => send(res, 200, sim.meter(req.params.meter_id)));
  app.post('/_sim/meters/:meter_id/:action', (req, res) => {
    const id = req.params.meter_id;
    const b = (req.body ?? {}) as Record<string, unknown>;
    const str = (k: string): string | undefined => (typeof b[k] === 'string' ? (b[k] as string) : undefined);
    switch (req.params.action) {
      case 'status':
        sim.setStatus(id, oneOf(b.status, STATUS_CODES, 'status') ?? STATUS_CODES[0]);
        break;
      case 'activate':
        sim.activate(id, str('marketGroup'));
        break;
      case 'partner-actions': {
        const code = oneOf(b.code, PARTNER_ACTION_CODES, 'code');
        if (!code) throw new RangeError(`code must be one of ${PARTNER_ACTION_CODES.join(', ')}`);
        sim.addPartnerAction(id, code, { keepStatus: b.keepStatus === true });
        break;
      }
      case 'clear-partner-actions':
        sim.clearPartnerActions(id, oneOf(b.code, PARTNER_ACTION_CODES, 'code'));
        break;
      case 'leap-actions':
        sim.setLeapActions(id, (Array.isArray(b.codes) ? b.codes : []).map((c: unknown) => oneOf(c, LEAP_ACTION_CODES, 'codes[]') ?? 'LEAP_0001'));
        break;
      case 'market-group':
        sim.setMarketGroup(id, str('marketGroup') ?? '', { fromTradeDate: str('fromTradeDate') });
        break;
      case 'participation': {
        const preference = oneOf(b.preference, PREFERENCES, 'preference');
        if (!preference) throw new RangeError(`preference must be one of ${PREFERENCES.join(', ')}`);
        const end = str('end');
        sim.setParticipation(id, preference, end ? { end: new Date(end) } : {});
        break;
      }
      case 'details':
        sim.editDetails(id, { address: b.address === true, tariff: b.tariff === true, device: b.device === true });
        break;
      case 'archive':
        sim.archive(id);
        break;
      case 'partner-reference':
        sim.setPartnerReference(id, str('reference') ?? '');
        break;
      case 'unknown-field':
        sim.addUnknownField(
          id,
          str('name') ?? 'unknown_field',
          b.value,
          Array.isArray(b.parts) ? b.parts.map((p: unknown) => oneOf(p, ['details', 'enrollment', 'v1'] as const, 'parts[]') ?? 'details') : undefined,
        );
        break;
      default:
        return send(res, 404, { title: 'Unknown simulator action', status: 404, details: { action: req.params.action } });
    }
    send(res, 200, sim.meter(id));
  });

  app.use((req, res) => {
    const family = locals(res).family;
    if (family === 'webhooks') return notFound(res);
    send(res, 404, { title: 'Not Found', status: 404, details: { path: req.path } });
  });

  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const family = locals(res).family;
    if (family === 'sim' && err instanceof RangeError) {
      if (err.message.startsWith('unknown meter')) return send(res, 404, { title: 'Meter not found', status: 404, details: { message: err.message } });
      return sim400(res, err.message);
    }
    if (family === 'sim' && err !== null && typeof err === 'object' && (err as { type?: string }).type === 'entity.parse.failed') return sim400(res, 'Malformed JSON body');
    sim.logger.error('simulator request failed', { error: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined });
    serverError(res);
  });

  return app;
}
