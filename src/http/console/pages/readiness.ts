import type { Router } from 'express';
import { AppError, NotFoundError } from '../../../errors';
import type { ConsoleDeps } from '../deps';
import { render } from '../render';

const LISTED = 100;
const GROUPS = 30;
const DATE = /^\d{4}-\d\d-\d\d$/;

/** Meters awaiting or overdue, oldest first; market group rosters with their at-risk members and the partner's last check. */
export function readinessPages(router: Router, deps: ConsoleDeps): void {
  router.get('/readiness', async (req, res) => {
    const [overdue, awaiting, groups] = await Promise.all([deps.readiness.oldest('overdue', LISTED), deps.readiness.oldest('awaiting', LISTED), deps.rosters.list()]);
    const upcoming = groups.filter((g) => g.next_trade_date !== null).sort((a, b) => a.next_trade_date!.localeCompare(b.next_trade_date!)).slice(0, GROUPS);
    const rosters = await Promise.all(
      upcoming.map(async (g) => {
        const roster = await deps.rosters.roster(g.market_group_id, g.next_trade_date!);
        const check = await deps.rosters.lastCheck(g.market_group_id, g.next_trade_date!).catch((err: unknown) => (err instanceof NotFoundError ? null : Promise.reject(err)));
        return { group: g, roster, check };
      }),
    );
    render(
      res,
      'readiness',
      { title: 'Readiness', section: 'readiness', now: deps.clock.now(), counts: overdue.counts, overdue: overdue.meters, awaiting: awaiting.meters, rosters, groupCount: groups.length, listed: LISTED },
      req.console!,
    );
  });

  router.get('/readiness/groups/:id', async (req, res) => {
    const tradeDate = typeof req.query.trade_date === 'string' && req.query.trade_date ? req.query.trade_date : undefined;
    if (tradeDate !== undefined && !DATE.test(tradeDate)) throw new AppError(400, 'invalid_trade_date', 'trade_date must be a date such as 2026-12-08');
    const roster = await deps.rosters.roster(req.params.id!, tradeDate);
    const check = await deps.rosters.lastCheck(roster.market_group_id, roster.trade_date).catch((err: unknown) => (err instanceof NotFoundError ? null : Promise.reject(err)));
    render(res, 'roster', { title: `Roster of ${roster.market_group_name ?? roster.market_group_id}`, section: 'readiness', now: deps.clock.now(), roster, check }, req.console!);
  });
}
