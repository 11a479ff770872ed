import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logger';

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    log: Logger;
  }
}

const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** First middleware: a request id (the caller's X-Request-Id when sane) and a logger carrying it. */
export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = req.header('x-request-id');
    req.id = given && ACCEPTABLE_ID.test(given) ? given : randomUUID();
    req.log = logger.child({ request_id: req.id });
    res.setHeader('X-Request-Id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const meta = { method: req.method, path: req.path, status: res.statusCode, duration_ms: Math.round(ms * 10) / 10 };
      if (req.path === '/healthz' || req.path === '/readyz' || req.path === '/metrics') req.log.debug('request', meta);
      else req.log.info('request', meta);
    });
    next();
  };
}
