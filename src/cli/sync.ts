import type { Command } from 'commander';
import type { MeterEvent } from '../domain/events';
import { instant } from './options';
import type { OpenCommandRuntime } from './support';

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function eventLine(e: MeterEvent): string {
  const changes = e.changes?.map((c) => `${c.path}: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`).join('; ');
  return `${e.type.padEnd(46)} ${e.meter_id} #${e.sequence}${changes ? `  ${changes.length > 240 ? `${changes.slice(0, 237)}...` : changes}` : ''}`;
}

/** `sync`: one pass now, with a progress line on a terminal and a summary; returns the command (for `sync runs`). */
export function addSyncCommand(program: Command, open: OpenCommandRuntime): Command {
  return program
    .command('sync')
    .description('run one sync pass now and print a summary')
    .option('--full', 'walk the whole portfolio and archive meters Leap no longer returns')
    .option('--since <time>', 'read changes since this time instead of the cursor (the cursor never moves back)', instant)
    .option('--dry-run', 'write nothing; print the events the pass would emit')
    .option('--json', 'print progress after each committed page, the summary (and, with --dry-run, each event) as JSON lines')
    .action(async (opts: { full?: boolean; since?: string; dryRun?: boolean; json?: boolean }) => {
      const runtime = await open({ announce: (line) => console.error(line) });
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
}
