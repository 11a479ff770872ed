import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/program';
import { freshDatabase, testEngines } from '../helpers/db';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin/leap-connector.js');
const ADMIN_KEY = 'support-cli-admin-key-0123456789';

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

const explain = (r: Exit) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
const jsonLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const snakeCase = (o: Record<string, unknown>) => Object.keys(o).every((k) => /^[a-z0-9_]+$/.test(k));

/** Every option of every command, with its command's name, for "each option says what it does". */
function everyOption(cmd: Command, prefix = ''): { command: string; flags: string; description: string }[] {
  const name = `${prefix} ${cmd.name()}`.trim();
  return [...cmd.options.map((o) => ({ command: name, flags: o.flags, description: o.description })), ...cmd.commands.flatMap((c) => everyOption(c, name))];
}

describe('support CLI', function () {
  this.timeout(120_000);

  it('--version prints the package version; every option of every command has a description', async () => {
    const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const r = await new Promise<Exit>((resolve) =>
      execFile(process.execPath, [BIN, '--version'], { cwd: ROOT, env: { PATH: process.env.PATH } }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr })),
    );
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, `${version}\n`, '']);
    const undescribed = everyOption(buildProgram()).filter((o) => !o.description.trim());
    assert.deepEqual(undescribed, []);
  });

  for (const engine of testEngines()) {
    describe(`against serve's demo on ${engine}`, () => {
      let dir: string;
      let drop: () => Promise<void>;
      let env: NodeJS.ProcessEnv;
      let serve: ChildProcess;
      let serveOutput = '';
      let url: string;
      let adminKey: string;

      /** `leap-connector --config connector.yaml ...args` against serve's database; asserts no log line reached stdout. */
      const cli = (...args: string[]) =>
        new Promise<Exit>((resolve) => {
          const child = spawn(process.execPath, [BIN, '--config', path.join(dir, 'connector.yaml'), ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
          let stdout = '';
          let stderr = '';
          child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
          child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
          child.on('close', (code) => {
            assert.ok(!/"level":|\b(info|warn|error)\b.*"timestamp"/.test(stdout), `a log line on stdout:\n${stdout}`);
            resolve({ code, stdout, stderr });
          });
        });
      const api = (p: string) => request(url).get(p).set('Authorization', `Bearer ${adminKey}`).expect(200);

      before(async () => {
        dir = mkdtempSync(path.join(tmpdir(), 'support-cli-'));
        const db = engine === 'sqlite' ? { url: `sqlite:${path.join(dir, 'data', 'demo.sqlite')}`, drop: async () => undefined } : await freshDatabase('mysql', 'support_cli');
        drop = db.drop;
        // The demo as a new user runs it: no Leap key, no destination files.
        writeFileSync(
          path.join(dir, 'connector.yaml'),
          [`database: { url: "${db.url}" }`, 'server: { host: 127.0.0.1, port: 0 }', 'simulator: { meters: 20, evolve_every_seconds: 0 }', 'log: { format: json }', ''].join('\n'),
        );
        env = { PATH: process.env.PATH, HOME: process.env.HOME };
        // On SQLite the demo makes its own console key; elsewhere an admin key reads the API.
        const serveEnv = engine === 'sqlite' ? env : { ...env, ADMIN_API_KEY: ADMIN_KEY };
        serve = spawn(process.execPath, [BIN, '--config', path.join(dir, 'connector.yaml'), 'serve'], { cwd: dir, env: serveEnv, stdio: ['ignore', 'pipe', 'pipe'] });
        serve.stdout!.on('data', (b: Buffer) => (serveOutput += b.toString()));
        serve.stderr!.on('data', (b: Buffer) => (serveOutput += b.toString()));
        for (let i = 0; i < 300 && !url; i++) {
          const m = /leap-connector listening on (http:\/\/[\d.:]+)/.exec(serveOutput);
          if (m) url = m[1]!;
          else await new Promise((resolve) => setTimeout(resolve, 100));
          assert.equal(serve.exitCode, null, `serve exited early:\n${serveOutput}`);
        }
        assert.ok(url, `serve never listened:\n${serveOutput}`);
        adminKey = engine === 'sqlite' ? readFileSync(path.join(dir, 'data', 'console.key'), 'utf8').trim() : ADMIN_KEY;
        // The first sync runs at start; wait until the sample receiver has accepted some of its deliveries.
        for (let i = 0; i < 300; i++) {
          const delivered = (await api('/admin/v1/deliveries?status=delivered&limit=1')).body as { deliveries: unknown[] };
          if (delivered.deliveries.length) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      });

      after(async () => {
        if (serve && serve.exitCode === null) {
          const exited = new Promise((resolve) => serve.once('exit', resolve));
          serve.kill('SIGTERM');
          await exited;
        }
        await drop?.();
        rmSync(dir, { recursive: true, force: true });
      });

      it("sees serve's demo destinations as the API does, and pauses and resumes them", async () => {
        const same = ['name', 'url', 'enabled', 'configured', 'state', 'paused_reason'];
        const pick = (d: Record<string, unknown>) => Object.fromEntries(same.map((k) => [k, d[k]]));
        const fromApi = async () => ((await api('/admin/v1/destinations')).body as { destinations: Record<string, unknown>[] }).destinations;

        let r = await cli('destinations', 'list', '--json');
        assert.equal(r.code, 0, explain(r));
        assert.equal(r.stderr, '', 'no log lines unless asked');
        const listed = jsonLines(r.stdout);
        assert.ok(listed.every(snakeCase));
        assert.deepEqual(listed.map(pick), (await fromApi()).map(pick));
        assert.deepEqual(
          listed.map((d) => [d.name, d.state]),
          [
            ['crm', 'active'],
            ['device-platform', 'active'],
          ],
        );
        assert.match(String(listed[0]!.url), /^http:\/\/127\.0\.0\.1:\d+\/crm$/, "the sample receiver's URL, as serve uses it");

        r = await cli('destinations', 'pause', 'crm');
        assert.equal(r.code, 0, explain(r));
        assert.match(r.stdout, /^crm paused; \d+ deliveries waiting\n$/);
        const paused = (await fromApi()).find((d) => d.name === 'crm')!;
        assert.deepEqual([paused.state, paused.paused_reason], ['paused', 'manual']);

        await request(url).post('/admin/v1/destinations/crm/resume').set('Authorization', `Bearer ${adminKey}`).expect(200);
        r = await cli('destinations');
        assert.equal(r.code, 0, explain(r));
        const lines = r.stdout.trimEnd().split('\n');
        assert.equal(lines.length, 2);
        assert.match(lines[0]!, new RegExp(`^crm +active +queue \\d+ +in flight \\d+ +dead \\d+ +delivered \\d+ .*${listed[0]!.url as string}$`));
        // Aligned: the state column starts at the same place on every line.
        assert.equal(lines[0]!.indexOf('active'), lines[1]!.indexOf('active'));
      });

      it('refuses a command line in one line naming what to add, exit 2; other failures exit 1', async () => {
        const oneLine = (r: Exit) => {
          assert.equal(r.stdout, '', explain(r));
          assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, explain(r));
          assert.ok(!/\bat .*\.ts:\d+/.test(r.stderr), 'no stack trace');
        };
        let r = await cli('replay');
        assert.equal(r.code, 2, explain(r));
        oneLine(r);
        assert.equal(r.stderr, 'replay: give delivery ids, or --status dead --since TIME for a bulk replay\n');

        r = await cli('replay', '--status', 'dead');
        assert.equal(r.code, 2, explain(r));
        oneLine(r);
        assert.match(r.stderr, /^replay: --since is required with --status \(an RFC 3339 time/);

        // A request the replay service refuses names the option, as the API names the field.
        r = await cli('replay', '--status', 'dead', '--since', '2026-01-02T00:00:00Z', '--until', '2026-01-01T00:00:00Z');
        assert.equal(r.code, 2, explain(r));
        oneLine(r);
        assert.equal(r.stderr, 'replay: --until must be after since\n');

        r = await cli('destinations', 'pause');
        assert.equal(r.code, 2, explain(r));
        oneLine(r);
        assert.equal(r.stderr, "destinations pause: missing required argument 'name'\n");

        r = await cli('deliveries', 'list', '--limit', 'lots');
        assert.equal(r.code, 2, explain(r));
        oneLine(r);
        assert.match(r.stderr, /^deliveries list: option '--limit <n>' argument 'lots' is invalid/);

        r = await cli('destinations', 'pause', 'nope');
        assert.equal(r.code, 1, explain(r));
        oneLine(r);
        assert.equal(r.stderr, 'error [not_found]: destination nope not found\n');
      });

      it('deliveries show: the delivery, its event and every attempt; --json as the API answers', async () => {
        const [delivered] = ((await api('/admin/v1/deliveries?status=delivered&limit=1')).body as { deliveries: { id: string; event_id: number; destination: string }[] }).deliveries;
        assert.ok(delivered, `no delivery was delivered:\n${serveOutput.slice(-2000)}`);
        const answer = (await api(`/admin/v1/deliveries/${delivered.id}`)).body as Record<string, unknown> & { attempts_log: { status_code: number }[] };

        let r = await cli('deliveries', 'show', delivered.id, '--json');
        assert.equal(r.code, 0, explain(r));
        const shown = JSON.parse(r.stdout) as Record<string, unknown>;
        assert.ok(snakeCase(shown));
        assert.deepEqual(shown, answer);

        r = await cli('deliveries', 'show', delivered.id);
        assert.equal(r.code, 0, explain(r));
        assert.equal(r.stderr, '');
        const text = r.stdout.split('\n');
        assert.match(text[0]!, new RegExp(`^delivery +${delivered.id}  delivered, delivered \\d{4}-`));
        assert.match(r.stdout, new RegExp(`^destination +${delivered.destination}$`, 'm'));
        assert.match(r.stdout, new RegExp(`^event +${delivered.event_id}  meter\\.[a-z.-]+  occurred \\S+  origin \\w+`, 'm'));
        const header = text.findIndex((l) => /^# +trigger +started +duration +status +outcome +answer +error$/.test(l));
        assert.ok(header > 0, r.stdout);
        assert.equal(text.slice(header + 1).filter(Boolean).length, answer.attempts_log.length);
        assert.match(text[header + 1]!, /^1 +scheduled +\d{4}-\S+ +\d+(\.\d)? m?s +200 +delivered/);

        r = await cli('deliveries', 'show', 'msg_nope');
        assert.deepEqual([r.code, r.stderr], [1, 'error [not_found]: delivery msg_nope not found\n']);
      });

      it('sync runs: recent runs as the API lists them, and a table', async () => {
        const fromApi = ((await api('/admin/v1/sync/runs?limit=5')).body as { runs: Record<string, unknown>[] }).runs;
        assert.ok(fromApi.length >= 1);
        let r = await cli('sync', 'runs', '--limit', '5', '--json');
        assert.equal(r.code, 0, explain(r));
        const runs = jsonLines(r.stdout);
        assert.ok(runs.every(snakeCase));
        assert.deepEqual(runs, fromApi);

        r = await cli('sync', 'runs');
        assert.equal(r.code, 0, explain(r));
        const [header, ...rows] = r.stdout.trimEnd().split('\n');
        assert.match(header!, /^id +kind +status +started +duration +pages +meters +changed +events +error$/);
        const first = fromApi[0] as { id: string; kind: string; status: string; pages: number; meters_seen: number };
        assert.match(rows[0]!, new RegExp(`^${first.id}  ${first.kind} +${first.status} +\\S+ +\\S+( m?s)? +${first.pages} +${first.meters_seen} `));
        assert.equal(header!.indexOf('kind'), rows[0]!.indexOf(first.kind));

        r = await cli('sync', 'runs', '--limit', '0');
        assert.equal(r.code, 2, explain(r));
        assert.match(r.stderr, /^sync runs: .*--limit must be an integer from 1 to 200\n$/);
      });

      it('events: the most recent first, a meter and a type; --after-id pages as the API does', async () => {
        const oldest = ((await api('/admin/v1/events?limit=5')).body as { events: Record<string, unknown>[] }).events;
        assert.equal(oldest.length, 5);
        let r = await cli('events', '--after-id', '0', '--limit', '5', '--json');
        assert.equal(r.code, 0, explain(r));
        const paged = jsonLines(r.stdout);
        assert.ok(paged.every(snakeCase));
        assert.deepEqual(paged, oldest);

        const meter = oldest[0]!.meter_id as string;
        const ofMeter = ((await api(`/admin/v1/events?meter_id=${meter}&limit=500`)).body as { events: { id: number }[] }).events;
        r = await cli('events', '--meter', meter, '--json');
        assert.equal(r.code, 0, explain(r));
        assert.deepEqual(jsonLines(r.stdout), [...ofMeter].reverse().slice(0, 50), 'newest first');

        r = await cli('events', '--type', 'meter.created', '--limit', '3');
        assert.equal(r.code, 0, explain(r));
        assert.equal(r.stderr, '');
        const [header, ...rows] = r.stdout.trimEnd().split('\n');
        assert.match(header!, /^id +occurred +type +meter +seq +origin +changes$/);
        assert.equal(rows.filter((l) => !l.startsWith('(more')).length, 3);
        for (const row of rows.slice(0, 3)) assert.match(row, /^\d+ +\d{4}-\S+ +meter\.created +\S+ +1 +\w+/);
        const ids = rows.slice(0, 3).map((l) => Number(l.split(' ')[0]));
        assert.deepEqual(ids, [...ids].sort((a, b) => b - a));

        r = await cli('events', '--type', 'meter.exploded');
        assert.equal(r.code, 2, explain(r));
        assert.match(r.stderr, /^events: option '--type <type>' argument 'meter\.exploded' is invalid\. Allowed choices are meter\.created, /);
      });

      it('logs go to stderr only when asked: LOG_LEVEL or --verbose', async () => {
        const quiet = await cli('deliveries', 'list', '--limit', '2', '--json');
        assert.equal(quiet.code, 0, explain(quiet));
        assert.equal(quiet.stderr, '');
        assert.equal(jsonLines(quiet.stdout).length, 2);
        assert.ok(jsonLines(quiet.stdout).every(snakeCase));
        // A paused destination is a warning: it shows without being asked.
        const paused = await cli('destinations', 'pause', 'device-platform');
        assert.match(paused.stderr, /"level":"warn".*destination device-platform paused by hand/);
        const resumed = await cli('--verbose', 'destinations', 'resume', 'device-platform', '--json');
        assert.equal(resumed.code, 0, explain(resumed));
        assert.equal((JSON.parse(resumed.stdout) as { state: string }).state, 'active');
        assert.match(resumed.stderr, /"level":"info".*destination device-platform resumed by hand/);
        env = { ...env, LOG_LEVEL: 'error' };
        try {
          const silenced = await cli('--verbose', 'destinations', 'pause', 'device-platform');
          assert.equal(silenced.stderr, '', 'LOG_LEVEL decides over --verbose');
        } finally {
          delete env.LOG_LEVEL;
          await cli('destinations', 'resume', 'device-platform');
        }
      });
    });
  }
});
