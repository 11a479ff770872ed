import { Router } from 'express';
import type { ApiKeyConfig } from '../../config/schema';
import type { Metrics } from '../../services/metrics';
import { requireScope } from '../auth';

/** GET /metrics for Prometheus; an admin key is asked for only when the configuration says so. */
export function metricsRoutes(metrics: Metrics, opts: { requireKey: boolean; apiKeys: readonly ApiKeyConfig[] }): Router {
  const router = Router();
  const guard = opts.requireKey ? [requireScope(opts.apiKeys, 'admin')] : [];
  router.get('/metrics', ...guard, async (_req, res) => {
    const { contentType, text } = await metrics.scrape();
    res.type(contentType).send(text);
  });
  return router;
}
