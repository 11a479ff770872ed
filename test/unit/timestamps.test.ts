import assert from 'node:assert/strict';
import { canonicalInstant, instantToWire, isDateOnly, parseLeapInstant, shiftInstant, toIsoMillis } from '../../src/domain/timestamps';

describe('Leap timestamps', () => {
  describe('parseLeapInstant', () => {
    it('reads 0, 3, 6 and 9 fractional digits as Leap sends them', () => {
      assert.deepEqual(parseLeapInstant('2024-07-12T16:40:56Z'), { ms: Date.UTC(2024, 6, 12, 16, 40, 56), canonical: '2024-07-12T16:40:56.000000000Z' });
      assert.deepEqual(parseLeapInstant('2024-10-21T11:43:05.892Z'), { ms: Date.UTC(2024, 9, 21, 11, 43, 5, 892), canonical: '2024-10-21T11:43:05.892000000Z' });
      assert.deepEqual(parseLeapInstant('2024-07-12T16:40:56.401422Z'), { ms: Date.UTC(2024, 6, 12, 16, 40, 56, 401), canonical: '2024-07-12T16:40:56.401422000Z' });
      assert.equal(parseLeapInstant('2025-06-14T10:02:13.514888123Z')?.canonical, '2025-06-14T10:02:13.514888123Z');
    });

    it('reads every fraction length from 1 to 9 digits and rejects a tenth', () => {
      for (let digits = 1; digits <= 9; digits++) {
        const frac = '123456789'.slice(0, digits);
        assert.equal(parseLeapInstant(`2025-01-01T00:00:00.${frac}Z`)?.canonical, `2025-01-01T00:00:00.${frac.padEnd(9, '0')}Z`, `${digits} digits`);
      }
      assert.equal(parseLeapInstant('2025-01-01T00:00:00.1234567890Z'), null);
    });

    it('keeps far-future sentinels exact and finite', () => {
      const nine = parseLeapInstant('9000-12-31T23:59:59.999999999Z');
      assert.ok(nine);
      assert.equal(nine.canonical, '9000-12-31T23:59:59.999999999Z');
      assert.equal(new Date(nine.ms).toISOString(), '9000-12-31T23:59:59.999Z');
      assert.equal(parseLeapInstant('9000-01-01T00:00:00Z')?.canonical, '9000-01-01T00:00:00.000000000Z');
      assert.equal(toIsoMillis('2099-12-31T00:00:00Z'), '2099-12-31T00:00:00.000Z');
    });

    it('converts offsets to UTC', () => {
      assert.equal(parseLeapInstant('2024-06-01T00:00:00+02:00')?.canonical, '2024-05-31T22:00:00.000000000Z');
      assert.equal(parseLeapInstant('2024-06-01T00:00:00.5-0130')?.canonical, '2024-06-01T01:30:00.500000000Z');
    });

    it('rejects impossible dates and non-timestamps', () => {
      for (const bad of ['2025-02-30T00:00:00Z', '2025-13-01T00:00:00Z', '2024-01-01T24:30:00Z', '2024-01-01T10:60:00Z', 'yesterday', '', '2024-06-01', '1718000000'])
        assert.equal(parseLeapInstant(bad), null, bad);
    });

    it('accepts 24:00 as the end of the day', () => {
      assert.equal(parseLeapInstant('2024-01-01T24:00:00Z')?.canonical, '2024-01-02T00:00:00.000000000Z');
    });

    it('reads the form Leap sends as Date does, whatever the date, time and fraction', () => {
      let seed = 7;
      const next = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      const pad = (v: number, w: number) => String(v).padStart(w, '0');
      for (let i = 0; i < 5000; i++) {
        const [y, mo, d, h, mi, s] = [100 + next(9900), 1 + next(12), 1 + next(31), next(24), next(60), next(60)];
        const frac = '987654321'.slice(0, next(10));
        const value = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${frac ? `.${frac}` : ''}Z`;
        const whole = Date.UTC(y, mo - 1, d, h, mi, s);
        const real = new Date(whole).getUTCDate() === d;
        const parsed = parseLeapInstant(value);
        if (!real) {
          assert.equal(parsed, null, value);
          continue;
        }
        const ms = whole + Number(frac.padEnd(3, '0').slice(0, 3));
        assert.deepEqual(parsed, { ms, canonical: `${value.slice(0, 19)}.${frac.padEnd(9, '0')}Z` }, value);
        assert.equal(toIsoMillis(value), new Date(ms).toISOString(), value);
      }
      assert.equal(parseLeapInstant('2024-02-29T00:00:00Z')?.canonical, '2024-02-29T00:00:00.000000000Z');
      assert.equal(parseLeapInstant('2100-02-29T00:00:00Z'), null);
      assert.equal(parseLeapInstant('2000-02-29T00:00:00Z')?.canonical, '2000-02-29T00:00:00.000000000Z');
      for (const bad of ['2024-01-01T00:00:00.Z', '2024-01-01T0a:00:00Z', '2024-01-01T00:00:00.12a4Z', '2024-01-01T00:00:00.1234567890Z']) assert.equal(parseLeapInstant(bad), null, bad);
      // Other spellings still reach the full parser.
      assert.equal(parseLeapInstant('2024-01-01 00:00:00Z')?.canonical, '2024-01-01T00:00:00.000000000Z');
      assert.equal(parseLeapInstant('2024-01-01T00:00:00,5Z')?.canonical, '2024-01-01T00:00:00.500000000Z');
    });

    it('keeps years below 100 in their own century', () => {
      // Date.UTC maps years 0-99 to 1900-1999; the parser must not.
      assert.equal(parseLeapInstant('0099-01-01T00:00:00Z')?.canonical, '0099-01-01T00:00:00.000000000Z');
    });
  });

  it('canonical strings sort in time order, including sub-millisecond digits', () => {
    const values = ['9000-12-31T23:59:59.999999999Z', '2024-07-12T16:40:56.401422Z', '2024-07-12T16:40:56.401421999Z', '2024-07-12T16:40:56Z', '2099-12-31T00:00:00Z'];
    const sorted = values.map((v) => canonicalInstant(v) ?? '').sort();
    assert.deepEqual(sorted, [
      '2024-07-12T16:40:56.000000000Z',
      '2024-07-12T16:40:56.401421999Z',
      '2024-07-12T16:40:56.401422000Z',
      '2099-12-31T00:00:00.000000000Z',
      '9000-12-31T23:59:59.999999999Z',
    ]);
  });

  it('toIsoMillis truncates to milliseconds and answers null for non-strings', () => {
    assert.equal(toIsoMillis('2024-07-12T16:40:56.401999999Z'), '2024-07-12T16:40:56.401Z');
    assert.equal(toIsoMillis(null), null);
    assert.equal(toIsoMillis(12), null);
    assert.equal(toIsoMillis('not a time'), null);
  });

  it('instantToWire drops trailing zeros and keeps microseconds', () => {
    assert.equal(instantToWire('2025-01-01T00:00:00.000000000Z'), '2025-01-01T00:00:00Z');
    assert.equal(instantToWire('2025-06-14T10:02:13.514888000Z'), '2025-06-14T10:02:13.514888Z');
  });

  it('shiftInstant moves whole milliseconds and keeps the sub-millisecond digits', () => {
    assert.equal(shiftInstant('2025-01-01T00:00:00.123456789Z', -5 * 60_000), '2024-12-31T23:55:00.123456789Z');
    assert.throws(() => shiftInstant('nope', 1), /not an instant/);
  });

  it('isDateOnly accepts real calendar dates only', () => {
    assert.equal(isDateOnly('2025-06-14'), true);
    assert.equal(isDateOnly('2025-02-29'), false);
    assert.equal(isDateOnly('2025-06-14T00:00:00Z'), false);
    assert.equal(isDateOnly(20250614), false);
  });
});
