import path from 'node:path';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { AppError, ValidationError } from '../../errors';
import { toAppError } from '../error-handler';
import type { ConsoleDeps } from './deps';
import { deliveryPages } from './pages/deliveries';
import { destinationPages } from './pages/destinations';
import { meterPages } from './pages/meters';
import { overviewPage } from './pages/overview';
import { readinessPages } from './pages/readiness';
import { CONSOLE_DIR, render } from './render';
import { requireCsrf, requireSession, sessionRoutes } from './session';

/**
 * The support console, mounted at /console: server-rendered pages over the services the admin
 * API uses. No script at all (the policy says so); forms post with the session's CSRF token.
 */
export function consoleRoutes(deps: ConsoleDeps): Router {
  const router = Router();
  router.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
        },
      },
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'same-origin' },
      strictTransportSecurity: false,
    }),
  );
  router.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  router.use('/assets', express.static(path.join(CONSOLE_DIR, 'assets'), { index: false, fallthrough: false, maxAge: '1h', setHeaders: (res) => res.setHeader('Cache-Control', 'public, max-age=3600') }));
  router.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 50 }));
  sessionRoutes(router, deps);
  router.use(requireSession(deps));
  router.use(requireCsrf);
  overviewPage(router, deps);
  deliveryPages(router, deps);
  destinationPages(router, deps);
  meterPages(router, deps);
  readinessPages(router, deps);
  router.use((req, res) => {
    res.status(404);
    render(res, 'error', { title: 'Not found', status: 404, message: `There is no console page at ${req.originalUrl.split('?')[0]}.` }, req.console ?? null);
  });
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    // The API's conversion of foreign errors (body parser, unknown), shown as a page instead of JSON.
    const e = toAppError(err);
    const status = e.status;
    if (status >= 500) deps.logger.error('console page failed', { path: req.path, err: err instanceof Error ? err.message : String(err) });
    const details = e instanceof ValidationError && Array.isArray(e.details) ? e.details.map((p) => `${(p.path ?? '').replace(/^\//, '') || 'request'} ${p.message}`).join('; ') : '';
    const message = status >= 500 && !(err instanceof AppError) ? 'Something went wrong on the connector; the log has the details.' : `${e.message}${details ? `: ${details}` : ''}`;
    res.status(status);
    render(res, 'error', { title: status === 404 ? 'Not found' : status >= 500 ? 'Error' : 'Not possible', status, message }, req.console ?? null);
  });
  return router;
}
