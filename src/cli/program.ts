import { Command } from 'commander';
import { serve } from '../compose/serve';
import { addDeliveryCommands } from './deliveries';
import { addLeapWebhookCommands } from './leap-webhooks';
import { addMappingCommands } from './mappings';
import { addMigrateCommand } from './migrate';
import { addReadinessCommands } from './readiness';
import { addReceiverCommand } from './receiver';
import { addSimulatorCommand } from './simulator';
import { addSyncCommand } from './sync';

/** The `leap-connector` program: every command, in the order `--help` lists them. */
export function buildProgram(): Command {
  const program = new Command('leap-connector')
    .description("Keeps a partner's systems in step with its Leap meter portfolio")
    .option('-c, --config <file>', 'configuration file (default: $CONNECTOR_CONFIG or config/connector.yaml)')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });
  const configFile = () => program.opts<{ config?: string }>().config;

  program
    .command('serve')
    .description('run the connector: HTTP API, scheduled sync and Leap event intake')
    .action(async () => {
      await serve({ file: configFile(), handleSignals: true });
    });
  addSyncCommand(program, configFile);
  addMigrateCommand(program, configFile);
  addSimulatorCommand(program);
  addLeapWebhookCommands(program, configFile);
  addMappingCommands(program, configFile);
  addDeliveryCommands(program, configFile);
  addReadinessCommands(program, configFile);
  addReceiverCommand(program);
  return program;
}
