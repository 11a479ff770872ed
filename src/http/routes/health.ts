import { Router } from 'express';
import type { HealthService } from '../../services/health-service';

export function healthRoutes(health: HealthService): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const r = await health.readiness();
    res.status(r.ready ? 200 : 503).json({ status: r.ready ? 'ready' : 'not_ready', checks: r.checks });
  });
  return router;
}
