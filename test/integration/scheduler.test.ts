import assert from 'node:assert/strict';
import { compose, type Composed } from '../../src/compose/compose';
import { toDbTime } from '../../src/db/dialect';
import { ManualClock } from '../../src/domain/clock';
import { silentLogger } from '../../src/logger';
import { testConfig } from '../helpers/config';
import { createTestDb, testEngines, type TestDb } from '../helpers/db';

for (const engine of testEngines()) {
  describe(`sync schedule (${engine})`, () => {
    let db: TestDb;
    const clock = new ManualClock('2026-03-01T10:30:00Z');
    let composed: Composed;
    let n = 0;
    const addRun = (kind: 'incremental' | 'full', startedAt: string, extra: Record<string, unknown> = {}) =>
      db.knex('sync_runs').insert({ id: `run-${++n}`, kind, status: 'succeeded', trigger: 'test', owner: 'o', dry_run: 0, started_at: toDbTime(startedAt), ...extra });

    before(async () => {
      db = await createTestDb(engine);
    });
    after(() => db.destroy());
    afterEach(async () => {
      await composed.close();
      await db.knex('sync_runs').del();
    });

    const withSchedule = (incremental: string, full: string) => {
      composed = compose(testConfig(`sync:\n  incremental_every: '${incremental}'\n  full_every: '${full}'\n`), { db: db.knex, logger: silentLogger, clock });
      return composed.scheduler;
    };

    it('runs an incremental pass first, then every interval', async () => {
      const s = withSchedule('1h', '24h');
      clock.set('2026-03-01T10:30:00Z');
      assert.equal(await s.due(clock.now()), 'incremental');
      await addRun('incremental', '2026-03-01T10:00:00Z');
      assert.equal(await s.due(clock.now()), null);
      clock.set('2026-03-01T11:00:00Z');
      assert.equal(await s.due(clock.now()), 'incremental');
    });

    it('runs the full reconcile a full interval after the first pass, then after each reconcile', async () => {
      const s = withSchedule('1h', '24h');
      await addRun('incremental', '2026-03-01T09:00:00Z');
      await addRun('incremental', '2026-03-02T08:30:00Z');
      clock.set('2026-03-02T08:45:00Z');
      assert.equal(await s.due(clock.now()), null);
      clock.set('2026-03-02T09:00:00Z');
      assert.equal(await s.due(clock.now()), 'full');
      await addRun('full', '2026-03-02T09:00:00Z');
      clock.set('2026-03-02T09:10:00Z');
      assert.equal(await s.due(clock.now()), null, 'a full reconcile counts as a pass');
      clock.set('2026-03-03T09:00:00Z');
      assert.equal(await s.due(clock.now()), 'full');
    });

    it('follows a cron expression in UTC', async () => {
      const s = withSchedule('0 * * * *', '0 3 * * *');
      await addRun('incremental', '2026-03-01T10:30:00Z');
      await addRun('full', '2026-03-01T03:00:00Z');
      clock.set('2026-03-01T10:59:59Z');
      assert.equal(await s.due(clock.now()), null);
      clock.set('2026-03-01T11:00:00Z');
      assert.equal(await s.due(clock.now()), 'incremental');
      clock.set('2026-03-02T03:00:00Z');
      assert.equal(await s.due(clock.now()), 'full');
    });

    it('ignores dry runs and refreshes when deciding what is due', async () => {
      const s = withSchedule('1h', '24h');
      await addRun('incremental', '2026-03-01T10:20:00Z', { dry_run: 1 });
      await addRun('full', '2026-03-01T10:20:00Z', { kind: 'refresh' });
      clock.set('2026-03-01T10:30:00Z');
      assert.equal(await s.due(clock.now()), 'incremental');
    });
  });
}
