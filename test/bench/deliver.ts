/**
 * bench:deliver — outbound delivery throughput and latency. Figures are printed, never asserted.
 *
 *   npm run bench:deliver                          # SQLite, 3 runs
 *   npm run bench:deliver -- --engine mysql        # MariaDB (TEST_MYSQL_URL or mysql://root@127.0.0.1:3306/test)
 *   npm run bench:deliver -- --events 5000 --runs 1 --concurrency 32 --rate 50
 *   npm run bench:deliver -- --runs 1 --profile deliver.cpuprofile   # CPU profile of the burst's sending
 *
 * 1. Burst: N events (meters × 4 event types, mapped with the CRM example) are committed to the
 *    outbox, then the delivery worker sends them to the sample receiver (in a child process,
 *    answering 200 at once): deliveries per second, and p50/p99 from commit to acknowledgement.
 * 2. Beside it, a plain keep-alive HTTP POST loop with the same bodies at the same concurrency,
 *    to the same receiver, and the ratio of the two; and the connector's sender alone (no queue,
 *    no database), which splits the gap between HTTP and the rest.
 * 3. Paced: events committed at a steady rate below capacity (70 % of what one process can map,
 *    commit and deliver together): commit-to-acknowledgement latency.
 * 4. A receiver that allows R requests per second (429 beyond) and a destination limited to R:
 *    the achieved rate against R, and the 429s.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { parseDocument } from 'yaml';
import path from 'node:path';
import { compose, type Composed } from '../../src/compose/compose';
import { parseConfig } from '../../src/config/load';
import { createKnex } from '../../src/db/knex';
import { freshDatabase } from '../helpers/db';
import { migrateLatest } from '../../src/db/migrate';
import { meterView, type MeterEvent, type MeterEventType } from '../../src/domain/events';
import type { LeapMeterDetails, LeapMeterEnrollment } from '../../src/domain/leap-types';
import { normalizeV2 } from '../../src/domain/normalize-v2';
import { generateSecret, webhookHeaders } from '../../src/domain/signing';
import { silentLogger } from '../../src/logger';
import { loadDestinationsDir } from '../../src/mapping/destinations';
import type { DestinationSource } from '../../src/domain/destination';
import { Simulator } from '../../src/simulator';
import { Transactor } from '../../src/stores/transaction';
import { startReceiver } from '../../src/receiver/receiver';
import { WebhookSender } from '../../src/clients/webhook-sender';
import { startMisbehavingReceiver } from '../helpers/misbehaving-receiver';
import { argNumber, argString, median, percentile, profiled, receiverState } from './figures';

type Engine = 'sqlite' | 'mysql';

const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });


/** The sample receiver in its own process, so it does not share the connector's CPU. */
async function receiverChild(secret: string): Promise<{ port: number; child: ChildProcess; count(): Promise<number>; reset(): Promise<void> }> {
  const child = fork(__filename, ['--receiver', secret], { execArgv: ['--require', 'tsx/cjs'], stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve((m as { port: number }).port)));
  const state = (method: 'GET' | 'DELETE') => receiverState(port, method);
  return { port, child, count: async () => Number((await state('GET')).accepted ?? 0), reset: async () => void (await state('DELETE')) };
}

/**
 * A receiver allowing `rate` requests per second (429 beyond, over a sliding second) in its own
 * process, as a partner's is: in the bench's process its clock would stop with the connector's
 * event loop, and requests that waited for it would arrive bunched.
 */
async function limitedReceiverChild(secret: string, rate: number): Promise<{ url: string; child: ChildProcess; rateLimited(): Promise<number> }> {
  const child = fork(__filename, ['--limited-receiver', secret, String(rate)], { execArgv: ['--require', 'tsx/cjs'], stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolve) => child.once('message', (m) => resolve((m as { url: string }).url)));
  const rateLimited = () =>
    new Promise<number>((resolve) => {
      child.once('message', (m) => resolve((m as { rateLimited: number }).rateLimited));
      child.send('count');
    });
  return { url, child, rateLimited };
}

function destinationFile(dir: string, url: string, secret: string, opts: { concurrency: number; rate?: number }): DestinationSource {
  // The CRM example, pointed at the bench receiver: its real mapping is part of what is measured.
  const doc = parseDocument(readFileSync(path.join(__dirname, '..', '..', 'config', 'examples', 'crm.yaml'), 'utf8'));
  doc.set('url', url);
  doc.set('events', ['*']);
  doc.set('secrets', [secret]);
  doc.set('concurrency', opts.concurrency);
  if (opts.rate) doc.set('rate_limit_per_second', opts.rate);
  else doc.delete('rate_limit_per_second');
  writeFileSync(path.join(dir, 'crm.yaml'), doc.toString());
  const { destinations, problems } = loadDestinationsDir(dir, {});
  if (problems.length) throw new Error(problems.join('\n'));
  return { all: () => destinations, get: (n) => destinations.find((d) => d.name === n) };
}

const TYPES: MeterEventType[] = ['meter.created', 'meter.enrollment.global-status.updated', 'meter.enrollment.activated', 'meter.enrollment.group.updated'];

/** N events over N/4 simulated meters, four per meter, in sequence order. */
function makeEvents(n: number, sim: Simulator): MeterEvent[] {
  const ids = sim.meterIds({ limit: Math.ceil(n / TYPES.length), includeArchived: true });
  const views = ids.map((id) => {
    const v = sim.meter(id);
    return meterView(normalizeV2(v.details as unknown as LeapMeterDetails, v.enrollment as unknown as LeapMeterEnrollment));
  });
  const out: MeterEvent[] = [];
  for (let i = 0; i < n; i++) {
    const meter = views[i % views.length]!;
    const seq = Math.floor(i / views.length) + 1;
    out.push({ id: i + 1, meter_id: meter.meter_id, sequence: seq, type: TYPES[(seq - 1) % TYPES.length]!, occurred_at: new Date().toISOString(), origin: 'poll', sync_run_id: null, meter, changes: seq > 1 ? [{ path: 'enrollment.status', from: 'ELIGIBLE', to: 'ACTIVE' }] : null });
  }
  return out;
}

async function enqueue(c: Composed, events: MeterEvent[], commits: Map<number, number>): Promise<void> {
  for (let i = 0; i < events.length; i += 500) {
    const batch = events.slice(i, i + 500);
    await new Transactor(c.db).run((tx) => c.outbox.enqueue(tx, batch));
    const at = Date.now();
    for (const e of batch) commits.set(e.id, at);
  }
}

async function latencies(c: Composed, commits: Map<number, number>): Promise<number[]> {
  const rows = (await c.db('delivery_attempts as a').join('deliveries as d', 'd.id', 'a.delivery_id').where('a.outcome', 'delivered').select('d.event_id', 'a.started_at', 'a.duration_ms')) as {
    event_id: number | string;
    started_at: string;
    duration_ms: number | string;
  }[];
  return rows.map((r) => new Date(`${String(r.started_at).replace(' ', 'T')}Z`).getTime() + Number(r.duration_ms) - commits.get(Number(r.event_id))!);
}

interface BurstResult {
  sent: number;
  dead: number;
  perSecond: number;
  p50: number;
  p99: number;
  enqueuePerSecond: number;
  plainPerSecond: number;
  senderPerSecond: number;
  pacedP50: number;
  pacedP99: number;
  pacedRate: number;
}

async function setup(engine: Engine, destinations: DestinationSource): Promise<{ c: Composed; drop(): Promise<void> }> {
  const db = await freshDatabase(engine);
  const knex = createKnex(db.url, { poolMax: 10 });
  await migrateLatest(knex);
  const config = parseConfig('delivery: { poll_interval: 200ms }\nsync: { enabled: false }\n', 'bench.yaml', { LEAP_API_KEY: 'unused-by-this-bench', DATABASE_URL: db.url });
  const c = compose(config, { db: knex, logger: silentLogger, destinations });
  return {
    c,
    drop: async () => {
      await c.close();
      await knex.destroy();
      await db.drop();
    },
  };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function burst(engine: Engine, n: number, concurrency: number, sim: Simulator): Promise<BurstResult> {
  const secret = generateSecret();
  const receiver = await receiverChild(secret);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-dest-'));
  const destinations = destinationFile(dir, `http://127.0.0.1:${receiver.port}/crm`, secret, { concurrency });
  const { c, drop } = await setup(engine, destinations);
  try {
    const events = makeEvents(n, sim);
    const commits = new Map<number, number>();
    let t0 = performance.now();
    await enqueue(c, events, commits);
    const enqueueMs = performance.now() - t0;
    // Commit-to-acknowledgement counts from when the worker could start, not from the earlier commits.
    const start = Date.now();
    for (const k of commits.keys()) commits.set(k, start);
    const queued = await c.stores.deliveries.count({ status: 'pending' });
    t0 = performance.now();
    await profiled(async () => {
      c.worker.start();
      // Watch the worker's own counters (counting rows every few milliseconds would take the CPU the
      // worker is measured on), then let it write its last results: done when nothing is left to send.
      await waitFor(async () => c.worker.counters.delivered + c.worker.counters.dead >= queued, 600_000);
      await c.worker.drain();
    });
    const ms = performance.now() - t0;
    if ((await c.stores.deliveries.count({ status: 'pending' })) + (await c.stores.deliveries.count({ status: 'delivering' }))) throw new Error('the burst ended with deliveries still queued');
    const sent = await c.stores.deliveries.count({ status: 'delivered' });
    const dead = await c.stores.deliveries.count({ status: 'dead' });
    const lat = await latencies(c, commits);

    // The same bodies, signed the same way, from a plain keep-alive POST loop at the same concurrency.
    const bodies = (await c.db('deliveries').select('id', 'body')) as { id: string; body: string }[];
    await receiver.reset();
    const plainPerSecond = await plainLoop(receiver.port, bodies, destinations, concurrency);
    await receiver.reset();
    const senderPerSecond = await senderLoop(receiver.port, bodies, destinations, concurrency);

    // Paced: commits at a steady rate under capacity.
    await receiver.reset();
    // Below capacity: this one process both maps and commits the events and delivers them, so the
    // rate is 70 % of what it can do of both together (1 / (1/commit rate + 1/delivery rate)).
    const pacedRate = Math.max(50, Math.floor(0.7 / (enqueueMs / n / 1000 + ms / sent / 1000)));
    const paced = makeEvents(Math.min(n, pacedRate * 10), sim).map((e) => ({ ...e, id: e.id + 10_000_000, sequence: e.sequence + 1000 }));
    const pacedCommits = new Map<number, number>();
    const tick = 100;
    const perTick = Math.max(1, Math.round((pacedRate * tick) / 1000));
    for (let i = 0; i < paced.length; i += perTick) {
      const slot = performance.now();
      const batch = paced.slice(i, i + perTick);
      await new Transactor(c.db).run((tx) => c.outbox.enqueue(tx, batch));
      const at = Date.now();
      for (const e of batch) pacedCommits.set(e.id, at);
      const wait = tick - (performance.now() - slot);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await c.worker.drain();
    const pacedLat = (await latencies(c, pacedCommits)).filter((x) => Number.isFinite(x));
    return {
      sent,
      dead,
      perSecond: (sent * 1000) / ms,
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      enqueuePerSecond: (n * 1000) / enqueueMs,
      plainPerSecond,
      senderPerSecond,
      pacedP50: percentile(pacedLat, 50),
      pacedP99: percentile(pacedLat, 99),
      pacedRate,
    };
  } finally {
    await drop();
    receiver.child.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function plainLoop(port: number, bodies: { id: string; body: string }[], destinations: DestinationSource, concurrency: number): Promise<number> {
  const d = destinations.all()[0]!;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const t0 = performance.now();
  const loop = async () => {
    for (;;) {
      const i = next++;
      if (i >= bodies.length) return;
      const b = bodies[i]!;
      const headers = { 'content-type': 'application/json', ...d.headers, ...webhookHeaders(d.secrets, `${b.id}_plain`, b.body, new Date()) };
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/crm', method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(b.body)) } }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('error', reject);
        req.end(b.body);
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  agent.destroy();
  return (bodies.length * 1000) / (performance.now() - t0);
}

/** The connector's own sender with the same bodies and headers, without the queue: what HTTP alone costs it. */
async function senderLoop(port: number, bodies: { id: string; body: string }[], destinations: DestinationSource, concurrency: number): Promise<number> {
  const d = destinations.all()[0]!;
  const sender = new WebhookSender();
  const target = { name: d.name, url: `http://127.0.0.1:${port}/crm`, timeoutMs: d.timeoutMs, ratePerSecond: null, concurrency };
  const t0 = performance.now();
  await Promise.all(
    bodies.map((b) =>
      sender.send(target, { headers: { 'content-type': 'application/json', 'user-agent': 'leap-connector', ...d.headers }, body: b.body, sign: { id: `${b.id}_sender`, secrets: d.secrets } }),
    ),
  );
  const perSecond = (bodies.length * 1000) / (performance.now() - t0);
  await sender.close();
  return perSecond;
}

async function rateLimited(engine: Engine, rate: number, sim: Simulator): Promise<{ achieved: number; received429: number; n: number }> {
  const secret = generateSecret();
  const receiver = await limitedReceiverChild(secret, rate);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-dest-'));
  const destinations = destinationFile(dir, `${receiver.url}/crm`, secret, { concurrency: 4, rate });
  const { c, drop } = await setup(engine, destinations);
  try {
    const n = rate * 20;
    await enqueue(c, makeEvents(n, sim), new Map());
    const t0 = performance.now();
    c.worker.start();
    await waitFor(async () => (await c.stores.deliveries.count({ status: 'pending' })) + (await c.stores.deliveries.count({ status: 'delivering' })) === 0, 600_000);
    const ms = performance.now() - t0;
    const sent = await c.stores.deliveries.count({ status: 'delivered' });
    return { achieved: ((sent - 1) * 1000) / ms, received429: await receiver.rateLimited(), n: sent };
  } finally {
    await drop();
    receiver.child.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const engine = argString('engine', 'sqlite') as Engine;
  const n = argNumber('events', 20000);
  const runs = argNumber('runs', 3);
  const concurrency = argNumber('concurrency', 32);
  const rate = argNumber('rate', 50);
  const sim = new Simulator({ meters: Math.ceil(n / 4) + 100, seed: 3, apiKey: 'bench' });
  console.log(`bench:deliver on ${engine}: ${f(n)} events, destination concurrency ${concurrency}, ${runs} run(s); medians (min–max)\n`);
  const results: BurstResult[] = [];
  for (let i = 0; i < runs; i++) results.push(await burst(engine, n, concurrency, sim));
  const row = (label: string, pick: (r: BurstResult) => number, fmt: (v: number) => string) => {
    const vs = results.map(pick);
    console.log(`  ${label.padEnd(46)} ${fmt(median(vs)).padStart(10)}   (${fmt(Math.min(...vs))} – ${fmt(Math.max(...vs))})`);
  };
  console.log(`  delivered ${results.map((r) => f(r.sent)).join(', ')}; dead (the CRM mapping requires fields some meters lack) ${results.map((r) => f(r.dead)).join(', ')}`);
  row('outbox writes (mapping + commit), events/s', (r) => r.enqueuePerSecond, (v) => f(v));
  row('connector deliveries/s', (r) => r.perSecond, (v) => f(v));
  row('plain POST loop, requests/s', (r) => r.plainPerSecond, (v) => f(v));
  row('ratio connector / plain', (r) => r.perSecond / r.plainPerSecond, (v) => f(v, 2));
  row('  the connector\'s sender alone (no queue), req/s', (r) => r.senderPerSecond, (v) => f(v));
  row('burst: commit → acknowledgement p50, ms', (r) => r.p50, (v) => f(v));
  row('burst: commit → acknowledgement p99, ms', (r) => r.p99, (v) => f(v));
  row('paced rate, events/s', (r) => r.pacedRate, (v) => f(v));
  row('paced: commit → acknowledgement p50, ms', (r) => r.pacedP50, (v) => f(v));
  row('paced: commit → acknowledgement p99, ms', (r) => r.pacedP99, (v) => f(v));
  const rl: { achieved: number; received429: number; n: number }[] = [];
  for (let i = 0; i < runs; i++) rl.push(await rateLimited(engine, rate, sim));
  const ach = median(rl.map((r) => r.achieved));
  console.log(`\nreceiver allowing ${rate} requests/s, destination rate_limit_per_second ${rate}, ${f(rl[0]!.n)} deliveries per run`);
  console.log(`  achieved ${f(ach, 1)}/s (${f((ach / rate) * 100, 1)} % of R; runs ${rl.map((r) => f(r.achieved, 1)).join(', ')}); 429s answered: ${rl.map((r) => r.received429).join(', ')}`);
}

if (process.argv.includes('--limited-receiver')) {
  const at = process.argv.indexOf('--limited-receiver');
  startMisbehavingReceiver({ secrets: [process.argv[at + 1]!] }).then((r) => {
    r.setRateLimit(Number(process.argv[at + 2]), 'seconds');
    process.send?.({ url: r.url });
    process.on('message', () => process.send?.({ rateLimited: r.rateLimited }));
    process.on('disconnect', () => void r.close().then(() => process.exit(0)));
  });
} else if (process.argv.includes('--receiver')) {
  const secret = process.argv[process.argv.indexOf('--receiver') + 1]!;
  startReceiver({ secrets: [secret], keep: 10 }).then((r) => {
    process.send?.({ port: r.port });
    process.on('disconnect', () => void r.close().then(() => process.exit(0)));
  });
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
