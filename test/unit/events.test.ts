import assert from 'node:assert/strict';
import { deriveEvents, diffMeters } from '../../src/domain/events';
import type { LeapMeterDetails, LeapMeterEnrollment } from '../../src/domain/leap-types';
import { normalizeV1 } from '../../src/domain/normalize-v1';
import { normalizeV2 } from '../../src/domain/normalize-v2';

function details(over: Record<string, unknown> = {}): LeapMeterDetails {
  return {
    meter_id: '5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d',
    partner_reference: 'site-000123',
    transmission_region: 'CAISO',
    meter_type: 'UTILITY_METER',
    load_types: ['BATTERY_STORAGE', 'HVAC'],
    tags: ['a', 'b'],
    is_archived: false,
    customer: { street_1: '1450 Mission St', city: 'San Francisco', state_or_province_code: 'CA', postal_code: '94103', country_code: 'US' },
    utility: { utility_name: 'PGE', tariff: 'E-TOU-C' },
    audit: { created_at: '2025-04-02T18:11:05.412Z', updated_at: '2025-06-14T09:30:00.101Z' },
    ...over,
  } as LeapMeterDetails;
}

function enrollment(over: Record<string, unknown> = {}): LeapMeterEnrollment {
  return {
    meter_id: '5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d',
    partner_reference: 'site-000123',
    transmission_region: 'CAISO',
    load_types: ['BATTERY_STORAGE', 'HVAC'],
    tags: ['a', 'b'],
    is_archived: false,
    audit: { created_at: '2025-04-02T18:11:05.412Z', updated_at: '2025-06-14T09:30:00.101Z' },
    global_enrollment_status: 'ELIGIBLE',
    participation_preferences: [{ participation_preference: 'PARTICIPATE', start_time: '2025-01-01T00:00:00Z', end_time: '9000-12-31T23:59:59.999999999Z' }],
    program_enrollment: [
      {
        program_identifier: 'CCA',
        delivery_period: 'CAISO-CCA_2025_JUN',
        delivery_period_start_date_time: '2025-06-01T07:00:00Z',
        delivery_period_end_date_time: '2025-07-01T07:00:00Z',
        enrollment_status: 'ELIGIBLE',
        enrollment_deadlines: [{ enrollment_deadline_date_time: '2025-05-29T07:00:00Z', activation_date_time: '2025-06-01T07:00:00Z' }],
      },
    ],
    required_actions: { partner: [], leap: [] },
    ...over,
  } as LeapMeterEnrollment;
}

const v2 = (d: Record<string, unknown> = {}, e: Record<string, unknown> = {}) => normalizeV2(details(d), enrollment(e));

describe('change detection', () => {
  it('ignores Leap touching updated_at and reordering arrays that carry no meaning', () => {
    const before = v2();
    const after = v2(
      { tags: ['b', 'a'], load_types: ['HVAC', 'BATTERY_STORAGE'], audit: { created_at: '2025-04-02T18:11:05.412Z', updated_at: '2025-06-15T00:00:00.000000001Z' } },
      { tags: ['b', 'a'], audit: { created_at: '2025-04-02T18:11:05.412Z', updated_at: '2025-06-15T00:00:00Z' } },
    );
    assert.deepEqual(diffMeters(before, after), []);
    assert.deepEqual(deriveEvents(before, after), []);
  });

  it('a first sight is meter.created, plus activated/actions/group when the meter already has them', () => {
    assert.deepEqual(
      deriveEvents(null, v2()).map((e) => e.type),
      ['meter.created'],
    );
    const active = v2(
      {},
      {
        global_enrollment_status: 'ACTIVE',
        program_enrollment: [
          {
            program_identifier: 'CCA',
            delivery_period: 'CAISO-CCA_2025_JUN',
            delivery_period_start_date_time: '2025-06-01T07:00:00Z',
            delivery_period_end_date_time: '2025-07-01T07:00:00Z',
            enrollment_status: 'ACTIVE',
            enrollment_deadlines: [],
            market_group_id: '78e4e059-3326-49db-8781-b0d997b03a2a',
            market_group_name: 'PGSB_1_PDRP92',
          },
        ],
        required_actions: { partner: [{ action_code: 'AUTH_0001', action_type: 'IS_AUTHORIZED', action_description: 'End customer must re-authorize meter.' }], leap: [] },
      },
    );
    assert.deepEqual(
      deriveEvents(null, active).map((e) => e.type),
      ['meter.created', 'meter.enrollment.activated', 'meter.enrollment.required-actions.updated', 'meter.enrollment.group.updated'],
    );
  });

  it('names each lifecycle change and puts the rest in one meter.details.updated', () => {
    const before = v2();
    const after = v2(
      { partner_reference: 'site-999', customer: { ...details().customer, city: 'Oakland' }, utility: { utility_name: 'PGE', tariff: 'EV2-A' } },
      {
        partner_reference: 'site-999',
        global_enrollment_status: 'INELIGIBLE',
        required_actions: { partner: [{ action_code: 'SERV_0005', action_type: 'NO_MISSING_FIELDS', action_description: 'Partner needs configuration for fields: Load Zone.' }], leap: [] },
        participation_preferences: [{ participation_preference: 'IDLE', start_time: '2025-07-01T00:00:00Z', end_time: '2025-08-01T00:00:00Z' }],
      },
    );
    const events = deriveEvents(before, after);
    assert.deepEqual(
      events.map((e) => e.type),
      [
        'meter.partner-reference.updated',
        'meter.enrollment.global-status.updated',
        'meter.enrollment.participation-status.updated',
        'meter.enrollment.required-actions.updated',
        'meter.details.updated',
      ],
    );
    assert.deepEqual(events[0]!.changes, [{ path: 'partner_reference', from: 'site-000123', to: 'site-999' }]);
    assert.deepEqual(events[1]!.changes, [{ path: 'enrollment.status', from: 'ELIGIBLE', to: 'INELIGIBLE' }]);
    assert.deepEqual(
      events[4]!.changes,
      [
        { path: 'customer.city', from: 'San Francisco', to: 'Oakland' },
        { path: 'utility.tariff', from: 'E-TOU-C', to: 'EV2-A' },
      ],
    );
  });

  it('becoming ACTIVE adds meter.enrollment.activated; leaving it does not', () => {
    const eligible = v2();
    const active = v2({}, { global_enrollment_status: 'ACTIVE' });
    assert.deepEqual(
      deriveEvents(eligible, active).map((e) => e.type),
      ['meter.enrollment.global-status.updated', 'meter.enrollment.activated'],
    );
    assert.deepEqual(
      deriveEvents(active, eligible).map((e) => e.type),
      ['meter.enrollment.global-status.updated'],
    );
  });

  it('a new field from Leap is a detail change under extra', () => {
    const events = deriveEvents(v2(), v2({ battery_warranty_years: 10 }));
    assert.deepEqual(events, [{ type: 'meter.details.updated', changes: [{ path: 'extra.battery_warranty_years', from: null, to: 10 }] }]);
  });

  it('archiving is meter.archived; coming back is a detail change', () => {
    assert.deepEqual(
      deriveEvents(v2(), v2({ is_archived: true }, { is_archived: true })).map((e) => e.type),
      ['meter.archived'],
    );
    assert.deepEqual(
      deriveEvents(v2({ is_archived: true }, { is_archived: true }), v2()).map((e) => e.type),
      ['meter.details.updated'],
    );
  });

  it('v1: ActionRequired with reasons, then Active with market groups per trade date', () => {
    const base = { meter_id: '7a9e0c11-3f0b-4d55-a1f6-6c2b8e9d0f12', partner_reference: 'site-000456', transmission_region: 'NYISO', utility: 'CECONY' };
    const blocked = normalizeV1({ ...base, enrollment: { status: 'ActionRequired', status_reasons: [{ code: 'SERV_0005', comment: 'Partner needs configuration for fields: CBL Method.' }] }, participation: [] });
    const active = normalizeV1({
      ...base,
      enrollment: { status: 'Active', status_reasons: [] },
      participation: [
        { market_group_id: '959b2bfb-ec22-4fdf-b1a3-0c1e2d3f4a5b', trade_date: '2025-06-14' },
        { market_group_id: '959b2bfb-ec22-4fdf-b1a3-0c1e2d3f4a5b', trade_date: '2025-06-15' },
        { market_group_id: '959b2bfb-ec22-4fdf-b1a3-0c1e2d3f4a5b', trade_date: '2025-06-16' },
      ],
    });
    const events = deriveEvents(blocked, active);
    assert.deepEqual(
      events.map((e) => e.type),
      ['meter.enrollment.global-status.updated', 'meter.enrollment.activated', 'meter.enrollment.required-actions.updated', 'meter.enrollment.group.updated'],
    );
    assert.deepEqual(events[0]!.changes![0], { path: 'enrollment.status', from: 'INELIGIBLE', to: 'ACTIVE' });
    assert.deepEqual(
      active.group_assignments.map((g) => g.key),
      ['trade_date:2025-06-14', 'trade_date:2025-06-15', 'trade_date:2025-06-16'],
    );
  });

  it('a market group moving for the coming trade dates only is one group event', () => {
    const day = (d: string, g: string) => ({ market_group_id: g, trade_date: d });
    const base = { meter_id: '7a9e0c11-3f0b-4d55-a1f6-6c2b8e9d0f12', enrollment: { status: 'Active' } };
    const a = normalizeV1({ ...base, participation: [day('2025-06-14', 'g1'), day('2025-06-15', 'g1'), day('2025-06-16', 'g1')] });
    const b = normalizeV1({ ...base, participation: [day('2025-06-14', 'g1'), day('2025-06-15', 'g2'), day('2025-06-16', 'g2')] });
    const events = deriveEvents(a, b);
    assert.deepEqual(
      events.map((e) => e.type),
      ['meter.enrollment.group.updated'],
    );
  });
});
