import assert from 'node:assert/strict';
import { fromDbTime } from '../../src/db/dialect';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { LeaseStore } from '../../src/stores/lease-store';
import { childEnv, describeOutcome, runSync, succeeded, SyncChild, syncUntilDone, writeCliConfig, type CliConfigFile, type SyncChildOptions } from '../helpers/cli-child';
import { createTestDb, testEngines, type TestDb } from '../helpers/db';
import { resumablePosition, sequenceProblems, snapshotDifferences, storedPositions, syncSnapshot, type SyncSnapshot } from '../helpers/db-snapshot';

/*
 * One sync at a time across every process sharing the database; a dead holder's lease is taken
 * over after expiry. Every sync here is a CLI child (`sync --json`); children are started warm
 * and let go together, so "at the same instant" and "immediately after the kill" are real.
 */

const API_KEY = 'sim-key-lease-0123456789';
const LEASE_TTL_MS = 2000;

interface RunRow {
  id: string;
  status: string;
  owner: string;
  resumed_from: string | null;
  started_at: string | Date;
  error_code: string | null;
}

/** The owner a CLI child writes into leases and runs is host:pid:random. */
const ownedBy = (owner: string, child: SyncChild) => owner.includes(`:${child.pid}:`);

for (const engine of testEngines()) {
  describe(`one sync at a time across processes (${engine}, Leap v2)`, function () {
    this.timeout(180_000);
    let sim: RunningSimulator;
    let config: CliConfigFile;
    let reference: SyncSnapshot;
    let referencePages: number;
    const dbs: TestDb[] = [];
    const children: SyncChild[] = [];

    const freshDb = async () => {
      const db = await createTestDb(engine);
      dbs.push(db);
      return db;
    };
    const env = (db: TestDb) => childEnv({ DATABASE_URL: db.url, LEAP_API_KEY: API_KEY, LEAP_BASE_URL: sim.url });
    const child = (db: TestDb, hooks: Pick<SyncChildOptions, 'killWhen' | 'onProgress'> = {}) => {
      const c = new SyncChild({ config: config.file, env: env(db), ...hooks });
      children.push(c);
      return c;
    };
    const runs = async (db: TestDb) => (await db.knex('sync_runs').select('*').orderBy('started_at')) as RunRow[];

    before(async () => {
      sim = await startSimulator({ meters: 300, seed: 23, apiKey: API_KEY });
      // Every Leap request takes a little while, so a run lasts well beyond the time two children need to start.
      sim.simulator.setFaults({ latency: 1, latencyMs: 40 });
      config = writeCliConfig(
        [
          'leap:',
          '  api_version: v2',
          '  page_size: 20',
          '  rate_limit: { requests_per_second: 1000, max_concurrent: 4 }',
          '  retry: { max_attempts: 3, base_delay_ms: 5, max_delay_ms: 50 }',
          `sync: { lease_ttl: ${LEASE_TTL_MS}ms }`,
          'log: { level: warn, format: json }',
          '',
        ].join('\n'),
      );
      const db = await freshDb();
      const outcome = await runSync({ config: config.file, env: env(db) });
      assert.ok(succeeded(outcome), describeOutcome(outcome));
      reference = await syncSnapshot(db.knex);
      referencePages = outcome.progress.length;
      assert.equal(reference.meters.size, sim.simulator.meterCount());
      assert.ok(reference.events.size >= reference.meters.size);
    });

    after(async () => {
      for (const c of children) c.kill();
      await Promise.allSettled(children.map((c) => c.done));
      await sim?.close();
      config?.remove();
      for (const db of dbs) await db.destroy();
    });

    it('two syncs let go at the same instant: one does the work, the other is refused with sync_in_progress and writes nothing', async () => {
      const db = await freshDb();
      const a = child(db);
      const b = child(db);
      await Promise.all([a.ready, b.ready]);
      await Promise.all([a.go(), b.go()]);
      const outcomes = await Promise.all([a.done, b.done]);
      const why = outcomes.map(describeOutcome).join(' | ');

      const winners = outcomes.filter(succeeded);
      assert.equal(winners.length, 1, `exactly one succeeded: ${why}`);
      const [winner, loser] = succeeded(outcomes[0]!) ? [a, b] : [b, a];
      const lost = outcomes[winner === a ? 1 : 0]!;
      assert.equal(lost.code, 1, why);
      assert.equal(lost.errorCode, 'sync_in_progress', why);
      assert.match(lost.stderr, /a sync is already running \(held by \S+, its lease lasting until \S+ unless renewed\); try again when it has finished/);
      assert.ok(lost.stderr.includes(`:${winner.pid}:`), `refused because of the other child's lease: ${why}`);
      assert.deepEqual(lost.progress, [], 'the refused child committed no page');

      // Only the winner ran: one run row, its own, and the events of exactly one run.
      const rows = await runs(db);
      assert.equal(rows.length, 1, JSON.stringify(rows));
      assert.equal(rows[0]!.status, 'succeeded');
      assert.ok(ownedBy(rows[0]!.owner, winner) && !ownedBy(rows[0]!.owner, loser), rows[0]!.owner);
      const snapshot = await syncSnapshot(db.knex);
      assert.deepEqual(sequenceProblems(snapshot), []);
      assert.equal(snapshot.events.size, winners[0]!.summary!.events);
      assert.deepEqual(snapshotDifferences(reference, snapshot), []);
      assert.equal(await new LeaseStore(db.knex).get('sync'), undefined, 'released');
    });

    it('kill -9 of the holder: a newcomer is refused while the dead lease lasts; after expiry another takes over, resumes and ends as an uninterrupted run', async () => {
      const db = await freshDb();
      const leases = new LeaseStore(db.knex);
      const holder = child(db, { killWhen: (_p, i) => i >= 4 });
      const newcomer = child(db);
      await Promise.all([holder.ready, newcomer.ready]);
      await holder.go();
      const killed = await holder.done;
      assert.ok(killed.killed && killed.signal === 'SIGKILL' && killed.summary === null, describeOutcome(killed));

      const lease = await leases.get('sync');
      assert.ok(lease && ownedBy(lease.owner, holder), `the dead holder's lease is still there: ${JSON.stringify(lease)}`);
      const positions = await storedPositions(db.knex);
      const position = resumablePosition(positions);
      assert.ok(position, 'the dead run left its page position');
      const committed = positions.filter((p) => p.runId === position.runId).reduce((n, p) => n + p.pageNumber, 0);
      assert.ok(committed >= 5, `${committed} pages committed before the kill`);

      await newcomer.go();
      const refused = await newcomer.done;
      assert.equal(refused.errorCode, 'sync_in_progress', describeOutcome(refused));
      assert.ok(refused.stderr.includes(`held by ${lease.owner}, `), refused.stderr);
      assert.equal((await runs(db)).length, 1, 'the refused newcomer started no run');

      const { attempts, final } = await syncUntilDone({ config: config.file, env: env(db), leases });
      assert.equal(final.summary!.resumedFrom, position.runId, describeOutcome(final));
      assert.equal(final.summary!.pages, referencePages - committed, 'resumed after the committed pages, not restarted');

      const rows = await runs(db);
      const dead = rows.find((r) => r.id === position.runId)!;
      const taker = rows.find((r) => r.id === final.summary!.runId)!;
      assert.equal(dead.status, 'failed', 'the dead run is marked interrupted by the next holder');
      assert.equal(dead.error_code, 'interrupted');
      assert.equal(taker.status, 'succeeded');
      assert.equal(taker.resumed_from, dead.id);
      assert.ok(!ownedBy(taker.owner, holder));
      // Taken over only once the dead lease had expired.
      assert.ok(fromDbTime(taker.started_at)! >= lease.expiresAt, `taken over at ${String(taker.started_at)}, lease expired ${lease.expiresAt.toISOString()}; attempts: ${attempts.map((o) => o.errorCode ?? 'ok').join(', ')}`);

      const snapshot = await syncSnapshot(db.knex);
      assert.deepEqual(sequenceProblems(snapshot), []);
      assert.deepEqual(snapshotDifferences(reference, snapshot), []);
      assert.equal(await leases.get('sync'), undefined, 'released');
    });

    it('a live holder keeps renewing its lease: a newcomer let go more than one TTL after the holder started is still refused', async () => {
      const db = await freshDb();
      // Slow pages: the holder's run lasts several lease TTLs (its requests overlap, two pages ahead).
      sim.simulator.setFaults({ latency: 1, latencyMs: 400 });
      try {
        const newcomer = child(db);
        let late!: () => void;
        const pastOneTtl = new Promise<void>((resolve) => (late = resolve));
        // elapsedMs is the holder's own time since it took the lease.
        const holder = child(db, {
          onProgress: (p) => {
            if (p.elapsedMs >= 1.5 * LEASE_TTL_MS) late();
          },
        });
        await Promise.all([holder.ready, newcomer.ready]);
        await holder.go();
        await Promise.race([pastOneTtl, holder.done]);
        await newcomer.go();
        const [held, refused] = await Promise.all([holder.done, newcomer.done]);
        assert.ok(succeeded(held), `the holder never lost its lease: ${describeOutcome(held)}`);
        assert.ok(held.progress.some((p) => p.elapsedMs >= 1.5 * LEASE_TTL_MS), `the run outlasted the TTL: ${describeOutcome(held)}`);
        assert.equal(refused.errorCode, 'sync_in_progress', describeOutcome(refused));
        assert.ok(refused.stderr.includes(`:${holder.pid}:`), refused.stderr);
        assert.equal((await runs(db)).length, 1);
        assert.deepEqual(snapshotDifferences(reference, await syncSnapshot(db.knex)), []);
      } finally {
        sim.simulator.setFaults({ latency: 1, latencyMs: 40 });
      }
    });

    it('a holder frozen past its TTL (SIGSTOP) loses the lease to a newcomer, and when it wakes it stops with sync_lease_lost; the data ends as an uninterrupted run', async () => {
      const db = await freshDb();
      const leases = new LeaseStore(db.knex);
      // Slow pages: the holder is frozen while it waits for Leap, not inside a transaction.
      sim.simulator.setFaults({ latency: 1, latencyMs: 300 });
      try {
        let frozenAfter = -1;
        let froze!: () => void;
        const frozen = new Promise<void>((resolve) => (froze = resolve));
        const holder: SyncChild = child(db, {
          onProgress: (_p, i) => {
            if (i !== 2) return;
            holder.freeze();
            frozenAfter = i + 1;
            froze();
          },
        });
        // The newcomer thaws the holder once it has committed its first page as the new holder.
        const newcomer = child(db, { onProgress: (_p, i) => i === 0 && holder.thaw() });
        await Promise.all([holder.ready, newcomer.ready]);
        await holder.go();
        await Promise.race([frozen, holder.done]);
        assert.equal(frozenAfter, 3, 'the holder was frozen after its third page');
        sim.simulator.setFaults({ latency: 1, latencyMs: 40 });

        const lease = await leases.get('sync');
        assert.ok(lease && ownedBy(lease.owner, holder), JSON.stringify(lease));
        const position = resumablePosition(await storedPositions(db.knex));
        assert.ok(position, 'the frozen run left its page position');
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, lease.expiresAt.getTime() - Date.now() + 100)));
        await newcomer.go();
        const took = await newcomer.done;
        holder.thaw();
        const woke = await holder.done;

        assert.equal(woke.errorCode, 'sync_lease_lost', `the woken holder stopped: ${describeOutcome(woke)}`);
        assert.ok(succeeded(took), describeOutcome(took));
        assert.equal(took.summary!.resumedFrom, position.runId);
        const rows = await runs(db);
        const taker = rows.find((r) => r.id === took.summary!.runId)!;
        assert.ok(fromDbTime(taker.started_at)! >= lease.expiresAt, 'taken over only after the frozen lease expired');
        assert.equal(rows.find((r) => r.id === position.runId)?.status, 'failed');
        const snapshot = await syncSnapshot(db.knex);
        assert.deepEqual(sequenceProblems(snapshot), []);
        assert.deepEqual(snapshotDifferences(reference, snapshot), []);
        assert.equal(await leases.get('sync'), undefined, 'released');
      } finally {
        sim.simulator.setFaults({ latency: 1, latencyMs: 40 });
      }
    });

    // Row locks let the newcomer wait for the frozen transaction without stalling; SQLite's writer lock would freeze it too.
    if (engine === 'mysql') {
      it('a holder frozen inside a page transaction: the newcomer waits for its locks, the woken holder stops with sync_lease_lost, and the data ends as an uninterrupted run', async () => {
        const db = await freshDb();
        const leases = new LeaseStore(db.knex);
        let pages = 0;
        let release!: () => void;
        const released = new Promise<void>((resolve) => (release = resolve));
        let locked!: () => void;
        const isLocked = new Promise<void>((resolve) => (locked = resolve));
        let blocker: Promise<void> | undefined;
        const holder = child(db, {
          onProgress: (_p, i) => {
            pages = i + 1;
            // Hold the page-position row: the holder's next page transaction waits for it, mid-way through.
            if (i === 2)
              blocker = db.knex.transaction(async (tx) => {
                await tx('sync_cursors').where({ name: 'v2:details' }).forUpdate().select('name');
                locked();
                await released;
              });
          },
        });
        const newcomer = child(db);
        await Promise.all([holder.ready, newcomer.ready]);
        await holder.go();
        await isLocked;
        let waiting = false;
        // InnoDB refreshes its transaction table only when it was not read for 100 ms: poll slower than that.
        for (let i = 0; i < 40 && !waiting; i++) {
          const [rows] = (await db.knex.raw(
            "SELECT COUNT(*) AS n FROM information_schema.innodb_trx t JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id WHERE t.trx_state = 'LOCK WAIT' AND p.db = DATABASE()",
          )) as [{ n: number | string }[]];
          waiting = Number(rows[0]!.n) > 0;
          if (!waiting) await new Promise((resolve) => setTimeout(resolve, 150));
        }
        assert.ok(waiting, 'the holder is stuck inside its page transaction');
        holder.freeze();
        const frozenAfter = pages;
        release();
        await blocker;

        const lease = await leases.get('sync');
        assert.ok(lease && ownedBy(lease.owner, holder), JSON.stringify(lease));
        const position = resumablePosition(await storedPositions(db.knex));
        assert.ok(position && position.pageNumber === frozenAfter, `the frozen run's last committed page is the stored position: ${JSON.stringify(position)}`);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, lease.expiresAt.getTime() - Date.now() + 100)));
        await newcomer.go();
        // Let the newcomer run into the frozen transaction's locks, then wake the holder.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        holder.thaw();
        const [woke, took] = await Promise.all([holder.done, newcomer.done]);

        assert.equal(woke.errorCode, 'sync_lease_lost', describeOutcome(woke));
        assert.ok(succeeded(took), describeOutcome(took));
        assert.equal(took.summary!.resumedFrom, position.runId);
        const snapshot = await syncSnapshot(db.knex);
        assert.deepEqual(sequenceProblems(snapshot), []);
        assert.deepEqual(snapshotDifferences(reference, snapshot), []);
        assert.equal(await leases.get('sync'), undefined, 'released');
      });
    }
  });
}
