import assert from 'node:assert/strict';
import type { GroupAssignment } from '../../src/domain/meter';
import { addDays, groupForTradeDate, localDate, marketTimeZone, offsetText, tradeDate, zoneOffsetMinutes } from '../../src/domain/trade-dates';
import { ValidationError } from '../../src/errors';
import { toBoolean } from '../../src/mapping/expressions';
import { meterViewFromJson } from '../../src/mapping/meter-file';
import { parsePath, pathToJsonata } from '../../src/mapping/meter-paths';
import { asNumber, asText, mapStep, roundHalfEven, transformStep } from '../../src/mapping/transforms';
import { v1GetAnswer, v2DetailsGetAnswer, v2EnrollmentSearchAnswer } from '../fixtures/leap-examples';
import { siteMeter } from '../helpers/destinations';

const group = (g: Partial<GroupAssignment>): GroupAssignment => ({
  key: 'k',
  market_group_id: 'g',
  market_group_name: null,
  trade_date: null,
  program_identifier: null,
  delivery_period: null,
  starts_at: null,
  ends_at: null,
  ...g,
});

describe('mapping helpers', () => {
  describe('trade dates', () => {
    it("takes trade dates in the market's zone, not UTC", () => {
      assert.equal(marketTimeZone('CAISO'), 'America/Los_Angeles');
      assert.equal(marketTimeZone('NYISO'), 'America/New_York');
      assert.equal(marketTimeZone('MARS'), 'UTC');
      const lateEvening = new Date('2025-06-15T05:30:00Z'); // 22:30 on June 14 in Los Angeles
      assert.equal(localDate(lateEvening, 'America/Los_Angeles'), '2025-06-14');
      assert.equal(tradeDate(lateEvening, 'America/Los_Angeles', 2), '2025-06-16');
      assert.equal(tradeDate(lateEvening, 'UTC'), '2025-06-15');
      assert.equal(addDays('2024-02-28', 1), '2024-02-29');
      assert.equal(addDays('2024-12-31', 1), '2025-01-01');
    });

    it('gives zone offsets as JSONata wants them, daylight saving included', () => {
      assert.equal(zoneOffsetMinutes(new Date('2025-01-15T12:00:00Z'), 'America/Los_Angeles'), -480);
      assert.equal(zoneOffsetMinutes(new Date('2025-07-15T12:00:00Z'), 'America/Los_Angeles'), -420);
      assert.equal(zoneOffsetMinutes(new Date('2025-07-15T12:00:00Z'), 'Asia/Kolkata'), 330);
      assert.equal(offsetText(-420), '-0700');
      assert.equal(offsetText(330), '+0530');
      assert.equal(offsetText(0), '+0000');
    });

    it('finds the market group for a trade date: v1 per day, v2 by delivery period (end exclusive)', () => {
      const groups = [
        group({ key: 'trade_date:2025-06-14', market_group_id: 'day', trade_date: '2025-06-14' }),
        group({ key: 'period:CCA/NOV', market_group_id: 'cca', program_identifier: 'CCA', starts_at: '2024-11-01T07:00:00.000Z', ends_at: '2024-11-30T08:00:00.000Z' }),
        group({ key: 'period:DRAM/NOV', market_group_id: 'dram', program_identifier: 'DRAM', starts_at: '2024-11-15T08:00:00.000Z', ends_at: null }),
      ];
      const la = 'America/Los_Angeles';
      assert.equal(groupForTradeDate(groups, '2025-06-14', la)?.market_group_id, 'day');
      assert.equal(groupForTradeDate(groups, '2025-06-15', la)?.market_group_id, 'dram');
      assert.equal(groupForTradeDate(groups, '2024-11-01', la)?.market_group_id, 'cca');
      assert.equal(groupForTradeDate(groups, '2024-10-31', la), null);
      assert.equal(groupForTradeDate(groups, '2024-11-20', la, 'DRAM')?.market_group_id, 'dram');
      assert.equal(groupForTradeDate(groups, '2024-11-29', la, 'CCA')?.market_group_id, 'cca');
      assert.equal(groupForTradeDate(groups, '2024-11-30', la, 'CCA'), null);
    });
  });

  it('reads yes/no words as booleans and refuses anything else', () => {
    assert.deepEqual(['true', 'Yes', ' on ', '1', 1, true].map(toBoolean), [true, true, true, true, true, true]);
    assert.deepEqual(['false', 'NO', 'off', '0', '', 0, false].map(toBoolean), [false, false, false, false, false, false, false]);
    assert.throws(() => toBoolean('maybe'), /cannot read "maybe" as a boolean/);
    assert.throws(() => toBoolean(null), /cannot read null as a boolean/);
  });

  it('rounds half to even like JSONata, reads numbers strictly, and writes text like $string', () => {
    assert.deepEqual([0.5, 1.5, 2.5, -2.5, 2.675].map((v) => roundHalfEven(v, 0)), [0, 2, 2, -2, 3]);
    assert.deepEqual([1.25, 1.35, 2.345].map((v) => roundHalfEven(v, 1)), [1.2, 1.4, 2.3]);
    assert.deepEqual([' 42 ', '-1.5e3', 7, true].map(asNumber), [42, -1500, 7, 1]);
    assert.throws(() => asNumber('12abc'), /cannot read "12abc" as a number/);
    assert.deepEqual([asText('a'), asText(1.5), asText(null), asText({ a: [1] })], ['a', '1.5', 'null', '{"a":[1]}']);
  });

  it('maps only the keys a map lists, never inherited ones', () => {
    const map = mapStep({ ACTIVE: 'Enrolled', 'false': 'no' });
    assert.deepEqual([map('ACTIVE'), map(false), map('constructor'), map('toString')], ['Enrolled', 'no', undefined, undefined]);
    assert.deepEqual(map(['ACTIVE', 'OTHER']), ['Enrolled']);
    assert.equal(transformStep({ join: '; ' })([]), undefined);
  });

  it('compiles paths to JSONata that keeps lists of objects as lists', () => {
    assert.equal(pathToJsonata(parsePath('customer.city')!), '`customer`.`city`');
    assert.equal(pathToJsonata(parsePath('enrollment.partner_actions.code')!), '`enrollment`.`partner_actions`[].`code`');
    assert.equal(pathToJsonata(parsePath('enrollment.programs.deadlines.deadline')!), '`enrollment`.`programs`[].`deadlines`[].`deadline`');
    assert.equal(pathToJsonata(parsePath('group_assignments[0].market_group_id')!), '`group_assignments`[0].`market_group_id`');
    assert.equal(pathToJsonata(parsePath('site.site_devices.serial_number')!), '`site`.`site_devices`[].`serial_number`');
    assert.equal(pathToJsonata(parsePath('extra.some-new_field')!), '`extra`.`some-new_field`');
    assert.equal(parsePath('a..b'), null);
    assert.equal(parsePath('$lowercase(x)'), null);
    assert.equal(parsePath('a[x]'), null);
  });

  describe('meter files for mappings test', () => {
    it('accepts the normalized view as is (dropping raw JSON)', () => {
      const view = siteMeter();
      assert.deepEqual(meterViewFromJson(JSON.parse(JSON.stringify({ ...view, raw: { details: null, enrollment: null, v1: null } }))), JSON.parse(JSON.stringify(view)));
    });

    it('normalizes Leap v2 {details, enrollment}, either part alone, and v1 meters', () => {
      const both = meterViewFromJson({ details: v2DetailsGetAnswer(), enrollment: null });
      assert.equal(both.source, 'v2');
      assert.equal(both.device?.device_serial_number, 'PC13-00042');
      assert.equal(both.enrollment, null);
      const details = meterViewFromJson(v2DetailsGetAnswer());
      assert.deepEqual(details, both);
      const enrollment = meterViewFromJson(v2EnrollmentSearchAnswer().meters[0]);
      assert.equal(enrollment.enrollment?.status, 'INELIGIBLE');
      assert.equal(enrollment.customer, null);
      const v1 = meterViewFromJson(v1GetAnswer());
      assert.equal(v1.source, 'v1');
      assert.equal(v1.enrollment?.status, 'INELIGIBLE');
      assert.equal(v1.utility_name, 'CECONY');
    });

    it('refuses what is not a meter', () => {
      assert.throws(() => meterViewFromJson([1, 2]), ValidationError);
      assert.throws(() => meterViewFromJson({ name: 'x' }), /not a meter: no meter_id/);
      assert.throws(() => meterViewFromJson({ details: null, enrollment: null }), /at least one part/);
    });
  });
});
