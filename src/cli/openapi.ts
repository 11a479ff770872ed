import type { Command } from 'commander';
import { describeApi } from '../compose/api-description';
import { loadConfig } from '../config/load';
import type { ConfigFile } from './options';

/** `openapi`: print the API description (OpenAPI 3.1 JSON), as GET /openapi.json serves it; no server, no database. */
export function addOpenApiCommand(program: Command, configFile: ConfigFile): void {
  program
    .command('openapi')
    .description('print the API description (OpenAPI 3.1, JSON) that GET /openapi.json serves; no server, no database')
    .action(() => {
      process.stdout.write(`${JSON.stringify(describeApi(loadConfig({ file: configFile() }).config), null, 2)}\n`);
    });
}
