import express, { type Express } from 'express';
import type { Logger } from '../logger';
import type { HealthService } from '../services/health-service';
import { errorHandler, notFoundHandler } from './error-handler';
import { requestContext } from './request-context';
import { healthRoutes } from './routes/health';

export interface AppDeps {
  logger: Logger;
  health: HealthService;
  bodyLimit: string;
}

/** The HTTP surface. Pure wiring: every route calls a service; errors end in one handler. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext(deps.logger));
  app.use(express.json({ limit: deps.bodyLimit, strict: true }));
  app.use(healthRoutes(deps.health));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
