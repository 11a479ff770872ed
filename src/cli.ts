import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from './config/load';
import { createKnex } from './db/knex';
import { AppError, ConfigError } from './errors';
import { serve } from './main';
import { DatabaseStore } from './stores/database-store';
import { migrateRollback } from './db/migrate';

function int(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

export function buildProgram(): Command {
  const program = new Command('leap-connector')
    .description("Keeps a partner's systems in step with its Leap meter portfolio")
    .option('-c, --config <file>', 'configuration file (default: $CONNECTOR_CONFIG or config/connector.yaml)')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });

  program
    .command('serve')
    .description('run the connector: HTTP API, scheduled sync and delivery workers')
    .action(async () => {
      await serve({ file: program.opts<{ config?: string }>().config, handleSignals: true });
    });

  program
    .command('migrate')
    .description('apply, roll back or list database migrations')
    .addArgument(new Command().createArgument('[action]', 'latest | rollback | status').choices(['latest', 'rollback', 'status']).default('latest'))
    .option('--all', 'with rollback: undo every migration, not just the last batch')
    .action(async (action: 'latest' | 'rollback' | 'status', opts: { all?: boolean }) => {
      const { config } = loadConfig({ file: program.opts<{ config?: string }>().config });
      const db = createKnex(config.database.url, { poolMax: 2 });
      const store = new DatabaseStore(db);
      try {
        if (action === 'latest') {
          const applied = await store.migrateLatest();
          console.log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
        } else if (action === 'rollback') {
          const undone = await migrateRollback(db, Boolean(opts.all));
          console.log(undone.length ? `rolled back: ${undone.join(', ')}` : 'nothing to roll back');
        } else {
          const status = await store.migrationStatus();
          for (const name of status.completed) console.log(`applied  ${name}`);
          for (const name of status.pending) console.log(`pending  ${name}`);
          console.log(status.current ? 'schema is current' : `${status.pending.length} pending`);
        }
      } finally {
        await db.destroy();
      }
    });

  return program;
}

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

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

export { int, Option };
