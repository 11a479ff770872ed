import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '../errors';
import type { Composed } from './compose';
import { subscribeToDemoWebhooks } from './demo';
import { StatusLine, statusFigures } from './status-line';
import { openRuntime, type OpenOptions } from './runtime';

export interface RunningService {
  composed: Composed;
  server: Server;
  url: string;
  stop(): Promise<void>;
}

export interface ServeOptions extends OpenOptions {
  /** Install SIGINT/SIGTERM handlers (the CLI does; tests don't). */
  handleSignals?: boolean;
  /** Draw the demo's live status line (default: on a terminal, unless LOG_LEVEL or LOG_FORMAT is set). */
  liveStatus?: boolean;
}

/** Load config → compose → migrate (if enabled) → listen → background work; signals → graceful stop. */
export async function serve(opts: ServeOptions = {}): Promise<RunningService> {
  // On a terminal, the demo draws a live status line instead of a scroll of logs (LOG_LEVEL or
  // LOG_FORMAT asks for the logs); elsewhere it logs as always.
  const live = opts.liveStatus ?? (Boolean(process.stderr.isTTY) && !process.env.LOG_LEVEL && !process.env.LOG_FORMAT);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const runtime = await openRuntime({ demoPartner: true, quietDemo: live, ...(live ? { announce: say } : {}), ...opts });
  const { composed } = runtime;
  const { config } = composed;
  const log = composed.logger.child({ component: 'main' });

  const server = composed.app.listen(config.server.port, config.server.host);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  } catch (err) {
    await runtime.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new AppError(409, 'port_in_use', `port ${config.server.port} on ${config.server.host} is in use by another process: stop it, or choose another with PORT or server.port`);
    }
    throw err;
  }
  const addr = server.address() as AddressInfo;
  const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
  const url = `http://${host}:${addr.port}`;
  log.info(`leap-connector listening on ${url}`, { database: composed.database.dialect, leap: config.leap.base_url, api_version: config.leap.api_version });
  if (config.console.enabled) {
    const signIn = runtime.consoleKeyFile
      ? `sign in with the demo's key, kept in ${runtime.consoleKeyFile}`
      : config.api.keys.some((k) => k.scopes.includes('admin'))
        ? 'sign in with an admin API key'
        : 'add an admin key (api.keys or ADMIN_API_KEY) to sign in';
    log.info(`support console at ${url}/console (${signIn})`);
  }
  await composed.start();
  runtime.partner?.confirmReadinessAt(url);
  let status: StatusLine | null = null;
  if (runtime.simulator) {
    await subscribeToDemoWebhooks(composed, url).catch((err: unknown) => log.warn('the simulator could not be subscribed to; changes show at the next poll', { err }));
    if (live) {
      for (const line of whereThingsAre(url, runtime.consoleKeyFile, config.console.enabled)) say(line);
      status = new StatusLine(process.stderr, () => statusFigures(composed));
      status.start();
    }
  }

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      status?.stop();
      log.info('stopping: finishing the current page and in-flight requests');
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.close();
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
    // SIGHUP reloads the destination files; a bad edit is reported and the last good version stays.
    process.on('SIGHUP', () => {
      const r = composed.registry?.reload();
      log.info('SIGHUP: destinations reloaded', { changed: r?.changed ?? [], problems: r?.problems.length ?? 0 });
    });
    process.on('unhandledRejection', (reason) => log.error('unhandled promise rejection', { err: reason }));
  }
  return { composed, server, url, stop };
}

/** The demo's first lines on a terminal: where to look. */
function whereThingsAre(url: string, consoleKeyFile: string | null, consoleOn: boolean): string[] {
  return [
    `leap-connector is running at ${url}`,
    ...(consoleOn ? [`  support console  ${url}/console${consoleKeyFile ? `  (sign in with the key in ${consoleKeyFile})` : ''}`] : []),
    `  partner API      ${url}/api/v1/meters`,
    `  API description  ${url}/docs  (OpenAPI: ${url}/openapi.json)`,
    `  metrics          ${url}/metrics`,
    'Ctrl-C stops it. LOG_LEVEL=info npm start shows the logs instead of this line.',
  ];
}
