import { Option, type Command } from 'commander';
import { DELIVERY_STATUSES } from '../domain/delivery';
import { METER_EVENT_TYPES } from '../domain/events';
import { deliveryView, replayJobView, type AttemptView, type DestinationView } from '../services/delivery/admin-service';
import { instant, positive } from './options';
import { duration, short, table, usageError, withSupportRuntime, type OpenCommandRuntime } from './support';

/** The admin API's names for the replay filter, as this command's options. */
const REPLAY_FIELDS = { meter_id: '--meter', event_type: '--event-type', dry_run: '--dry-run' };

function destinationLines(list: readonly DestinationView[]): string[] {
  return table(
    list.map((d) => [
      d.name,
      `${d.state}${d.paused_reason ? ` (${d.paused_reason})` : ''}`,
      `queue ${d.queue_depth}`,
      `in flight ${d.in_flight}`,
      `dead ${d.dead}`,
      `delivered ${d.delivered}`,
      d.oldest_pending_at ? `oldest ${d.oldest_pending_at}` : '',
      d.last_success_at ? `last ok ${d.last_success_at}` : '',
      d.consecutive_failures ? `failing ×${d.consecutive_failures}` : '',
      short(d.url, 60),
    ]),
  );
}

function attemptLines(attempts: readonly AttemptView[]): string[] {
  return table([
    ['#', 'trigger', 'started', 'duration', 'status', 'outcome', 'answer', 'error'],
    ...attempts.map((a) => [
      String(a.attempt),
      a.trigger,
      a.started_at,
      duration(a.duration_ms),
      a.status_code === null ? '-' : String(a.status_code),
      a.outcome,
      short(a.response_body, 40),
      a.error_class ? short(`${a.error_class}${a.error_message ? `: ${a.error_message}` : ''}`, 80) : '',
    ]),
  ]);
}

/** Support commands: deliveries, replays and destinations, straight against the database. */
export function addDeliveryCommands(program: Command, open: OpenCommandRuntime): void {
  const deliveries = program.command('deliveries').description('deliveries to the destinations: list them, show one with its attempts');
  deliveries
    .command('list', { isDefault: true })
    .description('deliveries, newest first')
    .addOption(new Option('--status <status>', 'only deliveries in this state').choices([...DELIVERY_STATUSES]))
    .option('--destination <name>', 'only deliveries to this destination')
    .option('--meter <meter_id>', "only this meter's deliveries")
    .addOption(new Option('--event-type <type>', 'only deliveries of this event type').choices([...METER_EVENT_TYPES]))
    .option('--since <time>', 'created at or after this time', instant)
    .option('--until <time>', 'created before this time', instant)
    .option('--before <id>', 'older than this delivery (the next page)')
    .option('--limit <n>', 'at most this many', positive, 50)
    .option('--json', 'one JSON object per line, each as GET /admin/v1/deliveries lists it')
    .action(
      async (
        o: { status?: string; destination?: string; meter?: string; eventType?: string; since?: string; until?: string; before?: string; limit: number; json?: boolean },
        cmd: Command,
      ) =>
        withSupportRuntime(open, cmd, async (r) => {
          const page = await r.composed.deliveryAdmin.list(
            {
              status: o.status as never,
              destination: o.destination,
              meterId: o.meter,
              eventType: o.eventType,
              since: o.since ? new Date(o.since) : undefined,
              until: o.until ? new Date(o.until) : undefined,
            },
            o.limit,
            o.before,
          );
          for (const d of page.deliveries) {
            if (o.json) console.log(JSON.stringify(d));
            else
              console.log(
                `${d.id}  ${d.status.padEnd(10)} ${d.destination.padEnd(16)} ${d.event_type.padEnd(46)} ${d.meter_id} #${d.sequence}  attempts ${d.attempts}${d.last_status ? `  last ${d.last_status}` : ''}${d.last_error_class ? ` ${d.last_error_class}` : ''}${d.dead_reason ? `  (${d.dead_reason})` : ''}`,
              );
          }
          if (o.json) return;
          if (!page.deliveries.length) console.log('no deliveries match');
          else console.log(`${page.deliveries.length} shown${page.next_before ? ' (more: narrow the filter or raise --limit)' : ''}`);
        }),
    );

  deliveries
    .command('show')
    .description('one delivery: its event, every attempt with the answer, and the next attempt')
    .argument('<id>', 'the delivery id (msg_...)')
    .option('--json', 'the delivery as GET /admin/v1/deliveries/{id} answers it (with body and attempts_log)')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) =>
      withSupportRuntime(open, cmd, async (r) => {
        const d = await r.composed.deliveryAdmin.get(id);
        if (o.json) return console.log(JSON.stringify(d));
        const event = d.event_id === null ? undefined : await r.composed.syncAdmin.getEvent(d.event_id);
        const when = d.delivered_at ? `delivered ${d.delivered_at}` : d.dead_at ? `dead since ${d.dead_at}${d.dead_reason ? ` (${d.dead_reason})` : ''}` : d.next_attempt_at ? `next attempt ${d.next_attempt_at}` : '';
        for (const line of table([
          ['delivery', `${d.id}  ${d.status}${when ? `, ${when}` : ''}`],
          ['destination', d.destination],
          ['meter', `${d.meter_id}  #${d.sequence}`],
          ['event', event ? `${event.id}  ${event.type}  occurred ${event.occurred_at}  origin ${event.origin}${event.sync_run_id ? `  sync run ${event.sync_run_id}` : ''}` : `${d.event_id ?? '-'}  ${d.event_type}  (no longer stored)`],
          ['created', d.created_at],
          ['attempts', `${d.attempts}${d.replays ? `  replayed ${d.replays}×` : ''}`],
        ]))
          console.log(line);
        if (event?.changes?.length) for (const c of event.changes) console.log(`  ${c.path}: ${short(JSON.stringify(c.from), 60)} → ${short(JSON.stringify(c.to), 60)}`);
        console.log('');
        if (d.attempts_log.length) for (const line of attemptLines(d.attempts_log)) console.log(line);
        else console.log('no attempts yet');
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
    .option('--json', 'by id: one JSON object per delivery, as POST /admin/v1/deliveries/{id}/replay answers')
    .action(
      async (
        ids: string[],
        o: { status?: 'dead' | 'delivered' | 'pending'; since?: string; until?: string; destination?: string; eventType?: string; meter?: string; cap?: number; dryRun?: boolean; json?: boolean },
        cmd: Command,
      ) => {
        const filtered = o.status !== undefined || o.since !== undefined || o.until !== undefined || o.destination !== undefined || o.eventType !== undefined || o.meter !== undefined;
        if (ids.length && filtered) usageError(cmd, 'give delivery ids or a filter (--status/--since), not both');
        if (!ids.length && !filtered) usageError(cmd, 'give delivery ids, or --status dead --since TIME for a bulk replay');
        if (!ids.length && o.since === undefined) usageError(cmd, `--since is required with ${o.status !== undefined ? '--status' : 'a filter'} (an RFC 3339 time, e.g. 2026-11-01T00:00:00Z)`);
        await withSupportRuntime(
          open,
          cmd,
          async (r) => {
            if (ids.length) {
              for (const d of await r.composed.replays.replay(ids, 'replay')) {
                console.log(o.json ? JSON.stringify(deliveryView(d)) : `${d.id} queued again (${d.destination}, ${d.eventType}, meter ${d.meterId}); a running connector sends it`);
              }
              return;
            }
            const job = await r.composed.replays.createBulk({
              filter: { status: o.status ?? 'dead', since: o.since!, until: o.until, destination: o.destination, eventType: o.eventType, meterId: o.meter },
              dryRun: Boolean(o.dryRun),
              cap: o.cap,
              requestedBy: 'cli',
            });
            if (job.dryRun) {
              console.log(o.json ? JSON.stringify(replayJobView(job)) : `dry run: ${job.matched} deliveries would be replayed${job.matched >= job.cap ? ` (capped at ${job.cap})` : ''}`);
              return;
            }
            await r.composed.replays.runPending((_j, p) => console.error(`replay ${job.id}: matched ${p.matched}, queued ${p.replayed}, skipped ${p.skipped}`));
            const done = await r.composed.replays.get(job.id);
            console.log(JSON.stringify(replayJobView(done!)));
          },
          REPLAY_FIELDS,
        );
      },
    );

  const destinations = program.command('destinations').description('partner endpoints: state, queue depth, pause and resume');
  destinations
    .command('list', { isDefault: true })
    .description('every destination with its state and queue')
    .option('--json', 'one JSON object per line, each as GET /admin/v1/destinations lists it')
    .action(async (o: { json?: boolean }, cmd: Command) =>
      withSupportRuntime(open, cmd, async (r) => {
        const list = await r.composed.deliveryAdmin.destinations();
        if (o.json) {
          for (const d of list) console.log(JSON.stringify(d));
          return;
        }
        if (!list.length) console.log('no destinations configured (add YAML files to the destinations directory)');
        for (const line of destinationLines(list)) console.log(line);
      }),
    );
  for (const [name, description] of [
    ['pause', 'hold deliveries to a destination (nothing is dropped; they wait)'],
    ['resume', 'send to a paused destination again'],
  ] as const) {
    destinations
      .command(name)
      .description(description)
      .argument('<name>', 'the destination (as destinations list names it)')
      .option('--json', 'the destination as the admin API answers it')
      .action(async (destination: string, o: { json?: boolean }, cmd: Command) =>
        withSupportRuntime(open, cmd, async (r) => {
          const d = name === 'pause' ? await r.composed.deliveryAdmin.pause(destination, 'cli') : await r.composed.deliveryAdmin.resume(destination, 'cli');
          console.log(o.json ? JSON.stringify(d) : `${d.name} ${d.state}; ${d.queue_depth} deliveries waiting`);
        }),
      );
  }
}
