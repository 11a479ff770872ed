import assert from 'node:assert/strict';
import { DestinationStateStore } from '../../src/stores/destination-state-store';
import { createTestDb, testEngines, type TestDb } from '../helpers/db';

const at = (s: number) => new Date(Date.UTC(2026, 5, 10, 12, 0, s));
const failures = (n: number, s: number) => ({ successes: 0, failures: n, failuresAfterLastSuccess: n, lastStatus: 500, lastFailureAt: at(s), lastSuccessAt: null });

for (const engine of testEngines()) {
  describe(`destination state (${engine})`, () => {
    let db: TestDb;
    let store: DestinationStateStore;

    before(async () => {
      db = await createTestDb(engine);
      store = new DestinationStateStore(db.knex);
    });
    after(() => db.destroy());

    it('the first batch creates the row; failures extend the run, a success restarts it at the failures after it', async () => {
      let s = await db.knex.transaction((trx) => store.recordOutcomes(trx, 'runs', failures(2, 1), at(1)));
      assert.deepEqual([s.consecutiveFailures, s.lastStatus, s.lastFailureAt?.toISOString()], [2, 500, at(1).toISOString()]);
      s = await db.knex.transaction((trx) => store.recordOutcomes(trx, 'runs', failures(3, 2), at(2)));
      assert.equal(s.consecutiveFailures, 5);
      s = await db.knex.transaction((trx) => store.recordOutcomes(trx, 'runs', { successes: 1, failures: 1, failuresAfterLastSuccess: 1, lastStatus: 503, lastFailureAt: at(3), lastSuccessAt: at(3) }, at(3)));
      assert.deepEqual([s.consecutiveFailures, s.lastStatus, s.lastSuccessAt?.toISOString()], [1, 503, at(3).toISOString()]);
      assert.deepEqual(await store.get('runs'), s);
    });

    if (engine === 'mysql') {
      it('a batch written in a transaction older than the row (another replica created it since) answers the row as it is', async () => {
        await db.knex.transaction(async (trx) => {
          // The transaction's snapshot predates the row; the other replica writes what this batch writes.
          assert.equal(await trx('destination_state').where({ name: 'late' }).first(), undefined);
          await db.knex.transaction((other) => store.recordOutcomes(other, 'late', failures(0, 4), at(4)));
          const s = await store.recordOutcomes(trx, 'late', failures(0, 4), at(4));
          assert.deepEqual([s.name, s.consecutiveFailures, s.lastStatus], ['late', 0, 500]);
        });
      });
    }
  });
}
