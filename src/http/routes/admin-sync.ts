import { Router } from 'express';
import type { ApiKeyConfig } from '../../config/schema';
import { NotFoundError } from '../../errors';
import type { SyncAdminService } from '../../services/sync/admin-service';
import { requireScope } from '../auth';
import { eventListQuerySchema, startSyncRunSchema, syncRunListQuerySchema } from '../schemas/admin';
import { validator } from '../validate';

const listRunsQuery = validator<{ kind?: string; status?: string; limit: number; before?: string }>(syncRunListQuerySchema, 'query');
const startRunBody = validator<{ kind: 'incremental' | 'full'; since?: string }>(startSyncRunSchema, 'body');
const listEventsQuery = validator<{ meter_id?: string; type?: string; sync_run_id?: string; after_id?: number; limit: number }>(eventListQuerySchema, 'query');

export function adminSyncRoutes(keys: readonly ApiKeyConfig[], admin: SyncAdminService): Router {
  const router = Router();
  router.use('/admin/v1', requireScope(keys, 'admin'));

  router.get('/admin/v1/sync/runs', async (req, res) => {
    const q = listRunsQuery(req.query);
    const runs = await admin.listRuns({ kind: q.kind, status: q.status }, q.limit, q.before ? new Date(q.before) : undefined);
    res.json({ runs, next_before: runs.length === q.limit ? runs[runs.length - 1]!.started_at : null });
  });

  router.post('/admin/v1/sync/runs', async (req, res) => {
    const body = startRunBody(req.body ?? {});
    const run = await admin.startRun({ kind: body.kind, since: body.since, trigger: `api:${req.apiKeyName ?? 'unknown'}` });
    res.status(202).location(`/admin/v1/sync/runs/${run.id}`).json(run);
  });

  router.get('/admin/v1/sync/runs/:id', async (req, res) => {
    const run = await admin.getRun(req.params.id!);
    if (!run) throw new NotFoundError('sync run', req.params.id);
    res.json(run);
  });

  router.get('/admin/v1/events', async (req, res) => {
    const q = listEventsQuery(req.query);
    const events = await admin.listEvents({ meterId: q.meter_id, type: q.type, syncRunId: q.sync_run_id, afterId: q.after_id }, q.limit);
    res.json({ events, next_after_id: events.length === q.limit ? events[events.length - 1]!.id : null });
  });
  return router;
}
