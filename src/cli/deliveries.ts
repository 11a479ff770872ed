import { InvalidArgumentError, Option, type Command } from 'commander';
import { openRuntime, type Runtime } from '../compose/runtime';
import { DELIVERY_STATUSES } from '../domain/delivery';
import { METER_EVENT_TYPES } from '../domain/events';
import { replayJobView } from '../services/delivery/admin-service';
import { instant, positive, type ConfigFile } from './options';

const short = (s: string | null | undefined, n: number) => (s && s.length > n ? `${s.slice(0, n - 1)}…` : (s ?? ''));

/** Support commands: deliveries, replays and destinations, straight against the database. */
export function addDeliveryCommands(program: Command, configFile: ConfigFile): void {
  const open = () => openRuntime({ file: configFile(), needsLeap: false });
  const withRuntime = async (fn: (r: Runtime) => Promise<void>) => {
    const r = await open();
    try {
      await fn(r);
    } finally {
      await r.close();
    }
  };

  program
    .command('deliveries')
    .description('list deliveries, newest first')
    .command('list', { isDefault: true })
    .addOption(new Option('--status <status>').choices([...DELIVERY_STATUSES]))
    .option('--destination <name>')
    .option('--meter <meter_id>')
    .addOption(new Option('--event-type <type>').choices([...METER_EVENT_TYPES]))
    .option('--since <time>', 'created at or after', instant)
    .option('--limit <n>', 'how many', positive, 50)
    .option('--json', 'one JSON object per line')
    .action(async (o: { status?: string; destination?: string; meter?: string; eventType?: string; since?: string; limit: number; json?: boolean }) =>
      withRuntime(async (r) => {
        const page = await r.composed.deliveryAdmin.list(
          { status: o.status as never, destination: o.destination, meterId: o.meter, eventType: o.eventType, since: o.since ? new Date(o.since) : undefined },
          o.limit,
        );
        for (const d of page.deliveries) {
          if (o.json) console.log(JSON.stringify(d));
          else
            console.log(
              `${d.id}  ${d.status.padEnd(10)} ${d.destination.padEnd(16)} ${d.event_type.padEnd(46)} ${d.meter_id} #${d.sequence}  attempts ${d.attempts}${d.last_status ? `  last ${d.last_status}` : ''}${d.last_error_class ? ` ${d.last_error_class}` : ''}${d.dead_reason ? `  (${d.dead_reason})` : ''}`,
            );
        }
        if (!o.json) console.log(page.deliveries.length ? `${page.deliveries.length} shown${page.next_before ? ' (more: narrow the filter or raise --limit)' : ''}` : 'no deliveries match');
      }),
    );

  program
    .command('replay')
    .description('send deliveries again: by id, or every one matching a filter (a bulk replay job)')
    .argument('[ids...]', 'delivery ids (msg_...)')
    .addOption(new Option('--status <status>', 'bulk: which deliveries').choices(['dead', 'delivered', 'pending']))
    .option('--since <time>', 'bulk: created at or after (required for bulk)', instant)
    .option('--until <time>', 'bulk: created before', instant)
    .option('--destination <name>', 'bulk: one destination')
    .addOption(new Option('--event-type <type>', 'bulk: one event type').choices([...METER_EVENT_TYPES]))
    .option('--meter <meter_id>', 'bulk: one meter')
    .option('--cap <n>', 'bulk: at most this many', positive)
    .option('--dry-run', 'bulk: only count what would be replayed')
    .action(
      async (
        ids: string[],
        o: { status?: 'dead' | 'delivered' | 'pending'; since?: string; until?: string; destination?: string; eventType?: string; meter?: string; cap?: number; dryRun?: boolean },
      ) =>
        withRuntime(async (r) => {
          const bulk = o.status !== undefined || o.since !== undefined;
          if (ids.length && bulk) throw new InvalidArgumentError('give delivery ids or a filter (--status/--since), not both');
          if (!ids.length && !bulk) throw new InvalidArgumentError('give delivery ids, or --status dead --since TIME for a bulk replay');
          if (ids.length) {
            for (const d of await r.composed.replays.replay(ids, 'replay')) console.log(`${d.id} queued again (${d.destination}, ${d.eventType}, meter ${d.meterId}); a running connector sends it`);
            return;
          }
          const job = await r.composed.replays.createBulk({
            filter: { status: o.status ?? 'dead', since: o.since ?? '', until: o.until, destination: o.destination, eventType: o.eventType, meterId: o.meter },
            dryRun: Boolean(o.dryRun),
            cap: o.cap,
            requestedBy: 'cli',
          });
          if (job.dryRun) {
            console.log(`dry run: ${job.matched} deliveries would be replayed${job.matched >= job.cap ? ` (capped at ${job.cap})` : ''}`);
            return;
          }
          await r.composed.replays.runPending((_j, p) => console.error(`replay ${job.id}: matched ${p.matched}, queued ${p.replayed}, skipped ${p.skipped}`));
          const done = await r.composed.replays.get(job.id);
          console.log(JSON.stringify(replayJobView(done!)));
        }),
    );

  const destinations = program.command('destinations').description('partner endpoints: state, queue depth, pause and resume');
  destinations
    .command('list', { isDefault: true })
    .option('--json', 'one JSON object per line')
    .action(async (o: { json?: boolean }) =>
      withRuntime(async (r) => {
        const list = await r.composed.deliveryAdmin.destinations();
        if (!list.length) console.log('no destinations configured (add YAML files to the destinations directory)');
        for (const d of list) {
          if (o.json) console.log(JSON.stringify(d));
          else
            console.log(
              `${d.name.padEnd(20)} ${d.state.padEnd(8)}${d.paused_reason ? ` (${d.paused_reason})` : ''}  queue ${d.queue_depth}  in flight ${d.in_flight}  dead ${d.dead}  delivered ${d.delivered}` +
                `${d.oldest_pending_at ? `  oldest ${d.oldest_pending_at}` : ''}${d.last_success_at ? `  last ok ${d.last_success_at}` : ''}${d.consecutive_failures ? `  failing ×${d.consecutive_failures}` : ''}  ${short(d.url, 60)}`,
            );
        }
      }),
    );
  destinations
    .command('pause')
    .argument('<name>')
    .description('hold deliveries to a destination (nothing is dropped; they wait)')
    .action(async (name: string) =>
      withRuntime(async (r) => {
        const d = await r.composed.deliveryAdmin.pause(name, 'cli');
        console.log(`${d.name} ${d.state}; ${d.queue_depth} deliveries waiting`);
      }),
    );
  destinations
    .command('resume')
    .argument('<name>')
    .description('send to a paused destination again')
    .action(async (name: string) =>
      withRuntime(async (r) => {
        const d = await r.composed.deliveryAdmin.resume(name, 'cli');
        console.log(`${d.name} ${d.state}; ${d.queue_depth} deliveries waiting`);
      }),
    );
}
