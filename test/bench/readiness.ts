/**
 * bench:readiness — the partner's readiness API under load. Figures are printed, never asserted.
 *
 *   npm run bench:readiness                          # SQLite, 100,000 meters, 3 runs
 *   npm run bench:readiness -- --engine mysql        # MariaDB (TEST_MYSQL_URL or mysql://root@127.0.0.1:3306/test)
 *   npm run bench:readiness -- --meters 20000 --runs 1 --seconds 5
 *
 * A connector is synced once from the simulator (N meters stored), then runs `serve` in a child
 * process, as `npm start` runs it, with its scheduled sync and delivery off. autocannon (in this
 * process) sends:
 * 1. single `PUT /api/v1/meters/{id}/readiness`, cycling through the ACTIVE meters and
 *    alternating ready / not_ready per round so that every request writes: requests/s and p99;
 * 2. the same load against a bare express route that does nothing, in its own child process: the
 *    ceiling of this machine, and the ratio of the two;
 * 3. `POST /api/v1/readiness/batch` with 1,000 items, one at a time: p50 and p99.
 * Peak RSS of the connector child is printed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import express from 'express';
import { compose } from '../../src/compose/compose';
import { parseConfig } from '../../src/config/load';
import { createKnex } from '../../src/db/knex';
import { migrateLatest } from '../../src/db/migrate';
import { silentLogger } from '../../src/logger';
import { startSimulator } from '../../src/simulator';
import { freshDatabase } from '../helpers/db';
import { argNumber, argString, median, percentile, startNodeOptions } from './figures';
import { freePort } from '../helpers/ports';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin/leap-connector.js');
const KEY = 'bench-partner-key-0123456789';
const SIM_KEY = 'bench-sim-key-0123456789';
const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function waitFor(url: string, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${url} did not answer`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `serve` in a child, as npm start runs it; answers its pid (for its peak RSS) and a stop. */
async function connectorChild(databaseUrl: string, leapUrl: string, dir: string): Promise<{ url: string; child: ChildProcess; stop(): Promise<number> }> {
  const port = await freePort();
  const file = path.join(dir, 'connector.yaml');
  writeFileSync(
    file,
    [
      'server: { port: ' + port + ', host: 127.0.0.1 }',
      'log: { level: warn }',
      'sync: { enabled: false }',
      'delivery: { enabled: false }',
      'api:',
      '  keys:',
      `    - { name: bench, key: ${KEY}, scopes: [partner] }`,
      '',
    ].join('\n'),
  );
  const child = fork(BIN, ['--config', file, 'serve'], {
    execArgv: startNodeOptions(),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl, LEAP_API_KEY: SIM_KEY, LEAP_BASE_URL: leapUrl },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/healthz`);
  return {
    url,
    child,
    async stop() {
      // Peak RSS from /proc before the process goes (VmHWM: the high-water mark of its resident set).
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      return hwm;
    },
  };
}

/** A bare express route that does nothing but read its JSON body, in its own process: the ceiling. */
async function bareChild(): Promise<{ url: string; stop(): Promise<void> }> {
  const child = fork(__filename, ['--bare'], { execArgv: ['--require', 'tsx/cjs'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve((m as { port: number }).port)));
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** Single PUTs for `seconds`, cycling through the meters; each round flips the answer so every request writes. */
async function singles(url: string, meters: readonly string[], seconds: number, connections: number): Promise<{ rps: number; p99: number; non2xx: number; errors: number }> {
  let i = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'PUT',
        setupRequest: (req) => {
          const n = i++;
          const id = meters[n % meters.length]!;
          const status = Math.floor(n / meters.length) % 2 === 0 ? 'ready' : 'not_ready';
          return { ...req, path: `/api/v1/meters/${id}/readiness`, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ status }) };
        },
      },
    ],
  });
  return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

/** 1,000-item batches one after another; the latencies. */
async function batches(url: string, meters: readonly string[], count: number): Promise<number[]> {
  const out: number[] = [];
  for (let b = 0; b < count; b++) {
    const start = (b * 1000) % Math.max(1, meters.length - 1000);
    const items = meters.slice(start, start + 1000).map((meter_id) => ({ meter_id, status: b % 2 === 0 ? 'not_ready' : 'ready', reason: `batch ${b}` }));
    const t = performance.now();
    const res = await fetch(`${url}/api/v1/readiness/batch`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ items }) });
    const body = (await res.json()) as { applied?: number; unchanged?: number; errors?: number };
    out.push(performance.now() - t);
    // Every item answered (a meter already in that state is unchanged, which still reads and locks it).
    if (res.status !== 200 || body.errors !== 0 || (body.applied ?? 0) + (body.unchanged ?? 0) !== items.length) throw new Error(`batch ${b}: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
  }
  return out;
}

async function main(): Promise<void> {
  const engine = argString('engine', 'sqlite') as 'sqlite' | 'mysql';
  const meterCount = argNumber('meters', 100_000);
  const runs = argNumber('runs', 3);
  const seconds = argNumber('seconds', 10);
  const connections = argNumber('connections', 16);
  const batchCount = argNumber('batches', 20);
  if (engine === 'mysql') process.env.TEST_MYSQL_URL ??= 'mysql://root@127.0.0.1:3306/test';

  const sim = await startSimulator({ meters: meterCount, seed: 3, apiKey: SIM_KEY });
  const db = await freshDatabase(engine, 'bench_readiness');
  const dir = mkdtempSync(path.join(tmpdir(), 'leap-connector-bench-readiness-'));
  try {
    // Store the portfolio once: a full sync, in this process.
    const knex = createKnex(db.url, { poolMax: 4 });
    await migrateLatest(knex);
    const config = parseConfig('leap:\n  page_size: 500\n  rate_limit: { requests_per_second: 1000, max_concurrent: 4 }\n', 'bench', { LEAP_API_KEY: SIM_KEY, LEAP_BASE_URL: sim.url });
    const c = compose(config, { db: knex, logger: silentLogger, destinations: { all: () => [], get: () => undefined } });
    const t = performance.now();
    await c.sync.run({ kind: 'full', trigger: 'bench' });
    const syncS = (performance.now() - t) / 1000;
    await c.close();
    const active = ((await knex('meters').where({ enrollment_status: 'ACTIVE', is_archived: false }).select('meter_id')) as { meter_id: string }[]).map((m) => m.meter_id);
    await knex.destroy();
    console.log(`\n${f(meterCount)} meters stored on ${engine} (full sync ${f(syncS, 1)} s); ${f(active.length)} ACTIVE meters answered in turn`);

    const rows: { rps: number; p99: number; bareRps: number; bareP99: number; batchP50: number; batchP99: number; rss: number; failures: number }[] = [];
    for (let r = 0; r < runs; r++) {
      const bare = await bareChild();
      const ceiling = await singles(bare.url, active, seconds, connections);
      await bare.stop();
      const conn = await connectorChild(db.url, sim.url, dir);
      const single = await singles(conn.url, active, seconds, connections);
      const lat = await batches(conn.url, active, batchCount);
      const rss = await conn.stop();
      rows.push({ rps: single.rps, p99: single.p99, bareRps: ceiling.rps, bareP99: ceiling.p99, batchP50: median(lat), batchP99: percentile(lat, 99), rss, failures: single.non2xx + single.errors });
    }
    const row = (label: string, pick: (x: (typeof rows)[number]) => number, fmt: (v: number) => string) => {
      const xs = rows.map(pick);
      console.log(`  ${label.padEnd(52)}${fmt(median(xs)).padStart(10)}   (${fmt(Math.min(...xs))} – ${fmt(Math.max(...xs))})`);
    };
    console.log(`PUT .../readiness, ${connections} connections, ${seconds} s, every request writes (median of ${runs} runs, range)`);
    row('connector, writes/s', (x) => x.rps, (v) => f(v));
    row('connector, p99 ms', (x) => x.p99, (v) => f(v));
    row('bare express route, requests/s', (x) => x.bareRps, (v) => f(v));
    row('bare express route, p99 ms', (x) => x.bareP99, (v) => f(v));
    row('ratio connector / bare', (x) => x.rps / x.bareRps, (v) => f(v, 2));
    row('non-2xx answers and errors', (x) => x.failures, (v) => f(v));
    console.log(`POST /api/v1/readiness/batch, 1,000 items, ${batchCount} one after another`);
    row('p50 ms', (x) => x.batchP50, (v) => f(v));
    row('p99 ms', (x) => x.batchP99, (v) => f(v));
    row('connector peak RSS, MB', (x) => x.rss, (v) => f(v));
  } finally {
    await sim.close();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--bare')) {
  const app = express();
  app.use(express.json());
  app.put('/api/v1/meters/:id/readiness', (_req, res) => {
    res.json({});
  });
  const server = app.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as net.AddressInfo).port }));
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
