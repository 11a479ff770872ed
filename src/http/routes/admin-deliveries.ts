import { Router } from 'express';
import type { ApiKeyConfig } from '../../config/schema';
import { NotFoundError } from '../../errors';
import { deliveryView, replayJobView, type DeliveryAdminService } from '../../services/delivery/admin-service';
import type { ReplayService } from '../../services/delivery/replay-service';
import { requireScope } from '../auth';
import { bulkReplaySchema, deliveryListQuerySchema, replayListQuerySchema } from '../schemas/admin';
import { validator } from '../validate';

const listQuery = validator<{ status?: string; destination?: string; meter_id?: string; event_type?: string; since?: string; until?: string; limit: number; before?: string }>(deliveryListQuerySchema, 'query');
const bulkBody = validator<{ status: 'dead' | 'delivered' | 'pending'; since: string; until?: string; destination?: string; event_type?: string; meter_id?: string; dry_run: boolean; cap?: number }>(bulkReplaySchema, 'body');
const jobsQuery = validator<{ limit: number }>(replayListQuerySchema, 'query');

/** Deliveries, replays and destinations, for support staff (scope admin). */
export function adminDeliveryRoutes(keys: readonly ApiKeyConfig[], admin: DeliveryAdminService, replays: ReplayService, startJobs: () => void): Router {
  const router = Router();
  router.use('/admin/v1', requireScope(keys, 'admin'));

  router.get('/admin/v1/deliveries', async (req, res) => {
    const q = listQuery(req.query);
    res.json(
      await admin.list(
        { status: q.status as never, destination: q.destination, meterId: q.meter_id, eventType: q.event_type, since: q.since ? new Date(q.since) : undefined, until: q.until ? new Date(q.until) : undefined },
        q.limit,
        q.before,
      ),
    );
  });

  router.get('/admin/v1/deliveries/:id', async (req, res) => {
    res.json(await admin.get(req.params.id!));
  });

  router.post('/admin/v1/deliveries/:id/replay', async (req, res) => {
    const [d] = await replays.replay([req.params.id!], 'replay');
    res.status(202).json(deliveryView(d!));
  });

  router.post('/admin/v1/replays', async (req, res) => {
    const b = bulkBody(req.body ?? {});
    const job = await replays.createBulk({
      filter: { status: b.status, since: b.since, until: b.until, destination: b.destination, eventType: b.event_type, meterId: b.meter_id },
      dryRun: b.dry_run,
      cap: b.cap,
      requestedBy: `api:${req.apiKeyName ?? 'unknown'}`,
    });
    if (!job.dryRun) startJobs();
    res.status(job.dryRun ? 200 : 202).location(`/admin/v1/replays/${job.id}`).json(replayJobView(job));
  });

  router.get('/admin/v1/replays', async (req, res) => {
    const q = jobsQuery(req.query);
    res.json({ replays: (await replays.list(q.limit)).map(replayJobView) });
  });

  router.get('/admin/v1/replays/:id', async (req, res) => {
    const job = await replays.get(req.params.id!);
    if (!job) throw new NotFoundError('replay', req.params.id);
    res.json(replayJobView(job));
  });

  router.get('/admin/v1/destinations', async (_req, res) => {
    res.json({ destinations: await admin.destinations() });
  });

  router.post('/admin/v1/destinations/:name/pause', async (req, res) => {
    res.json(await admin.pause(req.params.name!, `api:${req.apiKeyName ?? 'unknown'}`));
  });

  router.post('/admin/v1/destinations/:name/resume', async (req, res) => {
    res.json(await admin.resume(req.params.name!, `api:${req.apiKeyName ?? 'unknown'}`));
  });
  return router;
}
