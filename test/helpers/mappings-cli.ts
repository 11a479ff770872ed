/**
 * The connector's CLI with the `mappings` commands, for `node -r tsx/cjs test/helpers/mappings-cli.ts`.
 * Uses src/cli/program.ts's program as it is, adding the commands only if it does not register them itself.
 */
import { buildProgram } from '../../src/cli/program';
import { reportError } from '../../src/main';
import { addMappingCommands } from '../../src/cli/mappings';

const program = buildProgram();
if (!program.commands.some((c) => c.name() === 'mappings')) addMappingCommands(program, () => program.opts<{ config?: string }>().config);
program.parseAsync(process.argv).catch((err: unknown) => {
  process.exitCode = reportError(err);
});
