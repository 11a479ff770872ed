import { Argument, type Command } from 'commander';
import { openDatabase } from '../compose/database';
import { loadConfig } from '../config/load';
import type { ConfigFile } from './options';

/** `migrate [latest|rollback|status]`: straight against the database, without starting anything else. */
export function addMigrateCommand(program: Command, configFile: ConfigFile): void {
  program
    .command('migrate')
    .description('apply, roll back or list database migrations')
    .addArgument(new Argument('[action]', 'latest | rollback | status').choices(['latest', 'rollback', 'status']).default('latest'))
    .option('--all', 'with rollback: undo every migration, not just the last batch')
    .action(async (action: 'latest' | 'rollback' | 'status', opts: { all?: boolean }) => {
      const { config } = loadConfig({ file: configFile() });
      const store = openDatabase(config);
      try {
        if (action === 'latest') {
          const applied = await store.migrateLatest();
          console.log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
        } else if (action === 'rollback') {
          const undone = await store.migrateRollback(Boolean(opts.all));
          console.log(undone.length ? `rolled back: ${undone.join(', ')}` : 'nothing to roll back');
        } else {
          const status = await store.migrationStatus();
          for (const name of status.completed) console.log(`applied  ${name}`);
          for (const name of status.pending) console.log(`pending  ${name}`);
          console.log(status.current ? 'schema is current' : `${status.pending.length} pending`);
        }
      } finally {
        await store.close();
      }
    });
}
