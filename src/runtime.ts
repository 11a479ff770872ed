import { compose, type Composed, type Overrides } from './compose';
import { loadConfig, type LoadConfigOptions } from './config/load';
import type { Config } from './config/schema';
import { deepFreeze } from './config/load';
import type { Logger } from './logger';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { generateSecret } from './domain/signing';
import { loadDestinationsDir } from './mapping/destinations';
import type { DestinationSource } from './domain/destination';
import { startSimulator, type RunningSimulator } from './simulator';
import { startReceiver } from './simulator/receiver';

/** The example destinations the demo delivers to (beside src/, or beside dist/src once compiled). */
const EXAMPLES_DIR = [path.resolve(__dirname, '..', 'config', 'examples'), path.resolve(__dirname, '..', '..', 'config', 'examples')].find((d) => existsSync(d)) ?? path.resolve('config', 'examples');

export interface Runtime {
  composed: Composed;
  /** The built-in Leap simulator, when no Leap API key is configured. */
  simulator: RunningSimulator | null;
  /** The sample partner receiver the demo delivers to, when no destination is configured. */
  receiverUrl: string | null;
  close(): Promise<void>;
}

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
  return { config: deepFreeze(demo), simulator };
}

/** For commands that never call Leap: a stand-in key keeps the client constructible; it is never sent. */
function withoutLeap(config: Readonly<Config>): Readonly<Config> {
  if (config.leap.api_key) return config;
  return deepFreeze({ ...structuredClone(config as Config), leap: { ...structuredClone(config.leap as Config['leap']), api_key: 'unused-by-this-command' } });
}

export function demoLine(config: Readonly<Config>, simulator: RunningSimulator): string {
  const s = config.simulator;
  return `No LEAP_API_KEY set: using the built-in Leap simulator at ${simulator.url} (${s.meters} meters, seed ${s.seed}, Leap API ${config.leap.api_version}); data in ${config.database.url}. Set LEAP_API_KEY to talk to Leap.`;
}

export interface OpenOptions extends LoadConfigOptions {
  config?: Readonly<Config>;
  overrides?: Partial<Overrides>;
  /** Tell the user about the demo simulator (serve and sync do). */
  announce?: (line: string, logger: Logger) => void;
  /** False for commands that never call Leap (support commands): no demo simulator is started for them. */
  needsLeap?: boolean;
  /** In the demo, with no destination files, deliver to the sample receiver through the example destinations (serve). */
  demoPartner?: boolean;
}

function hasDestinationFiles(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).some((f) => /\.ya?ml$/i.test(f));
}

/**
 * The demo's partner side: the sample receiver on a free port, and the two example destinations
 * (CRM and device platform) pointed at it with fresh secrets.
 */
async function demoPartner(): Promise<{ destinations: DestinationSource; url: string; close(): Promise<void> }> {
  const crmSecret = generateSecret();
  const devicesSecret = generateSecret();
  const receiver = await startReceiver({ secrets: [crmSecret, devicesSecret] });
  const { destinations, problems } = loadDestinationsDir(EXAMPLES_DIR, {
    CRM_WEBHOOK_URL: `${receiver.url}/crm`,
    CRM_WEBHOOK_SECRET: crmSecret,
    DEVICE_PLATFORM_URL: `${receiver.url}/devices`,
    DEVICE_PLATFORM_SECRET: devicesSecret,
  });
  if (problems.length) {
    await receiver.close();
    throw new Error(`the example destinations do not load:\n${problems.join('\n')}`);
  }
  return { destinations: { all: () => destinations, get: (n) => destinations.find((d) => d.name === n) }, url: receiver.url, close: () => receiver.close() };
}

/** Config → (demo simulator) → compose → migrate when configured to, or insist the schema is current. */
export async function openRuntime(opts: OpenOptions = {}): Promise<Runtime> {
  const loaded = opts.config ?? loadConfig(opts).config;
  const { config, simulator } = opts.needsLeap === false ? { config: withoutLeap(loaded), simulator: null } : await withDemoLeap(loaded);
  const partner = simulator && opts.demoPartner && !opts.overrides?.destinations && !hasDestinationFiles(path.resolve(config.destinations.dir)) ? await demoPartner() : null;
  let composed: Composed;
  try {
    composed = compose(config, partner ? { ...opts.overrides, destinations: partner.destinations } : opts.overrides);
  } catch (err) {
    await partner?.close();
    await simulator?.close();
    throw err;
  }
  const close = async () => {
    await composed.close();
    await partner?.close();
    await simulator?.close();
  };
  try {
    if (simulator) {
      const line = demoLine(config, simulator) + (partner ? ` Deliveries go to the sample receiver at ${partner.url} through the example CRM and device-platform destinations (add files to ${config.destinations.dir} to use your own).` : '');
      (opts.announce ?? ((l, logger) => logger.info(l)))(line, composed.logger);
    }
    if (config.database.migrate_on_start) {
      const applied = await composed.database.migrateLatest();
      if (applied.length) composed.logger.info('migrations applied', { migrations: applied });
    } else {
      const status = await composed.database.migrationStatus();
      if (!status.current) composed.logger.warn('database schema is behind and migrate_on_start is off: run `leap-connector migrate latest`', { pending: status.pending });
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { composed, simulator, receiverUrl: partner?.url ?? null, close };
}
