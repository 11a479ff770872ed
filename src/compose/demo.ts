import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configWith, deepFreeze } from '../config/load';
import type { Config } from '../config/schema';
import type { Destination, DestinationSource } from '../domain/destination';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import type { ApiKeyConfig } from '../config/schema';
import { generateSecret } from '../domain/signing';
import { loadDestinationsDir } from '../mapping/destinations';
import { startReceiver } from '../receiver/receiver';
import { LeapWebhooksService } from '../services/leap-webhooks-service';
import { startSimulator, type RunningSimulator } from '../simulator';
import type { Composed } from './compose';

/** The example destinations the demo delivers to (from src/compose, or from dist/src/compose once compiled). */
const EXAMPLES_DIR = [path.resolve(__dirname, '..', '..', 'config', 'examples'), path.resolve(__dirname, '..', '..', '..', 'config', 'examples')].find((d) => existsSync(d)) ?? path.resolve('config', 'examples');

/**
 * Without a Leap API key the connector runs against the built-in simulator in this process:
 * the demo and development default. Returns the configuration pointed at it.
 */
export async function withDemoLeap(config: Readonly<Config>): Promise<{ config: Readonly<Config>; simulator: RunningSimulator | null }> {
  if (config.leap.api_key) return { config, simulator: null };
  const s = config.simulator;
  const simulator = await startSimulator({ meters: s.meters, seed: s.seed, apiKey: s.api_key, evolveEverySeconds: s.evolve_every_seconds || undefined });
  const accountId = simulator.simulator.accountId;
  const demo: Config = {
    ...structuredClone(config as Config),
    leap: { ...structuredClone(config.leap as Config['leap']), api_key: s.api_key, base_url: simulator.url, account_id: config.leap.account_id || accountId },
  };
  // The demo's world moves every evolve_every_seconds: poll as often, and hear its webhooks (with a
  // header secret of its own, as Leap's would carry), so that changes show within a minute.
  if (s.evolve_every_seconds > 0) demo.sync.incremental_every = `${s.evolve_every_seconds}s`;
  if (!demo.leap_events.secret) demo.leap_events.secret = `demo_${randomBytes(24).toString('base64url')}`;
  return { config: deepFreeze(demo), simulator };
}

export function demoLine(config: Readonly<Config>, simulator: RunningSimulator): string {
  const s = config.simulator;
  return `No LEAP_API_KEY set: using the built-in Leap simulator at ${simulator.url} (${s.meters} meters, seed ${s.seed}, Leap API ${config.leap.api_version}); data in ${config.database.url}. Set LEAP_API_KEY to talk to Leap.`;
}

/**
 * Subscribe the connector's /leap/events to the demo simulator's webhooks, as `leap-webhooks
 * register` does with Leap: the simulator then announces each change as it happens.
 */
export async function subscribeToDemoWebhooks(composed: Composed, connectorUrl: string): Promise<void> {
  const c = composed.config.leap_events;
  if (!c.enabled) return;
  await new LeapWebhooksService(composed.leap, { headerName: c.header_name, secret: c.secret, publicUrl: `${connectorUrl}/leap/events` }).register();
}

export interface DemoPartner {
  destinations: DestinationSource;
  url: string;
  /** The partner key the sample receiver confirms readiness with (kept in memory only). */
  apiKey: ApiKeyConfig;
  /** Start confirming readiness to the connector once it listens. */
  confirmReadinessAt(connectorUrl: string): void;
  close(): Promise<void>;
}

/** How long the demo's partner takes to commission an activated meter's devices. */
const DEMO_CONFIRM_DELAY_MS = 3000;

/** A file of the demo's beside the SQLite database; null when the database is not a SQLite file. */
function besideDatabase(config: Readonly<Config>, name: string): string | null {
  const m = /^sqlite:(.+)$/.exec(config.database.url);
  if (!m || m[1] === ':memory:') return null;
  return path.join(path.dirname(m[1]!), name);
}

/** Where serve's demo says which URL its sample receiver listens on, so other commands show the destinations it delivers to. */
export const DEMO_RECEIVER_FILE = 'sample-receiver.url';

/** The receiver's URL file: beside a SQLite database, else in a temporary folder named after the database. */
function receiverFile(config: Readonly<Config>): string {
  const digest = createHash('sha256').update(config.database.url).digest('hex').slice(0, 16);
  return besideDatabase(config, DEMO_RECEIVER_FILE) ?? path.join(tmpdir(), `leap-connector-demo-${digest}`, DEMO_RECEIVER_FILE);
}

/** Where the demo keeps its console key: a file beside the SQLite database, readable by its owner only. */
export const DEMO_CONSOLE_KEY_FILE = 'console.key';

/**
 * The demo's key for the support console, when no admin key is configured: made once and kept in
 * a file beside the SQLite database, so a restart keeps its sessions. Never printed or logged: the
 * start line names the file. Null when an admin key exists or the database is not a SQLite file.
 */
export function demoConsoleKey(config: Readonly<Config>): { key: ApiKeyConfig; file: string } | null {
  if (!config.console.enabled || config.api.keys.some((k) => k.scopes.includes('admin'))) return null;
  const file = besideDatabase(config, DEMO_CONSOLE_KEY_FILE);
  if (!file) return null;
  let key = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (key.length < 16) {
    key = `demo_console_${randomBytes(24).toString('base64url')}`;
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
  }
  return { key: { name: 'demo:console', key, scopes: ['admin'] }, file };
}

/** The configuration logging at another level. */
export function withLogLevel(config: Readonly<Config>, level: Config['log']['level']): Readonly<Config> {
  return configWith(config, (c) => {
    c.log.level = level;
  });
}

/** The configuration with one more API key (the demo partner's). */
export function withApiKey(config: Readonly<Config>, key: ApiKeyConfig): Readonly<Config> {
  return configWith(config, (c) => {
    c.api.keys = [...c.api.keys, key];
  });
}

/**
 * The demo's partner side: the sample receiver on a free port, and the two example destinations
 * (CRM and device platform) pointed at it with fresh secrets. Like a partner's device platform,
 * it confirms dispatch readiness for the meters it hears activated, a few seconds later.
 */
export async function startDemoPartner(config: Readonly<Config>): Promise<DemoPartner> {
  const crmSecret = generateSecret();
  const devicesSecret = generateSecret();
  const receiver = await startReceiver({ secrets: [crmSecret, devicesSecret] });
  let destinations: Destination[];
  try {
    destinations = exampleDestinations(receiver.url, crmSecret, devicesSecret);
  } catch (err) {
    await receiver.close();
    throw err;
  }
  const file = receiverFile(config);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${receiver.url}\n`);
  const apiKey: ApiKeyConfig = { name: 'demo:sample-receiver', key: `demo_${randomBytes(24).toString('base64url')}`, scopes: ['partner'] };
  return {
    destinations: sourceOf(destinations),
    url: receiver.url,
    apiKey,
    confirmReadinessAt: (connectorUrl) => receiver.receiver.confirmReadinessVia({ connectorUrl, apiKey: apiKey.key, delayMs: DEMO_CONFIRM_DELAY_MS }),
    close: () => receiver.close(),
  };
}

/** The two example destinations pointed at a sample receiver's URL. */
function exampleDestinations(receiverUrl: string, crmSecret: string, devicesSecret: string): Destination[] {
  const { destinations, problems } = loadDestinationsDir(EXAMPLES_DIR, {
    CRM_WEBHOOK_URL: `${receiverUrl}/crm`,
    CRM_WEBHOOK_SECRET: crmSecret,
    DEVICE_PLATFORM_URL: `${receiverUrl}/devices`,
    DEVICE_PLATFORM_SECRET: devicesSecret,
  });
  if (problems.length) throw new Error(`the example destinations do not load:\n${problems.join('\n')}`);
  return destinations;
}

const sourceOf = (destinations: Destination[]): DestinationSource => ({ all: () => destinations, get: (n) => destinations.find((d) => d.name === n) });

/**
 * The demo's destinations as every other command sees them (they send nothing, so the secrets
 * are fresh and unused): the examples at the receiver URL serve last recorded, or at the
 * examples' own placeholder URL when serve has not run on this database.
 */
export function demoDestinations(config: Readonly<Config>): DestinationSource {
  const file = receiverFile(config);
  const url = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (url) return sourceOf(exampleDestinations(url, generateSecret(), generateSecret()));
  const { destinations, problems } = loadDestinationsDir(EXAMPLES_DIR, {});
  if (problems.length) throw new Error(`the example destinations do not load:\n${problems.join('\n')}`);
  return sourceOf(destinations);
}
