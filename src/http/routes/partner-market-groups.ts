import { Router } from 'express';
import type { PartnerRoster, RosterService } from '../../services/market-groups/roster-service';
import { requireJsonBody } from '../json-body';
import { marketGroupParamSchema, partnerRosterSchema, tradeDateQuerySchema } from '../schemas/partner';
import { validator } from '../validate';

const groupParam = validator<{ id: string }>(marketGroupParamSchema, 'path');
const dateQuery = validator<{ trade_date?: string }>(tradeDateQuerySchema, 'query');
const rosterBody = validator<PartnerRoster>(partnerRosterSchema, 'body');

/** Market groups and their rosters, and the partner's check of its own (behind the partner scope, see app.ts). */
export function partnerMarketGroupRoutes(rosters: RosterService): Router {
  const router = Router();
  router.get('/api/v1/market-groups', async (_req, res) => {
    res.json({ market_groups: await rosters.list() });
  });
  router.get('/api/v1/market-groups/:id/roster', async (req, res) => {
    const { id } = groupParam(req.params);
    res.json(await rosters.roster(id, dateQuery(req.query).trade_date));
  });
  router.put('/api/v1/market-groups/:id/members', requireJsonBody, async (req, res) => {
    const { id } = groupParam(req.params);
    const q = dateQuery(req.query);
    const body = rosterBody(req.body);
    res.json(await rosters.check(id, q.trade_date ?? (await rosters.roster(id)).trade_date, body, req.apiKeyName ?? 'unknown'));
  });
  router.get('/api/v1/market-groups/:id/members', async (req, res) => {
    const { id } = groupParam(req.params);
    res.json(await rosters.lastCheck(id, dateQuery(req.query).trade_date));
  });
  return router;
}
