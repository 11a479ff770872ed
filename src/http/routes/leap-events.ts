import { Router } from 'express';
import { UnauthorizedError } from '../../errors';
import type { LeapEventService } from '../../services/leap-event-service';

/** POST /leap/events: Leap's webhooks. Answered at once; the refresh they trigger runs after. */
export function leapEventRoutes(leapEvents: LeapEventService): Router {
  const router = Router();
  router.post('/leap/events', async (req, res) => {
    if (!leapEvents.authorized(req.header(leapEvents.headerName))) throw new UnauthorizedError(`Missing or wrong ${leapEvents.headerName} header`);
    const r = await leapEvents.receive(req.body);
    res.status(r.status === 'duplicate' ? 200 : 202).json({ status: r.status, webhook_event_id: r.webhookEventId, meter_ids: r.meterIds });
  });
  return router;
}
