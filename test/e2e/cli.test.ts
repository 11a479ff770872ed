import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createKnex } from '../../src/db/knex';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { freePort } from '../helpers/ports';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin/leap-connector.js');
const SIM_KEY = 'cli-sim-key-0123456789';
const MIGRATIONS = readdirSync(path.join(ROOT, 'migrations'))
  .filter((f) => /^\d{14}_[a-z0-9_]+\.ts$/.test(f))
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A child's environment: PATH and HOME and what the test names, nothing else from this shell. */
function cleanEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...vars };
  for (const k of ['PATH', 'HOME'] as const) if (process.env[k] !== undefined) env[k] = process.env[k];
  return env;
}

interface Child {
  process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout match of `re` (rejects if the child exits first). */
  waitFor(re: RegExp): Promise<RegExpMatchArray>;
  exited: Promise<Exit>;
}

/** `node bin/leap-connector.js ...args` in `cwd`, never blocking this process (the simulator may live here). */
function start(args: string[], opts: { cwd: string; env?: Record<string, string>; limitMs?: number }): Child {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: cleanEnv(opts.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const watchers: { re: RegExp; resolve: (m: RegExpMatchArray) => void; reject: (e: Error) => void }[] = [];
  const check = () => {
    for (const w of [...watchers]) {
      const m = out.match(w.re);
      if (m) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    check();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  // A hung child must not hang the suite; the test then fails on the signal.
  const guard = setTimeout(() => child.kill('SIGKILL'), opts.limitMs ?? 60_000);
  const exited = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      for (const w of watchers.splice(0)) w.reject(new Error(`exited (${code ?? signal}) before printing ${w.re}\nstdout: ${out}\nstderr: ${err}`));
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  return {
    process: child,
    stdout: () => out,
    stderr: () => err,
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        watchers.push({ re, resolve, reject });
        check();
      }),
    exited,
  };
}

function run(args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<Exit> {
  return start(args, opts).exited;
}

const explain = (r: Exit) => `exit ${r.code ?? r.signal}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** Every row of every table, for "wrote nothing". */
async function dump(db: Knex): Promise<Record<string, unknown[]>> {
  const tables = ((await db.raw("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")) as { name: string }[]).map((t) => t.name);
  const out: Record<string, unknown[]> = {};
  for (const t of tables) out[t] = (await db.raw(`SELECT * FROM "${t}" ORDER BY 1`)) as unknown[];
  return out;
}

/** Each stream's committed cursor. */
async function storedCursors(db: Knex): Promise<{ name: string; cursor: string }[]> {
  return (await db('sync_cursors').orderBy('name').select('name', { cursor: 'cursor_value' })) as { name: string; cursor: string }[];
}

async function withDb<T>(url: string, fn: (db: Knex) => Promise<T>): Promise<T> {
  const db = createKnex(url, { poolMax: 1 });
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

async function count(db: Knex, table: string, where: Record<string, unknown> = {}): Promise<number> {
  const [row] = (await db(table).where(where).count({ n: '*' })) as { n: number | string }[];
  return Number(row!.n);
}

/** `{"event": ...}`, `{"progress": ...}` and `{"summary": ...}` lines of `sync --json`. */
function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('leap-connector CLI', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'leap-connector-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--help lists the commands', async () => {
    const r = await run(['--help'], { cwd: dir });
    assert.equal(r.code, 0, explain(r));
    for (const command of ['serve', 'sync', 'migrate', 'simulator', 'leap-webhooks']) assert.match(r.stdout, new RegExp(`^\\s+${command}\\b`, 'm'), command);
    const sync = await run(['sync', '--help'], { cwd: dir });
    for (const option of ['--full', '--since', '--dry-run', '--json']) assert.ok(sync.stdout.includes(option), option);
    const unknown = await run(['frobnicate'], { cwd: dir });
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  });

  it("a configuration's relative paths mean the same folders wherever the command starts; a copy means its own", async () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const connector = (name: string, destination: string) => {
      const folder = path.join(dir, name);
      mkdirSync(path.join(folder, 'partners'), { recursive: true });
      writeFileSync(path.join(folder, 'connector.yaml'), 'database:\n  url: sqlite:state/c.sqlite\ndestinations:\n  dir: partners\n');
      writeFileSync(path.join(folder, 'partners', `${destination}.yaml`), `url: https://${destination}.example/hooks\nevents: [meter.created]\nsecrets: [${secret}]\n`);
      return folder;
    };
    const original = connector('original', 'crm');
    // The copy of the file, beside its own destinations: it must never read the original's.
    const copy = connector('copy', 'devices');
    const elsewhere = mkdtempSync(path.join(tmpdir(), 'leap-connector-cwd-'));
    try {
      for (const cwd of [dir, elsewhere, original, ROOT]) {
        for (const [folder, destination] of [
          [original, 'crm'],
          [copy, 'devices'],
        ] as const) {
          const r = await run(['--config', path.join(folder, 'connector.yaml'), 'mappings', 'check'], { cwd });
          assert.equal(r.code, 0, explain(r));
          assert.equal(r.stdout.trim(), `ok: 1 destination in ${path.join(folder, 'partners')}: ${destination}`, `from ${cwd}`);
        }
      }
      // A relative --config is found from the current directory; what the file names, from its folder.
      const relative = await run(['--config', 'copy/connector.yaml', 'migrate', 'latest'], { cwd: dir });
      assert.equal(relative.code, 0, explain(relative));
      assert.deepEqual(readdirSync(path.join(copy, 'state')), ['c.sqlite']);
      const status = await run(['--config', path.join(copy, 'connector.yaml'), 'migrate', 'status'], { cwd: elsewhere });
      assert.match(status.stdout, /schema is current/, explain(status));
      assert.deepEqual(readdirSync(elsewhere), [], 'nothing is written where the command started');
      assert.ok(!existsSync(path.join(original, 'state')), "the original's database is untouched");
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('a configuration with a typo and bad values exits 1 listing every problem as file:line:col: /pointer message', async () => {
    writeFileSync(path.join(dir, 'connector.yaml'), ['leap:', '  api_versoin: v2', '  page_size: 9000', 'server:', '  port: abc', 'sync:', '  overlap: soon', ''].join('\n'));
    const problems = (stderr: string) =>
      stderr
        .split('\n')
        .map((l) => /^\s+(\S+?):(\d+):(\d+): (\/\S*) (.+)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => `${m[1]}:${m[2]}:${m[3]}: ${m[4]}`);
    const expected = ['connector.yaml:2:3: /leap/api_versoin', 'connector.yaml:3:14: /leap/page_size', 'connector.yaml:5:9: /server/port', 'connector.yaml:7:12: /sync/overlap'];
    for (const args of [['--config', 'connector.yaml', 'migrate', 'status'], ['-c', 'connector.yaml', 'sync'], ['--config', 'connector.yaml', 'serve']]) {
      const r = await run(args, { cwd: dir, env: { DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}` } });
      assert.equal(r.code, 1, explain(r));
      assert.match(r.stderr, /^Invalid configuration:/);
      assert.deepEqual(problems(r.stderr).sort(), expected, r.stderr);
      assert.match(r.stderr, /api_versoin is not a known setting \(did you mean "api_version"\?\)/);
      assert.match(r.stderr, /page_size must be <= 500/);
      assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
      assert.equal(r.stdout, '');
    }
    // The file can come from CONNECTOR_CONFIG; a bad value from the environment is named as such.
    const viaEnv = await run(['migrate', 'status'], { cwd: dir, env: { CONNECTOR_CONFIG: 'connector.yaml', PORT: 'eighty', DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}` } });
    assert.equal(viaEnv.code, 1);
    assert.match(viaEnv.stderr, /environment PORT: \/server\/port must be integer/);
    assert.match(viaEnv.stderr, /connector\.yaml:2:3: \/leap\/api_versoin/);
    const missing = await run(['--config', 'nope.yaml', 'migrate', 'status'], { cwd: dir });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.yaml: configuration file not found/);
  });

  it('migrate status | latest | rollback on a new SQLite file', async () => {
    const env = { DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}` };
    const step = async (...args: string[]) => {
      const r = await run(['migrate', ...args], { cwd: dir, env });
      assert.equal(r.code, 0, explain(r));
      return r.stdout.trim().split('\n');
    };
    const pending = [...MIGRATIONS.map((m) => `pending  ${m}`), `${MIGRATIONS.length} pending`];
    assert.deepEqual(await step('status'), pending);
    assert.deepEqual(await step('latest'), [`applied: ${MIGRATIONS.join(', ')}`]);
    assert.deepEqual(await step(), ['already up to date'], 'latest is the default');
    assert.deepEqual(await step('status'), [...MIGRATIONS.map((m) => `applied  ${m}`), 'schema is current']);
    await withDb(env.DATABASE_URL, async (db) => {
      assert.equal(await count(db, 'knex_migrations'), MIGRATIONS.length);
      assert.equal(await count(db, 'meters'), 0);
    });
    assert.deepEqual(await step('rollback'), [`rolled back: ${[...MIGRATIONS].reverse().join(', ')}`]);
    assert.deepEqual(await step('status'), pending);
    await withDb(env.DATABASE_URL, async (db) => assert.equal(await db.schema.hasTable('meters'), false));
    assert.deepEqual(await step('rollback'), ['nothing to roll back']);
    const bad = await run(['migrate', 'sideways'], { cwd: dir, env });
    assert.equal(bad.code, 2, 'a usage error');
    assert.match(bad.stderr, /Allowed choices are latest, rollback, status/);
  });

  for (const apiVersion of ['v2', 'v1'] as const) {
    describe(`against a Leap simulator in this process (Leap ${apiVersion})`, () => {
      let sim: RunningSimulator;
      let env: Record<string, string>;
      let dbDir: string;
      before(async () => {
        sim = await startSimulator({ meters: 40, seed: 11, apiKey: SIM_KEY });
        dbDir = mkdtempSync(path.join(tmpdir(), 'leap-connector-cli-db-'));
        env = {
          LEAP_API_KEY: SIM_KEY,
          LEAP_BASE_URL: sim.url,
          LEAP_API_VERSION: apiVersion,
          LEAP_ACCOUNT_ID: sim.simulator.accountId,
          DATABASE_URL: `sqlite:${path.join(dbDir, 'connector.sqlite')}`,
          LOG_LEVEL: 'warn',
        };
      });
      after(async () => {
        await sim.close();
        rmSync(dbDir, { recursive: true, force: true });
      });

      it('sync prints a summary and exits 0; the portfolio is stored', async () => {
        const r = await run(['sync'], { cwd: dir, env });
        assert.equal(r.code, 0, explain(r));
        const lines = r.stdout.trim().split('\n');
        const m = /^incremental sync ([0-9a-f-]{36}) finished in \d+\.\d s: (\d+) pages, (\d+) meters \([\d,]+\/s\), (\d+) changed, (\d+) events$/.exec(lines[0]!);
        assert.ok(m, lines[0]);
        assert.ok(lines.slice(1).length >= 1 && lines.slice(1).every((l) => new RegExp(`^ {2}cursor ${apiVersion}:\\w+: \\d{4}-\\d{2}-\\d{2}T[\\d:.]+Z$`).test(l)), r.stdout);
        assert.ok(!r.stderr.includes('No LEAP_API_KEY'), 'no demo mode with a key');
        await withDb(env.DATABASE_URL!, async (db) => {
          assert.equal(await count(db, 'meters'), sim.simulator.meterCount());
          assert.equal(await count(db, 'meters', { source: apiVersion }), sim.simulator.meterCount());
          const run = (await db('sync_runs').where({ id: m![1] }).first()) as { status: string; events: number | string; trigger: string };
          assert.equal(run.status, 'succeeded');
          assert.equal(run.trigger, 'cli');
          assert.equal(Number(m![5]), Number(run.events));
          assert.equal(await count(db, 'meter_events', { sync_run_id: m![1] }), Number(m![5]));
          assert.equal(await count(db, 'meter_events', { type: 'meter.created' }), sim.simulator.meterCount());
        });
      });

      it('readiness report prints the counts by state and the meters in one, as text or JSON', async () => {
        const active = await withDb(env.DATABASE_URL!, async (db) => (await db('meters').where({ enrollment_status: 'ACTIVE', is_archived: false }).orderBy('meter_id').select('meter_id')).map((m: { meter_id: string }) => m.meter_id));
        assert.ok(active.length > 0);
        const json = await run(['readiness', 'report', '--state', 'awaiting', '--json'], { cwd: dir, env });
        assert.equal(json.code, 0, explain(json));
        const report = JSON.parse(json.stdout) as { counts: Record<string, number>; meters: { meter_id: string }[]; more: boolean };
        assert.equal(report.counts.awaiting, active.length);
        assert.deepEqual(
          report.meters.map((m) => m.meter_id),
          active,
        );
        const text = await run(['readiness', 'report', '--state', 'awaiting', '--limit', '1'], { cwd: dir, env });
        assert.equal(text.code, 0, explain(text));
        const lines = text.stdout.trim().split('\n');
        assert.equal(lines[0], `awaiting ${active.length}   overdue 0   ready 0   not_ready 0`);
        assert.match(lines[2]!, new RegExp(`^  ${active[0]}  since \\d{4}-`));
        if (active.length > 1) assert.equal(lines.at(-1), '(more: raise --limit)');
        const bad = await run(['readiness', 'report', '--state', 'late'], { cwd: dir, env });
        assert.equal(bad.code, 2, 'a usage error');
        assert.match(bad.stderr, /Allowed choices are awaiting, overdue, ready, not_ready/);
      });

      it('sync --dry-run --json prints, as JSON lines, exactly the events the real pass then records, and writes nothing', async () => {
        const [edited] = sim.simulator.meterIds({ limit: 5 }).slice(-1);
        sim.simulator.editDetails(edited!, { address: true });
        const [added] = sim.simulator.authorize({ count: 1, partnerReference: `cli-dry-run-${apiVersion}` });
        const before = await withDb(env.DATABASE_URL!, dump);
        const r = await run(['sync', '--dry-run', '--json'], { cwd: dir, env });
        assert.equal(r.code, 0, explain(r));
        const lines = jsonLines(r.stdout);
        assert.ok(lines.some((l) => 'progress' in l));
        const summary = lines.at(-1)!.summary as { dryRun: boolean; runId: string | null; events: number; kind: string };
        assert.equal(summary.dryRun, true);
        assert.equal(summary.runId, null);
        assert.equal(summary.kind, 'incremental');
        const dry = lines.filter((l) => 'event' in l);
        assert.equal(summary.events, dry.length);
        assert.deepEqual(await withDb(env.DATABASE_URL!, dump), before, 'the database is exactly as it was');

        // What the dry run promised is what a real pass does.
        const real = await run(['sync', '--json'], { cwd: dir, env });
        assert.equal(real.code, 0, explain(real));
        const runId = (jsonLines(real.stdout).at(-1)!.summary as { runId: string }).runId;
        const recorded = await withDb(env.DATABASE_URL!, async (db) => (await db('meter_events').where({ sync_run_id: runId }).orderBy('id').select('type', 'meter_id')) as { type: string; meter_id: string }[]);
        const key = (type: unknown, meterId: unknown) => `${String(type)} ${String(meterId)}`;
        assert.ok(recorded.some((e) => e.type === 'meter.created' && e.meter_id === added));
        assert.ok(recorded.some((e) => e.type === 'meter.details.updated' && e.meter_id === edited));
        assert.deepEqual(dry.map((e) => key(e.event, e.meter_id)).sort(), recorded.map((e) => key(e.type, e.meter_id)).sort(), `dry run:\n${r.stdout}`);
      });

      it('sync --full walks the whole portfolio and records what changed', async () => {
        const [edited] = sim.simulator.meterIds({ limit: 9 }).slice(-1);
        sim.simulator.editDetails(edited!, { address: true });
        const r = await run(['sync', '--full'], { cwd: dir, env });
        assert.equal(r.code, 0, explain(r));
        const m = /^full sync ([0-9a-f-]{36}) finished in [\d.]+ s: \d+ pages, (\d+) meters .*, (\d+) events/.exec(r.stdout);
        assert.ok(m, r.stdout);
        assert.ok(Number(m![2]) >= sim.simulator.meterCount(), 'every meter was read');
        await withDb(env.DATABASE_URL!, async (db) => {
          const run = (await db('sync_runs').where({ id: m![1] }).first()) as { kind: string; status: string };
          assert.deepEqual([run.kind, run.status], ['full', 'succeeded']);
          const events = (await db('meter_events').where({ sync_run_id: m![1] }).orderBy('id').select('type', 'meter_id', 'origin')) as { type: string; meter_id: string; origin: string }[];
          assert.deepEqual(
            events.map((e) => [e.type, e.meter_id, e.origin]),
            [['meter.details.updated', edited, 'reconcile']],
          );
          assert.equal(Number(m![3]), 1);
        });
        const bad = await run(['sync', '--since', 'last tuesday'], { cwd: dir, env });
        assert.equal(bad.code, 2, 'a usage error');
        assert.match(bad.stderr, /not an ISO 8601 time: last tuesday/);
      });

      it('sync --since T re-reads every change from T, announces only what changed, and leaves the cursors where they were', async () => {
        const [edited] = sim.simulator.meterIds({ limit: 11 }).slice(-1);
        sim.simulator.editDetails(edited!, { tariff: true });
        const cursors = await withDb(env.DATABASE_URL!, storedCursors);
        assert.ok(cursors.length > 0 && cursors.every((c) => c.cursor));
        const r = await run(['sync', '--since', '2020-01-01T00:00:00Z', '--json'], { cwd: dir, env });
        assert.equal(r.code, 0, explain(r));
        const summary = jsonLines(r.stdout).at(-1)!.summary as { runId: string; metersSeen: number; events: number };
        assert.equal(summary.metersSeen, sim.simulator.meterCount(), 'every meter changed since 2020 was read again');
        await withDb(env.DATABASE_URL!, async (db) => {
          assert.deepEqual(
            (await db('meter_events').where({ sync_run_id: summary.runId }).select('type', 'meter_id')).map((e: { type: string; meter_id: string }) => [e.type, e.meter_id]),
            [['meter.details.updated', edited]],
          );
          assert.equal(summary.events, 1);
          const run = (await db('sync_runs').where({ id: summary.runId }).first()) as { status: string; since: unknown };
          assert.equal(run.status, 'succeeded');
          assert.ok(run.since, 'the run records the time it read from');
          // Read from far behind the cursors, the pass moves them forward only (to the edit), never back.
          for (const after of await storedCursors(db)) {
            const before = cursors.find((c) => c.name === after.name)!.cursor;
            assert.ok(after.cursor >= before, `${after.name} moved back from ${before} to ${after.cursor}`);
          }
        });
      });

      it('sync on a terminal shows a progress line (stream, pages, meters, meters/s, changed, events) before its summary', async () => {
        sim.simulator.authorize({ count: 2, partnerReference: `cli-tty-${apiVersion}` });
        // `script` gives the command a pseudo-terminal, as an operator's shell would.
        const command = [process.execPath, BIN, 'sync'].map((w) => `'${w}'`).join(' ');
        const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: dir, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
        const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
        assert.equal(code, 0, out);
        const progress = [...out.matchAll(/\r(v[12]:\w+) {2}pages (\d+) {2}meters (\d+) {2}[\d,]+ meters\/s {2}changed (\d+) {2}events (\d+)/g)];
        assert.ok(progress.length > 0, JSON.stringify(out));
        const last = progress.at(-1)!;
        const summary = /incremental sync [0-9a-f-]{36} finished in [\d.]+ s: (\d+) pages, (\d+) meters .*, (\d+) changed, (\d+) events/.exec(out);
        assert.ok(summary, JSON.stringify(out));
        assert.ok(out.indexOf(summary[0]) > last.index!, 'the summary comes after the progress line, on a line of its own');
        assert.equal(last[5], summary[4], "the last progress line counts the run's events");
        assert.ok(Number(summary[4]) >= 2, 'the two new meters were announced');
      });

      if (apiVersion === 'v2') {
        it('leap-webhooks register | list | delete manage the subscription, never printing the secret', async () => {
          const secret = 'cli-leap-secret-0123456789';
          const hookEnv = { ...env, LEAP_WEBHOOK_SECRET: secret };
          const url = 'https://connector.example.com/leap/events';
          const reg = await run(['leap-webhooks', 'register', '--url', url], { cwd: dir, env: hookEnv });
          assert.equal(reg.code, 0, explain(reg));
          const m = /^created Leap webhook (\S+) → (\S+) \((.+)\)$/m.exec(reg.stdout);
          assert.ok(m, reg.stdout);
          assert.equal(m![2], url);
          assert.deepEqual(sim.simulator.webhooks.get(m![1]!)!.headers, [{ name: 'x-leap-webhook-secret', value: secret }]);

          const list = await run(['leap-webhooks', 'list'], { cwd: dir, env: hookEnv });
          assert.equal(list.code, 0, explain(list));
          assert.ok(list.stdout.includes(`${m![1]}  ${url}`), list.stdout);
          assert.match(list.stdout, /headers: x-leap-webhook-secret: \*{8}/);
          assert.ok(!list.stdout.includes(secret) && !list.stderr.includes(secret));

          const del = await run(['leap-webhooks', 'delete', m![1]!], { cwd: dir, env: hookEnv });
          assert.equal(del.code, 0, explain(del));
          assert.equal(sim.simulator.webhooks.get(m![1]!), undefined);
          const again = await run(['leap-webhooks', 'delete', m![1]!], { cwd: dir, env: hookEnv });
          assert.equal(again.code, 1);
          assert.match(again.stderr, /^error \[/m);
        });

        it('serve on a chosen port answers /healthz and /readyz, runs its scheduled sync, and stops cleanly on SIGTERM', async () => {
          const port = await freePort();
          writeFileSync(path.join(dir, 'connector.yaml'), ['server:', '  host: 127.0.0.1', `  port: ${port}`, 'log:', '  level: info', ''].join('\n'));
          const dbUrl = `sqlite:${path.join(dir, 'serve.sqlite')}`;
          const admin = 'cli-admin-key-0123456789';
          const child = start(['--config', 'connector.yaml', 'serve'], { cwd: dir, env: { ...env, DATABASE_URL: dbUrl, ADMIN_API_KEY: admin, LOG_LEVEL: 'info' } });
          const base = `http://127.0.0.1:${port}`;
          try {
            let health: Response | null = null;
            for (let i = 0; i < 300 && !health; i++) {
              health = await fetch(`${base}/healthz`).catch(() => null);
              if (!health) {
                assert.equal(child.process.exitCode, null, `serve exited early\n${child.stderr()}`);
                await new Promise((resolve) => setTimeout(resolve, 100));
              }
            }
            assert.ok(health, `serve never answered\n${child.stderr()}`);
            assert.equal(health.status, 200);
            assert.deepEqual(await health.json(), { status: 'ok' });
            const ready = await fetch(`${base}/readyz`);
            assert.equal(ready.status, 200);
            assert.equal(((await ready.json()) as { status: string }).status, 'ready');

            // The scheduler's first pass is due at once.
            let runs: { status: string; trigger: string }[] = [];
            for (let i = 0; i < 300 && !runs.some((r) => r.status === 'succeeded'); i++) {
              const res = await fetch(`${base}/admin/v1/sync/runs`, { headers: { Authorization: `Bearer ${admin}` } });
              assert.equal(res.status, 200);
              runs = ((await res.json()) as { runs: typeof runs }).runs;
              if (!runs.some((r) => r.status === 'succeeded')) await new Promise((resolve) => setTimeout(resolve, 100));
            }
            assert.ok(
              runs.some((r) => r.status === 'succeeded' && r.trigger === 'schedule'),
              JSON.stringify(runs),
            );
            const meters = await fetch(`${base}/api/v1/meters?limit=500`, { headers: { Authorization: `Bearer ${admin}` } });
            assert.equal(((await meters.json()) as { meters: unknown[] }).meters.length, sim.simulator.meterCount());
          } finally {
            child.process.kill('SIGTERM');
          }
          const exit = await child.exited;
          assert.equal(exit.signal, null, explain(exit));
          assert.equal(exit.code, 0, explain(exit));
          assert.match(exit.stderr, /"message":"SIGTERM received"/);
          assert.match(exit.stderr, /"message":"stopped"/);
          await assert.rejects(fetch(`${base}/healthz`), 'the port is closed');
        });
      }
    });
  }

  it('simulator --port 0 prints its URL, serves the v2 search with its key, and exits 0 on SIGTERM', async () => {
    const child = start(['simulator', '--port', '0', '--meters', '25', '--seed', '5', '--api-key', SIM_KEY], { cwd: dir });
    let exit: Exit;
    try {
      const [, url] = await child.waitFor(/Leap simulator listening on (http:\/\/\S+) \(25 meters, seed 5/);
      const search = (key: string) => fetch(`${url!}/v2/meters/search`, { method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ page_size: 10 }) });
      const ok = await search(SIM_KEY);
      assert.equal(ok.status, 200);
      const body = (await ok.json()) as { meters: { meter_id: string }[]; next_page_token?: string };
      assert.equal(body.meters.length, 10);
      assert.ok(body.next_page_token, 'more pages follow');
      assert.equal((await search('someone-elses-key')).status, 403);
    } finally {
      child.process.kill('SIGTERM');
      exit = await child.exited;
    }
    assert.equal(exit.code, 0, explain(exit));
  });

  it('sync against a Leap that does not answer exits 1 with a typed error, no stack, and a failed run', async () => {
    writeFileSync(path.join(dir, 'connector.yaml'), ['leap:', '  retry: { max_attempts: 1, base_delay_ms: 0, max_delay_ms: 0 }', ''].join('\n'));
    const dbUrl = `sqlite:${path.join(dir, 'down.sqlite')}`;
    const r = await run(['--config', 'connector.yaml', 'sync'], { cwd: dir, env: { LEAP_API_KEY: SIM_KEY, LEAP_BASE_URL: `http://127.0.0.1:${await freePort()}`, DATABASE_URL: dbUrl, LOG_LEVEL: 'error', LOG_FORMAT: 'json' } });
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, /^error \[leap_unavailable\]: /m);
    assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
    assert.equal(r.stdout, '');
    await withDb(dbUrl, async (db) => {
      const runs = (await db('sync_runs').select('status', 'error_code')) as { status: string; error_code: string }[];
      assert.deepEqual(runs, [{ status: 'failed', error_code: 'leap_unavailable' }]);
    });
  });

  it('without LEAP_API_KEY, sync runs against the built-in simulator and says so on stderr', async () => {
    writeFileSync(path.join(dir, 'connector.yaml'), ['simulator:', '  meters: 30', '  seed: 4', '  evolve_every_seconds: 0', ''].join('\n'));
    const dbUrl = `sqlite:${path.join(dir, 'demo.sqlite')}`;
    const r = await run(['--config', 'connector.yaml', 'sync'], { cwd: dir, env: { DATABASE_URL: dbUrl, LOG_LEVEL: 'warn' } });
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stderr, /No LEAP_API_KEY set: using the built-in Leap simulator at http:\/\/127\.0\.0\.1:\d+ \(30 meters, seed 4, Leap API v2\); data in sqlite:.*demo\.sqlite\. Set LEAP_API_KEY to talk to Leap\./);
    assert.ok(!r.stdout.includes('No LEAP_API_KEY'), 'the notice is not mixed into the output');
    assert.match(r.stdout, /^incremental sync [0-9a-f-]{36} finished in .*, (\d+) events$/m);
    await withDb(dbUrl, async (db) => assert.equal(await count(db, 'meters'), 30));
  });
});
