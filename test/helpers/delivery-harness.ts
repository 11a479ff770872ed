import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import request from 'supertest';
import YAML from 'yaml';
import { buildProgram } from '../../src/cli/program';
import { WebhookSender } from '../../src/clients/webhook-sender';
import { compose, type Composed } from '../../src/compose/compose';
import type { Config } from '../../src/config/schema';
import { ManualClock } from '../../src/domain/clock';
import type { MeterEvent } from '../../src/domain/events';
import { createKnex } from '../../src/db/knex';
import { silentLogger } from '../../src/logger';
import type { Destination } from '../../src/domain/destination';
import { loadDestinationsDir } from '../../src/mapping/destinations';
import type { DestinationSource } from '../../src/domain/destination';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import type { Attempt, Delivery } from '../../src/stores/deliveries/rows';
import type { DestinationState } from '../../src/stores/destination-state-store';
import { testConfig } from './config';
import { createTestDb, type Engine, type TestDb } from './db';

export const ADMIN_KEY = 'delivery-admin-key-0123456789';
export const PARTNER_KEY = 'delivery-partner-key-0123456789';
const SIM_KEY = 'sim-key-0123456789';

/** Two fixed Standard Webhooks secrets (32 random-looking bytes each), for rotation tests. */
export const SECRET = 'whsec_S2V5T25lLWRlbGl2ZXJ5LXRlc3RzLXNlY3JldC0wMDE=';
export const SECRET_2 = 'whsec_S2V5VHdvLWRlbGl2ZXJ5LXRlc3RzLXNlY3JldC0wMDI=';

/** A destination file as an object; written as YAML. Anything the DSL accepts. */
export interface DestinationSpec {
  url: string;
  events?: string[];
  secrets?: (string | { secret: string; expires_at?: string })[];
  enabled?: boolean;
  filter?: string;
  timeout?: string;
  rate_limit_per_second?: number | null;
  concurrency?: number;
  retry?: { schedule?: string[]; jitter?: number };
  dead_on?: number[];
  pause_after_failures?: number;
  headers?: Record<string, string>;
  mapping?: Record<string, unknown>;
}

export function destinationYaml(spec: DestinationSpec): string {
  return YAML.stringify({ events: ['*'], secrets: [SECRET], mapping: { external_id: 'partner_reference' }, ...spec });
}

/** Destinations loaded from a folder; `reload()` swaps in what the folder holds now (a new source, as after a fixed mapping). */
export class FolderDestinations implements DestinationSource {
  private current: Destination[] = [];
  constructor(
    readonly dir: string,
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  write(name: string, yamlText: string): void {
    writeFileSync(path.join(this.dir, `${name}.yaml`), yamlText);
  }

  reload(): void {
    const { destinations, problems } = loadDestinationsDir(this.dir, this.env);
    if (problems.length) throw new Error(`destination files have problems:\n${problems.join('\n')}`);
    this.current = destinations;
  }

  all(): Destination[] {
    return [...this.current];
  }

  get(name: string): Destination | undefined {
    return this.current.find((d) => d.name === name);
  }
}

export interface DeliveryHarnessOptions {
  /** A database to use (emptied first, kept at close), e.g. from sharedTestDb; default a new one. */
  db?: TestDb;
  /** Destination name → its file (a spec or YAML text). */
  destinations: Record<string, DestinationSpec | string>;
  meters?: number;
  seed?: number;
  apiVersion?: 'v1' | 'v2';
  /** Environment for `${VAR}` in destination files. */
  env?: NodeJS.ProcessEnv;
  /** A manual clock (the default) or the system clock. */
  clock?: 'manual' | 'system';
  /** The source of retry jitter (default Math.random). */
  random?: () => number;
  /** delivery.poll_interval (default 50ms). */
  pollInterval?: string;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DeliveryHarness {
  engine: Engine;
  db: TestDb;
  sim: RunningSimulator;
  config: Readonly<Config>;
  /** Moves only when a test says so (null with the system clock). */
  clock: ManualClock | null;
  destinations: FolderDestinations;
  composed: Composed;
  /** One incremental sync pass; returns the events it wrote. */
  sync(): Promise<MeterEvent[]>;
  /** Start the worker (idempotent); until then deliveries only queue up. */
  start(): void;
  /** Start the worker if need be, and let it send everything due now and record the results. */
  settle(): Promise<void>;
  /** Move the manual clock on, then settle. */
  advance(ms: number): Promise<void>;
  deliveries(destination?: string): Promise<Delivery[]>;
  delivery(id: string): Promise<Delivery>;
  attempts(id: string): Promise<Attempt[]>;
  state(destination: string): Promise<DestinationState>;
  /** supertest against the app, authenticated with the admin key unless told otherwise. */
  api(): request.Agent;
  /** The real CLI program, in this process, against this database and destinations folder. */
  cli(...args: string[]): Promise<CliResult>;
  /** Another connector (its own owner, connection pool and sender) on the same database and destinations. */
  sibling(owner: string): Promise<Composed>;
  close(): Promise<void>;
}

const YAML_KEYS = ['api:', '  keys:', `    - { name: support, key: ${ADMIN_KEY}, scopes: [admin] }`, `    - { name: crm, key: ${PARTNER_KEY}, scopes: [partner] }`].join('\n');

/**
 * A migrated database on `engine`, the Leap simulator, destinations written to a temporary folder,
 * and the connector composed against them with a manual clock (by default). The worker starts at
 * the first settle(), advance() or start(), so a test can look at what was queued first.
 */
export async function deliveryHarness(engine: Engine, opts: DeliveryHarnessOptions): Promise<DeliveryHarness> {
  const db = opts.db ?? (await createTestDb(engine));
  if (opts.db) await emptyTables(db);
  const sim = await startSimulator({ meters: opts.meters ?? 3, seed: opts.seed ?? 7, apiKey: SIM_KEY, webhookTimeScale: 0.001 });
  const dir = mkdtempSync(path.join(tmpdir(), 'delivery-destinations-'));
  const destinations = new FolderDestinations(dir, opts.env ?? {});
  try {
    for (const [name, spec] of Object.entries(opts.destinations)) destinations.write(name, typeof spec === 'string' ? spec : destinationYaml(spec));
    destinations.reload();
  } catch (err) {
    // A destination file the test got wrong must not leave a simulator, a database or a folder behind.
    await sim.close();
    if (!opts.db) await db.destroy();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const yaml = [
    'leap:',
    `  api_version: ${opts.apiVersion ?? 'v2'}`,
    `  account_id: ${sim.simulator.accountId}`,
    '  page_size: 50',
    '  rate_limit: { requests_per_second: 1000, max_concurrent: 4 }',
    '  retry: { max_attempts: 3, base_delay_ms: 5, max_delay_ms: 50 }',
    `delivery: { poll_interval: ${opts.pollInterval ?? '50ms'} }`,
    YAML_KEYS,
  ].join('\n');
  const config = testConfig(yaml, { LEAP_API_KEY: SIM_KEY, LEAP_BASE_URL: sim.url });
  // Whole seconds, so webhook-timestamp and HTTP dates line up exactly with the clock.
  const clock = opts.clock === 'system' ? null : new ManualClock(new Date(Math.floor(Date.now() / 1000) * 1000));
  const now = clock ? () => clock.now().getTime() : Date.now;
  const senders: WebhookSender[] = [];
  const composeOne = (knex: TestDb['knex'], owner: string): Composed => {
    const sender = new WebhookSender({ now });
    senders.push(sender);
    return compose(config, { db: knex, logger: silentLogger, destinations, sender, owner, ...(clock ? { clock } : {}), ...(opts.random ? { random: opts.random } : {}) });
  };
  const composed = composeOne(db.knex, 'worker-a');
  const siblings: { composed: Composed; close: () => Promise<void> }[] = [];
  let configFile: string | null = null;

  const h: DeliveryHarness = {
    engine,
    db,
    sim,
    config,
    clock,
    destinations,
    composed,
    async sync() {
      const result = await composed.sync.run({ kind: 'incremental', trigger: 'test' });
      return result.runId ? composed.stores.events.list({ syncRunId: result.runId }, 100_000) : [];
    },
    start: () => composed.worker.start(),
    async settle() {
      composed.worker.start();
      await composed.worker.drain();
    },
    async advance(ms) {
      if (!clock) throw new Error('advance() needs the manual clock');
      clock.advance(ms);
      await h.settle();
    },
    async deliveries(destination) {
      return (await composed.stores.deliveries.scan(destination ? { destination } : {}, null, 100_000)).sort((a, b) => a.meterId.localeCompare(b.meterId) || a.sequence - b.sequence || a.destination.localeCompare(b.destination));
    },
    async delivery(id) {
      const d = await composed.stores.deliveries.get(id);
      if (!d) throw new Error(`no delivery ${id}`);
      return d;
    },
    attempts: (id) => composed.stores.attempts.list(id),
    state: (destination) => composed.stores.destinationStates.get(destination),
    api: () => request.agent(composed.app).set('Authorization', `Bearer ${ADMIN_KEY}`),
    async cli(...args) {
      if (!configFile) {
        configFile = path.join(dir, '..', `${path.basename(dir)}.connector.yaml`);
        writeFileSync(
          configFile,
          YAML.stringify({ database: { url: db.url, migrate_on_start: false }, destinations: { dir, watch: false }, log: { level: 'error' }, sync: { enabled: false }, delivery: { enabled: false } }),
        );
      }
      return runCli(['--config', configFile, ...args], opts.env ?? {});
    },
    async sibling(owner) {
      // A second pool on the same database, as a second process would have.
      const knex = createKnex(db.url, { poolMax: 10 });
      const other = composeOne(knex, owner);
      siblings.push({
        composed: other,
        close: async () => {
          await other.close();
          await knex.destroy();
        },
      });
      return other;
    },
    async close() {
      for (const s of siblings) await s.close();
      await composed.close();
      for (const s of senders) await s.close();
      await sim.close();
      if (!opts.db) await db.destroy();
      rmSync(dir, { recursive: true, force: true });
      if (configFile) rmSync(configFile, { force: true });
    },
  };
  return h;
}

/**
 * One migrated database for the tests of the enclosing describe (mocha hooks), so each test pays
 * for emptying the tables rather than for creating and migrating a database.
 */
export function sharedTestDb(engine: Engine): () => TestDb {
  let db: TestDb | undefined;
  before(async () => {
    db = await createTestDb(engine);
  });
  after(async () => {
    await db?.destroy();
  });
  return () => {
    if (!db) throw new Error('sharedTestDb: only inside a test');
    return db;
  };
}

async function emptyTables(db: TestDb): Promise<void> {
  const rows =
    db.engine === 'sqlite'
      ? ((await db.knex.raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")) as { name: string }[])
      : ((await db.knex.raw('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()')) as [{ name: string }[]])[0];
  const tables = rows.map((r) => r.name).filter((t) => !t.startsWith('knex_migrations'));
  // Children before the meters they reference.
  tables.sort((a, b) => Number(b === 'meter_group_assignments') - Number(a === 'meter_group_assignments'));
  for (const t of tables) await db.knex(t).del();
}

/**
 * Runs the CLI program in this process with console output captured; `${VAR}`s of destination
 * files are read from process.env there, so `env` is set for the duration.
 */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  console.log = (...parts: unknown[]) => void out.push(parts.map(String).join(' '));
  console.error = (...parts: unknown[]) => void err.push(parts.map(String).join(' '));
  let code = 0;
  try {
    const program = buildProgram();
    // Every command, not only the root: a usage error must throw here, never exit the test process.
    const quiet = (c: Command): void => {
      c.exitOverride().configureOutput({ writeOut: (s) => void out.push(s.trimEnd()), writeErr: (s) => void err.push(s.trimEnd()) });
      c.commands.forEach(quiet);
    };
    quiet(program);
    await program.parseAsync(['node', 'leap-connector', ...args]);
  } catch (e) {
    code = 1;
    err.push(e instanceof Error ? e.message : String(e));
  } finally {
    console.log = log;
    console.error = error;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** Waits until `check` holds, polling; fails with `what` if it never does (a hung worker must not hang the suite). */
export async function until(check: () => boolean | Promise<boolean>, what: string, limitMs = 15_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
