import express, { type Express } from 'express';
import type { ApiKeyConfig } from '../config/schema';
import type { Logger } from '../logger';
import type { HealthService } from '../services/health-service';
import type { LeapEventService } from '../services/leap-event-service';
import type { MeterQueryService } from '../services/meter-query-service';
import type { DeliveryAdminService } from '../services/delivery/admin-service';
import type { ReplayService } from '../services/delivery/replay-service';
import type { SyncAdminService } from '../services/sync/admin-service';
import { errorHandler, notFoundHandler } from './error-handler';
import { requestContext } from './request-context';
import { adminDeliveryRoutes } from './routes/admin-deliveries';
import { adminSyncRoutes } from './routes/admin-sync';
import { apiDescriptionRoutes } from './routes/api-description';
import { apiDescription } from './openapi';
import { healthRoutes } from './routes/health';
import { leapEventRoutes } from './routes/leap-events';
import { partnerMeterRoutes } from './routes/partner-meters';
import { partnerReadinessRoutes } from './routes/partner-readiness';
import { partnerMarketGroupRoutes } from './routes/partner-market-groups';
import type { RosterService } from '../services/market-groups/roster-service';
import { requireScope } from './auth';
import type { ReadinessService } from '../services/readiness/readiness-service';
import { consoleRoutes } from './console/console-routes';
import type { ConsoleDeps } from './console/deps';
import type { Metrics } from '../services/metrics';
import { metricsRoutes } from './routes/metrics';

export interface AppDeps {
  logger: Logger;
  bodyLimit: string;
  apiKeys: readonly ApiKeyConfig[];
  health: HealthService;
  leapEvents: LeapEventService;
  syncAdmin: SyncAdminService;
  meters: MeterQueryService;
  readiness: ReadinessService;
  rosters: RosterService;
  deliveryAdmin: DeliveryAdminService;
  replays: ReplayService;
  /** Start running bulk replay jobs in the background. */
  startReplayJobs: () => void;
  /** The support console under /console; null when it is switched off. */
  console: ConsoleDeps | null;
  /** GET /metrics; null when metrics are switched off. */
  metrics: { metrics: Metrics; requireKey: boolean } | null;
}

/** The HTTP surface. Pure wiring: every route calls a service; errors end in one handler. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestContext(deps.logger));
  // HTML pages with form posts and sessions of their own, before the API's JSON parsing.
  if (deps.console) app.use('/console', consoleRoutes(deps.console));
  app.use(express.json({ limit: deps.bodyLimit, strict: true }));
  app.use(apiDescriptionRoutes(apiDescription({ leapEventsHeader: deps.leapEvents.headerName })));
  app.use(healthRoutes(deps.health));
  if (deps.metrics) app.use(metricsRoutes(deps.metrics.metrics, { requireKey: deps.metrics.requireKey, apiKeys: deps.apiKeys }));
  app.use(leapEventRoutes(deps.leapEvents));
  app.use(adminSyncRoutes(deps.apiKeys, deps.syncAdmin));
  // The partner's API: partner keys, and admin keys too.
  app.use('/api/v1', requireScope(deps.apiKeys, ['partner', 'admin']));
  app.use(partnerMeterRoutes(deps.meters));
  app.use(partnerReadinessRoutes(deps.readiness));
  app.use(partnerMarketGroupRoutes(deps.rosters));
  app.use(adminDeliveryRoutes(deps.apiKeys, deps.deliveryAdmin, deps.replays, deps.startReplayJobs));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
