import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { EventContext } from '../../src/domain/destination';
import { loadDestinationsDir, renderTestDelivery } from '../../src/mapping/destinations';
import { meterViewFromJson } from '../../src/mapping/meter-file';

const EXAMPLES = path.resolve(__dirname, '../../config/examples');

interface ExpectedCase {
  event: EventContext;
  sent: boolean;
  reason?: 'not subscribed' | 'filtered out';
  body?: unknown;
}

describe('shipped example destinations', () => {
  const { destinations, problems } = loadDestinationsDir(EXAMPLES, {});

  it('load without a problem', () => {
    assert.deepEqual(problems, []);
    assert.deepEqual(destinations.map((d) => d.name).sort(), ['crm', 'device-platform']);
  });

  const expectedFiles = readdirSync(path.join(EXAMPLES, 'expected')).filter((f) => f.endsWith('.json'));

  it('have expected output for every destination and sample meter', () => {
    const meters = readdirSync(path.join(EXAMPLES, 'meters')).filter((f) => f.endsWith('.json'));
    assert.equal(meters.length, 4);
    const wanted = ['crm', 'device-platform'].flatMap((d) => meters.map((m) => `${d}.${m}`)).sort();
    assert.deepEqual(expectedFiles.sort(), wanted);
  });

  for (const file of expectedFiles) {
    it(`render exactly expected/${file}`, async () => {
      const expected = JSON.parse(readFileSync(path.join(EXAMPLES, 'expected', file), 'utf8')) as { destination: string; meter: string; cases: ExpectedCase[] };
      const dest = destinations.find((d) => d.name === expected.destination);
      assert.ok(dest, `no destination ${expected.destination}`);
      const meter = meterViewFromJson(JSON.parse(readFileSync(path.join(EXAMPLES, expected.meter), 'utf8')));
      assert.ok(expected.cases.length >= 3);
      for (const c of expected.cases) {
        const subscribed: boolean = dest.matchesEvent(c.event.type);
        const passes = subscribed && (await dest.filter(meter, c.event));
        const outcome: string = !subscribed ? 'not subscribed' : !passes ? 'filtered out' : 'sent';
        assert.equal(outcome, c.sent ? 'sent' : c.reason, `${c.event.type}`);
        if (!c.sent) continue;
        const { body } = await renderTestDelivery(dest, meter, c.event);
        assert.deepEqual(JSON.parse(body), c.body, `${c.event.type}`);
      }
    });
  }

  it('config/destinations ships empty but for a README', () => {
    const dir = path.resolve(__dirname, '../../config/destinations');
    assert.deepEqual(readdirSync(dir), ['README.md']);
    assert.ok(existsSync(path.join(dir, 'README.md')));
    assert.deepEqual(loadDestinationsDir(dir, {}), { destinations: [], problems: [] });
  });
});
