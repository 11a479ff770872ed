import { Router } from 'express';
import type { MeterQueryService } from '../../services/meter-query-service';
import { meterIdParamSchema, meterListQuerySchema } from '../schemas/partner';
import { validator } from '../validate';

const listQuery = validator<{
  partner_reference?: string;
  status?: string;
  market_group_id?: string;
  trade_date?: string;
  transmission_region?: string;
  partner_action_required?: boolean;
  archived?: boolean;
  limit: number;
  after?: string;
}>(
  meterListQuerySchema,
  'query',
);

export const meterIdParam = validator<{ meter_id: string }>(meterIdParamSchema, 'path');

/** The stored view of meters, for partner systems (behind the partner scope, see app.ts). */
export function partnerMeterRoutes(meters: MeterQueryService): Router {
  const router = Router();
  router.get('/api/v1/meters', async (req, res) => {
    const q = listQuery(req.query);
    const page = await meters.list(
      {
        partnerReference: q.partner_reference,
        status: q.status,
        marketGroupId: q.market_group_id,
        tradeDate: q.trade_date,
        transmissionRegion: q.transmission_region,
        partnerActionRequired: q.partner_action_required,
        archived: q.archived,
      },
      q.limit,
      q.after,
    );
    res.json(page);
  });
  router.get('/api/v1/meters/:meter_id', async (req, res) => {
    res.json(await meters.get(meterIdParam(req.params).meter_id));
  });
  return router;
}
