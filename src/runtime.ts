import { compose, type Composed, type Overrides } from './compose';
import { loadConfig, type LoadConfigOptions } from './config/load';
import type { Config } from './config/schema';
import { deepFreeze } from './config/load';
import type { Logger } from './logger';
import { startSimulator, type RunningSimulator } from './simulator';

export interface Runtime {
  composed: Composed;
  /** The built-in Leap simulator, when no Leap API key is configured. */
  simulator: RunningSimulator | null;
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
}

/** Config → (demo simulator) → compose → migrate when configured to, or insist the schema is current. */
export async function openRuntime(opts: OpenOptions = {}): Promise<Runtime> {
  const loaded = opts.config ?? loadConfig(opts).config;
  const { config, simulator } = opts.needsLeap === false ? { config: withoutLeap(loaded), simulator: null } : await withDemoLeap(loaded);
  const composed = compose(config, opts.overrides);
  const close = async () => {
    await composed.close();
    await simulator?.close();
  };
  try {
    if (simulator) (opts.announce ?? ((line, logger) => logger.info(line)))(demoLine(config, simulator), composed.logger);
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
  return { composed, simulator, close };
}
