import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compose, type Composed } from './compose';
import { loadConfig, type LoadConfigOptions } from './config/load';
import type { Config } from './config/schema';

export interface RunningService {
  composed: Composed;
  server: Server;
  url: string;
  stop(): Promise<void>;
}

export interface ServeOptions extends LoadConfigOptions {
  /** Replace the loaded configuration (tests). */
  config?: Readonly<Config>;
  /** Install SIGINT/SIGTERM handlers (the CLI does; tests don't). */
  handleSignals?: boolean;
}

/** Load config → compose → migrate (if enabled) → listen; signals → graceful stop. */
export async function serve(opts: ServeOptions = {}): Promise<RunningService> {
  const config = opts.config ?? loadConfig(opts).config;
  const composed = compose(config);
  const { logger } = composed;
  const log = logger.child({ component: 'main' });
  try {
    if (config.database.migrate_on_start) {
      const applied = await composed.database.migrateLatest();
      if (applied.length) log.info('migrations applied', { migrations: applied });
    } else {
      const status = await composed.database.migrationStatus();
      if (!status.current) log.warn('database schema is behind and migrate_on_start is off: run `leap-connector migrate latest`', { pending: status.pending });
    }
  } catch (err) {
    await composed.close();
    throw err;
  }

  const server = composed.app.listen(config.server.port, config.server.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const addr = server.address() as AddressInfo;
  const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
  const url = `http://${host}:${addr.port}`;
  log.info(`leap-connector listening on ${url}`, { database: composed.database.dialect });

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info('stopping');
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await composed.close();
      log.info('stopped');
    })();
    return stopping;
  };

  if (opts.handleSignals) {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn(`second ${signal}: exiting now`);
        process.exit(1);
      }
      log.info(`${signal} received`);
      stop().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error('error while stopping', { err });
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('unhandledRejection', (reason) => log.error('unhandled promise rejection', { err: reason }));
  }
  return { composed, server, url, stop };
}
