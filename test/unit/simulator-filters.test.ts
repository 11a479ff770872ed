import assert from 'node:assert/strict';
import { Simulator } from '../../src/simulator';
import { compileFilter, filterHash, findPage, readV1Search, readV2Search, type NormalizedFilter } from '../../src/simulator/filters';
import { PageTokens } from '../../src/simulator/paging';
import { parseInstant } from '../../src/simulator/time';

type Json = Record<string, unknown>;

function v2(body: unknown): NormalizedFilter {
  const r = readV2Search(body);
  assert.ok(r.ok, JSON.stringify(r));
  return r.request.filter;
}

function errors(body: unknown): Record<string, string> {
  const r = readV2Search(body);
  assert.ok(!r.ok, `accepted ${JSON.stringify(body)}`);
  return r.errors;
}

describe('simulator search filters', () => {
  it('validates MeterFilterRequest types and limits, ignoring unknown names', () => {
    assert.deepEqual(readV2Search(undefined), { ok: true, request: { filter: {}, hasFilters: false, pageSize: 500, pageToken: undefined } });
    assert.deepEqual(v2({ shiny_new_filter: 1 }), {});
    for (const bad of [0, 501, 1.5, '10', -3]) assert.ok('page_size' in errors({ page_size: bad }), String(bad));
    assert.equal((readV2Search({ page_size: 1 }) as { ok: true; request: { pageSize: number } }).request.pageSize, 1);
    assert.ok('transmission_region' in errors({ transmission_region: 'MISO' }));
    assert.ok('meter_ids[1]' in errors({ meter_ids: ['5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d', 'abc'] }));
    assert.ok('tags' in errors({ tags: [] }));
    assert.ok('tags' in errors({ tags: ['a', 'a'] }));
    assert.ok('global_enrollment_statuses' in errors({ global_enrollment_statuses: 'ACTIVE' }));
    assert.ok('global_enrollment_statuses[0]' in errors({ global_enrollment_statuses: ['DONE'] }));
    assert.ok('last_modified_date_time' in errors({ last_modified_date_time: '2025-13-01T00:00:00Z' }));
    assert.ok('exclude_archived' in errors({ exclude_archived: 'true' }));
    assert.ok('partner_references[0]' in errors({ partner_references: ['a/b'] }));
    assert.ok('page_token' in errors({ page_token: '' }));
    assert.ok('body' in errors([1, 2]));
    // null is read as absent, like nullable client models send it.
    assert.deepEqual(v2({ tags: null, page_size: null }), {});
  });

  it('normalizes filters so equal requests hash equal', () => {
    const a = v2({ tags: ['b', 'a'], last_modified_date_time: '2025-06-01T02:00:00+02:00', exclude_archived: false, meter_ids: [] });
    const b = v2({ tags: ['a', 'b'], last_modified_date_time: '2025-06-01T00:00:00.000000000Z' });
    assert.deepEqual(a, b);
    assert.deepEqual(a, { tags: ['a', 'b'], last_modified_date_time: '2025-06-01T00:00:00.000000000Z' });
    assert.equal(filterHash('d', a), filterHash('d', b));
    assert.notEqual(filterHash('d', a), filterHash('e', a));
    assert.notEqual(filterHash('d', a), filterHash('d', v2({ tags: ['a'] })));
  });

  it('reads v1 bodies: empty is everything, date names map to the same filters', () => {
    const empty = readV1Search(undefined);
    assert.ok(empty.ok && !empty.request.hasFilters);
    const r = readV1Search({ date_last_modified: '2025-06-01T00:00:00Z', date_added_from: '2024-01-01T00:00:00Z' });
    assert.ok(r.ok);
    assert.equal(r.request.filter.last_modified_date_time, '2025-06-01T00:00:00.000000000Z');
    assert.equal(r.request.filter.date_added_from, '2024-01-01T00:00:00.000000000Z');
    assert.ok(!readV1Search({ date_added_to: 'soon' }).ok);
  });

  describe('against a portfolio', () => {
    const sim = new Simulator({ meters: 400, seed: 3, apiKey: 'k', start: new Date('2026-03-10T15:00:00Z') });
    sim.advance(24);
    const ids = sim.meterIds();
    const views = ids.map((id) => sim.meter(id));
    const match = (body: Json): string[] => {
      const compiled = compileFilter(v2(body), sim.store, sim.renderer);
      return findPage(compiled, sim.store.count, 0, 100_000).indices.map((i) => sim.store.meterId(i));
    };
    /** The expected result computed from the rendered JSON, independently of the typed-array matcher. */
    const brute = (pred: (v: (typeof views)[number]) => boolean): string[] => views.filter(pred).map((v) => String(v.details.meter_id));
    /** The filter selects exactly what the predicate does, and that is neither nothing nor everything. */
    const same = (body: Json, pred: (v: (typeof views)[number]) => boolean): void => {
      const expected = brute(pred);
      assert.ok(expected.length > 0 && expected.length < ids.length, `${JSON.stringify(body)} selects ${expected.length} of ${ids.length}`);
      assert.deepEqual(match(body), expected, JSON.stringify(body));
    };
    const updated = (v: (typeof views)[number]): number => Date.parse(String((v.details.audit as Json).updated_at));
    /** Exact creation instant as a sortable key (sub-millisecond digits included). */
    const created = (v: (typeof views)[number]): string => {
      const p = parseInstant(String((v.details.audit as Json).created_at));
      assert.ok(p);
      return `${String(p.ms).padStart(15, '0')}.${String(p.sub).padStart(6, '0')}`;
    };

    it('last_modified_date_time is strictly after audit.updated_at, to the nanosecond', () => {
      const cut = '2026-03-10T15:00:00Z';
      const result = match({ last_modified_date_time: cut });
      assert.deepEqual(result, brute((v) => updated(v) > Date.parse(cut)));
      assert.ok(result.length > 5 && result.length < ids.length);
      const stamp = String((sim.meter(result[0]).details.audit as Json).updated_at);
      assert.ok(!match({ last_modified_date_time: stamp }).includes(result[0]), 'equal is not after');
    });

    it('each list filter ORs within and filters AND across', () => {
      const d = (v: (typeof views)[number]): Json => v.details;
      const e = (v: (typeof views)[number]): Json => v.enrollment;
      same({ transmission_region: 'NYISO' }, (v) => d(v).transmission_region === 'NYISO');
      same({ global_enrollment_statuses: ['ACTIVE', 'PENDING'] }, (v) => ['ACTIVE', 'PENDING'].includes(String(e(v).global_enrollment_status)));
      same({ meter_types: ['DEVICE'] }, (v) => d(v).meter_type === 'DEVICE');
      same({ customer_classification: 'COMMERCIAL' }, (v) => d(v).customer_classification === 'COMMERCIAL');
      same({ load_types: ['BATTERY_STORAGE', 'PUMPING'] }, (v) => (d(v).load_types as string[]).some((t) => ['BATTERY_STORAGE', 'PUMPING'].includes(t)));
      same({ tags: ['vip', 'pilot'] }, (v) => (d(v).tags as string[]).some((t) => ['vip', 'pilot'].includes(t)));
      same({ customer_groups: ['Commercial HVAC'] }, (v) => d(v).customer_group === 'Commercial HVAC');
      same({ partner_action_required: true }, (v) => ((e(v).required_actions as Json).partner as unknown[]).length > 0);
      assert.deepEqual(match({ partner_action_required: false }), ids);
      same({ exclude_archived: true }, (v) => d(v).is_archived === false);
      same({ action_type: ['NO_MISSING_FIELDS', 'IS_ASSIGNED_TO_A_RESOURCE'] }, (v) => {
        const ra = e(v).required_actions as Json;
        return [...(ra.partner as Json[]), ...(ra.leap as Json[])].some((a) => ['NO_MISSING_FIELDS', 'IS_ASSIGNED_TO_A_RESOURCE'].includes(String(a.action_type)));
      });
      const from = created(views[100]);
      const to = created(views[300]);
      const bounds = { created_after_date_time: String((views[100].details.audit as Json).created_at), created_before_date_time: String((views[300].details.audit as Json).created_at) };
      same({ ...bounds, transmission_region: 'CAISO' }, (v) => created(v) > from && created(v) < to && d(v).transmission_region === 'CAISO');
    });

    it('meter_ids, partner_references and connection_reference_ids select exactly those meters', () => {
      const picked = [ids[250], ids[3], ids[77]];
      assert.deepEqual(match({ meter_ids: [...picked, '5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d'] }), [ids[3], ids[77], ids[250]]);
      const refs = [String(views[10].details.partner_reference), String(views[20].details.partner_reference)];
      assert.deepEqual(match({ partner_references: refs }), brute((v) => refs.includes(String(v.details.partner_reference))));
      const connect = views.find((v) => (v.details.connection_references as string[]).length > 0);
      assert.ok(connect);
      const ref = String(connect.details.partner_reference);
      assert.deepEqual(match({ connection_reference_ids: [ref] }), brute((v) => (v.details.connection_references as string[]).includes(ref)));
      assert.deepEqual(match({ partner_references: ['nobody-has-this'] }), []);
    });
  });

  describe('pages and tokens', () => {
    it('findPage returns the next position only while more matches exist', () => {
      const compiled = { test: (i: number): boolean => i % 3 === 0 };
      assert.deepEqual(findPage(compiled, 10, 0, 2), { indices: [0, 3], next: 6 });
      assert.deepEqual(findPage(compiled, 10, 6, 2), { indices: [6, 9], next: -1 });
      assert.deepEqual(findPage({ candidates: Int32Array.from([2, 5, 8]), test: () => true }, 10, 1, 1), { indices: [5], next: 2 });
    });

    it('tokens round-trip, resist tampering, expire and keep large filters server-side', () => {
      let now = 1_000_000;
      const tokens = new PageTokens(Buffer.from('secret'), 60_000, () => now);
      const filter = v2({ tags: ['vip'] });
      const token = tokens.issue('d', filterHash('d', filter), filter, 42);
      assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
      assert.deepEqual(tokens.read(token), { ok: true, kind: 'd', hash: filterHash('d', filter), position: 42, filter });
      const forged = Buffer.from(JSON.stringify({ v: 1, k: 'd', h: filterHash('d', filter), p: 0, t: now, f: filter })).toString('base64url');
      assert.deepEqual(tokens.read(`${forged}.${token.split('.')[1]}`), { ok: false, reason: 'invalid' });
      assert.deepEqual(tokens.read('garbage'), { ok: false, reason: 'invalid' });
      assert.deepEqual(new PageTokens(Buffer.from('other'), 60_000, () => now).read(token), { ok: false, reason: 'invalid' });
      now += 60_001;
      assert.deepEqual(tokens.read(token), { ok: false, reason: 'expired' });

      const ids = Array.from({ length: 900 }, (_, k) => `5d1f3c2a-8b7e-4f6a-9c1d-${String(k).padStart(12, '0')}`);
      const big = v2({ meter_ids: ids });
      const bigToken = tokens.issue('e', filterHash('e', big), big, 1);
      assert.ok(bigToken.length < 300, 'a long meter_ids list stays out of the token');
      const read = tokens.read(bigToken);
      assert.ok(read.ok);
      assert.deepEqual(read.filter, big);
      assert.deepEqual(new PageTokens(Buffer.from('secret'), 60_000, () => now).read(bigToken), { ok: false, reason: 'forgotten' });
    });
  });
});
