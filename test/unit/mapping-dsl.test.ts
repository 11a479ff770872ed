import assert from 'node:assert/strict';
import { MappingError } from '../../src/errors';
import { deviceMeter, eventOf, render, siteMeter, v1Meter } from '../helpers/destinations';

async function renderError(mapping: string, meter = siteMeter(), settings = ''): Promise<MappingError> {
  try {
    await render(mapping, meter, eventOf(), settings);
  } catch (err) {
    assert.ok(err instanceof MappingError, `expected a MappingError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the mapping to fail');
}

describe('mapping DSL', () => {
  describe('from', () => {
    it('reads dotted paths, and a plain string is shorthand for from', async () => {
      const out = await render(['  id: { from: partner_reference }', '  city: customer.city', '  kwh: device.battery_energy_capacity_kwh', '  archived: is_archived', ''].join('\n'));
      assert.deepEqual(out, { id: 'site-000123', city: 'San Francisco', kwh: 13.5, archived: false });
    });

    it('indexes lists with [n] (negative from the end)', async () => {
      const out = await render(['  first: group_assignments[0].market_group_name', '  last_deadline: enrollment.programs[0].deadlines[-1].deadline', ''].join('\n'));
      assert.deepEqual(out, { first: 'PGSB_1_PDRP92', last_deadline: '2024-11-13T08:00:00.000Z' });
    });

    it('keeps a list a list when a path walks through it, even with one item', async () => {
      const out = await render(['  codes: enrollment.partner_actions.code', '  tags: tags', ''].join('\n'));
      assert.deepEqual(out, { codes: ['AUTH_0001'], tags: ['summer-2025'] });
    });

    it('treats a null in the meter as missing, like an absent field', async () => {
      // The device meter was read from its enrollment only: customer is null, partner_reference set.
      const out = await render(['  city: customer.city', '  region: transmission_region', ''].join('\n'), deviceMeter());
      assert.deepEqual(out, { region: 'ISONE' });
    });
  });

  describe('map, default, format and transform', () => {
    it('maps enum values, and an unmapped value is missing so default applies', async () => {
      const mapping = '  status: { from: enrollment.status, map: { ACTIVE: Enrolled, PENDING: In Review }, default: Unknown }\n';
      assert.deepEqual(await render(mapping), { status: 'Enrolled' });
      assert.deepEqual(await render(mapping, deviceMeter()), { status: 'Unknown' });
    });

    it('maps each item of a list, and booleans and numbers by their text', async () => {
      const out = await render(['  kinds: { from: enrollment.programs.status, map: { ACTIVE: on, INELIGIBLE: off } }', '  archived: { from: is_archived, map: { "false": live, "true": gone } }', ''].join('\n'));
      assert.deepEqual(out, { kinds: ['on', 'off'], archived: 'live' });
    });

    it('sends an explicit null a map gives, instead of treating it as missing', async () => {
      const out = await render('  status: { from: enrollment.status, map: { ACTIVE: null }, default: x }\n');
      assert.deepEqual(out, { status: null });
    });

    it('uses default as a constant when there is no source', async () => {
      assert.deepEqual(await render('  source: { default: leap }\n  flags: { default: [a, b] }\n'), { source: 'leap', flags: ['a', 'b'] });
    });

    it('formats dates with JSONata pictures: in, out, an IANA time zone or a fixed offset', async () => {
      const out = await render(
        [
          '  installed: { from: device.install_date, format: "[M01]/[D01]/[Y0001]" }',
          '  installed_eu: { from: device.install_date, format: { in: "[Y0001]-[M01]-[D01]", out: "[D01].[M01].[Y0001]" } }',
          '  created_la: { from: created_at, format: { out: "[Y0001]-[M01]-[D01] [H01]:[m01][Z]", timezone: America/Los_Angeles } }',
          '  created_fixed: { from: created_at, format: { out: "[H01]:[m01]", timezone: "+0530" } }',
          '  created_utc: { from: created_at, format: { out: "[H01]:[m01]", timezone: UTC } }',
          '',
        ].join('\n'),
      );
      assert.deepEqual(out, {
        installed: '05/10/2024',
        installed_eu: '10.05.2024',
        created_la: '2025-04-02 11:11-07:00',
        created_fixed: '23:41',
        created_utc: '18:11',
      });
    });

    it('picks the time zone offset in force on the day (daylight saving)', async () => {
      const winter = await render('  t: { expr: \'"2025-01-15T20:00:00Z"\', format: { out: "[H01][Z]", timezone: America/New_York } }\n');
      const summer = await render('  t: { expr: \'"2025-07-15T20:00:00Z"\', format: { out: "[H01][Z]", timezone: America/New_York } }\n');
      assert.deepEqual([winter.t, summer.t], ['15-05:00', '16-04:00']);
    });

    it('applies transforms in order: lowercase, uppercase, trim, string, number, boolean, round', async () => {
      const out = await render(
        [
          '  email: { expr: \'"  Jordan.Lee@Example.COM "\', transform: [trim, lowercase] }',
          '  type: { from: device.device_type, transform: lowercase }',
          '  model: { from: device.device_model, transform: uppercase }',
          '  zip: { from: customer.postal_code, transform: number }',
          '  kwh: { from: device.battery_energy_capacity_kwh, transform: string }',
          '  sgip: { expr: \'"yes"\', transform: boolean }',
          '  off: { expr: \'"Off"\', transform: boolean }',
          '  rounded: { expr: "2.345", transform: { round: 1 } }',
          '  whole: { expr: "2.5", transform: round }',
          '  up: { expr: "3.5", transform: round }',
          '',
        ].join('\n'),
      );
      // JSONata's $round rounds half to even, as banks do.
      assert.deepEqual(out, { email: 'jordan.lee@example.com', type: 'battery', model: 'POWERCELL 13', zip: 94103, kwh: '13.5', sgip: true, off: false, rounded: 2.3, whole: 2, up: 4 });
    });

    it('joins lists (a comma by default, or the given separator); joining nothing is missing', async () => {
      const out = await render(
        ['  tags: { from: load_types, transform: join }', '  refs: { from: connection_references, transform: { join: " | " } }', '  none: { expr: "[]", transform: join, default: "-" }', ''].join('\n'),
      );
      assert.deepEqual(out, { tags: 'BATTERY_STORAGE', refs: 'site-000123', none: '-' });
      const two = await render('  programs: { from: enrollment.programs.program_identifier, transform: { join: "+" } }\n');
      assert.deepEqual(two, { programs: 'CCA+DRAM' });
    });

    it('takes the first or last item of a list, and leaves a single value alone', async () => {
      const out = await render(['  first: { from: enrollment.programs.program_identifier, transform: first }', '  last: { from: enrollment.programs.program_identifier, transform: last }', '  one: { from: meter_id, transform: first }', ''].join('\n'));
      assert.deepEqual(out, { first: 'CCA', last: 'DRAM', one: '5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d' });
    });

    it('lowercases each item of a list', async () => {
      assert.deepEqual(await render('  types: { from: load_types, transform: lowercase }\n'), { types: ['battery_storage'] });
    });

    it('runs map before format before transform', async () => {
      const out = await render('  s: { from: enrollment.status, map: { ACTIVE: "2024-05-10" }, format: "[D01]/[M01]", transform: { join: "" } }\n');
      assert.deepEqual(out, { s: '10/05' });
    });
  });

  describe('expr', () => {
    it('evaluates JSONata against the meter, with $event and $destination', async () => {
      const out = await render(
        [
          '  kind: { expr: \'meter_type = "DEVICE" ? "device" : "meter"\' }',
          '  event: { expr: "$event.type & \' #\' & $string($event.sequence)" }',
          '  to: { expr: $destination }',
          '  changed: { expr: "$event.changes.path" }',
          '  block:',
          '    expr: |',
          '      $count(enrollment.programs[status = "ACTIVE"])',
          '',
        ].join('\n'),
        siteMeter(),
        eventOf('meter.details.updated', '2025-06-14T16:00:00.000Z', [{ path: 'customer.city', from: 'A', to: 'B' }], 7),
      );
      assert.deepEqual(out, { kind: 'meter', event: 'meter.details.updated #7', to: 'partner', changed: 'customer.city', block: 1 });
    });

    it('keeps a null an expression returns, and omits what it leaves undefined', async () => {
      const out = await render(['  explicit: { expr: "customer.nothing ?? null" }', '  nothing: { expr: customer.nothing }', ''].join('\n'));
      assert.deepEqual(out, { explicit: null });
    });

    it('gives the market group for today and the next trade dates ($tradeDate, $marketGroup)', async () => {
      const mapping = [
        '  groups:',
        '    expr: |',
        '      [[0, 1, 2].(',
        '        $d := $tradeDate($);',
        '        { "date": $d, "group": $marketGroup($d).market_group_id }',
        '      )]',
        '  zone: { expr: $marketZone() }',
        '',
      ].join('\n');
      // 2025-06-15T05:00Z is still June 14 in Los Angeles, the CAISO trade day.
      const v1 = await render(mapping, v1Meter(), eventOf('meter.enrollment.group.updated', '2025-06-15T05:00:00.000Z'));
      const group = '959b2bfb-ec22-4fdf-b1a3-0c1e2d3f4a5b';
      assert.deepEqual(v1, {
        groups: [
          { date: '2025-06-14', group },
          { date: '2025-06-15', group },
          { date: '2025-06-16', group },
        ],
        zone: 'America/Los_Angeles',
      });
      // v2 groups cover a delivery period: 2024-11-01 to 2024-11-30 (exclusive) in Los Angeles.
      const v2 = await render(mapping, siteMeter(), eventOf('meter.created', '2024-11-28T20:00:00.000Z'));
      assert.deepEqual(v2.groups, [{ date: '2024-11-28', group: '78e4e059-3326-49db-8781-b0d997b03a2a' }, { date: '2024-11-29', group: '78e4e059-3326-49db-8781-b0d997b03a2a' }, { date: '2024-11-30' }]);
    });
  });

  describe('nested objects and missing values', () => {
    it('builds nested objects from fields:, and omits a nested object with nothing in it', async () => {
      const mapping = ['  address:', '    fields:', '      city: customer.city', '      zip: customer.postal_code', '  device:', '    fields:', '      serial: device.device_serial_number', ''].join('\n');
      assert.deepEqual(await render(mapping), { address: { city: 'San Francisco', zip: '94103' }, device: { serial: 'PC13-00042' } });
      assert.deepEqual(await render(mapping, deviceMeter()), {});
    });

    it('omits a missing field by default, sends null with on_missing: null, per destination and per field', async () => {
      const mapping = ['  city: customer.city', '  email: { from: customer.end_customer_email, on_missing: omit }', '  zip: { from: customer.postal_code, on_missing: null }', ''].join('\n');
      assert.deepEqual(await render(mapping, deviceMeter()), { zip: null });
      assert.deepEqual(await render(mapping, deviceMeter(), eventOf(), 'on_missing: null\n'), { city: null, zip: null });
      assert.deepEqual(await render(mapping, deviceMeter(), eventOf(), 'on_missing: "null"\n'), { city: null, zip: null });
    });

    it('lets a nested object set on_missing for its fields', async () => {
      const mapping = ['  address:', '    on_missing: null', '    fields:', '      city: customer.city', '      zip: { from: customer.postal_code, on_missing: omit }', ''].join('\n');
      assert.deepEqual(await render(mapping, deviceMeter()), { address: { city: null } });
    });

    it('fails a required field with an error naming the destination, field, path and meter', async () => {
      const err = await renderError('  email: { from: customer.end_customer_email, required: true }\n', deviceMeter());
      assert.equal(err.code, 'mapping_failed');
      assert.equal(err.field, '/mapping/email');
      assert.equal(err.meterId, '33333333-3333-3333-3333-333333333333');
      assert.equal(err.message, 'destination "partner": field /mapping/email is required, but meter 33333333-3333-3333-3333-333333333333 has no value at customer.end_customer_email [partner.yaml:5:10]');
    });

    it('says when a required value was there but map turned it into nothing', async () => {
      const err = await renderError('  status: { from: enrollment.status, map: { PENDING: p }, required: true }\n');
      assert.match(err.message, /field \/mapping\/status is required, but meter 5d1f\S+ has "ACTIVE" at enrollment\.status, which map\/format\/transform turned into nothing/);
    });

    it('requires nested objects and expressions too', async () => {
      const nested = await renderError('  address:\n    required: true\n    fields:\n      city: customer.city\n', deviceMeter());
      assert.match(nested.message, /field \/mapping\/address is required, but none of its fields has a value/);
      const expr = await renderError('  x: { expr: customer.city, required: true }\n', deviceMeter());
      assert.match(expr.message, /field \/mapping\/x is required, but its expression returned nothing for meter 3333/);
    });
  });

  describe('runtime failures', () => {
    it('names the field and points at the failing part of the expression in the file', async () => {
      const err = await renderError('  n: { expr: \'$number("abc") + 1\' }\n');
      assert.equal(err.field, '/mapping/n');
      assert.match(err.message, /field \/mapping\/n \(expr\) failed for meter 5d1f\S+: JSONata D3030: Unable to cast value to a number: "abc" \[partner\.yaml:5:15\]/);
    });

    it('reports a value format cannot parse', async () => {
      const err = await renderError('  d: { from: customer.city, format: "[Y0001]" }\n');
      assert.match(err.message, /field \/mapping\/d \(customer\.city\) failed .*D3110/);
    });

    it('reports text the boolean transform cannot read', async () => {
      const err = await renderError('  b: { from: customer.city, transform: boolean }\n');
      assert.match(err.message, /cannot read "San Francisco" as a boolean/);
    });
  });
});
