import assert from 'node:assert/strict';
import { toDbTime } from '../../src/db/dialect';
import { DeliveryStore } from '../../src/stores/delivery-store';
import { createTestDb, testEngines, type TestDb } from '../helpers/db';

for (const engine of testEngines()) {
  describe(`delivery store over long histories (${engine})`, () => {
    let db: TestDb;
    let store: DeliveryStore;
    let n = 0;
    const now = toDbTime(new Date('2026-06-10T12:00:00Z'));

    before(async () => {
      db = await createTestDb(engine);
      store = new DeliveryStore(db.knex);
    });
    after(() => db.destroy());

    /** A meter with deliveries to `destination` in sequence order, each with a status and a record hash. */
    async function meterWith(meterId: string, destination: string, history: [status: string, hash: string][]): Promise<void> {
      if (!(await db.knex('meters').where({ meter_id: meterId }).first())) await db.knex('meters').insert({ meter_id: meterId, source: 'v2', content_hash: 'h', first_seen_at: now, last_seen_at: now, last_changed_at: now });
      const rows = history.map(([status, hash], i) => ({
        id: `msg_${String(++n).padStart(10, '0')}`,
        destination,
        event_id: n,
        meter_id: meterId,
        sequence: i + 1,
        event_type: 'meter.details.updated',
        status,
        body: '{}',
        record_hash: hash,
        created_at: now,
        next_attempt_at: now,
      }));
      for (let i = 0; i < rows.length; i += 100) await db.knex('deliveries').insert(rows.slice(i, i + 100));
    }

    it('the latest record hash per meter is that of its newest delivery not dead, for that destination only', async () => {
      const long = Array.from({ length: 250 }, (_, i): [string, string] => [i % 9 === 0 ? 'dead' : 'delivered', `h${i + 1}`]);
      await meterWith('m-long', 'crm', long);
      await meterWith('m-dead-last', 'crm', [['delivered', 'a1'], ['delivered', 'a2'], ['dead', 'a3'], ['dead', 'a4']]);
      await meterWith('m-pending', 'crm', [['delivered', 'b1'], ['pending', 'b2']]);
      await meterWith('m-all-dead', 'crm', [['dead', 'c1']]);
      await meterWith('m-other', 'devices', [['delivered', 'd1']]);
      await meterWith('m-long', 'devices', [['delivered', 'e1']]);
      const got = await store.latestRecordHashes(db.knex, 'crm', ['m-long', 'm-dead-last', 'm-pending', 'm-all-dead', 'm-other', 'm-unknown']);
      assert.deepEqual(Object.fromEntries([...got].sort()), { 'm-dead-last': 'a2', 'm-long': 'h250', 'm-pending': 'b2' });
    });

    it('a delivery waits behind an earlier pending or in-flight one of its meter, however long the meter\'s history', async () => {
      await meterWith('w-free', 'hist', [...Array.from({ length: 120 }, (): [string, string] => ['delivered', 'x']), ['pending', 'free']]);
      await meterWith('w-behind-pending', 'hist', [...Array.from({ length: 120 }, (): [string, string] => ['delivered', 'x']), ['pending', 'first'], ['pending', 'second']]);
      await meterWith('w-behind-flight', 'hist', [['delivered', 'x'], ['delivering', 'sending'], ['dead', 'x'], ['pending', 'waits']]);
      const claimed = await store.claimDue('hist', 'worker-a', 100, new Date('2026-06-10T12:00:01Z'), 60_000);
      assert.deepEqual(claimed.map((d) => [d.meterId, d.recordHash]).sort(), [
        ['w-behind-pending', 'first'],
        ['w-free', 'free'],
      ]);
    });
  });
}
