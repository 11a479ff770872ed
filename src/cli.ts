import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from './config/load';
import { createKnex } from './db/knex';
import { migrateRollback } from './db/migrate';
import type { MeterEvent } from './domain/events';
import { LEAP_WEBHOOK_EVENT_TYPES } from './domain/leap-types';
import { canonicalInstant } from './domain/timestamps';
import { addDeliveryCommands } from './cli-deliveries';
import { addMappingCommands } from './cli-mappings';
import { addReceiverCommand } from './cli-receiver';
import { AppError, ConfigError } from './errors';
import { serve } from './main';
import { openRuntime } from './runtime';
import { LeapWebhooksService } from './services/leap-webhooks-service';
import { startSimulator } from './simulator';
import { DatabaseStore } from './stores/database-store';

function int(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

function instant(value: string): string {
  if (!canonicalInstant(value)) throw new InvalidArgumentError(`not an ISO 8601 time: ${value} (e.g. 2026-11-01T00:00:00Z)`);
  return value;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function eventLine(e: MeterEvent): string {
  const changes = e.changes?.map((c) => `${c.path}: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`).join('; ');
  return `${e.type.padEnd(46)} ${e.meter_id} #${e.sequence}${changes ? `  ${changes.length > 240 ? `${changes.slice(0, 237)}...` : changes}` : ''}`;
}

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

  program
    .command('sync')
    .description('run one sync pass now and print a summary')
    .option('--full', 'walk the whole portfolio and archive meters Leap no longer returns')
    .option('--since <time>', 'read changes since this time instead of the cursor (the cursor never moves back)', instant)
    .option('--dry-run', 'write nothing; print the events the pass would emit')
    .option('--json', 'print progress after each committed page, the summary (and, with --dry-run, each event) as JSON lines')
    .action(async (opts: { full?: boolean; since?: string; dryRun?: boolean; json?: boolean }) => {
      const runtime = await openRuntime({ file: configFile(), announce: (line) => console.error(line) });
      const tty = Boolean(process.stderr.isTTY) && !opts.json;
      let progressShown = false;
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const result = await runtime.composed.sync.run({
          kind: opts.full ? 'full' : 'incremental',
          since: opts.since,
          dryRun: Boolean(opts.dryRun),
          trigger: 'cli',
          signal: stop.signal,
          onProgress: (p) => {
            // With --json every committed page is one line: scripts (and the crash tests) follow along.
            if (opts.json) console.log(JSON.stringify({ progress: p }));
            if (!tty) return;
            progressShown = true;
            process.stderr.write(
              `\r${p.stream}  pages ${fmt(p.pages)}  meters ${fmt(p.metersSeen)}  ${fmt(p.metersPerSecond)} meters/s  changed ${fmt(p.metersChanged)}  events ${fmt(p.events)}   `,
            );
          },
          onEvent: opts.dryRun
            ? (e) => {
                if (progressShown) process.stderr.write('\n');
                progressShown = false;
                console.log(opts.json ? JSON.stringify({ event: e.type, meter_id: e.meter_id, sequence: e.sequence, changes: e.changes }) : eventLine(e));
              }
            : undefined,
        });
        if (progressShown) process.stderr.write('\n');
        if (opts.json) console.log(JSON.stringify({ summary: result }));
        else {
          const secs = result.durationMs / 1000;
          console.log(
            `${result.dryRun ? 'dry run (nothing written): ' : ''}${result.kind} sync ${result.runId ?? ''} finished in ${secs.toFixed(1)} s: ` +
              `${fmt(result.pages)} pages, ${fmt(result.metersSeen)} meters (${fmt(secs > 0 ? result.metersSeen / secs : result.metersSeen)}/s), ` +
              `${fmt(result.metersChanged)} changed, ${fmt(result.events)} events${result.archived ? ` (${fmt(result.archived)} archived)` : ''}` +
              `${result.resumedFrom ? `; resumed interrupted run ${result.resumedFrom}` : ''}`,
          );
          for (const [stream, cursor] of Object.entries(result.cursors)) console.log(`  cursor ${stream}: ${cursor ?? '(none)'}`);
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await runtime.close();
      }
    });

  program
    .command('migrate')
    .description('apply, roll back or list database migrations')
    .addArgument(new Argument('[action]', 'latest | rollback | status').choices(['latest', 'rollback', 'status']).default('latest'))
    .option('--all', 'with rollback: undo every migration, not just the last batch')
    .action(async (action: 'latest' | 'rollback' | 'status', opts: { all?: boolean }) => {
      const { config } = loadConfig({ file: configFile() });
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

  program
    .command('simulator')
    .description('run the Leap simulator (v2 and v1 meters, webhooks, faults) for development, demos and tests')
    .option('--port <n>', 'port to listen on', int('port', 0, 65535), 4010)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--meters <n>', 'portfolio size', int('meters', 1, 2_000_000), 500)
    .option('--seed <n>', 'the same seed gives the same portfolio and the same evolution', int('seed'), 1)
    .option('--api-key <key>', 'the bearer key the simulator accepts', 'demo-key')
    .option('--account-id <id>', 'v1 account id (default: derived from the seed)')
    .option('--rate-limit <n>', 'answer 429 past N requests per second', int('rate-limit', 1))
    .option('--evolve-every <seconds>', 'advance one simulated hour every N seconds', int('evolve-every', 1))
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

  const hooks = program.command('leap-webhooks').description("manage the connector's subscription to Leap's own webhooks");
  const webhooksService = async () => {
    const runtime = await openRuntime({ file: configFile(), announce: (line) => console.error(line) });
    const c = runtime.composed.config;
    return { runtime, service: new LeapWebhooksService(runtime.composed.leap, { headerName: c.leap_events.header_name, secret: c.leap_events.secret, publicUrl: c.leap_events.public_url }) };
  };
  hooks
    .command('register')
    .description('subscribe (or update the subscription of) the connector\'s /leap/events URL; other settings of an existing subscription are kept')
    .option('--url <url>', 'where Leap reaches POST /leap/events (default: leap_events.public_url)')
    .addOption(new Option('--events <types...>', 'event types').choices([...LEAP_WEBHOOK_EVENT_TYPES]))
    .action(async (opts: { url?: string; events?: string[] }) => {
      const { runtime, service } = await webhooksService();
      try {
        const r = await service.register({ url: opts.url, eventTypes: opts.events });
        console.log(`${r.created ? 'created' : 'updated'} Leap webhook ${r.webhookId} → ${r.url} (${r.eventTypes.join(', ')})`);
      } finally {
        await runtime.close();
      }
    });
  hooks
    .command('list')
    .description("list Leap's webhook subscriptions for this account (header values hidden)")
    .action(async () => {
      const { runtime, service } = await webhooksService();
      try {
        const subs = await service.list();
        if (!subs.length) console.log('no subscriptions');
        for (const s of subs) console.log(`${s.webhook_id}  ${s.receiver_url}\n  events: ${s.event_types.join(', ')}\n  headers: ${(s.headers ?? []).map((h) => `${h.name}: ${h.value}`).join(', ') || '(none)'}`);
      } finally {
        await runtime.close();
      }
    });
  hooks
    .command('delete')
    .description('delete a subscription by id')
    .argument('<webhook_id>')
    .action(async (id: string) => {
      const { runtime, service } = await webhooksService();
      try {
        await service.delete(id);
        console.log(`deleted Leap webhook ${id}`);
      } finally {
        await runtime.close();
      }
    });

  addMappingCommands(program, configFile);
  addDeliveryCommands(program, configFile);
  addReceiverCommand(program);
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
