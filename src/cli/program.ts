import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { serve } from '../compose/serve';
import { addDeliveryCommands } from './deliveries';
import { addHistoryCommands } from './history';
import { addLeapWebhookCommands } from './leap-webhooks';
import { addMappingCommands } from './mappings';
import { addMigrateCommand } from './migrate';
import { addOpenApiCommand } from './openapi';
import { addReadinessCommands } from './readiness';
import { addReceiverCommand } from './receiver';
import { addSimulatorCommand } from './simulator';
import { addSyncCommand } from './sync';
import { commandRuntime, USAGE_EXIT } from './support';

/** package.json's version (beside src/, or beside dist/ once compiled). */
function packageVersion(): string {
  const file = [path.resolve(__dirname, '..', '..', 'package.json'), path.resolve(__dirname, '..', '..', '..', 'package.json')].find((f) => existsSync(f));
  return file ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : 'unknown';
}

const commandPath = (cmd: Command): string => (cmd.parent ? `${commandPath(cmd.parent)} ${cmd.name()}` : cmd.name());

/**
 * A command line that cannot run as given is refused in one line on stderr, `<command>: what is
 * wrong` (commander's message, on one line), and exit code 2; help and --version exit 0.
 */
function refuseInOneLine(cmd: Command): void {
  const name = cmd.parent ? commandPath(cmd).replace(/^leap-connector /, '') : cmd.name();
  cmd.configureOutput({ outputError: (text, write) => write(`${name}: ${text.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim()}\n`) });
  cmd.exitOverride((err) => {
    throw err.exitCode === 0 || err.exitCode === USAGE_EXIT ? err : new CommanderError(USAGE_EXIT, err.code, err.message);
  });
  for (const sub of cmd.commands) refuseInOneLine(sub);
}

/** The `leap-connector` program: every command, in the order `--help` lists them. */
export function buildProgram(): Command {
  const program = new Command('leap-connector')
    .description("Keeps a partner's systems in step with its Leap meter portfolio")
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('-c, --config <file>', 'configuration file (default: $CONNECTOR_CONFIG or config/connector.yaml)')
    .option('-v, --verbose', 'one-shot commands: log info lines too (to stderr; LOG_LEVEL, when set, decides instead)')
    .configureHelp({ sortSubcommands: false });
  const configFile = () => program.opts<{ config?: string }>().config;
  const open = commandRuntime(program, configFile);

  program
    .command('serve')
    .description('run the connector: HTTP API, scheduled sync and Leap event intake')
    .action(async () => {
      await serve({ file: configFile(), handleSignals: true });
    });
  const sync = addSyncCommand(program, open);
  addMigrateCommand(program, configFile);
  addSimulatorCommand(program);
  addLeapWebhookCommands(program, open);
  addMappingCommands(program, configFile);
  addDeliveryCommands(program, open);
  addHistoryCommands(program, sync, open);
  addReadinessCommands(program, open);
  addReceiverCommand(program);
  addOpenApiCommand(program, configFile);
  refuseInOneLine(program);
  return program;
}
