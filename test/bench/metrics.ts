/**
 * bench:metrics — what a Prometheus scrape costs with a deep delivery queue. Figures are printed, never asserted.
 *
 *   npm run bench:metrics                          # SQLite: 100,000 deliveries queued, 10,000 meters, 9 scrapes
 *   npm run bench:metrics -- --engine mysql        # MariaDB (TEST_MYSQL_URL or mysql://root@127.0.0.1:3306/test)
 *   npm run bench:metrics -- --deliveries 300000 --meters 0 --runs 5
 *
 * A connector on a fresh database syncs N meters from the simulator (meters, readiness, cursors,
 * a sync run), then D deliveries are queued over two destinations, five per meter (so most wait in
 * line behind their meter's first), with a realistic 1 KB body. `GET /metrics` is then fetched over
 * HTTP from the listening app, the first scrape (which also registers the process metrics) apart,
 * and the median and range of the rest are printed. The target is a scrape under 200 ms on SQLite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { compose } from '../../src/compose/compose';
import { parseConfig } from '../../src/config/load';
import { createKnex } from '../../src/db/knex';
import { migrateLatest } from '../../src/db/migrate';
import { messageId } from '../../src/domain/ids';
import { silentLogger } from '../../src/logger';
import { startSimulator } from '../../src/simulator';
import type { DeliveryQueueStore } from '../../src/stores/deliveries/queue-store';
import type { NewDelivery } from '../../src/stores/deliveries/rows';
import { destinationYaml, FolderDestinations } from '../helpers/delivery-harness';
import { freshDatabase } from '../helpers/db';
import { argNumber, argString, median } from './figures';

type Engine = 'sqlite' | 'mysql';
const SIM_KEY = 'bench-sim-key-0123456789';
const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main(): Promise<void> {
  const engine = argString('engine', 'sqlite') as Engine;
  const deliveries = argNumber('deliveries', 100_000);
  const meterCount = argNumber('meters', 10_000);
  const runs = argNumber('runs', 9);
  if (engine === 'mysql') process.env.TEST_MYSQL_URL ??= 'mysql://root@127.0.0.1:3306/test';

  const fresh = await freshDatabase(engine, 'bench');
  const knex = createKnex(fresh.url, { poolMax: 10 });
  await migrateLatest(knex);
  const sim = await startSimulator({ meters: Math.max(1, meterCount), seed: 3, apiKey: SIM_KEY });
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-metrics-destinations-'));
  const destinations = new FolderDestinations(dir);
  for (const name of ['crm', 'devices']) destinations.write(name, destinationYaml({ url: 'http://127.0.0.1:9/hooks' }));
  destinations.reload();
  const config = parseConfig('sync: { enabled: false }\ndelivery: { enabled: false }\n', 'bench.yaml', { LEAP_API_KEY: SIM_KEY, LEAP_BASE_URL: sim.url });
  const c = compose(config, { db: knex, logger: silentLogger, destinations });
  const server = c.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  try {
    if (meterCount > 0) {
      const t = performance.now();
      await c.sync.run({ kind: 'incremental', trigger: 'bench' });
      console.log(`synced ${f(await c.stores.meters.count())} meters in ${f((performance.now() - t) / 1000, 1)} s`);
    }
    const t = performance.now();
    await queue(c.db, c.stores.deliveryQueue, deliveries);
    console.log(`queued ${f(deliveries)} deliveries in ${f((performance.now() - t) / 1000, 1)} s`);

    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    const scrape = async (): Promise<{ ms: number; text: string }> => {
      const start = performance.now();
      const res = await fetch(url);
      const text = await res.text();
      if (!res.ok) throw new Error(`GET /metrics answered ${res.status}: ${text.slice(0, 200)}`);
      return { ms: performance.now() - start, text };
    };
    const first = await scrape();
    const times: number[] = [];
    let last = first.text;
    for (let i = 0; i < runs; i++) {
      const s = await scrape();
      times.push(s.ms);
      last = s.text;
    }
    const depth = last.split('\n').filter((l) => l.startsWith('leap_connector_delivery_queue_depth{'));
    console.log(`\nbench:metrics on ${engine}: ${f(deliveries)} deliveries queued, ${f(meterCount)} meters; ${runs} scrapes after the first`);
    console.log(`  first scrape (registers the process metrics): ${f(first.ms, 1)} ms`);
    console.log(`  scrape median: ${f(median(times), 1)} ms (${f(Math.min(...times), 1)}–${f(Math.max(...times), 1)}); ${f(Buffer.byteLength(last))} bytes`);
    for (const line of depth) console.log(`  ${line}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await c.close();
    await knex.destroy();
    await sim.close();
    await fresh.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `n` deliveries over two destinations, five per meter, in transactions of 2,000 as the outbox writes them. */
async function queue(db: Knex, store: DeliveryQueueStore, n: number): Promise<void> {
  const body = JSON.stringify({ type: 'meter.details.updated', data: { note: 'x'.repeat(900) } });
  const created = new Date(Date.now() - 3_600_000);
  for (let i = 0; i < n; i += 2000) {
    const rows: NewDelivery[] = [];
    for (let j = i; j < Math.min(n, i + 2000); j++) {
      const meter = Math.floor(j / 10);
      const createdAt = new Date(created.getTime() + j);
      rows.push({
        id: messageId(createdAt.getTime()),
        destination: j % 2 ? 'devices' : 'crm',
        eventId: null,
        meterId: `00000000-0000-4000-8000-${String(meter).padStart(12, '0')}`,
        sequence: Math.floor((j % 10) / 2) + 1,
        eventType: 'meter.details.updated',
        status: 'pending',
        body,
        recordHash: String(j),
        createdAt,
      });
    }
    await db.transaction((trx) => store.insertMany(trx, rows));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
