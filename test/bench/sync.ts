/**
 * bench:sync — the sync engine against the Leap simulator. Figures are printed, never asserted.
 * Each measurement runs the connector in its own child process, so peak RSS belongs to that run
 * alone; the simulator (Leap's side) runs in a process of its own, as Leap would.
 *
 *   npm run bench:sync                                   # SQLite, 100k and 300k meters, 3 runs each, rate-limited pass
 *   npm run bench:sync -- --engine mysql                 # the same on MariaDB (TEST_MYSQL_URL or mysql://root@127.0.0.1:3306/test)
 *   npm run bench:sync -- --sizes 20000 --runs 1         # a quick look
 *   npm run bench:sync -- --sizes 20000 --runs 1 --profile sync.cpuprofile   # CPU profile of the first sync
 */
import { fork, type ChildProcess } from 'node:child_process';
import { parseConfig } from '../../src/config/load';
import { freshDatabase } from '../helpers/db';
import { silentLogger } from '../../src/logger';
import { openRuntime } from '../../src/compose/runtime';
import { startSimulator } from '../../src/simulator';
import { argNumber, argString, median, profiled, startNodeOptions } from './figures';

type Engine = 'sqlite' | 'mysql';

interface ChildArgs {
  mode: 'sizes' | 'rate';
  engine: Engine;
  meters: number;
  rate?: number;
}

interface SizeResult {
  meters: number;
  firstMs: number;
  noChangeIncrementalMs: number;
  noChangeFullMs: number;
  changedMs: number;
  changedMeters: number;
  changedEvents: number;
  peakRssMb: number;
  /** Share of the first sync the connector spent waiting (for Leap's pages): its event loop idle. */
  firstIdleShare: number;
  /** CPU time of the connector's process (every thread) over the first sync's wall time. */
  firstCores: number;
}

interface RateResult {
  meters: number;
  rate: number;
  pages: number;
  ms: number;
  floorMs: number;
  throttled429: number;
  simulator429: number;
}


type SimulatorRequest = { op: 'change'; every: number } | { op: 'rate-limited' };

/** Leap's side in a process of its own: the connector's memory and CPU are measured without it. */
async function simulatorProcess(args: ChildArgs): Promise<void> {
  const sim = await startSimulator({ meters: args.meters, seed: 42, apiKey: 'bench-key-0123456789', rateLimit: args.rate, start: new Date('2026-06-10T12:00:00Z') });
  process.on('message', (m: SimulatorRequest) => {
    if (m.op === 'change') {
      // 1 % of the meters, sampled without building every id.
      let changed = 0;
      for (const id of sim.simulator.meterIds({ every: m.every })) {
        sim.simulator.editDetails(id, { address: true });
        changed += 1;
      }
      process.send!({ changed });
    } else process.send!({ rateLimited: sim.simulator.state().faults.injected.rateLimit ?? 0 });
  });
  process.on('disconnect', () => void sim.close().then(() => process.exit(0)));
  process.send!({ url: sim.url });
}

interface RemoteSimulator {
  url: string;
  ask<T>(req: SimulatorRequest): Promise<T>;
  close(): void;
}

async function startSimulatorProcess(args: ChildArgs): Promise<RemoteSimulator> {
  const p: ChildProcess = fork(__filename, ['--simulator', JSON.stringify(args)], { execArgv: ['--require', 'tsx/cjs'], stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  let exited: Error | null = null;
  const waiting = new Set<(err: Error) => void>();
  p.once('exit', (code) => {
    exited = new Error(`the simulator process exited (${code})`);
    for (const fail of waiting) fail(exited);
  });
  // An answer, or the simulator's death: a crashed simulator fails the run instead of hanging it.
  const next = <T>() =>
    new Promise<T>((resolve, reject) => {
      if (exited) return reject(exited);
      waiting.add(reject);
      p.once('message', (m) => {
        waiting.delete(reject);
        resolve(m as T);
      });
    });
  const { url } = await next<{ url: string }>();
  return {
    url,
    ask: <T>(req: SimulatorRequest) => {
      const answer = next<T>();
      p.send(req);
      return answer;
    },
    close: () => p.disconnect(),
  };
}

async function child(args: ChildArgs): Promise<SizeResult | RateResult> {
  const db = await freshDatabase(args.engine);
  const sim = await startSimulatorProcess(args);
  const rps = args.rate ?? 1000;
  const config = parseConfig(
    [
      'leap:',
      '  page_size: 500',
      `  rate_limit: { requests_per_second: ${rps}, max_concurrent: ${args.rate ? 1 : 4} }`,
      '  retry: { max_attempts: 8, base_delay_ms: 200, max_delay_ms: 5000 }',
      'log: { level: warn }',
      'sync: { enabled: false }',
    ].join('\n'),
    'bench.yaml',
    { LEAP_API_KEY: 'bench-key-0123456789', LEAP_BASE_URL: sim.url, DATABASE_URL: db.url },
  );
  const runtime = await openRuntime({ config, overrides: { logger: silentLogger } });
  const sync = runtime.composed.sync;
  try {
    if (args.mode === 'rate') {
      const t0 = performance.now();
      const r = await sync.run({ kind: 'full', trigger: 'bench' });
      const ms = performance.now() - t0;
      const stats = runtime.composed.leap.stats();
      const { rateLimited } = await sim.ask<{ rateLimited: number }>({ op: 'rate-limited' });
      return { meters: args.meters, rate: args.rate!, pages: r.pages, ms, floorMs: (stats.requests / args.rate!) * 1000, throttled429: stats.throttled429, simulator429: rateLimited };
    }
    let t0 = performance.now();
    const loop = performance.eventLoopUtilization();
    const cpu = process.cpuUsage();
    await profiled(() => sync.run({ kind: 'incremental', trigger: 'bench' }));
    const firstMs = performance.now() - t0;
    const used = process.cpuUsage(cpu);
    const firstCores = (used.user + used.system) / 1000 / firstMs;
    const firstIdleShare = 1 - performance.eventLoopUtilization(loop).utilization;
    t0 = performance.now();
    await sync.run({ kind: 'incremental', trigger: 'bench' });
    const noChangeIncrementalMs = performance.now() - t0;
    t0 = performance.now();
    await sync.run({ kind: 'full', trigger: 'bench' });
    const noChangeFullMs = performance.now() - t0;
    const { changed } = await sim.ask<{ changed: number }>({ op: 'change', every: 100 });
    t0 = performance.now();
    const r = await sync.run({ kind: 'incremental', trigger: 'bench' });
    const changedMs = performance.now() - t0;
    return {
      meters: args.meters,
      firstMs,
      noChangeIncrementalMs,
      noChangeFullMs,
      changedMs,
      changedMeters: changed,
      changedEvents: r.events,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      firstIdleShare,
      firstCores,
    };
  } finally {
    await runtime.close();
    sim.close();
    await db.drop();
  }
}

function runChild(args: ChildArgs): Promise<SizeResult | RateResult> {
  return new Promise((resolve, reject) => {
    const profile = argString('profile', '');
    const p = fork(__filename, ['--child', JSON.stringify(args), ...(profile && args.mode === 'sizes' ? ['--profile', profile] : [])], { execArgv: ['--require', 'tsx/cjs', ...startNodeOptions()], stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
    p.once('message', (m) => resolve(m as SizeResult | RateResult));
    p.once('exit', (code) => (code ? reject(new Error(`bench child exited ${code}`)) : undefined));
  });
}

const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main(): Promise<void> {
  const engine = argString('engine', 'sqlite') as Engine;
  const sizes = argString('sizes', '100000,300000').split(',').map(Number);
  const runs = argNumber('runs', 3);
  const rate = argNumber('rate', 2);
  const rateMeters = argNumber('rate-meters', 10000);
  console.log(`bench:sync on ${engine}, ${runs} run(s) per size; medians (min–max)\n`);
  for (const meters of sizes) {
    const results: SizeResult[] = [];
    for (let i = 0; i < runs; i++) results.push((await runChild({ mode: 'sizes', engine, meters })) as SizeResult);
    const row = (label: string, pick: (r: SizeResult) => number, unit: (v: number) => string) => {
      const vs = results.map(pick);
      console.log(`  ${label.padEnd(38)} ${unit(median(vs)).padStart(14)}   (${unit(Math.min(...vs))} – ${unit(Math.max(...vs))})`);
    };
    console.log(`${f(meters)} meters (Leap v2: details and enrollments, page_size 500)`);
    row('first sync, meters/s', (r) => (r.meters * 1000) / r.firstMs, (v) => f(v));
    row('  of which waiting for Leap, %', (r) => r.firstIdleShare * 100, (v) => f(v, 1));
    row('  connector CPU, cores busy', (r) => r.firstCores, (v) => f(v, 2));
    row('full reconcile, nothing changed, meters/s', (r) => (r.meters * 1000) / r.noChangeFullMs, (v) => f(v));
    row('  ratio to the first sync', (r) => r.firstMs / r.noChangeFullMs, (v) => `${f(v, 1)}×`);
    row('incremental, nothing changed, ms', (r) => r.noChangeIncrementalMs, (v) => f(v));
    row('incremental, 1 % changed, meters/s', (r) => (r.changedMeters * 1000) / r.changedMs, (v) => f(v));
    row('incremental, 1 % changed, ms', (r) => r.changedMs, (v) => f(v));
    row('connector peak RSS, MB', (r) => r.peakRssMb, (v) => f(v));
    console.log('');
  }
  const rateRuns: RateResult[] = [];
  for (let i = 0; i < runs; i++) rateRuns.push((await runChild({ mode: 'rate', engine, meters: rateMeters, rate })) as RateResult);
  const ratio = median(rateRuns.map((r) => r.ms / r.floorMs));
  console.log(`rate-limited: simulator allows ${rate} requests/s, full sync of ${f(rateMeters)} meters`);
  console.log(`  requests ${f(median(rateRuns.map((r) => r.floorMs * rate / 1000)))}, floor (requests ÷ R) ${f(median(rateRuns.map((r) => r.floorMs / 1000)), 1)} s, took ${f(median(rateRuns.map((r) => r.ms / 1000)), 1)} s: ${f(ratio, 3)}× the floor`);
  console.log(`  429s seen by the client: ${rateRuns.map((r) => r.throttled429).join(', ')}; answered by the simulator: ${rateRuns.map((r) => r.simulator429).join(', ')}`);
}

if (process.argv.includes('--simulator')) {
  void simulatorProcess(JSON.parse(process.argv[process.argv.indexOf('--simulator') + 1]!) as ChildArgs);
} else if (process.argv.includes('--child')) {
  const args = JSON.parse(process.argv[process.argv.indexOf('--child') + 1]!) as ChildArgs;
  child(args).then(
    (r) => process.send!(r, () => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
