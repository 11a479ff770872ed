import type { Command } from 'commander';
import { openRuntime, type OpenOptions, type Runtime } from '../compose/runtime';
import { loadConfig } from '../config/load';
import { withLogLevel } from '../compose/demo';
import type { Config } from '../config/schema';
import { ValidationError } from '../errors';
import type { LogLevel } from '../logger';
import type { ConfigFile } from './options';

/** The exit code of a command line that cannot run as given (a missing argument, a bad value). */
export const USAGE_EXIT = 2;

/** Refuse the command line: one line on stderr, `<command>: what to add`, exit 2. */
export function usageError(cmd: Command, message: string): never {
  cmd.error(message, { exitCode: USAGE_EXIT, code: 'leap-connector.usage' });
}

const LOUDNESS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

/**
 * How loud a one-shot command's logs are: LOG_LEVEL when it is set, else info with --verbose,
 * else log.level but no chattier than warn. Logs always go to stderr; stdout carries the output.
 */
export function commandLogLevel(config: Readonly<Config>, verbose: boolean): LogLevel {
  if (process.env.LOG_LEVEL) return config.log.level;
  if (verbose) return 'info';
  return LOUDNESS.indexOf(config.log.level) < LOUDNESS.indexOf('warn') ? config.log.level : 'warn';
}

export type OpenCommandRuntime = (opts?: Omit<OpenOptions, 'config' | 'file'>) => Promise<Runtime>;

/** Opens the connector for a one-shot command of `program`, with its --config and the command log level. */
export function commandRuntime(program: Command, configFile: ConfigFile): OpenCommandRuntime {
  return (opts = {}) => {
    const { config } = loadConfig({ file: configFile() });
    const level = commandLogLevel(config, Boolean(program.opts<{ verbose?: boolean }>().verbose));
    const quieted = level === config.log.level ? config : withLogLevel(config, level);
    return openRuntime({ ...opts, config: quieted });
  };
}

/**
 * Runs a support command's work against the database (no Leap, no background work) and closes
 * the connector after. A request a service refuses is a usage error naming the options
 * (`/since` → `--since`; `fields` maps the API's other names, e.g. meter_id → --meter).
 */
export async function withSupportRuntime(open: OpenCommandRuntime, cmd: Command, work: (r: Runtime) => Promise<void>, fields: Record<string, string> = {}): Promise<void> {
  const r = await open({ needsLeap: false });
  try {
    await work(r);
  } catch (err) {
    if (err instanceof ValidationError) usageError(cmd, optionProblems(err, fields));
    throw err;
  } finally {
    await r.close();
  }
}

function optionProblems(err: ValidationError, fields: Record<string, string>): string {
  if (!Array.isArray(err.details) || !err.details.length) return err.message;
  return err.details
    .map((d) => {
      const name = d.path?.replace(/^\//, '');
      return name ? `${fields[name] ?? `--${name.replace(/_/g, '-')}`} ${d.message}` : d.message;
    })
    .join('; ');
}

/** Rows as columns aligned two spaces apart; the last column is not padded, empty cells leave space. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** A value cut to `n` characters, on one line (receivers answer with anything). */
export function short(s: string | null | undefined, n: number): string {
  const line = (s ?? '').replace(/\s+/g, ' ').trim();
  return line.length > n ? `${line.slice(0, n - 1)}…` : line;
}

/** A duration in milliseconds, as people read it. */
export function duration(ms: number | null): string {
  if (ms === null) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
