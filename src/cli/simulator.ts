import type { Command } from 'commander';
import { startSimulator } from '../simulator';
import { integer, port } from './options';

/** `simulator`: the Leap simulator on its own, for development, demos and tests. */
export function addSimulatorCommand(program: Command): void {
  program
    .command('simulator')
    .description('run the Leap simulator (v2 and v1 meters, webhooks, faults) for development, demos and tests')
    .option('--port <n>', 'port to listen on', port, 4010)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--meters <n>', 'portfolio size', integer('meters', 1, 2_000_000), 500)
    .option('--seed <n>', 'the same seed gives the same portfolio and the same evolution', integer('seed'), 1)
    .option('--api-key <key>', 'the bearer key the simulator accepts', 'demo-key')
    .option('--account-id <id>', 'v1 account id (default: derived from the seed)')
    .option('--rate-limit <n>', 'answer 429 past N requests per second', integer('rate-limit', 1))
    .option('--evolve-every <seconds>', 'advance one simulated hour every N seconds', integer('evolve-every', 1))
    .action(async (opts: { port: number; host: string; meters: number; seed: number; apiKey: string; accountId?: string; rateLimit?: number; evolveEvery?: number }) => {
      const sim = await startSimulator(
        { meters: opts.meters, seed: opts.seed, apiKey: opts.apiKey, accountId: opts.accountId, rateLimit: opts.rateLimit, evolveEverySeconds: opts.evolveEvery },
        { port: opts.port, host: opts.host },
      );
      console.log(`Leap simulator listening on ${sim.url} (${opts.meters} meters, seed ${opts.seed}, v1 account ${sim.simulator.accountId})`);
      console.log(`  try: curl -s -X POST -H 'Authorization: Bearer ${opts.apiKey}' -H 'Content-Type: application/json' -d '{"page_size":2}' ${sim.url}/v2/meters/search`);
      const shutdown = () => {
        sim.close().then(() => process.exit(0));
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });
}
