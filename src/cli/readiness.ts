import { InvalidArgumentError, Option, type Command } from 'commander';
import { READINESS_STATES, type ReadinessState } from '../domain/readiness';
import type { ReadinessListEntry } from '../services/readiness/readiness-service';
import { positive } from './options';
import { usageError, type OpenCommandRuntime } from './support';

const LISTED = READINESS_STATES.filter((s) => s !== 'not_required');

function tradeDate(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) throw new InvalidArgumentError('expected a date as YYYY-MM-DD');
  return value;
}

/** `readiness report`: who has confirmed dispatch readiness, who is late, and a group's roster at risk. */
export function addReadinessCommands(program: Command, open: OpenCommandRuntime): void {
  program
    .command('readiness')
    .description("the partner's dispatch readiness, straight from the database")
    .command('report', { isDefault: true })
    .description('counts by state, and the meters in one state or of one market group')
    .addOption(new Option('--state <state>', 'list the meters in this state').choices(LISTED))
    .option('--group <market_group_id>', "a market group's roster, with the members not ready")
    .option('--trade-date <date>', 'with --group: the trade date (default: the next one)', tradeDate)
    .option('--limit <n>', 'with --state: at most this many meters', positive, 100)
    .option('--json', 'print JSON')
    .action(async (o: { state?: ReadinessState; group?: string; tradeDate?: string; limit: number; json?: boolean }, cmd: Command) => {
      if (o.tradeDate && !o.group) usageError(cmd, '--trade-date needs --group');
      const r = await open({ needsLeap: false });
      try {
        const { readiness, rosters } = r.composed;
        if (o.group) {
          const roster = await rosters.roster(o.group, o.tradeDate);
          if (o.json) return console.log(JSON.stringify(roster, null, 2));
          console.log(`${roster.market_group_name ?? roster.market_group_id} on ${roster.trade_date}: ${roster.member_count} members, ${roster.at_risk_count} not ready`);
          if (roster.notice) console.log(`note: ${roster.notice}`);
          for (const m of roster.at_risk) console.log(`  ${m.meter_id}  ${m.readiness_state.padEnd(12)} ${m.partner_reference ?? ''}`);
          return;
        }
        const state = o.state ?? 'overdue';
        const entries: ReadinessListEntry[] = [];
        let after: string | undefined;
        let page;
        do {
          page = await readiness.list(state, Math.min(500, o.limit - entries.length), after);
          entries.push(...page.meters);
          after = page.next_after ?? undefined;
        } while (after && entries.length < o.limit);
        if (o.json) return console.log(JSON.stringify({ counts: page.counts, state, meters: entries, more: Boolean(after) }, null, 2));
        console.log(LISTED.map((s) => `${s} ${page.counts[s]}`).join('   '));
        console.log(`${state}:${entries.length ? '' : ' none'}`);
        for (const e of entries) console.log(`  ${e.meter_id}  since ${e.readiness.since ?? '-'}  ${e.readiness.source ?? ''}  ${e.partner_reference ?? ''}${e.readiness.reason ? `  "${e.readiness.reason}"` : ''}`);
        if (after) console.log(`(more: raise --limit)`);
      } finally {
        await r.close();
      }
    });
}
