import { CommanderError } from 'commander';
import { buildProgram } from './cli/program';
import { AppError, ConfigError } from './errors';

/**
 * Print an error the way an operator can act on it, in one line and without a stack (the
 * configuration's problems are listed one a line). A refused command line was printed by
 * commander already; LOG_LEVEL=debug adds the stack of an unexpected error.
 */
export function reportError(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode;
  if (err instanceof ConfigError) {
    console.error(err.message);
    return 1;
  }
  if (err instanceof AppError) {
    console.error(`error [${err.code}]: ${err.message.replace(/\s*\n\s*/g, ' ')}`);
    return 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  console.error(`error: ${message.replace(/\s*\n\s*/g, ' ')}`);
  if (process.env.LOG_LEVEL === 'debug' && err instanceof Error && err.stack) console.error(err.stack);
  return 1;
}

/** The process entry (bin/leap-connector.js): run the command line, report what failed. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}
