import assert from 'node:assert/strict';
import axios, { type AxiosResponse } from 'axios';
import { generateSecret, sign, webhookHeaders, type SigningSecret } from '../../src/domain/signing';
import { webhookBody } from '../../src/domain/webhook-body';
import { startReceiver, type ReceivedDelivery, type ReceiverOptions, type RunningReceiver } from '../../src/receiver/receiver';

const SECRET = generateSecret();
const client = axios.create({ validateStatus: () => true, maxRedirects: 0, proxy: false });

interface Sent {
  body: string;
  headers: Record<string, string>;
}

function signed(meterId: string, sequence: number, opts: { id?: string; type?: string; secrets?: SigningSecret[]; at?: Date } = {}): Sent {
  const body = webhookBody({ type: opts.type ?? 'meter.details.updated', timestamp: '2026-11-01T08:00:00.000Z', record: { crm_id: `crm-${meterId}` }, meterId, sequence, changes: null });
  const headers = webhookHeaders(opts.secrets ?? [{ secret: SECRET }], opts.id ?? `msg_${meterId}_${sequence}`, body, opts.at ?? new Date());
  return { body, headers: { 'content-type': 'application/json', ...headers } };
}

function send(r: RunningReceiver, d: Sent, path = '/webhooks'): Promise<AxiosResponse<Record<string, unknown>>> {
  return client.post(`${r.url}${path}`, d.body, { headers: d.headers, transformRequest: (x: string) => x });
}

describe('sample partner receiver', () => {
  let r: RunningReceiver;
  const start = async (opts: Partial<ReceiverOptions> = {}): Promise<RunningReceiver> => {
    r = await startReceiver({ secrets: [SECRET], ...opts });
    return r;
  };
  afterEach(() => r.close());

  it('accepts a validly signed delivery and records what it carried', async () => {
    await start();
    const d = signed('m-1', 4, { type: 'meter.created' });
    const res = await send(r, d);
    assert.equal(res.status, 200);
    assert.deepEqual(res.data, { ok: true, duplicate: false });
    const [got] = r.receiver.received();
    assert.ok(got);
    assert.equal(got.id, 'msg_m-1_4');
    assert.equal(got.timestamp, Number(d.headers['webhook-timestamp']));
    assert.deepEqual([got.type, got.meterId, got.sequence, got.path], ['meter.created', 'm-1', 4, '/webhooks']);
    assert.equal(got.body, d.body);
    assert.equal(got.headers['webhook-signature'], d.headers['webhook-signature']);
    assert.deepEqual([got.valid, got.reason, got.duplicate, got.outOfOrder, got.status], [true, null, false, false, 200]);
    assert.ok(!Number.isNaN(Date.parse(got.receivedAt)));
    const s = r.receiver.stats();
    assert.deepEqual([s.received, s.valid, s.invalid, s.accepted, s.duplicates], [1, 1, 0, 1, 0]);
    assert.deepEqual(s.by_type, { 'meter.created': 1 });
  });

  it('verifies the raw bytes: a body the sender did not minify or order still verifies', async () => {
    await start();
    const body = '{ "data": {"sequence": 2, "meter_id": "m-2"},\n  "type": "meter.archived", "timestamp": "2026-11-01T08:00:00Z" }';
    const ts = Math.floor(Date.now() / 1000);
    const res = await send(r, { body, headers: { 'content-type': 'application/json', 'webhook-id': 'msg_raw', 'webhook-timestamp': String(ts), 'webhook-signature': sign(SECRET, 'msg_raw', ts, body) } });
    assert.equal(res.status, 200);
    assert.deepEqual(
      r.receiver.received().map((x) => [x.type, x.meterId, x.sequence, x.body]),
      [['meter.archived', 'm-2', 2, body]],
    );
  });

  it('rejects a tampered body, an expired or future timestamp, an unknown secret and missing headers with 401 and a reason', async () => {
    await start();
    const good = signed('m-1', 1);
    const cases: [string, Sent, string][] = [
      ['tampered body', { ...good, body: good.body.replace('"sequence":1', '"sequence":9') }, 'no_matching_signature'],
      ['expired timestamp', signed('m-1', 1, { at: new Date(Date.now() - 301_000) }), 'timestamp_too_old'],
      ['future timestamp', signed('m-1', 1, { at: new Date(Date.now() + 301_000) }), 'timestamp_too_new'],
      ['unknown secret', signed('m-1', 1, { secrets: [{ secret: generateSecret() }] }), 'no_matching_signature'],
      ['no signature', { body: good.body, headers: { 'webhook-id': 'msg_x', 'webhook-timestamp': good.headers['webhook-timestamp']! } }, 'missing_headers'],
      ['fractional timestamp', { ...good, headers: { ...good.headers, 'webhook-timestamp': '17.5' } }, 'invalid_timestamp'],
    ];
    for (const [name, d, reason] of cases) {
      const res = await send(r, d);
      assert.equal(res.status, 401, name);
      assert.equal(res.data.reason, reason, name);
      assert.equal(typeof res.data.message, 'string', name);
    }
    const s = r.receiver.stats();
    assert.deepEqual([s.received, s.valid, s.invalid, s.accepted], [6, 0, 6, 0]);
    assert.deepEqual(s.invalid_by_reason, { no_matching_signature: 2, timestamp_too_old: 1, timestamp_too_new: 1, missing_headers: 1, invalid_timestamp: 1 });
    assert.deepEqual(s.by_type, {});
    // A rejected id was never processed, so the genuine delivery is not a duplicate.
    const res = await send(r, good);
    assert.deepEqual([res.status, res.data.duplicate], [200, false]);
  });

  it('honours its tolerance setting against its clock', async () => {
    const now = new Date('2026-11-01T08:00:00Z');
    await start({ toleranceSeconds: 10, now: () => now });
    assert.equal((await send(r, signed('m-1', 1, { at: new Date(now.getTime() - 10_000) }))).status, 200);
    const late = await send(r, signed('m-1', 2, { at: new Date(now.getTime() - 11_000) }));
    assert.deepEqual([late.status, late.data.reason], [401, 'timestamp_too_old']);
  });

  it('accepts deliveries during a secret rotation: old only, new only, or both signatures', async () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    await start({ secrets: [oldSecret, newSecret] });
    const statuses = [];
    statuses.push((await send(r, signed('m-1', 1, { secrets: [{ secret: oldSecret }] }))).status);
    statuses.push((await send(r, signed('m-1', 2, { secrets: [{ secret: newSecret }] }))).status);
    const both = signed('m-1', 3, { secrets: [{ secret: oldSecret }, { secret: newSecret }] });
    assert.equal(both.headers['webhook-signature']!.split(' ').length, 2);
    statuses.push((await send(r, both)).status);
    assert.deepEqual(statuses, [200, 200, 200]);
    await r.close();
    // After the rotation the partner keeps only the new secret; a two-signature header still verifies.
    await start({ secrets: [newSecret] });
    assert.equal((await send(r, signed('m-1', 4, { secrets: [{ secret: oldSecret }, { secret: newSecret }] }))).status, 200);
    assert.equal((await send(r, signed('m-1', 5, { secrets: [{ secret: oldSecret }] }))).status, 401);
  });

  it('answers a repeated webhook-id 200 but flags it and counts it once', async () => {
    await start();
    const first = await send(r, signed('m-1', 1, { type: 'meter.created', id: 'msg_same' }));
    // A retry: same id, a new timestamp and signature.
    const retry = await send(r, signed('m-1', 1, { type: 'meter.created', id: 'msg_same', at: new Date(Date.now() + 2000) }));
    assert.deepEqual([first.status, first.data.duplicate, retry.status, retry.data.duplicate], [200, false, 200, true]);
    const s = r.receiver.stats();
    assert.deepEqual([s.received, s.valid, s.accepted, s.duplicates, s.out_of_order], [2, 2, 1, 1, 0]);
    assert.deepEqual(s.by_type, { 'meter.created': 1 });
    assert.deepEqual(
      r.receiver.received().map((x) => x.duplicate),
      [false, true],
    );
  });

  it('leaves a refused delivery unseen, so its retry is the first acceptance', async () => {
    let refuse = true;
    await start({ behaviour: { respond: () => (refuse ? { status: 503 } : undefined) } });
    assert.equal((await send(r, signed('m-1', 1))).status, 503);
    refuse = false;
    const retry = await send(r, signed('m-1', 1));
    assert.deepEqual([retry.status, retry.data.duplicate], [200, false]);
    const s = r.receiver.stats();
    assert.deepEqual([s.refused, s.accepted, s.duplicates], [1, 1, 0]);
  });

  it('reports a meter sequence that goes backwards, per path and per meter', async () => {
    await start();
    for (const [meter, seq, path] of [
      ['m-1', 1, '/crm'],
      ['m-1', 3, '/crm'],
      ['m-2', 1, '/crm'],
      ['m-1', 2, '/crm'], // behind 3 on /crm
      ['m-1', 1, '/der'], // another destination: its own order
      ['m-1', 4, '/crm'],
    ] as const) {
      assert.equal((await send(r, signed(meter, seq, { id: `msg_${path}_${meter}_${seq}` }), path)).status, 200);
    }
    const s = r.receiver.stats();
    assert.equal(s.out_of_order, 1);
    assert.deepEqual(
      s.out_of_order_recent.map((o) => [o.path, o.meterId, o.sequence, o.afterSequence, o.id]),
      [['/crm', 'm-1', 2, 3, 'msg_/crm_m-1_2']],
    );
    assert.deepEqual(
      r.receiver.received().map((x) => x.outOfOrder),
      [false, false, false, true, false, false],
    );
  });

  it('keeps memory bounded: a capped delivery list, a bounded id window, exact counters', async () => {
    await start({ keep: 10, seenIds: 5 });
    for (let i = 1; i <= 30; i++) assert.equal((await send(r, signed(`m-${i}`, 1))).status, 200);
    const kept = r.receiver.received();
    assert.equal(kept.length, 10);
    assert.deepEqual(
      kept.map((x) => x.meterId),
      Array.from({ length: 10 }, (_, i) => `m-${21 + i}`),
    );
    assert.equal(r.receiver.stats().accepted, 30);
    // The last 5 ids are remembered; older ones have left the de-duplication window.
    assert.equal((await send(r, signed('m-30', 1))).data.duplicate, true);
    assert.equal((await send(r, signed('m-1', 1))).data.duplicate, false);
  });

  it('does not store an oversized body, and answers 413', async () => {
    await start({ maxBodyBytes: 1024 });
    const big = signed('m-1', 1);
    const body = JSON.stringify({ ...(JSON.parse(big.body) as object), padding: 'x'.repeat(4096) });
    const res = await send(r, { body, headers: { ...big.headers, ...webhookHeaders([{ secret: SECRET }], 'msg_big', body, new Date()) } });
    assert.deepEqual([res.status, res.data.reason], [413, 'body_too_large']);
    assert.equal(r.receiver.received()[0]!.body, '');
  });

  it('GET /_receiver/state reports counts and the last deliveries; DELETE resets', async () => {
    await start();
    await send(r, signed('m-1', 1, { type: 'meter.created' }));
    await send(r, signed('m-1', 2));
    await send(r, signed('m-1', 2));
    await send(r, { ...signed('m-1', 3), body: '{}' });
    const state = await client.get<Record<string, unknown> & { deliveries: Record<string, unknown>[] }>(`${r.url}/_receiver/state?limit=2`);
    assert.equal(state.status, 200);
    assert.deepEqual(
      [state.data.received, state.data.valid, state.data.invalid, state.data.duplicates, state.data.accepted, state.data.out_of_order],
      [4, 3, 1, 1, 2, 0],
    );
    assert.deepEqual(state.data.by_type, { 'meter.created': 1, 'meter.details.updated': 1 });
    assert.deepEqual(
      state.data.deliveries.map((d) => [d.sequence, d.valid, d.duplicate, d.reason]),
      [
        [2, true, true, null],
        [null, false, false, 'no_matching_signature'],
      ],
    );
    assert.equal((await client.delete(`${r.url}/_receiver/state`)).status, 204);
    const after = await client.get<Record<string, unknown>>(`${r.url}/_receiver/state`);
    assert.deepEqual([after.data.received, after.data.accepted, after.data.deliveries], [0, 0, []]);
    // Reset forgets seen ids too.
    assert.equal((await send(r, signed('m-1', 1, { type: 'meter.created' }))).data.duplicate, false);
  });

  it('tells listeners about each delivery until they unsubscribe', async () => {
    await start();
    const seen: ReceivedDelivery[] = [];
    const off = r.receiver.onDelivery((d) => seen.push(d));
    await send(r, signed('m-1', 1));
    await send(r, { ...signed('m-1', 2), body: 'tampered' });
    off();
    await send(r, signed('m-1', 3));
    assert.deepEqual(
      seen.map((d) => [d.sequence, d.valid]),
      [
        [1, true],
        [null, false],
      ],
    );
  });

  it('answers only POST deliveries', async () => {
    await start();
    const res = await client.get(`${r.url}/webhooks`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, 'POST');
    assert.equal(r.receiver.stats().received, 0);
  });

  it('counts every one of many concurrent deliveries exactly once', async () => {
    await start();
    const n = 300;
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => send(r, signed(`m-${i % 30}`, Math.floor(i / 30) + 1))));
    assert.ok(answers.every((a) => a.status === 200));
    const s = r.receiver.stats();
    assert.deepEqual([s.received, s.accepted, s.duplicates, s.invalid], [n, n, 0, 0]);
    assert.equal(s.by_type['meter.details.updated'], n);
  });
});
