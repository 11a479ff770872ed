import assert from 'node:assert/strict';
import { civilFromDays, daysFromCivil, formatDay, formatInstant, formatSeconds, localDay, localMidnight, nextPeriod, offsetHours, parseInstant, periodAt, periodDeadlines } from '../../src/simulator/time';

// Region indices in catalog order.
const CAISO = 0;
const NYISO = 2;
const PJM = 4;
const WECC_SW = 6;

describe('simulator time', () => {
  it('formats instants with 0, 3, 6 and 9 fractional digits', () => {
    const ms = Date.parse('2024-07-12T16:40:56.401Z');
    assert.equal(formatInstant(ms, 422_000, 0), '2024-07-12T16:40:56Z');
    assert.equal(formatInstant(ms, 422_000, 3), '2024-07-12T16:40:56.401Z');
    assert.equal(formatInstant(ms, 422_000, 6), '2024-07-12T16:40:56.401422Z');
    assert.equal(formatInstant(ms, 422_007, 9), '2024-07-12T16:40:56.401422007Z');
    assert.equal(formatInstant(Date.parse('9000-12-31T23:59:59.999Z'), 999_999, 9), '9000-12-31T23:59:59.999999999Z');
    assert.equal(formatSeconds(Date.parse('2024-11-01T07:00:00.987Z')), '2024-11-01T07:00:00Z');
  });

  it('matches Date for any millisecond instant and day', () => {
    for (let k = 0; k < 5000; k++) {
      const ms = Math.floor(((k * 7919) % 5000) * 7.3e8) - 1e12 + k;
      assert.equal(formatInstant(ms, 0, 3), new Date(ms).toISOString());
      const day = Math.floor(ms / 86_400_000);
      assert.equal(formatDay(day), new Date(day * 86_400_000).toISOString().slice(0, 10));
      const c = civilFromDays(day);
      assert.equal(daysFromCivil(Math.floor(c / 10000), Math.floor(c / 100) % 100, c % 100), day);
    }
  });

  it('parses RFC 3339 with sub-millisecond digits and offsets, and rejects the rest', () => {
    assert.deepEqual(parseInstant('2024-10-21T11:43:05.892Z'), { ms: Date.parse('2024-10-21T11:43:05.892Z'), sub: 0 });
    assert.deepEqual(parseInstant('2024-10-21T11:43:05.892123456Z'), { ms: Date.parse('2024-10-21T11:43:05.892Z'), sub: 123456 });
    assert.deepEqual(parseInstant('2024-10-21T13:43:05+02:00'), { ms: Date.parse('2024-10-21T11:43:05Z'), sub: 0 });
    assert.equal(parseInstant('2025-02-30T00:00:00Z'), null);
    assert.equal(parseInstant('2025-02-01'), null);
    assert.equal(parseInstant('yesterday'), null);
  });

  it('follows US daylight saving per region, Arizona excepted', () => {
    assert.equal(offsetHours(CAISO, Date.parse('2026-07-01T12:00:00Z')), -7);
    assert.equal(offsetHours(CAISO, Date.parse('2026-01-15T12:00:00Z')), -8);
    assert.equal(offsetHours(NYISO, Date.parse('2026-07-01T12:00:00Z')), -4);
    assert.equal(offsetHours(WECC_SW, Date.parse('2026-07-01T12:00:00Z')), -7);
    // 2026-03-08 02:00 PST is when California springs forward; midnight is still standard time.
    assert.equal(new Date(localMidnight(CAISO, 2026, 3, 8)).toISOString(), '2026-03-08T08:00:00.000Z');
    assert.equal(new Date(localMidnight(CAISO, 2026, 3, 9)).toISOString(), '2026-03-09T07:00:00.000Z');
    assert.equal(new Date(localMidnight(CAISO, 2026, 11, 1)).toISOString(), '2026-11-01T07:00:00.000Z');
    assert.equal(new Date(localMidnight(CAISO, 2026, 11, 2)).toISOString(), '2026-11-02T08:00:00.000Z');
    assert.equal(offsetHours(CAISO, Date.parse('2026-03-08T09:59:00Z')), -8);
    assert.equal(offsetHours(CAISO, Date.parse('2026-03-08T10:00:00Z')), -7);
  });

  it('trade dates are local calendar days', () => {
    const t = Date.parse('2026-06-15T05:00:00Z');
    assert.equal(formatDay(localDay(CAISO, t)), '2026-06-14');
    assert.equal(formatDay(localDay(NYISO, t)), '2026-06-15');
  });

  it('delivery periods: monthly, seasonal and across a year end, with local-midnight bounds', () => {
    const cca = periodAt('CCA', CAISO, Date.parse('2024-11-10T00:00:00Z'));
    assert.equal(cca.name, 'CAISO-CCA_2024_NOV');
    assert.equal(formatSeconds(cca.startMs), '2024-11-01T07:00:00Z');
    assert.equal(formatSeconds(cca.endMs), '2024-12-01T08:00:00Z');
    assert.equal(nextPeriod('CCA', CAISO, cca).name, 'CAISO-CCA_2024_DEC');
    assert.equal(periodAt('NYISO-SCR', NYISO, Date.parse('2025-01-10T00:00:00Z')).name, 'NYISO-SCR_2024_NOV_2025_APR');
    assert.equal(periodAt('NYISO-SCR', NYISO, Date.parse('2025-06-10T00:00:00Z')).name, 'NYISO-SCR_2025_MAY_OCT');
    const pjm = periodAt('PJM-CAPACITY', PJM, Date.parse('2025-05-31T12:00:00Z'));
    assert.equal(pjm.name, 'PJM-CAPACITY_2024_JUN_2025_MAY');
    assert.equal(nextPeriod('PJM-CAPACITY', PJM, pjm).name, 'PJM-CAPACITY_2025_JUN_2026_MAY');
    // The first hours of a month in UTC are still the previous month in California.
    assert.equal(periodAt('CCA', CAISO, Date.parse('2024-12-01T05:00:00Z')).name, 'CAISO-CCA_2024_NOV');
    const [first, mid] = periodDeadlines(CAISO, cca);
    assert.equal(formatSeconds(first.activationMs), '2024-11-01T07:00:00Z');
    assert.equal(formatSeconds(first.deadlineMs), '2024-10-30T07:00:00Z');
    assert.equal(formatSeconds(mid.activationMs), '2024-11-15T08:00:00Z');
  });
});
