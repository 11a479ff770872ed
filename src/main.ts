import { buildProgram } from './cli/program';
import { AppError, ConfigError } from './errors';

/** Print an error the way an operator can act on it, without a stack for known errors. */
export function reportError(err: unknown): number {
  if (err instanceof ConfigError) {
    console.error(err.message);
    return 1;
  }
  if (err instanceof AppError) {
    console.error(`error [${err.code}]: ${err.message}`);
    return 1;
  }
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
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
