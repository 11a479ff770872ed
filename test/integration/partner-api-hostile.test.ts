import assert from 'node:assert/strict';
import fc from 'fast-check';
import request from 'supertest';
import { testEngines } from '../helpers/db';
import { syncHarness, type SyncHarness } from '../helpers/sync-harness';

const PARTNER = 'partner-key-0123456789abcdef';
const KEYS_YAML = ['api:', '  keys:', `    - { name: crm, key: ${PARTNER}, scopes: [partner] }`, ''].join('\n');

/** Tables a partner request may write: a refused one leaves every row as it was. */
const WRITABLE = ['meter_readiness', 'readiness_history', 'meter_events', 'deliveries', 'idempotency_keys', 'market_group_rosters', 'meters'];

type Field = 'status' | 'device_ids' | 'reason' | 'effective_at' | 'meter_id' | 'partner_reference' | 'items' | 'meter_ids' | 'partner_references';

/** A value that is wrong for the field: another type, or a string the schema refuses. */
const wrongFor = (field: Field): fc.Arbitrary<unknown> => {
  const other = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.double(), fc.object({ maxDepth: 1 }));
  const badText = fc.oneof(fc.constant('a\u0000b'), fc.constant('\ud800'), fc.constant('x\udc00y'), fc.constant('x'.repeat(300_000)));
  switch (field) {
    case 'status':
      return fc.oneof(other, badText, fc.constantFrom('READY', 'yes', '', 'overdue', 'awaiting'));
    case 'device_ids':
      return fc.oneof(other, fc.string(), fc.constant(['a', 'a']), fc.constant(Array.from({ length: 101 }, (_, i) => `d${i}`)), fc.constant(['']), fc.constant([1, 2]), fc.constant(['x'.repeat(129)]));
    case 'reason':
      return fc.oneof(fc.integer(), fc.constant(['r']), badText, fc.constant('r'.repeat(1001)));
    case 'effective_at':
      return fc.oneof(fc.integer(), fc.constantFrom('yesterday', '2026-13-01T00:00:00Z', '2026-12-07', ''), badText);
    case 'meter_id':
      return fc.oneof(other, fc.constantFrom('not-a-uuid', '', '5D1F3C2A-8B7E-4F6A-9C1D-2E3F4A5B6C7'), badText);
    case 'partner_reference':
      return fc.oneof(other, fc.constant(''), fc.constant('p'.repeat(257)), badText);
    case 'items':
      return fc.oneof(other, fc.constant([]), fc.string());
    case 'meter_ids':
      return fc.oneof(other, fc.constant(['nope']), fc.constant([1]));
    case 'partner_references':
      return fc.oneof(other, fc.constant(['']), fc.constant([null]));
  }
};

/** A nested array `depth` deep, as JSON text (built as text: no structure that deep exists here). */
const deep = (depth: number, inner = '1'): string => '['.repeat(depth) + inner + ']'.repeat(depth);

for (const engine of testEngines()) {
  describe(`partner API under hostile input (${engine})`, function () {
    this.timeout(180_000);
    let h: SyncHarness;
    let active: string[];
    let group: string;
    before(async () => {
      h = await syncHarness(engine, { apiVersion: 'v2', meters: 40, yaml: KEYS_YAML });
      await h.pass();
      active = ((await h.db.knex('meters').where({ enrollment_status: 'ACTIVE', is_archived: false }).select('meter_id')) as { meter_id: string }[]).map((m) => m.meter_id);
      group = ((await h.db.knex('meter_group_assignments').first('market_group_id')) as { market_group_id: string }).market_group_id;
      assert.ok(active.length > 0 && group);
    });
    after(() => h.close());

    const snapshot = async () => {
      const out: Record<string, unknown> = {};
      for (const t of WRITABLE) out[t] = await h.db.knex(t).select('*').orderByRaw('1');
      return out;
    };

    /** Send raw text; a 5xx or a dropped connection fails the property. */
    const send = async (method: 'put' | 'post' | 'get', url: string, body?: string, type = 'application/json', headers: Record<string, string> = {}) => {
      let r = request(h.composed.app)[method](url).set({ Authorization: `Bearer ${PARTNER}`, ...headers });
      if (body !== undefined) r = r.set('Content-Type', type).send(body);
      const res = await r;
      assert.ok(res.status >= 400 && res.status < 500, `${method.toUpperCase()} ${url} ${type} ${(body ?? '').slice(0, 200)} → ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      assert.equal(typeof res.body.code, 'string', 'the one error shape');
      assert.equal(typeof res.body.request_id, 'string');
      return res;
    };

    it('a few hundred generated bad requests: never a 5xx, always the error shape, and not a row changed', async () => {
      const before = await snapshot();
      const meter = fc.constantFrom(...active);
      const answerFields: Field[] = ['status', 'device_ids', 'reason', 'effective_at'];
      const valid = { status: 'ready', device_ids: ['bat-1'], reason: 'ok', effective_at: '2026-12-01T00:00:00Z' };

      // A valid answer made invalid: one field wrong, the required one missing, or one unknown added.
      const badAnswer = fc.oneof(
        fc.constantFrom(...answerFields).chain((f) => wrongFor(f).map((v) => ({ ...valid, [f]: v }))),
        fc.constant({ device_ids: ['bat-1'] }),
        fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !(k in valid)).map((k) => ({ ...valid, [k]: 1 })),
        fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.integer())),
      );
      await fc.assert(
        fc.asyncProperty(meter, badAnswer, async (id, body) => {
          await send('put', `/api/v1/meters/${id}/readiness`, JSON.stringify(body));
        }),
        { numRuns: 120 },
      );

      // Whole-request faults on both write routes: not JSON, the wrong type, no body, deep nesting.
      const rawFaults = fc.oneof(
        fc.record({ body: fc.string(), type: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml') }),
        fc.record({ body: fc.constantFrom('{"status": "ready"', '{status: ready}', 'nul\u0000', '{"a":1}{"b":2}', '', ']'), type: fc.constant('application/json') }),
        fc.record({ body: fc.integer({ min: 33, max: 6000 }).map((d) => `{"status":"ready","reason":${deep(d, '"x"')}}`), type: fc.constant('application/json') }),
        fc.record({ body: fc.integer({ min: 33, max: 6000 }).map((d) => `{"items":[${deep(d)}]}`), type: fc.constant('application/json') }),
      );
      await fc.assert(
        fc.asyncProperty(meter, rawFaults, fc.boolean(), async (id, { body, type }, batch) => {
          await send(batch ? 'post' : 'put', batch ? '/api/v1/readiness/batch' : `/api/v1/meters/${id}/readiness`, body, type);
        }),
        { numRuns: 80 },
      );

      // Batches refused whole: over 1,000 items, not an array, or one item so large the body is over the limit.
      const tooMany = JSON.stringify({ items: Array.from({ length: 1001 }, () => ({ meter_id: active[0], status: 'ready' })) });
      assert.equal((await send('post', '/api/v1/readiness/batch', tooMany)).body.details[0].path, '/items');
      for (const items of [{}, 'x', null, 7]) await send('post', '/api/v1/readiness/batch', JSON.stringify({ items }));
      const huge = await send('post', '/api/v1/readiness/batch', JSON.stringify({ items: [{ meter_id: active[0], status: 'ready', reason: 'r'.repeat(2_000_000) }] }));
      assert.equal(huge.status, 413);
      await send('post', '/api/v1/readiness/batch', JSON.stringify({ items: [{ meter_id: active[0], status: 'ready' }] }), 'application/json', { 'Idempotency-Key': 'bad key with spaces' });

      // Queries and paths: wrong values, unknown parameters, ids that are not ids.
      const badQuery = fc.oneof(
        fc.constantFrom('', '?state=late', '?state=not_required', '?state=ready&limit=0', '?state=ready&limit=501', '?state=ready&colour=red', `?state=ready&after=${'a'.repeat(65)}`),
        fc.string().map((s) => `?state=${encodeURIComponent(s)}x`),
      );
      await fc.assert(
        fc.asyncProperty(badQuery, async (q) => {
          await send('get', `/api/v1/readiness${q}`);
        }),
        { numRuns: 30 },
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom('?trade_date=2026-02-30', '?trade_date=tomorrow', '?trade_date=2026-12-07&x=1', `?trade_date=${'9'.repeat(50)}`), async (q) => {
          await send('get', `/api/v1/market-groups/${group}/roster${q}`);
          await send('put', `/api/v1/market-groups/${group}/members${q}`, JSON.stringify({ meter_ids: [] }));
        }),
        { numRuns: 8 },
      );
      for (const id of ['not-a-uuid', '%00', 'a'.repeat(300), '%ED%A0%80']) await send('put', `/api/v1/meters/${id}/readiness`, JSON.stringify(valid));

      // The partner's roster: wrong shapes, both lists, bad members.
      const badRoster = fc.oneof(
        fc.constantFrom<Field>('meter_ids', 'partner_references').chain((f) => wrongFor(f).map((v) => ({ [f]: v }))),
        fc.constant({ meter_ids: [], partner_references: [] }),
        fc.constant({}),
        fc.constant({ meter_ids: [], extra: true }),
      );
      await fc.assert(
        fc.asyncProperty(badRoster, async (body) => {
          await send('put', `/api/v1/market-groups/${group}/members?trade_date=2026-12-08`, JSON.stringify(body));
        }),
        { numRuns: 40 },
      );

      assert.deepEqual(await snapshot(), before, 'no row changed');
    });

    it('a batch of invalid items answers 200 with an error per item, and changes nothing', async () => {
      const before = await snapshot();
      const item = fc.oneof(
        fc.constantFrom<Field>('status', 'device_ids', 'reason', 'effective_at', 'meter_id', 'partner_reference').chain((f) => wrongFor(f).map((v) => ({ meter_id: active[0], status: 'ready', [f]: v }))),
        fc.constant({ status: 'ready' }),
        fc.constant({ meter_id: active[0], partner_reference: 'x', status: 'ready' }),
        fc.constant({ meter_id: '00000000-0000-4000-8000-00000000f00d', status: 'ready' }),
        fc.anything({ maxDepth: 2 }).filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 20 }), async (items) => {
          const body = JSON.stringify({ items });
          const res = await request(h.composed.app).post('/api/v1/readiness/batch').set({ Authorization: `Bearer ${PARTNER}`, 'Content-Type': 'application/json' }).send(body);
          if (res.status === 413) return; // the huge strings
          // Text that cannot be stored (NUL, a lone surrogate) refuses the whole body, naming the item.
          if (res.status === 400) {
            assert.match(res.body.details[0].path, /^\/items\/\d+/);
            assert.match(res.body.details[0].message, /NUL|surrogate/);
            return;
          }
          assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
          assert.equal(res.body.results.length, items.length);
          res.body.results.forEach((r: { index: number; outcome: string }, i: number) => {
            assert.equal(r.index, i);
            assert.equal(r.outcome, 'error');
          });
        }),
        { numRuns: 40 },
      );
      assert.deepEqual(await snapshot(), before, 'no row changed');
    });
  });
}
