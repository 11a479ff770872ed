import assert from 'node:assert/strict';
import { validateItem, validatePage } from '../../src/clients/leap-validate';
import {
  v1GetAnswer,
  v1SearchAnswer,
  v2DetailsGetAnswer,
  v2DetailsSearchAnswer,
  v2EnrollmentGetAnswer,
  v2EnrollmentSearchAnswer,
} from '../fixtures/leap-examples';

type Json = Record<string, unknown>;

function problemsOf(result: { ok: boolean; problems?: unknown }): { index?: number; meter_id?: string; pointer: string; message: string }[] {
  assert.equal(result.ok, false, 'expected the page to fail validation');
  return (result as { problems: { index?: number; meter_id?: string; pointer: string; message: string }[] }).problems;
}

describe('Leap answer validation', () => {
  describe("Leap's own examples pass", () => {
    it('v2 details search and get (§4.4)', () => {
      const page = validatePage('details', v2DetailsSearchAnswer());
      assert.ok(page.ok);
      assert.equal(page.items.length, 1);
      assert.equal(page.nextPageToken, 'eyJvZmZzZXQiOjEwMH0');
      assert.ok(validateItem('details', v2DetailsGetAnswer()).ok);
    });

    it('v2 enrollment search and get (§5.3), with 6- and 9-digit fractions and far-future sentinels', () => {
      const page = validatePage('enrollment', v2EnrollmentSearchAnswer());
      assert.ok(page.ok);
      assert.equal(page.nextPageToken, 'PAGE_TOKEN');
      assert.ok(validateItem('enrollment', v2EnrollmentGetAnswer()).ok);
    });

    it('v1 search and get (§3.6, §3.7), null window dates included', () => {
      const page = validatePage('v1', v1SearchAnswer());
      assert.ok(page.ok);
      assert.equal(page.nextPageToken, null);
      assert.ok(validateItem('v1', v1GetAnswer()).ok);
    });
  });

  describe('paging markers', () => {
    for (const [label, token] of [
      ['absent', undefined],
      ['null', null],
      ['empty', ''],
    ] as const) {
      it(`next_page_token ${label} means the last page`, () => {
        const body: Json = { meters: [] };
        if (token !== undefined) body.next_page_token = token;
        const page = validatePage('details', body);
        assert.ok(page.ok);
        assert.equal(page.nextPageToken, null);
      });
    }

    it('rejects a next_page_token that is neither string nor null', () => {
      const problems = problemsOf(validatePage('details', { meters: [], next_page_token: 42 }));
      assert.deepEqual(problems, [{ pointer: '/next_page_token', message: 'must be string or null, got number 42' }]);
    });
  });

  describe('envelopes', () => {
    it('requires meters on v2 and results on v1, as arrays', () => {
      assert.deepEqual(problemsOf(validatePage('details', { results: [] })), [{ pointer: '/meters', message: 'is required' }]);
      assert.deepEqual(problemsOf(validatePage('v1', { meters: [] })), [{ pointer: '/results', message: 'is required' }]);
      assert.deepEqual(problemsOf(validatePage('enrollment', { meters: { a: 1 } })), [{ pointer: '/meters', message: 'must be array, got an object' }]);
    });

    it("rejects Leap's bare-string error body and other non-objects", () => {
      assert.deepEqual(problemsOf(validatePage('details', 'An error happened whilst processing your request')), [
        { pointer: '', message: 'must be object, got "An error happened whilst processing your request"' },
      ]);
      assert.equal(validatePage('details', null).ok, false);
      assert.equal(validatePage('details', []).ok, false);
    });
  });

  describe('items', () => {
    it('names the item index, its meter_id and a JSON pointer for each problem', () => {
      const body = v2DetailsSearchAnswer();
      const second = { ...body.meters[0], meter_id: '6e2f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d', audit: { created_by: 'UTILITY', updated_at: 'yesterday' } };
      const third = { ...body.meters[0] } as Json;
      delete third.meter_id;
      const page = validatePage('details', { meters: [body.meters[0], second, third] });
      assert.deepEqual(problemsOf(page), [
        { index: 1, meter_id: '6e2f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d', pointer: '/meters/1/audit/updated_at', message: 'must be an ISO-8601 timestamp, got "yesterday"' },
        { index: 2, pointer: '/meters/2/meter_id', message: 'is required' },
      ]);
    });

    it('lists every problem of an item, not just the first', () => {
      const bad = { meter_id: 'not-a-uuid', audit: {}, is_archived: 'no', load_types: 'HVAC' };
      const problems = problemsOf(validatePage('details', { meters: [bad] }));
      assert.deepEqual(
        problems.map((p) => [p.pointer, p.message]).sort(),
        [
          ['/meters/0/audit/updated_at', 'is required'],
          ['/meters/0/is_archived', 'must be boolean, got "no"'],
          ['/meters/0/load_types', 'must be array or null, got "HVAC"'],
          ['/meters/0/meter_id', 'must be a uuid, got "not-a-uuid"'],
        ],
      );
      assert.ok(problems.every((p) => p.meter_id === 'not-a-uuid' && p.index === 0));
    });

    it('requires the enrollment parts the connector relies on', () => {
      const e = v2EnrollmentGetAnswer() as unknown as Json;
      delete e.global_enrollment_status;
      e.program_enrollment = { CCA: 'ACTIVE' };
      e.required_actions = [];
      assert.deepEqual(
        problemsOf(validateItem('enrollment', e))
          .map((p) => `${p.pointer} ${p.message}`)
          .sort(),
        ['/global_enrollment_status is required', '/program_enrollment must be array, got an object', '/required_actions must be object, got an array'],
      );
    });

    it('checks nested enrollment shapes: program entries, actions, participation periods', () => {
      const e = v2EnrollmentGetAnswer() as unknown as { program_enrollment: Json[]; required_actions: Json; participation_preferences: Json[] };
      delete e.program_enrollment[1].enrollment_status;
      e.required_actions.partner = [{ action_code: 5 }];
      e.participation_preferences[0].start_time = '2024-13-01T00:00:00Z';
      assert.deepEqual(
        problemsOf(validateItem('enrollment', e))
          .map((p) => `${p.pointer} ${p.message}`)
          .sort(),
        [
          '/participation_preferences/0/start_time must be an ISO-8601 timestamp, got "2024-13-01T00:00:00Z"',
          '/program_enrollment/1/enrollment_status is required',
          '/required_actions/partner/0/action_code must be string or null, got number 5',
        ],
      );
    });

    it('checks the v1 enrollment object shape when present', () => {
      const m = v1GetAnswer() as unknown as Json;
      m.enrollment = { status: 'Active', status_reasons: { code: 'X' }, active_from: 'soon' };
      m.participation = [{ market_group_id: 7, trade_date: '2025-06-14' }];
      assert.deepEqual(
        problemsOf(validateItem('v1', m))
          .map((p) => `${p.pointer} ${p.message}`)
          .sort(),
        [
          '/enrollment/active_from must be an ISO-8601 timestamp, got "soon"',
          '/enrollment/status_reasons must be array or null, got an object',
          '/participation/0/market_group_id must be string or null, got number 7',
        ],
      );
      const noEnrollment = v1GetAnswer() as unknown as Json;
      delete noEnrollment.enrollment;
      assert.ok(validateItem('v1', noEnrollment).ok, 'enrollment is optional on v1');
    });

    it('keeps unknown fields, at the top level and nested, untouched', () => {
      const m = { ...v2DetailsGetAnswer(), brand_new_field: { nested: [1, 2] }, customer: { ...v2DetailsGetAnswer().customer, favourite_colour: 'green' } };
      const before = JSON.stringify(m);
      const result = validateItem('details', m);
      assert.ok(result.ok);
      assert.equal(JSON.stringify(result.item), before);
      assert.deepEqual((result.item as Json).brand_new_field, { nested: [1, 2] });
    });

    it('accepts both spellings of the drifted device fields (§4.5), and type-checks both', () => {
      const older = v2DetailsGetAnswer();
      older.site = { site_devices: [{ device_type: 'BATTERY', max_energy_production_rate_kw: 5, max_energy_consumption_rate_kw: 4, pv_connected: true }] };
      const newer = v2DetailsGetAnswer();
      newer.site = { site_devices: [{ device_type: 'BATTERY', battery_max_discharge_rate_kw: 5, battery_max_charge_rate_kw: 4, is_connected_to_solar: true }] };
      newer.device = { ...newer.device, battery_max_discharge_rate_kw: 5, is_connected_to_solar: false, installer: 'Acme Solar' };
      assert.ok(validateItem('details', older).ok);
      assert.ok(validateItem('details', newer).ok);
      const wrong = v2DetailsGetAnswer();
      wrong.site = { site_devices: [{ pv_connected: 'yes' }, { is_connected_to_solar: 'yes' }] };
      assert.deepEqual(
        problemsOf(validateItem('details', wrong)).map((p) => p.pointer),
        ['/site/site_devices/0/pv_connected', '/site/site_devices/1/is_connected_to_solar'],
      );
    });

    it('does not close enums: a new region, status or program passes', () => {
      const e = v2EnrollmentGetAnswer();
      e.transmission_region = 'MISO';
      e.global_enrollment_status = 'SUSPENDED';
      e.program_enrollment[0].program_identifier = 'NEW-PROGRAM';
      assert.ok(validateItem('enrollment', e).ok);
    });

    it('accepts every timestamp precision Leap uses and far-future sentinels in audit times', () => {
      for (const t of ['2025-06-14T09:30:00Z', '2025-06-14T09:30:00.1Z', '2025-06-14T09:30:00.101Z', '2025-06-14T09:30:00.101422Z', '2025-06-14T09:30:00.101422999Z', '9000-12-31T23:59:59.999999999Z']) {
        const d = v2DetailsGetAnswer();
        d.audit = { ...d.audit, updated_at: t };
        assert.ok(validateItem('details', d).ok, t);
      }
    });

    it('requires is_archived to be boolean only when present', () => {
      const d = v2DetailsGetAnswer() as unknown as Json;
      delete d.is_archived;
      assert.ok(validateItem('details', d).ok);
      d.is_archived = 'false';
      assert.deepEqual(problemsOf(validateItem('details', d)), [{ meter_id: '5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d', pointer: '/is_archived', message: 'must be boolean, got "false"' }]);
    });
  });
});
