import assert from 'node:assert/strict';
import http from 'node:http';
import axios, { AxiosError, type AxiosResponse } from 'axios';
import { generateSecret, webhookHeaders } from '../../src/domain/signing';
import { checkSignature, computeSignature, type MisbehavingReceiver, startMisbehavingReceiver } from '../helpers/misbehaving-receiver';

const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const SECRET = generateSecret();
// Plain clients, as a partner-facing sender would be configured: no redirects, every status returned.
const client = axios.create({ maxRedirects: 0, validateStatus: () => true, proxy: false });

function delivery(meterId: string, sequence: number, opts: { id?: string; type?: string; secret?: string } = {}): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({ type: opts.type ?? 'meter.details.updated', timestamp: '2026-11-01T00:00:00.000Z', data: { meter_id: meterId, sequence } });
  const id = opts.id ?? `msg_${meterId}_${sequence}`;
  const ts = Math.floor(Date.now() / 1000);
  const signature = computeSignature(opts.secret ?? SECRET, id, ts, body);
  return { body, headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature } };
}

function post(r: MisbehavingReceiver, meterId = 'm-1', sequence = 1, opts: { id?: string; path?: string; timeout?: number; fresh?: boolean } = {}): Promise<AxiosResponse<string>> {
  const d = delivery(meterId, sequence, opts);
  return client.post<string>(`${r.url}${opts.path ?? '/hook'}`, d.body, {
    headers: d.headers,
    responseType: 'text',
    transformResponse: (x: string) => x,
    timeout: opts.timeout,
    httpAgent: opts.fresh ? new http.Agent({ keepAlive: false }) : undefined,
  });
}

async function failure(p: Promise<unknown>): Promise<AxiosError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AxiosError) return err;
    throw err;
  }
  assert.fail('the request was expected to fail');
}

describe('misbehaving receiver (test helper)', () => {
  let r: MisbehavingReceiver;
  beforeEach(async () => {
    r = await startMisbehavingReceiver({ secrets: [SECRET] });
  });
  afterEach(() => r.close());

  describe('its own signature check', () => {
    it("reproduces the specification's test vector and verifies it", () => {
      assert.equal(computeSignature(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body), VECTOR.signature);
      const headers = { 'webhook-id': VECTOR.id, 'webhook-timestamp': String(VECTOR.timestamp), 'webhook-signature': VECTOR.signature };
      const at = new Date(VECTOR.timestamp * 1000);
      assert.deepEqual(checkSignature([VECTOR.secret], headers, Buffer.from(VECTOR.body), at), { valid: true, problem: null, matchedSecrets: [0], v1Entries: 1 });
      assert.equal(checkSignature([VECTOR.secret], headers, '{"test": 2432232315}', at).problem, 'no_matching_signature');
      assert.equal(checkSignature([VECTOR.secret], headers, VECTOR.body, new Date((VECTOR.timestamp + 301) * 1000)).problem, 'timestamp_too_old');
      assert.equal(checkSignature([VECTOR.secret], headers, VECTOR.body, new Date((VECTOR.timestamp - 301) * 1000)).problem, 'timestamp_too_new');
      assert.equal(checkSignature([VECTOR.secret], { ...headers, 'webhook-timestamp': '16142653.30' }, VECTOR.body, at).problem, 'invalid_timestamp');
      assert.equal(checkSignature([VECTOR.secret], { 'webhook-id': VECTOR.id }, VECTOR.body, at).problem, 'missing_headers');
    });

    it('agrees with the product signer, and reports which secrets matched during a rotation', () => {
      const oldSecret = generateSecret();
      const newSecret = generateSecret(24);
      const now = new Date();
      const body = '{"type":"meter.created","data":{"meter_id":"m-1","sequence":1}}';
      const headers = webhookHeaders([{ secret: oldSecret }, { secret: newSecret }], 'msg_rot', body, now);
      assert.deepEqual(checkSignature([oldSecret, newSecret], headers, body, now), { valid: true, problem: null, matchedSecrets: [0, 1], v1Entries: 2 });
      assert.deepEqual(checkSignature([newSecret], headers, body, now).matchedSecrets, [0]);
      assert.equal(checkSignature([generateSecret()], headers, body, now).valid, false);
    });

    it('records the verdict per request and answers a bad signature 401 without consuming the queue', async () => {
      r.queue({ kind: 'status', status: 500 });
      const bad = delivery('m-1', 1, { secret: generateSecret() });
      const res = await client.post(`${r.url}/hook`, bad.body, { headers: bad.headers });
      assert.equal(res.status, 401);
      assert.deepEqual(res.data, { reason: 'no_matching_signature' });
      assert.equal((await post(r, 'm-1', 1)).status, 500);
      assert.deepEqual(
        r.requests.map((q) => [q.signature.valid, q.status]),
        [
          [false, 401],
          [true, 500],
        ],
      );
      assert.equal(r.invalidSignatures().length, 1);
    });

    it('can leave bad signatures to the script instead', async () => {
      const lax = await startMisbehavingReceiver({ secrets: [SECRET], rejectInvalidSignatures: false });
      try {
        const bad = delivery('m-1', 1, { secret: generateSecret() });
        const res = await client.post(`${lax.url}/hook`, bad.body, { headers: bad.headers });
        assert.equal(res.status, 200);
        assert.equal(lax.requests[0]!.signature.problem, 'no_matching_signature');
      } finally {
        await lax.close();
      }
    });
  });

  it('answers each queued status, then falls back to 200', async () => {
    const statuses = [200, 201, 204, 400, 404, 410, 413, 422, 500, 502, 503];
    r.queue(...statuses.map((status) => ({ kind: 'status' as const, status })));
    const got: number[] = [];
    for (let i = 0; i < statuses.length + 1; i++) got.push((await post(r, 'm-1', i + 1)).status);
    assert.deepEqual(got, [...statuses, 200]);
    assert.deepEqual(
      r.requests.map((q) => q.accepted),
      got.map((s) => s < 300),
    );
  });

  it('sends Retry-After as seconds, as an HTTP date, or verbatim, on 429 and 503', async () => {
    const at = new Date(Date.now() + 120_000);
    r.queue({ kind: 'retryAfter', status: 429, after: 7 }, { kind: 'retryAfter', status: 429, after: at }, { kind: 'retryAfter', status: 503, after: 30 }, { kind: 'retryAfter', status: 503, after: 'soon-ish' });
    const [a, b, c, d] = [await post(r), await post(r), await post(r), await post(r)];
    assert.deepEqual([a.status, a.headers['retry-after']], [429, '7']);
    assert.equal(b.status, 429);
    assert.equal(b.headers['retry-after'], at.toUTCString());
    assert.equal(Date.parse(b.headers['retry-after'] as string), Math.floor(at.getTime() / 1000) * 1000);
    assert.deepEqual([c.status, c.headers['retry-after']], [503, '30']);
    assert.deepEqual([d.status, d.headers['retry-after']], [503, 'soon-ish']);
  });

  it('sleeps before answering: a client with a shorter timeout gives up, and a slept answer comes after a quick one', async () => {
    r.setRule({ meterId: 'slow', answer: { kind: 'sleep', ms: 400, then: { kind: 'status', status: 202 } } });
    const timedOut = await failure(post(r, 'slow', 1, { timeout: 50 }));
    assert.equal(timedOut.code, 'ECONNABORTED');

    const order: string[] = [];
    const slow = post(r, 'slow', 2).then((res) => order.push(`slow ${res.status}`));
    await r.waitFor((x) => x.byMeter('slow').length === 2);
    const quick = post(r, 'quick', 1).then((res) => order.push(`quick ${res.status}`));
    await Promise.all([slow, quick]);
    assert.deepEqual(order, ['quick 200', 'slow 202']);
  });

  it('holds requests until released and tracks the concurrency high-water mark', async () => {
    r.setDefault({ kind: 'hold', then: { kind: 'status', status: 204 } });
    const inFlight = [1, 2, 3, 4, 5].map((n) => post(r, `m-${n}`, 1));
    await r.waitFor((x) => x.holding() === 5);
    assert.equal(r.maxConcurrency, 5);
    assert.deepEqual(r.requests.map((q) => q.concurrency).sort(), [1, 2, 3, 4, 5]);
    assert.ok(r.requests.every((q) => q.status === null));
    assert.equal(r.release(), 5);
    assert.deepEqual((await Promise.all(inFlight)).map((res) => res.status), [204, 204, 204, 204, 204]);
    r.setDefault({ kind: 'status', status: 200 });
    await post(r, 'm-6', 1);
    assert.equal(r.requests[5]!.concurrency, 1);
    assert.equal(r.maxConcurrency, 5);
  });

  it('resets the connection after reading the request, so the client gets ECONNRESET and no answer', async () => {
    r.queue({ kind: 'reset' });
    const err = await failure(post(r));
    assert.equal(err.code, 'ECONNRESET');
    assert.equal(r.requests.length, 1);
    assert.equal(r.requests[0]!.status, null);
    assert.equal(r.requests[0]!.bodyText.length > 0, true);
  });

  it('can reset mid-response: the status and headers arrive, the body never completes', async () => {
    r.queue({ kind: 'reset', after: 'headers' });
    const d = delivery('m-1', 1);
    const seen = await new Promise<{ status: number; body: string; complete: boolean }>((resolve) => {
      let body = '';
      let responded = false;
      const req = http.request(`${r.url}/hook`, { method: 'POST', headers: d.headers }, (res) => {
        responded = true;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('error', () => undefined);
        // res.complete is false when the connection died before the announced length arrived.
        res.on('close', () => resolve({ status: res.statusCode ?? 0, body, complete: res.complete }));
      });
      req.on('error', () => {
        if (!responded) resolve({ status: 0, body, complete: false });
      });
      req.end(d.body);
    });
    assert.deepEqual(seen, { status: 200, body: '{"ok":tr', complete: false });
  });

  it('refuses connections while closed and answers again on the same port once reopened', async () => {
    const url = r.url;
    assert.equal((await post(r)).status, 200);
    await r.close();
    // A fresh connection (no pooled keep-alive socket) is what sees the refusal.
    const refused = await failure(post(r, 'm-1', 2, { fresh: true }));
    assert.equal(refused.code, 'ECONNREFUSED');
    await r.reopen();
    assert.equal(r.url, url);
    assert.equal((await post(r, 'm-1', 3, { fresh: true })).status, 200);
    assert.deepEqual(
      r.requests.map((q) => q.sequence),
      [1, 3],
    );
  });

  it('refuseFor closes now and reopens by itself', async () => {
    await r.refuseFor(100);
    assert.equal((await failure(post(r, 'm-1', 1, { fresh: true }))).code, 'ECONNREFUSED');
    let answered: number | undefined;
    for (let i = 0; i < 100 && answered === undefined; i++) {
      answered = await post(r, 'm-1', 1, { fresh: true }).then(
        (res) => res.status,
        () => new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 20)),
      );
    }
    assert.equal(answered, 200);
  });

  for (const status of [301, 302, 307] as const) {
    it(`answers ${status} with Location; a client that does not follow redirects stops there`, async () => {
      r.queue({ kind: 'redirect', status });
      const res = await post(r);
      assert.equal(res.status, status);
      assert.equal(res.headers.location, `${r.url}/redirected`);
      assert.equal(r.redirectsFollowed, 0);
      assert.equal(r.requests.length, 1);
    });
  }

  it('notices a client that does follow a redirect', async () => {
    r.queue({ kind: 'redirect', status: 307 });
    const d = delivery('m-1', 1);
    const res = await axios.post(`${r.url}/hook`, d.body, { headers: d.headers, maxRedirects: 5, proxy: false });
    assert.equal(res.status, 200);
    assert.equal(r.redirectsFollowed, 1);
    assert.deepEqual(
      r.requests.map((q) => q.path),
      ['/hook', '/redirected'],
    );
  });

  it('sends garbage: non-JSON, a body over 16 KB, and invalid UTF-8', async () => {
    r.queue({ kind: 'garbage', form: 'nonJson' }, { kind: 'garbage', form: 'huge', status: 500 }, { kind: 'garbage', form: 'invalidUtf8' });
    const raw = { responseType: 'arraybuffer' as const };
    const d = (n: number) => delivery('m-1', n);
    const [a, b, c] = [1, 2, 3].map(d);
    const nonJson = await client.post<ArrayBuffer>(`${r.url}/hook`, a!.body, { headers: a!.headers, ...raw });
    assert.equal(nonJson.headers['content-type'], 'application/json');
    assert.throws(() => JSON.parse(Buffer.from(nonJson.data).toString('utf8')) as unknown, SyntaxError);
    const huge = await client.post<ArrayBuffer>(`${r.url}/hook`, b!.body, { headers: b!.headers, ...raw });
    assert.equal(huge.status, 500);
    assert.ok(huge.data.byteLength > 16 * 1024, `${huge.data.byteLength} bytes`);
    const bad = await client.post<ArrayBuffer>(`${r.url}/hook`, c!.body, { headers: c!.headers, ...raw });
    assert.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(bad.data), TypeError);
  });

  it('drips a response: headers first, then the body in separate chunks', async () => {
    r.queue({ kind: 'drip', chunks: 4, intervalMs: 30, status: 200 });
    const d = delivery('m-1', 1);
    const events = await new Promise<string[]>((resolve, reject) => {
      const log: string[] = [];
      const req = http.request(`${r.url}/hook`, { method: 'POST', headers: d.headers }, (res) => {
        log.push(`status ${res.statusCode}`);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => log.push(chunk));
        res.on('end', () => resolve(log));
      });
      req.on('error', reject);
      req.end(d.body);
    });
    assert.equal(events[0], 'status 200');
    assert.equal(events.slice(1).join(''), '....');
    assert.ok(events.length >= 3, `the body came in ${events.length - 1} chunk(s)`);
  });

  it('rate limit mode: R requests a second pass, the rest get 429 with Retry-After and are counted', async () => {
    r.setRateLimit(5);
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => post(r, `m-${i}`, 1)));
    const limited = answers.filter((a) => a.status === 429);
    assert.equal(answers.filter((a) => a.status === 200).length, 5);
    assert.equal(limited.length, 7);
    assert.equal(r.rateLimited, 7);
    assert.ok(limited.every((a) => a.headers['retry-after'] === '1'));
    assert.equal(r.requests.filter((q) => q.rateLimited).length, 7);

    r.setRateLimit(1, 'httpDate');
    const second = await Promise.all([post(r, 'x', 1), post(r, 'x', 2)]);
    const dated = second.find((a) => a.status === 429);
    assert.ok(dated, 'one of two was limited');
    assert.ok(!Number.isNaN(Date.parse(dated.headers['retry-after'] as string)));
    r.setRateLimit(null);
    assert.equal((await post(r, 'y', 1)).status, 200);
  });

  it('applies rules by meter, type and path, for a number of times, behind the one-shot queue', async () => {
    r.setRule({ meterId: 'm-9', answer: { kind: 'status', status: 503 }, times: 2 });
    r.setRule({ path: '/der', answer: { kind: 'status', status: 410 } });
    const removeByType = r.setRule({ type: 'meter.created', answer: (q) => ({ kind: 'status', status: q.sequence === 1 ? 201 : 422 }) });
    r.queue({ kind: 'status', status: 418 });
    const statuses: number[] = [];
    statuses.push((await post(r, 'm-9', 1)).status); // queue first
    statuses.push((await post(r, 'm-9', 2)).status); // rule, 1 of 2
    statuses.push((await post(r, 'm-9', 3)).status); // rule, 2 of 2
    statuses.push((await post(r, 'm-9', 4)).status); // rule retired
    statuses.push((await post(r, 'm-1', 1, { path: '/der' })).status);
    const created = delivery('m-2', 1, { type: 'meter.created' });
    statuses.push((await client.post(`${r.url}/hook`, created.body, { headers: created.headers })).status);
    removeByType();
    statuses.push((await client.post(`${r.url}/hook`, created.body, { headers: created.headers })).status);
    assert.deepEqual(statuses, [418, 503, 503, 200, 410, 201, 200]);
  });

  it('records per-meter order, duplicates and out-of-order acceptances', async () => {
    r.queue({ kind: 'status', status: 500 });
    await post(r, 'm-1', 1); // refused
    await post(r, 'm-1', 2);
    await post(r, 'm-2', 1);
    await post(r, 'm-1', 1); // the retry of 1 lands after 2: the partner applied 2 then 1
    await post(r, 'm-1', 2); // same webhook-id as an accepted one
    await post(r, 'm-1', 1, { path: '/other' }); // another destination has its own order
    assert.deepEqual(
      r.byMeter('m-1').map((q) => [q.sequence, q.status, q.duplicate, q.outOfOrder]),
      [
        [1, 500, false, false],
        [2, 200, false, false],
        [1, 200, false, true],
        [2, 200, true, false],
        [1, 200, true, false],
      ],
    );
    assert.deepEqual(
      r.byMeter('m-1', { acceptedOnly: true }).map((q) => q.sequence),
      [2, 1, 2, 1],
    );
    assert.equal(r.outOfOrder().length, 1);
    assert.deepEqual(
      r.accepted().map((q) => `${q.meterId}#${q.sequence}`),
      ['m-1#2', 'm-2#1', 'm-1#1'],
    );
    assert.deepEqual(
      r.requests.map((q) => q.index),
      [0, 1, 2, 3, 4, 5],
    );
  });

  it('keeps the raw body bytes and headers of each request', async () => {
    const d = delivery('m-1', 1);
    await client.post(`${r.url}/hook?x=1`, d.body, { headers: d.headers });
    const q = r.requests[0]!;
    assert.equal(q.rawBody.toString('utf8'), d.body);
    assert.equal(q.path, '/hook');
    assert.equal(q.headers['webhook-id'], d.headers['webhook-id']);
    assert.equal(q.timestamp, Number(d.headers['webhook-timestamp']));
    assert.equal(q.type, 'meter.details.updated');
  });

  it('waitFor rejects with what did arrive when the condition never holds', async () => {
    await post(r, 'm-1', 1);
    await assert.rejects(r.waitFor(2, 50), /waitFor\(2\) timed out after 50 ms; 1 requests: 200 meter.details.updated m-1#1/);
    await r.waitFor(1, 50);
  });

  it('reset forgets requests, script and counters', async () => {
    await post(r);
    r.queue({ kind: 'status', status: 500 });
    r.setRule({ meterId: 'm-1', answer: { kind: 'status', status: 503 } });
    r.reset();
    assert.equal(r.requests.length, 0);
    assert.equal((await post(r)).status, 200);
    assert.equal(r.requests[0]!.duplicate, false);
  });
});
