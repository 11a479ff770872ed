import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import Bottleneck from 'bottleneck';
import { LeapClient, type LeapClientConfig, type LeapClientOptions } from '../../src/clients/leap-client';
import {
  LeapAbortedError,
  LeapBadRequestError,
  LeapError,
  LeapForbiddenError,
  LeapMalformedPageError,
  LeapNotFoundError,
  LeapPageTokenExpiredError,
  LeapUnauthorizedError,
  LeapUnavailableError,
  LeapUnexpectedStatusError,
} from '../../src/clients/leap-errors';
import type { LeapPage } from '../../src/domain/leap-types';
import { ConfigError, UpstreamError } from '../../src/errors';
import type { Logger, LogMeta } from '../../src/logger';
import { detailsMeter, meterIdFor, v1GetAnswer, v1SearchAnswer, v2DetailsGetAnswer, v2EnrollmentGetAnswer, v2EnrollmentSearchAnswer } from '../fixtures/leap-examples';
import { type ScriptedAnswer, type ScriptedServer, startScriptedServer } from '../helpers/scripted-server';

const KEY = '4P0u5KS3NuAOrw6Y:G9ztJlkDvBqdZjHf1J5bLtpY4t8DwI097LeCS4LoKC2g';
const KEY_SECRET_HALF = 'G9ztJlkDvBqdZjHf1J5bLtpY4t8DwI097LeCS4LoKC2g';
const ACCOUNT = 'bcf75ad7-199c-1954-bfb1-5fe1133a50bc';
const FILTER = { last_modified_date_time: '2025-06-01T00:00:00Z', exclude_archived: true };
/** The injected clock: Retry-After dates are read against it. */
const NOW = Date.parse('2026-03-01T12:00:00Z');

class RecordingLogger implements Logger {
  readonly lines: { level: string; message: string; meta?: LogMeta }[] = [];
  error(message: string, meta?: LogMeta): void {
    this.lines.push({ level: 'error', message, meta });
  }
  warn(message: string, meta?: LogMeta): void {
    this.lines.push({ level: 'warn', message, meta });
  }
  info(message: string, meta?: LogMeta): void {
    this.lines.push({ level: 'info', message, meta });
  }
  debug(message: string, meta?: LogMeta): void {
    this.lines.push({ level: 'debug', message, meta });
  }
  child(): Logger {
    return this;
  }
  text(): string {
    return JSON.stringify(this.lines);
  }
}

function config(url: string, over: Partial<LeapClientConfig> = {}): LeapClientConfig {
  return {
    baseUrl: url,
    apiKey: KEY,
    apiVersion: 'v2',
    pageSize: 100,
    timeoutMs: 2000,
    rateLimit: { requestsPerSecond: 1000, maxConcurrent: 4 },
    retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 5000 },
    ...over,
  };
}

const page = (ids: number[], next?: string | null): ScriptedAnswer => ({
  status: 200,
  body: { meters: ids.map((n) => detailsMeter(meterIdFor(n))), ...(next === undefined ? {} : { next_page_token: next }) },
});

async function collect<T extends { meter_id: string }>(pages: AsyncGenerator<LeapPage<T>, void, undefined>): Promise<{ ids: string[]; pageNumbers: number[] }> {
  const ids: string[] = [];
  const pageNumbers: number[] = [];
  for await (const p of pages) {
    pageNumbers.push(p.pageNumber);
    ids.push(...p.items.map((m) => m.meter_id));
  }
  return { ids, pageNumbers };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected the call to fail');
}

/** The key must not appear anywhere a thrown error can be printed, serialized or logged. */
function assertNoSecrets(err: unknown): void {
  assert.ok(err instanceof Error);
  for (const text of [err.message, String(err.stack), JSON.stringify(err), inspect(err, { depth: 10 })]) {
    assert.ok(!text.includes(KEY_SECRET_HALF), `API key leaked: ${text.slice(0, 300)}`);
    assert.ok(!/Bearer (?!\[REDACTED\])/.test(text), `bearer token leaked: ${text.slice(0, 300)}`);
  }
  assert.equal(Object.prototype.hasOwnProperty.call(err, 'config'), false, 'no axios config on the error');
  assert.equal(Object.prototype.hasOwnProperty.call(err, 'request'), false, 'no request on the error');
}

describe('LeapClient against a scripted Leap', () => {
  let server: ScriptedServer;
  let client: LeapClient;
  let sleeps: number[];
  let logger: RecordingLogger;

  function makeClient(over: Partial<LeapClientConfig> = {}, opts: LeapClientOptions = {}): LeapClient {
    return new LeapClient(config(server.url, over), logger, {
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      now: () => NOW,
      ...opts,
    });
  }

  beforeEach(async () => {
    server = await startScriptedServer();
    sleeps = [];
    logger = new RecordingLogger();
    client = makeClient();
  });

  afterEach(async () => {
    await client.close();
    await server.close();
  });

  describe('v2 searches', () => {
    it('pages through details, resending the filters with each page token, and stops when the token is absent', async () => {
      server.enqueue(page([1, 2], 'tok-1'), page([3, 4], 'tok-2'), page([5]));
      const { ids, pageNumbers } = await collect(client.searchDetails(FILTER));
      assert.deepEqual(ids, [1, 2, 3, 4, 5].map(meterIdFor));
      assert.deepEqual(pageNumbers, [1, 2, 3]);
      assert.deepEqual(
        server.requests.map((r) => [r.method, r.path]),
        [
          ['POST', '/v2/meters/search'],
          ['POST', '/v2/meters/search'],
          ['POST', '/v2/meters/search'],
        ],
      );
      assert.deepEqual(
        server.requests.map((r) => r.json),
        [
          { ...FILTER, page_size: 100 },
          { ...FILTER, page_size: 100, page_token: 'tok-1' },
          { ...FILTER, page_size: 100, page_token: 'tok-2' },
        ],
      );
      const headers = server.requests[0].headers;
      assert.equal(headers.authorization, `Bearer ${KEY}`);
      assert.equal(headers['content-type'], 'application/json');
      assert.equal(headers.accept, 'application/json');
      assert.equal(headers['user-agent'], 'leap-connector');
      assert.equal(headers.connection, 'keep-alive');
      assert.deepEqual(client.stats().pages, 3);
      assert.deepEqual(client.stats().items, 5);
    });

    it('asks for the next page only when the caller wants it (nothing read ahead, nothing kept)', async () => {
      server.enqueue(page([1], 'tok-1'), page([2]));
      const pages = client.searchDetails({});
      const first = await pages.next();
      assert.equal(first.done, false);
      assert.equal(server.requests.length, 1, 'the second page is not requested before the caller asks');
      const second = await pages.next();
      assert.deepEqual(second.value?.items.map((m) => m.meter_id), [meterIdFor(2)]);
      assert.equal((await pages.next()).done, true);
      assert.equal(server.requests.length, 2);
    });

    it('ends on a null or empty next_page_token', async () => {
      server.enqueue(page([1], ''));
      assert.deepEqual((await collect(client.searchDetails({}))).ids, [meterIdFor(1)]);
      server.enqueue(page([2], null));
      assert.deepEqual((await collect(client.searchDetails({}))).ids, [meterIdFor(2)]);
      assert.equal(server.requests.length, 2);
    });

    it('searches enrollments on their own path and returns the items as Leap sent them, unknown fields kept', async () => {
      const answer = v2EnrollmentSearchAnswer();
      delete answer.next_page_token;
      (answer.meters[0] as Record<string, unknown>).brand_new_field = { x: 1 };
      server.enqueue({ body: answer });
      const pages: LeapPage<unknown>[] = [];
      for await (const p of client.searchEnrollments({ partner_action_required: true }, { pageSize: 500 })) pages.push(p);
      assert.equal(server.requests[0].path, '/v2/meters/enrollments/search');
      assert.deepEqual(server.requests[0].json, { partner_action_required: true, page_size: 500 });
      assert.deepEqual(pages[0].items, answer.meters);
    });

    it('resumes a search at a stored page token, numbering pages from where it left off', async () => {
      server.enqueue(page([7]));
      const { ids, pageNumbers } = await collect(client.searchDetails(FILTER, { pageToken: 'stored-tok', firstPageNumber: 4 }));
      assert.deepEqual(ids, [meterIdFor(7)]);
      assert.deepEqual(pageNumbers, [4]);
      assert.deepEqual(server.requests[0].json, { ...FILTER, page_size: 100, page_token: 'stored-tok' });
    });

    it('refuses a page size outside 1..500 before calling Leap', async () => {
      await assert.rejects(collect(client.searchDetails({}, { pageSize: 501 })), ConfigError);
      await assert.rejects(collect(client.searchDetails({}, { pageSize: 0 })), ConfigError);
      assert.equal(server.requests.length, 0);
    });

    it('stops when Leap hands back the token it was given, rather than paging forever', async () => {
      server.enqueue(page([1], 'same'), page([2], 'same'));
      const err = await rejection(collect(client.searchDetails({})));
      assert.ok(err instanceof LeapMalformedPageError);
      assert.equal(err.pageNumber, 2);
      assert.deepEqual(err.problems, [{ pointer: '/next_page_token', message: 'repeats the token that requested this page' }]);
    });
  });

  describe('v2 gets', () => {
    it('gets details and enrollment by meter id', async () => {
      server.enqueue({ body: v2DetailsGetAnswer() }, { body: v2EnrollmentGetAnswer() });
      const details = await client.getDetails('5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d');
      const enrollment = await client.getEnrollment('2fa85f64-5717-4562-b3fc-2c963f66afa6');
      assert.deepEqual(details, v2DetailsGetAnswer());
      assert.deepEqual(enrollment, v2EnrollmentGetAnswer());
      assert.deepEqual(
        server.requests.map((r) => [r.method, r.path]),
        [
          ['GET', '/v2/meters/5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d'],
          ['GET', '/v2/meters/2fa85f64-5717-4562-b3fc-2c963f66afa6/enrollments'],
        ],
      );
    });

    it('404 on a get is LeapNotFoundError with the meter id, not retried', async () => {
      const id = 'f5c5e328-e325-4d6d-b357-5015ed5962a7';
      server.enqueue({ status: 404, body: { title: 'Meter not found', status: 404, details: { meter_id: id } } });
      const err = await rejection(client.getDetails(id));
      assert.ok(err instanceof LeapNotFoundError);
      assert.equal(err.code, 'leap_not_found');
      assert.equal(err.meterId, id);
      assert.equal(err.upstreamStatus, 404);
      assert.equal(err.path, `/v2/meters/${id}`);
      assert.match(err.message, new RegExp(`Leap has no meter ${id}.*Meter not found`));
      assert.equal(server.requests.length, 1);
      assertNoSecrets(err);
    });

    it('escapes the meter id in the path', async () => {
      server.enqueue({ status: 400, body: { title: 'Meter id is not a UUID', status: 400, details: { meter_id: 'a/b' } } });
      await assert.rejects(client.getDetails('a/b'), LeapBadRequestError);
      assert.equal(server.requests[0].path, '/v2/meters/a%2Fb');
    });
  });

  describe('v1', () => {
    beforeEach(async () => {
      await client.close();
      client = makeClient({ apiVersion: 'v1', accountId: ACCOUNT });
    });

    it('searches meters on the account path with the v1 filters and reads the results envelope', async () => {
      const filter = { date_added_from: '2025-01-01T00:00:00Z', date_added_to: '2025-06-01T00:00:00Z', date_last_modified: '2025-06-01T00:00:00Z' };
      const first = v1SearchAnswer();
      server.enqueue({ body: { ...first, next_page_token: 'v1-tok' } }, { body: { results: [v1GetAnswer()], next_page_token: null } });
      const { ids } = await collect(client.searchMetersV1(filter));
      assert.deepEqual(ids, ['5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d', '7a9e0c11-3f0b-4d55-a1f6-6c2b8e9d0f12']);
      assert.deepEqual(
        server.requests.map((r) => [r.method, r.path, r.json]),
        [
          ['POST', `/v1.1/account/${ACCOUNT}/meters/search`, { ...filter, page_size: 100 }],
          ['POST', `/v1.1/account/${ACCOUNT}/meters/search`, { ...filter, page_size: 100, page_token: 'v1-tok' }],
        ],
      );
    });

    it('gets one meter on the account path', async () => {
      server.enqueue({ body: v1GetAnswer() });
      const meter = await client.getMeterV1('7a9e0c11-3f0b-4d55-a1f6-6c2b8e9d0f12');
      assert.deepEqual(meter, v1GetAnswer());
      assert.equal(server.requests[0].path, `/v1.1/account/${ACCOUNT}/meters/7a9e0c11-3f0b-4d55-a1f6-6c2b8e9d0f12`);
    });

    it('treats a v2-shaped answer on v1 as malformed', async () => {
      server.enqueue({ body: { meters: [] } });
      const err = await rejection(collect(client.searchMetersV1({})));
      assert.ok(err instanceof LeapMalformedPageError);
      assert.deepEqual(err.problems, [{ pointer: '/results', message: 'is required' }]);
    });

    it('needs an account id', () => {
      assert.throws(() => new LeapClient(config(server.url, { apiVersion: 'v1' }), logger), (err: unknown) => err instanceof ConfigError && /accountId is required/.test(err.message));
    });
  });

  describe('retryable faults recover, every item exactly once', () => {
    const faults: [string, ScriptedAnswer, number | null][] = [
      ['429 with Retry-After in seconds', { status: 429, headers: { 'retry-after': '2' }, body: { title: 'Too many requests', status: 429, details: {} } }, 2000],
      ['429 with Retry-After as an HTTP date', { status: 429, headers: { 'retry-after': new Date(NOW + 3000).toUTCString() }, body: '' }, 3000],
      ['429 without Retry-After', { status: 429, body: { title: 'Too many requests', status: 429, details: {} } }, 50],
      ["500 with Leap's bare-string body", { status: 500, body: JSON.stringify('An error happened whilst processing your request') }, 50],
      ['503', { status: 503, body: '<html>Service Unavailable</html>', headers: { 'content-type': 'text/html' } }, 50],
      ['a reset connection', { destroy: true }, 50],
      ['a body cut off mid-stream', { status: 200, body: JSON.stringify({ meters: [detailsMeter(meterIdFor(3))] }), cutAfterBytes: 40 }, 50],
      ['malformed JSON on a 200', { status: 200, body: '{"meters": [ {"meter_id": oops } ] }' }, 50],
      ['truncated JSON on a 200', { status: 200, body: JSON.stringify({ meters: [detailsMeter(meterIdFor(3))], next_page_token: 'x' }).slice(0, 120) }, 50],
      ['an empty 200', { status: 200, body: '' }, 50],
    ];

    for (const [label, fault, expectedSleep] of faults) {
      it(label, async () => {
        server.enqueue(page([1, 2], 'tok-1'), fault, page([3, 4]));
        const { ids } = await collect(client.searchDetails(FILTER));
        assert.deepEqual(ids, [1, 2, 3, 4].map(meterIdFor));
        assert.equal(new Set(ids).size, 4);
        assert.equal(server.requests.length, 3);
        assert.deepEqual(server.requests[2].json, server.requests[1].json, 'the retry resends the same page request');
        assert.deepEqual(server.requests[2].json, { ...FILTER, page_size: 100, page_token: 'tok-1' });
        // First retry with random()=0.5: half of baseDelayMs, unless Leap said how long to wait.
        assert.deepEqual(sleeps, [expectedSleep]);
        assert.equal(client.stats().retries, 1);
        assert.equal(client.stats().requests, 3);
      });
    }

    it('a timeout', async () => {
      await client.close();
      client = makeClient({ timeoutMs: 250 });
      server.enqueue(page([1, 2], 'tok-1'), { ...page([3, 4]), delayMs: 2000 }, page([3, 4]));
      const { ids } = await collect(client.searchDetails(FILTER));
      assert.deepEqual(ids, [1, 2, 3, 4].map(meterIdFor));
      assert.equal(server.requests.length, 3);
      assert.equal(client.stats().timeouts, 1);
      assert.match(JSON.stringify(logger.lines), /timeout: no complete answer within 250 ms/);
    });

    it('counts what happened for progress lines', async () => {
      await client.close();
      client = makeClient({ retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 5000 } });
      server.enqueue({ status: 429 }, { status: 503 }, { destroy: true }, { status: 200, body: '{' }, page([1]));
      await collect(client.searchDetails({}));
      const stats = client.stats();
      assert.deepEqual(
        { requests: stats.requests, retries: stats.retries, throttled429: stats.throttled429, serverErrors: stats.serverErrors, networkErrors: stats.networkErrors, malformed: stats.malformedResponses, pages: stats.pages, items: stats.items },
        { requests: 5, retries: 4, throttled429: 1, serverErrors: 1, networkErrors: 1, malformed: 1, pages: 1, items: 1 },
      );
      assert.equal(stats.retryWaitMs, sleeps.reduce((a, b) => a + b, 0));
    });
  });

  describe('backoff', () => {
    it('doubles from baseDelayMs up to maxDelayMs (full jitter, random()=1 shows the ceiling)', async () => {
      await client.close();
      client = makeClient({ retry: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 500 } }, { random: () => 1 });
      server.enqueue({ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, page([1]));
      await collect(client.searchDetails({}));
      assert.deepEqual(sleeps, [100, 200, 400, 500, 500]);
    });

    it('clamps a huge Retry-After to twice maxDelayMs', async () => {
      server.enqueue({ status: 429, headers: { 'retry-after': '86400' } }, page([1]));
      await collect(client.searchDetails({}));
      assert.deepEqual(sleeps, [10_000]);
    });

    it('honours Retry-After on a 503 too', async () => {
      server.enqueue({ status: 503, headers: { 'retry-after': '1' } }, page([1]));
      await collect(client.searchDetails({}));
      assert.deepEqual(sleeps, [1000]);
    });

    it('logs each retry without secrets', async () => {
      server.enqueue({ status: 503, body: `upstream said: Bearer ${KEY}` }, { status: 429 }, page([1]));
      await collect(client.searchDetails({}));
      const retries = logger.lines.filter((l) => l.message === 'Leap call failed; retrying');
      assert.deepEqual(
        retries.map((l) => [l.level, l.meta?.status, l.meta?.attempt, l.meta?.path]),
        [
          ['warn', 503, 1, '/v2/meters/search'],
          ['debug', 429, 2, '/v2/meters/search'],
        ],
      );
      assert.ok(!logger.text().includes(KEY_SECRET_HALF));
    });
  });

  describe('giving up', () => {
    it('retries exhausted → LeapUnavailableError with the last status, after maxAttempts requests', async () => {
      server.enqueue(page([1], 'tok-1'), { status: 503 }, { status: 500 }, { status: 502 }, { status: 503, body: { title: 'Service Unavailable', status: 503, details: {} } });
      const pages = client.searchDetails(FILTER);
      const first = await pages.next();
      assert.equal(first.value?.pageNumber, 1);
      const err = await rejection(pages.next());
      assert.ok(err instanceof LeapUnavailableError);
      assert.ok(err instanceof UpstreamError);
      assert.equal(err.code, 'leap_unavailable');
      assert.equal(err.upstreamStatus, 503);
      assert.equal(err.lastStatus, 503);
      assert.equal(err.attempts, 4);
      assert.equal(err.pageNumber, 2);
      assert.equal(err.path, '/v2/meters/search');
      assert.match(err.message, /POST \/v2\/meters\/search \(page 2\) failed 4 time\(s\), last with HTTP 503 "Service Unavailable"/);
      assert.match(err.bodyExcerpt ?? '', /Service Unavailable/);
      assert.equal(server.requests.length, 5);
      assertNoSecrets(err);
    });

    it('network failures exhausted → LeapUnavailableError naming the cause', async () => {
      server.enqueue({ destroy: true }, { destroy: true }, { destroy: true }, { destroy: true });
      const err = await rejection(client.getDetails(meterIdFor(1)));
      assert.ok(err instanceof LeapUnavailableError);
      assert.equal(err.lastStatus, undefined);
      assert.match(err.lastCause, /ECONNRESET|socket hang up/);
      assertNoSecrets(err);
    });

    it('an unreachable Leap → LeapUnavailableError that says to check LEAP_BASE_URL', async () => {
      const port = new URL(server.url).port;
      await server.close();
      await client.close();
      client = new LeapClient(config(`http://127.0.0.1:${port}`, { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }), logger, { sleep: async () => undefined });
      const err = await rejection(client.getDetails(meterIdFor(1)));
      assert.ok(err instanceof LeapUnavailableError);
      assert.match(err.message, /ECONNREFUSED.*check LEAP_BASE_URL/);
      assertNoSecrets(err);
      server = await startScriptedServer();
    });

    it('malformed JSON that persists → LeapMalformedPageError, not LeapUnavailableError', async () => {
      server.enqueue({ body: '{"meters": [' }, { body: '{"meters": [' }, { body: '{"meters": [' }, { body: '{"meters": [' });
      const err = await rejection(collect(client.searchDetails({})));
      assert.ok(err instanceof LeapMalformedPageError);
      assert.equal(err.code, 'leap_malformed_page');
      assert.equal(err.pageNumber, 1);
      assert.equal(err.attempts, 4);
      assert.match(err.message, /page 1 of POST \/v2\/meters\/search: \/ is not valid JSON/);
      assert.equal(err.bodyExcerpt, '{"meters": [');
      assert.equal(server.requests.length, 4);
    });
  });

  describe('client errors are typed, explained and never retried', () => {
    it('401 → LeapUnauthorizedError telling to check LEAP_API_KEY', async () => {
      server.enqueue({ status: 401, body: { title: 'Unauthorized', status: 401, details: {} } });
      const err = await rejection(collect(client.searchDetails({})));
      assert.ok(err instanceof LeapUnauthorizedError);
      assert.equal(err.code, 'leap_unauthorized');
      assert.match(err.message, /^Leap rejected the request as unauthenticated: check LEAP_API_KEY is set and sent/);
      assert.equal(err.upstreamStatus, 401);
      assert.equal(err.pageNumber, 1);
      assert.equal(server.requests.length, 1);
      assertNoSecrets(err);
    });

    it('403 → LeapForbiddenError explaining staging vs production keys', async () => {
      server.enqueue({ status: 403, body: { title: 'You do not have the necessary permissions for this operation', status: 403, details: {} } });
      const err = await rejection(client.getEnrollment(meterIdFor(1)));
      assert.ok(err instanceof LeapForbiddenError);
      assert.equal(err.code, 'leap_forbidden');
      assert.match(err.message, /^Leap refused the API key: a staging key used against production \(or the reverse\) or a key without meter permissions — check LEAP_BASE_URL matches the key's environment/);
      assert.match(err.message, /necessary permissions/);
      assert.equal(server.requests.length, 1);
      assertNoSecrets(err);
    });

    it("400 → LeapBadRequestError with Leap's title and details (object or array)", async () => {
      server.enqueue(
        { status: 400, body: { title: 'Invalid filter', status: 400, details: { page_size: 'must be at most 500' } } },
        { status: 400, body: { title: 'Invalid filter', status: 400, details: [{ message: 'tags', description: 'at most 20' }] } },
      );
      const a = await rejection(collect(client.searchDetails({})));
      assert.ok(a instanceof LeapBadRequestError);
      assert.equal(a.code, 'leap_bad_request');
      assert.equal(a.leapTitle, 'Invalid filter');
      assert.deepEqual(a.leapDetails, { page_size: 'must be at most 500' });
      assert.match(a.message, /Invalid filter \(page_size: must be at most 500\)/);
      const b = await rejection(collect(client.searchDetails({})));
      assert.ok(b instanceof LeapBadRequestError);
      assert.match(b.message, /Invalid filter \(tags: at most 20\)/);
      assert.equal(server.requests.length, 2);
    });

    it('400 about the page token → LeapPageTokenExpiredError on that page, so the caller restarts from its cursor', async () => {
      server.enqueue(page([1], 'tok-1'), { status: 400, body: { title: 'Invalid page token', status: 400, details: { page_token: 'expired' } } });
      const pages = client.searchDetails(FILTER);
      await pages.next();
      const err = await rejection(pages.next());
      assert.ok(err instanceof LeapPageTokenExpiredError);
      assert.equal(err.code, 'leap_page_token_expired');
      assert.equal(err.pageNumber, 2);
      assert.match(err.message, /restart the search from its cursor/);
      assert.equal(server.requests.length, 2);
    });

    it('a resumed search whose stored token expired fails the same way on page 1', async () => {
      server.enqueue({ status: 400, body: { title: 'Page token expired', status: 400, details: {} } });
      const err = await rejection(collect(client.searchDetails(FILTER, { pageToken: 'old' })));
      assert.ok(err instanceof LeapPageTokenExpiredError);
      assert.equal(err.pageNumber, 1);
    });

    it('a 400 mentioning page tokens without one sent stays a bad request', async () => {
      server.enqueue({ status: 400, body: { title: 'page_token must be a string', status: 400, details: {} } });
      assert.ok((await rejection(collect(client.searchDetails({})))) instanceof LeapBadRequestError);
    });

    it('a redirect is reported, not followed with the key', async () => {
      server.enqueue({ status: 301, headers: { location: 'https://api.leap.energy/v2/meters/search' } });
      const err = await rejection(collect(client.searchDetails({})));
      assert.ok(err instanceof LeapUnexpectedStatusError);
      assert.match(err.message, /redirected to https:\/\/api\.leap\.energy\/v2\/meters\/search — check LEAP_BASE_URL/);
      assert.equal(server.requests.length, 1);
    });

    it('malformed page (missing meter_id, bad updated_at) → LeapMalformedPageError with page, index and pointer; not retried', async () => {
      const good = detailsMeter(meterIdFor(1));
      const noId: Record<string, unknown> = { ...detailsMeter(meterIdFor(2)) };
      delete noId.meter_id;
      const badTime = detailsMeter(meterIdFor(3), 'last tuesday');
      server.enqueue(page([9], 'tok-1'), { body: { meters: [good, noId, badTime], next_page_token: 'tok-2' } });
      const seen: string[] = [];
      const err = await rejection(
        (async () => {
          for await (const p of client.searchDetails({})) seen.push(...p.items.map((m) => m.meter_id));
        })(),
      );
      assert.ok(err instanceof LeapMalformedPageError);
      assert.equal(err.pageNumber, 2);
      assert.deepEqual(err.problems, [
        { index: 1, pointer: '/meters/1/meter_id', message: 'is required' },
        { index: 2, meter_id: meterIdFor(3), pointer: '/meters/2/audit/updated_at', message: 'must be an ISO-8601 timestamp, got "last tuesday"' },
      ]);
      assert.match(err.message, /page 2 of POST \/v2\/meters\/search: item 1 \/meters\/1\/meter_id is required; item 2 \(meter_id 00000000-0000-4000-8000-000000000003\) \/meters\/2\/audit\/updated_at must be an ISO-8601 timestamp/);
      assert.deepEqual(seen, [meterIdFor(9)], 'no item of the bad page is handed out');
      assert.equal(JSON.parse(err.bodyExcerpt ?? '{}').meter_id, undefined, 'the excerpt shows the first failing meter');
      assert.match(err.bodyExcerpt ?? '', /^\{"partner_reference":"site-000123"/);
      assert.equal(server.requests.length, 2);
    });

    it('a malformed meter on a get → LeapMalformedPageError with its pointer', async () => {
      server.enqueue({ body: { ...v2DetailsGetAnswer(), audit: {} } });
      const err = await rejection(client.getDetails('5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d'));
      assert.ok(err instanceof LeapMalformedPageError);
      assert.equal(err.pageNumber, undefined);
      assert.deepEqual(err.problems, [{ meter_id: '5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d', pointer: '/audit/updated_at', message: 'is required' }]);
    });
  });

  describe('secrets', () => {
    it('the API key appears in no message, JSON, stack or inspection of any error, even when Leap echoes it', async () => {
      const echo = { title: `bad key ${KEY}`, status: 400, details: { authorization: `Bearer ${KEY}`, secret: KEY_SECRET_HALF } };
      server.enqueue(
        { status: 400, body: echo },
        { status: 401, body: echo },
        { status: 403, body: echo },
        { status: 404, body: echo },
        { status: 503, body: echo },
        { status: 503, body: echo },
        { status: 503, body: echo },
        { status: 503, body: echo },
        { status: 200, body: `{"meters": [${JSON.stringify(KEY)}` },
        { status: 200, body: `{"meters": [${JSON.stringify(KEY)}` },
        { status: 200, body: `{"meters": [${JSON.stringify(KEY)}` },
        { status: 200, body: `{"meters": [${JSON.stringify(KEY)}` },
        { status: 200, body: { meters: [{ meter_id: KEY, audit: { updated_at: KEY } }] } },
      );
      const errors: unknown[] = [];
      for (let i = 0; i < 4; i++) errors.push(await rejection(client.getDetails(meterIdFor(1))));
      errors.push(await rejection(client.getDetails(meterIdFor(1))));
      errors.push(await rejection(collect(client.searchDetails({}))));
      errors.push(await rejection(collect(client.searchDetails({}))));
      assert.deepEqual(
        errors.map((e) => (e as LeapError).code),
        ['leap_bad_request', 'leap_unauthorized', 'leap_forbidden', 'leap_not_found', 'leap_unavailable', 'leap_malformed_page', 'leap_malformed_page'],
      );
      for (const err of errors) assertNoSecrets(err);
      assert.ok(!logger.text().includes(KEY_SECRET_HALF));
    });
  });

  describe('rate limiting', () => {
    it('never has more than maxConcurrent requests at Leap at once', async () => {
      await client.close();
      client = makeClient({ rateLimit: { requestsPerSecond: 1000, maxConcurrent: 2 } });
      server.otherwise(() => ({ body: v2DetailsGetAnswer(), delayMs: 40 }));
      await Promise.all(Array.from({ length: 8 }, () => client.getDetails('5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d')));
      assert.equal(server.requests.length, 8);
      assert.equal(server.maxInFlight, 2);
    });

    it('spaces requests by 1/requestsPerSecond (a lower bound the limiter guarantees, not a speed)', async () => {
      await client.close();
      client = makeClient({ rateLimit: { requestsPerSecond: 5, maxConcurrent: 10 } });
      server.otherwise(() => ({ body: v2DetailsGetAnswer() }));
      await Promise.all(Array.from({ length: 4 }, () => client.getDetails('5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d')));
      const gaps = server.requests.slice(1).map((r, i) => r.receivedAt - server.requests[i].receivedAt);
      // minTime is 200 ms; allow a little for the two clocks (limiter dispatch vs server arrival).
      for (const gap of gaps) assert.ok(gap >= 150, `requests only ${gap.toFixed(0)} ms apart: ${gaps.map((g) => g.toFixed(0)).join(', ')}`);
    });

    it('uses a limiter handed in (e.g. clustered through Redis) and leaves it running on close', async () => {
      await client.close();
      const shared = new Bottleneck({ maxConcurrent: 1 });
      client = makeClient({ rateLimit: { requestsPerSecond: 1000, maxConcurrent: 8 } }, { limiter: shared });
      server.otherwise(() => ({ body: v2DetailsGetAnswer(), delayMs: 30 }));
      await Promise.all(Array.from({ length: 4 }, () => client.getDetails('5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d')));
      assert.equal(server.maxInFlight, 1, 'the shared limiter, not the config, decided');
      await client.close();
      assert.equal(await shared.schedule(async () => 'still running'), 'still running');
      await shared.stop();
    });

    it('a failing shared limiter becomes LeapUnavailableError, not a library error', async () => {
      await client.close();
      const broken = { schedule: () => Promise.reject(new Error('Redis connection lost')) } as unknown as Bottleneck;
      client = makeClient({}, { limiter: broken });
      const err = await rejection(client.getDetails(meterIdFor(1)));
      assert.ok(err instanceof LeapUnavailableError);
      assert.match(err.message, /rate limiter failed: Redis connection lost; check the shared rate limiter/);
      assert.equal(server.requests.length, 0);
    });

    it('waits out a backoff outside the limiter, so other calls keep flowing', async () => {
      await client.close();
      let releaseSleep: () => void = () => undefined;
      let sleepStarted: () => void = () => undefined;
      const backingOff = new Promise<void>((r) => (sleepStarted = r));
      const sleep = (): Promise<void> =>
        new Promise<void>((r) => {
          releaseSleep = r;
          sleepStarted();
        });
      client = makeClient({ rateLimit: { requestsPerSecond: 1000, maxConcurrent: 1 } }, { sleep });
      server.enqueue({ status: 503 }, { body: v2EnrollmentGetAnswer() }, { body: v2DetailsGetAnswer() });
      const slow = client.getDetails('5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d');
      await backingOff;
      const other = await client.getEnrollment('2fa85f64-5717-4562-b3fc-2c963f66afa6');
      assert.equal(other.meter_id, '2fa85f64-5717-4562-b3fc-2c963f66afa6', 'served while the first call was backing off');
      releaseSleep();
      assert.equal((await slow).meter_id, '5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d');
    });
  });

  describe('cancelling', () => {
    it('an abort during backoff ends the search with LeapAbortedError', async () => {
      await client.close();
      const controller = new AbortController();
      client = makeClient({}, { sleep: () => new Promise<void>(() => controller.abort()) });
      server.enqueue({ status: 503 });
      const err = await rejection(collect(client.searchDetails({}, { signal: controller.signal })));
      assert.ok(err instanceof LeapAbortedError);
      assert.equal(err.code, 'leap_aborted');
      assert.equal(server.requests.length, 1);
    });

    it('close() aborts a call in flight', async () => {
      server.enqueue({ body: v2DetailsGetAnswer(), delayMs: 5000 });
      const pending = client.getDetails('5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d');
      await new Promise((r) => setTimeout(r, 50));
      await client.close();
      const err = await rejection(pending);
      assert.ok(err instanceof LeapAbortedError);
      assertNoSecrets(err);
    });
  });

  describe("Leap's webhook subscriptions", () => {
    const input = { receiver_url: 'https://partner.example.com/leap-webhooks', event_types: ['meter.created'], headers: [{ name: 'x-api-key', value: 's3cr3t-shared-value' }] };

    it('lists, creates, replaces, tests and deletes on /v1.1/webhooks', async () => {
      const id = '364be407-1f08-48fa-afd2-ee1dd228b76b';
      server.enqueue(
        { body: { webhooks: [{ webhook_id: id, ...input }] } },
        { body: { webhook_id: id } },
        { body: { webhook_id: id } },
        { body: { is_successful: true, status_code: 200, response_time_ms: 31 } },
        { body: { message: 'Operation completed successfully' } },
      );
      assert.deepEqual(await client.listWebhooks(), [{ webhook_id: id, ...input }]);
      assert.deepEqual(await client.createWebhook(input), { webhook_id: id });
      assert.deepEqual(await client.updateWebhook(id, { ...input, event_types: ['meter.created', 'meter.enrollment.group.updated'] }), { webhook_id: id });
      assert.deepEqual(await client.testWebhook(id, { webhook_event_type: 'meter.created', meter_id: meterIdFor(1), partner_reference: 'sample-ref-123' }), {
        is_successful: true,
        status_code: 200,
        response_time_ms: 31,
      });
      await client.deleteWebhook(id);
      assert.deepEqual(
        server.requests.map((r) => [r.method, r.path]),
        [
          ['GET', '/v1.1/webhooks'],
          ['POST', '/v1.1/webhooks'],
          ['PUT', `/v1.1/webhooks/${id}`],
          ['POST', `/v1.1/webhooks/${id}/test`],
          ['DELETE', `/v1.1/webhooks/${id}`],
        ],
      );
      assert.deepEqual(server.requests[1].json, input);
      assert.deepEqual(server.requests[2].json, { ...input, event_types: ['meter.created', 'meter.enrollment.group.updated'] });
      assert.deepEqual(server.requests[3].json, { webhook_event_type: 'meter.created', meter_id: meterIdFor(1), partner_reference: 'sample-ref-123' });
      assert.ok(!logger.text().includes('s3cr3t-shared-value'), 'subscription header values are never logged');
    });

    it('reads the {error, message} envelope: 404 names the subscription', async () => {
      server.enqueue({ status: 404, body: { error: 'Not Found', message: 'The specified resource was not found' } });
      const err = await rejection(client.deleteWebhook('nope'));
      assert.ok(err instanceof LeapNotFoundError);
      assert.equal(err.webhookId, 'nope');
      assert.match(err.message, /Leap has no webhook subscription nope \(Leap said: "The specified resource was not found"\)/);
    });

    it('401 on the webhook API carries its message', async () => {
      server.enqueue({ status: 401, body: { error: 'Unauthorized', message: 'Auth token is invalid' } });
      const err = await rejection(client.listWebhooks());
      assert.ok(err instanceof LeapUnauthorizedError);
      assert.match(err.message, /Auth token is invalid/);
    });

    it('a create that failed ambiguously is not retried (Leap has no idempotency key)', async () => {
      server.enqueue({ status: 503 });
      const err = await rejection(client.createWebhook(input));
      assert.ok(err instanceof LeapUnavailableError);
      assert.match(err.message, /not retried because Leap may have acted on it/);
      assert.equal(server.requests.length, 1);
    });

    it('a throttled create is retried: Leap did not act on it', async () => {
      server.enqueue({ status: 429, headers: { 'retry-after': '1' } }, { body: { webhook_id: 'w-1' } });
      assert.deepEqual(await client.createWebhook(input), { webhook_id: 'w-1' });
      assert.equal(server.requests.length, 2);
      assert.deepEqual(sleeps, [1000]);
    });

    it('PUT is idempotent and retried on a 503', async () => {
      server.enqueue({ status: 503 }, { body: { webhook_id: 'w-1' } });
      assert.deepEqual(await client.updateWebhook('w-1', input), { webhook_id: 'w-1' });
      assert.equal(server.requests.length, 2);
    });
  });

  describe('configuration', () => {
    it('lists every problem at once', () => {
      assert.throws(
        () =>
          new LeapClient(
            { ...config('ftp://x'), apiKey: '', pageSize: 501, timeoutMs: 0, rateLimit: { requestsPerSecond: 0, maxConcurrent: 0 }, retry: { maxAttempts: 0, baseDelayMs: 10, maxDelayMs: 5 } },
            logger,
          ),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.problems.length, 8);
          assert.match(err.message, /apiKey is empty: set LEAP_API_KEY/);
          return true;
        },
      );
    });
  });
});
