import { Option, type Command } from 'commander';
import { METER_EVENT_TYPES, type MeterEvent } from '../domain/events';
import type { SyncRunView } from '../services/sync/admin-service';
import { instant, integer } from './options';
import { duration, short, table, withSupportRuntime, type OpenCommandRuntime } from './support';

function runLines(runs: readonly SyncRunView[]): string[] {
  return table([
    ['id', 'kind', 'status', 'started', 'duration', 'pages', 'meters', 'changed', 'events', 'error'],
    ...runs.map((r) => [
      r.id,
      `${r.kind}${r.dry_run ? ' (dry run)' : ''}`,
      r.status,
      r.started_at,
      r.finished_at ? duration(Date.parse(r.finished_at) - Date.parse(r.started_at)) : 'running',
      String(r.pages),
      String(r.meters_seen),
      String(r.meters_changed),
      String(r.events),
      r.error ? short(`${r.error_code ? `[${r.error_code}] ` : ''}${r.error}`, 80) : '',
    ]),
  ]);
}

function eventLines(events: readonly MeterEvent[]): string[] {
  return table([
    ['id', 'occurred', 'type', 'meter', 'seq', 'origin', 'changes'],
    ...events.map((e) => [
      String(e.id),
      e.occurred_at,
      e.type,
      e.meter_id,
      String(e.sequence),
      e.origin,
      short(e.changes?.map((c) => c.path).join(', '), 60),
    ]),
  ]);
}

/** `sync runs` and `events`: what the sync did and the meter events it emitted, as the admin API shows them. */
export function addHistoryCommands(program: Command, sync: Command, open: OpenCommandRuntime): void {
  sync
    .command('runs')
    .description('recent sync runs, newest first')
    .addOption(new Option('--kind <kind>', 'only runs of this kind').choices(['incremental', 'full', 'refresh']))
    .addOption(new Option('--status <status>', 'only runs in this state').choices(['running', 'succeeded', 'failed']))
    .option('--before <time>', 'runs started before this time (the next page)', instant)
    .option('--limit <n>', 'at most this many (1-200)', integer('--limit', 1, 200), 20)
    .option('--json', 'one JSON object per line, each as GET /admin/v1/sync/runs lists it')
    .action(async (_o: unknown, cmd: Command) =>
      withSupportRuntime(open, cmd, async (r) => {
        // `sync` has a --json of its own, which takes the flag wherever it stands: read both.
        const o = cmd.optsWithGlobals<{ kind?: string; status?: string; before?: string; limit: number; json?: boolean }>();
        const runs = await r.composed.syncAdmin.listRuns({ kind: o.kind, status: o.status }, o.limit, o.before ? new Date(o.before) : undefined);
        if (o.json) {
          for (const run of runs) console.log(JSON.stringify(run));
          return;
        }
        if (!runs.length) return console.log('no sync runs match');
        for (const line of runLines(runs)) console.log(line);
        if (runs.length === o.limit) console.log(`(more: raise --limit or add --before ${runs[runs.length - 1]!.started_at})`);
      }),
    );

  program
    .command('events')
    .description('recent meter events, newest first (or, with --after-id, the ones after it, oldest first)')
    .option('--meter <meter_id>', "only this meter's events")
    .addOption(new Option('--type <type>', 'only events of this type').choices([...METER_EVENT_TYPES]))
    .option('--sync-run <id>', 'only events of this sync run')
    .option('--after-id <id>', 'events after this one, oldest first, as GET /admin/v1/events pages them', integer('--after-id', 0))
    .option('--limit <n>', 'at most this many (1-500)', integer('--limit', 1, 500), 50)
    .option('--json', 'one JSON object per line, each as GET /admin/v1/events lists it')
    .action(async (o: { meter?: string; type?: string; syncRun?: string; afterId?: number; limit: number; json?: boolean }, cmd: Command) =>
      withSupportRuntime(open, cmd, async (r) => {
        const filter = { meterId: o.meter, type: o.type, syncRunId: o.syncRun, afterId: o.afterId };
        const events = await r.composed.syncAdmin.listEvents(filter, o.limit, o.afterId === undefined ? 'newest' : 'oldest');
        if (o.json) {
          for (const e of events) console.log(JSON.stringify(e));
          return;
        }
        if (!events.length) return console.log('no events match');
        for (const line of eventLines(events)) console.log(line);
        if (events.length === o.limit) console.log(o.afterId === undefined ? '(more: raise --limit)' : `(more: --after-id ${events[events.length - 1]!.id})`);
      }),
    );
}
