import assert from 'node:assert/strict';
import { fromDbTime } from '../../src/db/dialect';
import type { SyncProgress } from '../../src/services/sync/sync-service';
import { startSimulator, type RunningSimulator, type Simulator } from '../../src/simulator';
import { LeaseStore, type Lease } from '../../src/stores/lease-store';
import { childEnv, describeOutcome, runSync, succeeded, SyncChild, syncUntilDone, writeCliConfig, type CliConfigFile, type SyncOutcome } from '../helpers/cli-child';
import { createTestDb, testEngines, type TestDb } from '../helpers/db';
import { resumablePosition, sequenceProblems, snapshotDifferences, storedPositions, syncSnapshot, type StoredPosition, type SyncSnapshot } from '../helpers/db-snapshot';

/*
 * A crash (kill -9) at any point, then a restart, ends in the same stored state and the same set
 * of events as an uninterrupted run: no change missed, no event written twice.
 *
 * One simulator serves every database of an engine and API version, in lockstep: the reference
 * database and one database per kill point go through the first sync, then Leap changes, then
 * all of them go through an incremental pass. Each pass on a kill-point database is a CLI child
 * killed at that point, then restarted (the restart waits out the dead child's lease) until a run
 * succeeds; the result is compared with the reference database after the same pass.
 */

const API_KEY = 'sim-key-crash-0123456789';
const LEASE_TTL_MS = 3000;
const CONCURRENT_SCENARIOS = 3;

interface KillPoint {
  label: string;
  /** Kill right after this progress line (0-based) of the reference run of the same pass; null: after a random delay. */
  line: ((ref: SyncProgress[]) => number) | null;
  /** The first stream was complete when the child died: the restart must not read it again. */
  boundary?: boolean;
}

const streamLength = (ref: SyncProgress[]) => ref.filter((p) => p.stream === ref[0]!.stream).length;
const AFTER_FIRST_PAGE: KillPoint = { label: 'right after the first committed page', line: () => 0 };
const MID_FIRST_STREAM: KillPoint = { label: 'half-way through the first stream', line: (ref) => Math.floor(streamLength(ref) / 2) - 1 };
const AT_BOUNDARY: KillPoint = { label: 'right after the last page of the first stream', line: (ref) => streamLength(ref) - 1, boundary: true };
const NEAR_END: KillPoint = { label: 'one page before the end', line: (ref) => ref.length - 2 };
const random = (n: number): KillPoint => ({ label: `after random delay #${n} (inside a transaction, before the lease, anywhere)`, line: null });

/** Kill points per pass: the first sync, then the incremental pass after Leap changes. Each costs three CLI children. */
const PLANS: Record<'v1' | 'v2', [KillPoint[], KillPoint[]]> = {
  // A v2 first sync is one stream of pages (each details page read with its meters' enrollments).
  v2: [
    [AFTER_FIRST_PAGE, MID_FIRST_STREAM, NEAR_END, random(1), random(2)],
    [AFTER_FIRST_PAGE, AT_BOUNDARY, random(1)],
  ],
  // v1 shares the paging and resume machinery: fewer points, for time.
  v1: [[AT_BOUNDARY, random(1)], [AT_BOUNDARY]],
};
const PASS_NAMES = ['first sync', 'incremental pass after Leap changes'];

/** Leap changes between the two passes: explicit edits spread over the portfolio, then six simulated hours. */
function changeLeap(sim: Simulator): void {
  const ids = sim.meterIds({ includeArchived: false });
  ids.forEach((id, i) => {
    if (i % 5 === 2) sim.editDetails(id, { address: i % 2 === 0, tariff: true, device: i % 3 === 0 });
  });
  for (const id of sim.meterIds({ status: 'ELIGIBLE', limit: 12 })) sim.activate(id);
  for (const id of sim.meterIds({ status: 'PENDING', limit: 8 })) sim.addPartnerAction(id, 'SERV_0005');
  for (const id of sim.meterIds({ status: 'ACTIVE', limit: 30 }).slice(20)) sim.setParticipation(id, 'IDLE');
  sim.archive(ids[Math.floor(ids.length / 7)]!);
  sim.setPartnerReference(ids[Math.floor(ids.length / 4)]!, 'site-renamed');
  sim.addUnknownField(ids[Math.floor(ids.length / 2)]!, 'leap_new_field', { rollout: 2 });
  sim.authorize({ count: 4, partnerReference: 'site-new-after-crash' });
  sim.advance(6);
}

interface Reference {
  outcome: SyncOutcome;
  snapshot: SyncSnapshot;
}

interface CrashReport {
  /** Where the kill was aimed: a progress line index, or a delay in ms after the run started. */
  aim: string;
  /** The progress line index aimed at, for line kills. */
  line: number | null;
  pagesInReference: number;
  victim: SyncOutcome;
  /** Lease row and stored position right after the kill. */
  leaseLeft: { owner: string; expiresAt: Date } | null;
  position: StoredPosition | null;
  positions: StoredPosition[];
  attempts: SyncOutcome[];
  final: SyncOutcome;
  /** started_at of the run the first restart created, if it ran. */
  firstRestartStartedAt: Date | null;
  leaseAfter: Lease | undefined;
  differences: string[];
  sequenceProblems: string[];
}

/** Run at most `limit` of the tasks at once; each promise settles with its task. */
function limited<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T>[] {
  let active = 0;
  const queue: (() => void)[] = [];
  return tasks.map(
    (task) =>
      new Promise<T>((resolve, reject) => {
        const start = () => {
          active += 1;
          task()
            .then(resolve, reject)
            .finally(() => {
              active -= 1;
              queue.shift()?.();
            });
        };
        if (active < limit) start();
        else queue.push(start);
      }),
  );
}

const explain = (r: CrashReport) =>
  `kill aimed ${r.aim} of ${r.pagesInReference} pages; victim: ${describeOutcome(r.victim)}; lease left: ${r.leaseLeft ? 'yes' : 'no'}; ` +
  `position: ${JSON.stringify(r.positions)}; attempts: ${r.attempts.map((a) => a.errorCode ?? (succeeded(a) ? 'ok' : `exit ${a.code}`)).join(', ')}`;

for (const engine of testEngines()) {
  for (const apiVersion of ['v2', 'v1'] as const) {
    describe(`kill -9 during a sync, then restart (${engine}, Leap ${apiVersion})`, function () {
      this.timeout(300_000);
      const plans = PLANS[apiVersion];
      let sim: RunningSimulator;
      let config: CliConfigFile;
      let referenceDb: TestDb;
      const crashDbs: TestDb[] = [];
      const references: Reference[] = [];
      const scenarios: Promise<CrashReport>[][] = [];
      /** Databases whose earlier pass already ended differently: later passes there prove nothing. */
      const diverged = new Set<number>();
      const children = new Set<SyncChild>();

      const env = (db: TestDb) => childEnv({ DATABASE_URL: db.url, LEAP_API_KEY: API_KEY, LEAP_BASE_URL: sim.url });
      const child = (db: TestDb, killWhen?: (p: SyncProgress, i: number) => boolean) => {
        const c = new SyncChild({ config: config.file, env: env(db), killWhen });
        children.add(c);
        return c;
      };

      before(async () => {
        sim = await startSimulator({ meters: 150, seed: 11, apiKey: API_KEY });
        config = writeCliConfig(
          [
            'leap:',
            `  api_version: ${apiVersion}`,
            `  account_id: ${sim.simulator.accountId}`,
            '  page_size: 10',
            '  rate_limit: { requests_per_second: 1000, max_concurrent: 4 }',
            '  retry: { max_attempts: 3, base_delay_ms: 5, max_delay_ms: 50 }',
            `sync: { lease_ttl: ${LEASE_TTL_MS}ms }`,
            'log: { level: warn, format: json }',
            '',
          ].join('\n'),
        );
        referenceDb = await createTestDb(engine);
        for (let i = 0; i < plans[0].length; i++) crashDbs.push(await createTestDb(engine));
      });

      after(async () => {
        for (const c of children) c.kill();
        await Promise.allSettled(scenarios.flat());
        await sim?.close();
        config?.remove();
        await referenceDb?.destroy();
        for (const db of crashDbs) await db.destroy();
      });

      /** One kill-point database through one pass: start, kill -9 at the point, restart until a run succeeds. */
      async function crashAndRestart(pass: number, dbIndex: number, point: KillPoint): Promise<CrashReport> {
        const db = crashDbs[dbIndex]!;
        const ref = references[pass]!;
        const line = point.line ? Math.max(0, Math.min(point.line(ref.outcome.progress), ref.outcome.progress.length - 2)) : null;
        const delayMs = line === null ? Math.floor((0.1 + 0.8 * Math.random()) * ref.outcome.ranMs) : 0;
        const victim = child(db, line === null ? undefined : (_p, i) => i >= line);
        // Warm before the kill, so the restart comes while the dead child's lease is still valid.
        const restart = child(db);
        await Promise.all([victim.ready, restart.ready]);
        await victim.go();
        const timer = line === null ? setTimeout(() => victim.kill(), delayMs) : undefined;
        const killed = await victim.done;
        clearTimeout(timer);

        const leases = new LeaseStore(db.knex);
        const lease = await leases.get('sync');
        const positions = await storedPositions(db.knex);
        const { attempts, final } = await syncUntilDone({ config: config.file, env: env(db), leases, first: restart });
        const firstRun = attempts[0]!.summary?.runId;
        const runRow = firstRun ? ((await db.knex('sync_runs').where({ id: firstRun }).first()) as { started_at: string | Date } | undefined) : undefined;
        const snapshot = await syncSnapshot(db.knex);
        return {
          aim: line === null ? `at ${delayMs} ms` : `after progress line ${line + 1}`,
          line,
          pagesInReference: ref.outcome.progress.length,
          victim: killed,
          leaseLeft: lease ? { owner: lease.owner, expiresAt: lease.expiresAt } : null,
          position: resumablePosition(positions),
          positions,
          attempts,
          final,
          firstRestartStartedAt: fromDbTime(runRow?.started_at),
          leaseAfter: await leases.get('sync'),
          differences: snapshotDifferences(ref.snapshot, snapshot),
          sequenceProblems: sequenceProblems(snapshot),
        };
      }

      /** Every kill point of a pass, started together (a few at a time) the first time a test asks. */
      function crashes(pass: number): Promise<CrashReport>[] {
        if (!scenarios[pass]) {
          scenarios[pass] = limited(
            plans[pass]!.map((point, i) => () => crashAndRestart(pass, i, point)),
            CONCURRENT_SCENARIOS,
          );
          for (const p of scenarios[pass]) p.catch(() => undefined);
        }
        return scenarios[pass];
      }

      plans.forEach((plan, pass) => {
        it(`uninterrupted ${PASS_NAMES[pass]}: the reference`, async () => {
          if (pass > 0) {
            // Lockstep: Leap changes only once every database has finished the previous pass.
            await Promise.allSettled(crashes(pass - 1));
            changeLeap(sim.simulator);
          }
          const outcome = await runSync({ config: config.file, env: env(referenceDb) });
          assert.ok(succeeded(outcome), describeOutcome(outcome));
          assert.equal(outcome.summary!.resumedFrom, null);
          const snapshot = await syncSnapshot(referenceDb.knex);
          references[pass] = { outcome, snapshot };
          assert.ok(outcome.progress.length >= 6, `enough pages to crash in: ${outcome.progress.length}`);
          // A v2 first sync reads each details page with its meters' enrollments; later passes walk both streams.
          const streams = apiVersion === 'v2' && pass === 0 ? ['v2:details'] : apiVersion === 'v2' ? ['v2:details', 'v2:enrollments'] : ['v1:added', 'v1:modified'];
          assert.deepEqual([...new Set(outcome.progress.map((p) => p.stream))], streams, 'the streams read');
          assert.ok(outcome.summary!.events > 0, 'the pass had changes to announce');
          assert.equal(snapshot.meters.size, sim.simulator.meterCount());
          assert.deepEqual(sequenceProblems(snapshot), []);
          assert.deepEqual(snapshot.positions, []);
        });

        plan.forEach((point, i) => {
          it(`${PASS_NAMES[pass]} killed ${point.label}: the restart resumes and ends as the uninterrupted run did`, async () => {
            assert.ok(references[pass], 'the reference run of this pass succeeded');
            assert.ok(!diverged.has(i), 'this database already differed from the reference after the previous pass');
            let r: CrashReport;
            try {
              r = await crashes(pass)[i]!;
            } finally {
              diverged.add(i);
            }
            const why = explain(r);

            // The child died by the kill, or (a late random kill) finished first.
            assert.ok(r.victim.signal === 'SIGKILL' || succeeded(r.victim), why);
            if (r.line !== null && r.pagesInReference - r.line - 1 >= 3) {
              // The simulator answers from this process, so the child cannot have run far past the line.
              assert.ok(r.victim.killed && r.victim.summary === null, `killed mid-run: ${why}`);
              assert.ok(r.position, `a page position was stored: ${why}`);
              assert.ok(r.leaseLeft, `the dead child's lease was left behind: ${why}`);
            }
            if (point.boundary) {
              const first = references[pass]!.outcome.progress[0]!.stream;
              assert.ok(r.positions.some((p) => p.stream === first && p.streamDone), `the first stream was done at the kill: ${why}`);
              assert.ok(!r.final.progress.some((p) => p.stream === first), `the restart did not read the first stream again: ${why}`);
            }

            // The lease held: an immediate restart was refused, naming the dead child, until the lease expired.
            const first = r.attempts[0]!;
            if (r.leaseLeft && (r.line !== null || first.errorCode === 'sync_in_progress')) {
              assert.equal(first.errorCode, 'sync_in_progress', `immediate restart refused: ${why}`);
              assert.ok(first.stderr.includes(`held by ${r.leaseLeft.owner}`), `refused because of the dead child's lease: ${why}`);
            } else if (r.leaseLeft) {
              // A random kill may hit a child so starved that its lease had nearly run out: a run may only start after the expiry.
              assert.ok(r.firstRestartStartedAt && r.firstRestartStartedAt >= r.leaseLeft.expiresAt, `a run started while the dead child's lease was valid: ${why}`);
            } else {
              assert.ok(succeeded(first), `nothing held the lease, so the first restart ran: ${why}`);
            }
            assert.equal(r.leaseAfter, undefined, 'the lease is released after the run');

            // Resumed from the stored page position, if one was stored: the pages committed before the kill are not read again.
            assert.equal(r.final.summary!.resumedFrom, r.position?.runId ?? null, why);
            if (r.position && pass === 0) {
              const committed = r.positions.filter((p) => p.runId === r.position!.runId).reduce((n, p) => n + p.pageNumber, 0);
              assert.equal(r.final.summary!.pages, r.pagesInReference - committed, `pages read by the resumed run: ${why}`);
            }

            assert.deepEqual(r.sequenceProblems, [], why);
            assert.deepEqual(r.differences, [], why);
            diverged.delete(i);
          });
        });
      });
    });
  }
}
