import { existsSync, readdirSync } from 'node:fs';
import { configWith, loadConfig, type LoadConfigOptions } from '../config/load';
import type { Config } from '../config/schema';
import type { Logger } from '../logger';
import type { RunningSimulator } from '../simulator';
import { compose, type Composed, type Overrides } from './compose';
import { demoConsoleKey, demoDestinations, demoLine, startDemoPartner, withApiKey, withDemoLeap, withLogLevel, type DemoPartner } from './demo';

export interface Runtime {
  composed: Composed;
  /** The built-in Leap simulator, when no Leap API key is configured. */
  simulator: RunningSimulator | null;
  /** The sample partner receiver the demo delivers to, when no destination is configured. */
  receiverUrl: string | null;
  /** The demo's sample partner, when it runs. */
  partner: DemoPartner | null;
  /** The file holding the demo's console key, when the demo made one. */
  consoleKeyFile: string | null;
  close(): Promise<void>;
}

/** For commands that never call Leap: a stand-in key keeps the client constructible; it is never sent. */
function withoutLeap(config: Readonly<Config>): Readonly<Config> {
  if (config.leap.api_key) return config;
  return configWith(config, (c) => {
    c.leap.api_key = 'unused-by-this-command';
  });
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
  /** In the demo, log warnings and errors only: serve shows a live status line on the terminal instead. */
  quietDemo?: boolean;
}

function hasDestinationFiles(dir: string | null): boolean {
  return dir !== null && existsSync(dir) && readdirSync(dir).some((f) => /\.ya?ml$/i.test(f));
}

/** Config → (demo simulator) → compose → migrate when configured to, or insist the schema is current. */
export async function openRuntime(opts: OpenOptions = {}): Promise<Runtime> {
  const loaded = opts.config ?? loadConfig(opts).config;
  const demo = opts.needsLeap === false ? { config: withoutLeap(loaded), simulator: null } : await withDemoLeap(loaded);
  const { simulator } = demo;
  // The demo (no Leap key, no destination files) delivers through the example destinations: every
  // command sees them, so the CLI agrees with serve's API; serve also runs the receiver they point at.
  const demoDelivery = !loaded.leap.api_key && !opts.overrides?.destinations && !hasDestinationFiles(loaded.destinations.dir);
  const partner = simulator && opts.demoPartner && demoDelivery ? await startDemoPartner(demo.config) : null;
  const destinations = partner?.destinations ?? (demoDelivery ? demoDestinations(demo.config) : undefined);
  // The sample partner confirms readiness with a key of its own.
  const withPartner = partner ? withApiKey(demo.config, partner.apiKey) : demo.config;
  // The demo's console opens with a key of its own when none is configured.
  const consoleKey = partner ? demoConsoleKey(withPartner) : null;
  const keyed = consoleKey ? withApiKey(withPartner, consoleKey.key) : withPartner;
  const config = simulator && opts.quietDemo ? withLogLevel(keyed, 'warn') : keyed;
  let composed: Composed;
  try {
    composed = compose(config, destinations ? { ...opts.overrides, destinations } : opts.overrides);
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
      const own = opts.demoPartner ? '' : ' This command runs a simulator of its own: to use the one serve runs, set LEAP_BASE_URL to the simulator URL serve printed and LEAP_API_KEY to its simulator.api_key.';
      const line = demoLine(config, simulator) + own + (partner ? ` Deliveries go to the sample receiver at ${partner.url} through the example CRM and device-platform destinations (add files to ${config.destinations.dir ?? 'a destinations folder beside the configuration file'} to use your own).` : '');
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
  return { composed, simulator, receiverUrl: partner?.url ?? null, partner, consoleKeyFile: consoleKey?.file ?? null, close };
}
