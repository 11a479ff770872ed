import assert from 'node:assert/strict';
import type { LeapMeterDetails, LeapMeterEnrollment, LeapV1Meter } from '../../src/domain/leap-types';
import { meterContentText } from '../../src/domain/normalize';
import { normalizeV1, v1StatusToV2 } from '../../src/domain/normalize-v1';
import { normalizeV2 } from '../../src/domain/normalize-v2';
import { v1GetAnswer, v1SearchAnswer, v2DetailsGetAnswer, v2EnrollmentGetAnswer, v2EnrollmentSearchAnswer } from '../fixtures/leap-examples';

const DETAILS_ID = '5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d';

/** §5.3's enrollment example re-keyed to §4.4's meter, so both parts describe one meter. */
function enrollmentFor(meterId: string): LeapMeterEnrollment {
  return { ...v2EnrollmentGetAnswer(), meter_id: meterId };
}

/** Deterministic shuffle (reverse plus rotate) so the test never depends on luck. */
function scramble<T>(items: T[]): T[] {
  const r = [...items].reverse();
  return r.length > 2 ? [...r.slice(1), r[0]] : r;
}

describe('normalize', () => {
  describe('normalizeV2 (§4.4 details, §5.3 enrollment)', () => {
    it('maps the details example to the model, fields by name', () => {
      const m = normalizeV2(v2DetailsGetAnswer(), null);
      assert.equal(m.meter_id, DETAILS_ID);
      assert.equal(m.source, 'v2');
      assert.equal(m.partner_reference, 'site-000123');
      assert.equal(m.transmission_region, 'CAISO');
      assert.equal(m.meter_type, 'UTILITY_METER');
      assert.equal(m.customer_classification, 'RESIDENTIAL');
      assert.equal(m.utility_name, 'PGE');
      assert.deepEqual(m.load_types, ['BATTERY_STORAGE']);
      assert.deepEqual(m.tags, ['summer-2025']);
      assert.deepEqual(m.connection_references, ['site-000123']);
      assert.equal(m.customer_group, null, 'Leap sends "" for no group');
      assert.equal(m.is_archived, false);
      assert.equal(m.customer?.city, 'San Francisco');
      assert.equal(m.device?.battery_energy_capacity_kwh, 13.5);
      assert.deepEqual(m.caiso, { is_receiving_sgip_funding: false, nem_type: 'NEM2' });
      assert.equal(m.utility?.bill_customer_account_number, '9876543210');
      assert.equal(m.enrollment, null, 'no enrollment part read yet');
      assert.deepEqual(m.group_assignments, []);
      assert.equal(m.created_at, '2025-04-02T18:11:05.412Z');
      assert.equal(m.updated_at, '2025-06-14T09:30:00.101Z');
      assert.deepEqual(m.extra, {});
      assert.equal(m.raw.details?.meter_id, DETAILS_ID);
    });

    it('maps the enrollment example: status, partner and Leap actions, preference, programs', () => {
      const m = normalizeV2(null, v2EnrollmentGetAnswer());
      const e = m.enrollment;
      assert.ok(e);
      assert.equal(e.status, 'ACTIVE');
      assert.equal(e.status_v1, null);
      assert.equal(e.partner_action_required, true);
      assert.deepEqual(e.partner_actions, [
        {
          code: 'AUTH_0001',
          type: 'IS_AUTHORIZED',
          description: 'End customer must re-authorize meter. Learn more in our partner guide',
          program_identifier: 'CCA',
          delivery_period: 'CAISO-CCA_2024_NOV',
          deadline: '2024-11-01T07:00:00.000Z',
        },
      ]);
      assert.deepEqual(
        e.leap_actions.map((a) => [a.code, a.type]),
        [['LEAP_0001', 'IS_ASSIGNED_TO_A_RESOURCE']],
      );
      assert.equal(e.participation_preference, 'PARTICIPATE');
      assert.deepEqual(e.participation_periods, [{ preference: 'PARTICIPATE', starts_at: '2024-07-12T16:40:56.000Z', ends_at: '9000-01-01T00:00:00.000Z', reason: null }]);
      assert.deepEqual(
        e.programs.map((p) => [p.program_identifier, p.delivery_period, p.status, p.market_group_id]),
        [
          ['CCA', 'CAISO-CCA_2024_NOV', 'ACTIVE', '78e4e059-3326-49db-8781-b0d997b03a2a'],
          ['DRAM', 'CAISO-DRAM_2024_NOV', 'INELIGIBLE', null],
        ],
      );
      assert.deepEqual(e.programs[0].deadlines, [
        { deadline: '2024-10-30T07:00:00.000Z', activation: '2024-11-01T07:00:00.000Z' },
        { deadline: '2024-11-13T08:00:00.000Z', activation: '2024-11-15T08:00:00.000Z' },
      ]);
      assert.equal(e.window, null);
      assert.equal(m.created_at, '2024-07-12T16:40:56.401Z');
    });

    it('assigns a market group per program delivery period, only where Leap named one', () => {
      const m = normalizeV2(null, v2EnrollmentGetAnswer());
      assert.deepEqual(m.group_assignments, [
        {
          key: 'period:CCA/CAISO-CCA_2024_NOV',
          market_group_id: '78e4e059-3326-49db-8781-b0d997b03a2a',
          market_group_name: 'PGSB_1_PDRP92',
          trade_date: null,
          program_identifier: 'CCA',
          delivery_period: 'CAISO-CCA_2024_NOV',
          starts_at: '2024-11-01T07:00:00.000Z',
          ends_at: '2024-11-30T08:00:00.000Z',
        },
      ]);
    });

    it('maps the enrollment search example: INELIGIBLE with a SERV_0005 partner action and no group', () => {
      const m = normalizeV2(null, v2EnrollmentSearchAnswer().meters[0]);
      assert.equal(m.enrollment?.status, 'INELIGIBLE');
      assert.equal(m.enrollment?.partner_action_required, true);
      assert.deepEqual(
        m.enrollment?.partner_actions.map((a) => [a.code, a.type, a.description]),
        [['SERV_0005', 'NO_MISSING_FIELDS', 'Partner needs configuration for fields: End Customer Company Name.']],
      );
      assert.deepEqual(m.enrollment?.leap_actions, []);
      assert.deepEqual(m.group_assignments, []);
      assert.equal(m.meter_type, 'DEVICE');
      assert.equal(m.partner_reference, 'test-isone-device-serial-00002');
    });

    it('reads far-future sentinels (9 fractional digits) as open-ended ends', () => {
      const m = normalizeV2(null, v2EnrollmentSearchAnswer().meters[0]);
      assert.equal(m.enrollment?.participation_periods[0].ends_at, '9000-12-31T23:59:59.999Z');
      assert.equal(m.updated_at, '2025-06-14T10:02:13.514Z');
    });

    it('merges both parts of one meter, identifiers from the part Leap updated last', () => {
      const details = v2DetailsGetAnswer();
      const enrollment = enrollmentFor(DETAILS_ID);
      enrollment.partner_reference = 'site-000123-renamed';
      enrollment.audit = { ...enrollment.audit, updated_at: '2025-07-01T00:00:00.000001Z' };
      const m = normalizeV2(details, enrollment);
      assert.equal(m.partner_reference, 'site-000123-renamed');
      assert.equal(m.utility_name, 'PGE', 'details sections survive the merge');
      assert.equal(m.enrollment?.status, 'ACTIVE');
      assert.equal(m.updated_at, '2025-07-01T00:00:00.000Z');
      assert.equal(m.created_at, '2025-04-02T18:11:05.412Z', 'created_at comes from details when both have one');

      enrollment.audit = { ...enrollment.audit, updated_at: '2024-01-01T00:00:00Z' };
      assert.equal(normalizeV2(details, enrollment).partner_reference, 'site-000123', 'older enrollment part does not win');
    });

    it('reads the archived flag and an absent partner reference', () => {
      const details = v2DetailsGetAnswer();
      details.is_archived = true;
      delete details.partner_reference;
      const m = normalizeV2(details, null);
      assert.equal(m.is_archived, true);
      assert.equal(m.partner_reference, null);
      details.partner_reference = '';
      assert.equal(normalizeV2(details, null).partner_reference, null, 'an empty reference is no reference');
    });

    it('takes the preference of the period that starts last', () => {
      const e = v2EnrollmentGetAnswer();
      e.participation_preferences = [
        { participation_preference: 'IDLE', start_time: '2025-10-01T07:00:00Z', end_time: '2026-04-01T07:00:00Z', reason: 'winter' },
        { participation_preference: 'PARTICIPATE', start_time: '2024-07-12T16:40:56Z', end_time: '9000-01-01T00:00:00Z' },
      ];
      const m = normalizeV2(null, e);
      assert.equal(m.enrollment?.participation_preference, 'IDLE');
      assert.deepEqual(
        m.enrollment?.participation_periods.map((p) => [p.preference, p.starts_at, p.reason]),
        [
          ['PARTICIPATE', '2024-07-12T16:40:56.000Z', null],
          ['IDLE', '2025-10-01T07:00:00.000Z', 'winter'],
        ],
      );
    });

    it('unifies the drifted site-device spellings (§4.5) to the newer names', () => {
      const older = v2DetailsGetAnswer();
      const newer = v2DetailsGetAnswer();
      const oldDevice = { device_type: 'BATTERY', max_energy_production_rate_kw: 5, max_energy_consumption_rate_kw: 4.2, pv_connected: true };
      const newDevice = { device_type: 'BATTERY', battery_max_discharge_rate_kw: 5, battery_max_charge_rate_kw: 4.2, is_connected_to_solar: true };
      older.site = { ...older.site, site_devices: [oldDevice] };
      newer.site = { ...newer.site, site_devices: [newDevice] };
      const a = normalizeV2(older, null);
      const b = normalizeV2(newer, null);
      assert.deepEqual(a.site?.site_devices, [newDevice]);
      assert.equal(meterContentText(a), meterContentText(b));
    });

    it('prefers the newer spelling when Leap sends both', () => {
      const details = v2DetailsGetAnswer();
      details.site = { site_devices: [{ device_type: 'BATTERY', pv_connected: false, is_connected_to_solar: true }] };
      assert.deepEqual(normalizeV2(details, null).site?.site_devices, [{ device_type: 'BATTERY', is_connected_to_solar: true }]);
    });

    it('keeps unknown top-level fields from either part in extra', () => {
      const details: LeapMeterDetails = { ...v2DetailsGetAnswer(), grid_zone_v3: 'NP15', solar: { kw: 7 } };
      const enrollment: LeapMeterEnrollment = { ...enrollmentFor(DETAILS_ID), dispatch_priority: 3 };
      const m = normalizeV2(details, enrollment);
      assert.deepEqual(m.extra, { grid_zone_v3: 'NP15', solar: { kw: 7 }, dispatch_priority: 3 });
      assert.equal(m.raw.details?.grid_zone_v3, 'NP15', 'raw keeps Leap JSON as received');
    });

    it('gives the same canonical JSON whatever order Leap lists arrays in', () => {
      const details = v2DetailsGetAnswer();
      details.load_types = ['BATTERY_STORAGE', 'HVAC', 'EV_CHARGING'];
      details.tags = ['summer-2025', 'b', 'a'];
      details.connection_references = ['site-000123', 'x-1', 'x-2'];
      details.site = {
        ...details.site,
        site_devices: [
          { device_type: 'BATTERY', serial_number: '1' },
          { device_type: 'EV_CHARGER', serial_number: '2' },
          { device_type: 'HEAT_PUMP', serial_number: '3' },
        ],
      };
      const enrollment = enrollmentFor(DETAILS_ID);
      enrollment.participation_preferences = [
        { participation_preference: 'PARTICIPATE', start_time: '2024-07-12T16:40:56Z', end_time: '2025-01-01T00:00:00Z' },
        { participation_preference: 'IDLE', start_time: '2025-01-01T00:00:00Z', end_time: '2025-02-01T00:00:00Z' },
        { participation_preference: 'PARTICIPATE', start_time: '2025-02-01T00:00:00Z', end_time: '9000-01-01T00:00:00Z' },
      ];
      enrollment.required_actions.partner = [...(enrollment.required_actions.partner ?? []), { action_code: 'SERV_0005', action_type: 'NO_MISSING_FIELDS' }, { action_code: 'AUTH_0002' }];
      enrollment.program_enrollment.push({ ...enrollment.program_enrollment[0], program_identifier: 'ELRP', delivery_period: 'ELRP_2024_NOV' });

      const shuffledDetails: LeapMeterDetails = {
        ...details,
        load_types: scramble(details.load_types ?? []),
        tags: scramble(details.tags ?? []),
        connection_references: scramble(details.connection_references ?? []),
        site: { ...details.site, site_devices: scramble(details.site?.site_devices as unknown[]) },
      };
      const shuffledEnrollment: LeapMeterEnrollment = {
        ...enrollment,
        participation_preferences: scramble(enrollment.participation_preferences ?? []),
        program_enrollment: scramble(enrollment.program_enrollment).map((p) => ({ ...p, enrollment_deadlines: scramble(p.enrollment_deadlines) })),
        required_actions: { partner: scramble(enrollment.required_actions.partner ?? []), leap: scramble(enrollment.required_actions.leap ?? []) },
      };
      assert.notDeepEqual(shuffledDetails.load_types, details.load_types, 'the scramble really reorders');
      assert.equal(meterContentText(normalizeV2(shuffledDetails, shuffledEnrollment)), meterContentText(normalizeV2(details, enrollment)));
    });

    it('changes the canonical JSON when a meaningful field changes, but not for updated_at alone', () => {
      const base = meterContentText(normalizeV2(v2DetailsGetAnswer(), null));
      const touched = v2DetailsGetAnswer();
      touched.audit = { ...touched.audit, updated_at: '2026-01-01T00:00:00Z' };
      assert.equal(meterContentText(normalizeV2(touched, null)), base);
      const moved = v2DetailsGetAnswer();
      moved.customer = { ...moved.customer, city: 'Oakland' };
      assert.notEqual(meterContentText(normalizeV2(moved, null)), base);
    });

    it('refuses to normalize nothing', () => {
      assert.throws(() => normalizeV2(null, null), /at least one part/);
    });
  });

  describe('normalizeV1 (§3.6, §3.7)', () => {
    it('maps the search example: title-case Active, utility fields renamed to their v2 names', () => {
      const m = normalizeV1(v1SearchAnswer().results[0]);
      assert.equal(m.source, 'v1');
      assert.equal(m.meter_id, DETAILS_ID);
      assert.equal(m.partner_reference, 'site-000123');
      assert.equal(m.utility_name, 'PGE');
      assert.deepEqual(m.utility, { utility_name: 'PGE', electric_service_account_number: '1234567890', bill_customer_account_number: '9876543210', tariff: 'E-TOU-C' });
      assert.deepEqual(m.customer, { service_address_full: '1450 MISSION ST UNIT 4, SAN FRANCISCO, CA 94103' });
      assert.equal(m.enrollment?.status, 'ACTIVE');
      assert.equal(m.enrollment?.status_v1, 'Active');
      assert.equal(m.enrollment?.partner_action_required, false);
      assert.deepEqual(m.enrollment?.window, {
        active_from: '2025-06-01T07:00:00.000Z',
        active_to: '2025-12-31T08:00:00.000Z',
        eligible_from: '2025-05-15T07:00:00.000Z',
        eligible_to: '2029-01-02T08:00:00.000Z',
      });
      assert.deepEqual(m.extra, {});
    });

    it('turns participation[] into one group assignment per trade date', () => {
      const m = normalizeV1(v1SearchAnswer().results[0]);
      assert.deepEqual(
        m.group_assignments.map((g) => [g.key, g.market_group_id, g.trade_date]),
        [
          ['trade_date:2025-06-14', '959b2bfb-ec22-4fdf-b1a3-0c1e2d3f4a5b', '2025-06-14'],
          ['trade_date:2025-06-15', '959b2bfb-ec22-4fdf-b1a3-0c1e2d3f4a5b', '2025-06-15'],
          ['trade_date:2025-06-16', '959b2bfb-ec22-4fdf-b1a3-0c1e2d3f4a5b', '2025-06-16'],
        ],
      );
    });

    it('maps the get example: Ineligible with a reason that explains, not asks', () => {
      const m = normalizeV1(v1GetAnswer());
      assert.equal(m.enrollment?.status, 'INELIGIBLE');
      assert.equal(m.enrollment?.partner_action_required, false);
      assert.deepEqual(m.enrollment?.partner_actions, []);
      assert.deepEqual(m.enrollment?.leap_actions.map((a) => [a.code, a.description]), [['MRKT_0002', 'Meter is enrolled in a conflicting program']]);
      assert.deepEqual(m.enrollment?.window, { active_from: null, active_to: null, eligible_from: null, eligible_to: null });
      assert.deepEqual(m.group_assignments, []);
    });

    it('turns ActionRequired + status_reasons into partner actions with code, type and description', () => {
      const raw = v1GetAnswer();
      raw.enrollment = {
        ...raw.enrollment,
        status: 'ActionRequired',
        status_reasons: [
          { code: 'MRKT_0002', comment: 'Meter is enrolled in a conflicting program' },
          { code: 'AUTH_0001', comment: 'End customer must re-authorize meter' },
        ],
      };
      const m = normalizeV1(raw);
      assert.equal(m.enrollment?.status, 'INELIGIBLE');
      assert.equal(m.enrollment?.status_v1, 'ActionRequired');
      assert.equal(m.enrollment?.partner_action_required, true);
      assert.deepEqual(m.enrollment?.partner_actions, [
        { code: 'AUTH_0001', type: 'IS_AUTHORIZED', description: 'End customer must re-authorize meter', program_identifier: null, delivery_period: null, deadline: null },
        { code: 'MRKT_0002', type: 'HAS_MARKET_REGISTRATION', description: 'Meter is enrolled in a conflicting program', program_identifier: null, delivery_period: null, deadline: null },
      ]);
      assert.deepEqual(m.enrollment?.leap_actions, []);
    });

    it('maps every v1 title-case status to the v2 enum', () => {
      const cases: [string, string, boolean][] = [
        ['Active', 'ACTIVE', false],
        ['Pending', 'PENDING', false],
        ['Eligible', 'ELIGIBLE', false],
        ['Ineligible', 'INELIGIBLE', false],
        ['Not Participating', 'NOT_PARTICIPATING', false],
        ['NotParticipating', 'NOT_PARTICIPATING', false],
        ['ActionRequired', 'INELIGIBLE', true],
        ['ACTIVE', 'ACTIVE', false],
      ];
      for (const [v1, v2, action] of cases) assert.deepEqual(v1StatusToV2(v1), { status: v2, actionRequired: action }, v1);
      assert.deepEqual(v1StatusToV2(undefined), { status: 'PENDING', actionRequired: false });
    });

    it('reads partner_preferred_action from the enrollment or the top level', () => {
      const inEnrollment = v1GetAnswer();
      inEnrollment.enrollment = { ...inEnrollment.enrollment, partner_preferred_action: 'Idle' };
      assert.equal(normalizeV1(inEnrollment).enrollment?.participation_preference, 'IDLE');
      const topLevel: LeapV1Meter = { ...v1GetAnswer(), partner_preferred_action: 'Disenroll' };
      assert.equal(normalizeV1(topLevel).enrollment?.participation_preference, 'DISENROLL');
    });

    it('keeps unknown fields in extra and reads the archived flag', () => {
      const raw: LeapV1Meter = { ...v1GetAnswer(), is_archived: true, lse_code: 'CECONY-NYC', meter_read_cycle: 12 };
      const m = normalizeV1(raw);
      assert.deepEqual(m.extra, { lse_code: 'CECONY-NYC', meter_read_cycle: 12 });
      assert.equal(m.is_archived, true);
    });

    it('gives the same canonical JSON whatever order participation and reasons come in', () => {
      const raw = v1SearchAnswer().results[0];
      raw.enrollment = {
        ...raw.enrollment,
        status: 'ActionRequired',
        status_reasons: [
          { code: 'AUTH_0001', comment: 'a' },
          { code: 'SERV_0005', comment: 'b' },
          { code: 'MRKT_0002', comment: 'c' },
        ],
      };
      const shuffled: LeapV1Meter = {
        ...raw,
        participation: scramble(raw.participation ?? []),
        enrollment: { ...raw.enrollment, status_reasons: scramble(raw.enrollment.status_reasons ?? []) },
      };
      assert.equal(meterContentText(normalizeV1(shuffled)), meterContentText(normalizeV1(raw)));
    });

    it('describes the same meter as v2 does for the shared utility fields', () => {
      const v1 = normalizeV1(v1SearchAnswer().results[0]);
      const v2 = normalizeV2(v2DetailsGetAnswer(), null);
      assert.equal(v1.meter_id, v2.meter_id);
      assert.equal(v1.utility?.electric_service_account_number, v2.utility?.electric_service_account_number);
      assert.equal(v1.utility?.bill_customer_account_number, v2.utility?.bill_customer_account_number);
      assert.equal(v1.utility?.tariff, v2.utility?.tariff);
    });
  });
});
