import type { NextFunction, Request, Response } from 'express';
import type { ApiKeyConfig, ApiScope } from '../config/schema';
import { secretMatcher } from '../domain/secrets';
import { AppError, ForbiddenError, UnauthorizedError } from '../errors';

declare module 'express-serve-static-core' {
  interface Request {
    /** Name of the API key that authenticated the request. */
    apiKeyName?: string;
  }
}

/**
 * Bearer API keys from the configuration, each with scopes; a route names the scopes that may
 * call it (any one of them is enough). Every configured key is compared in
 * constant time (no early exit), so timing says nothing about which key or how much matched.
 */
export function requireScope(keys: readonly ApiKeyConfig[], scope: ApiScope | readonly ApiScope[]) {
  const accepted: readonly ApiScope[] = typeof scope === 'string' ? [scope] : scope;
  const keyFor = secretMatcher(keys, (k) => k.key);
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!keys.length) {
      next(new AppError(401, 'unauthorized', 'No API keys are configured: set api.keys in the configuration or ADMIN_API_KEY / PARTNER_API_KEY'));
      return;
    }
    const header = req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) {
      next(new UnauthorizedError('Send the API key as Authorization: Bearer <key>'));
      return;
    }
    const match = keyFor(m[1]);
    if (!match) {
      next(new UnauthorizedError('The API key is not valid'));
      return;
    }
    if (!accepted.some((s) => match.scopes.includes(s))) {
      next(new ForbiddenError(`This key lacks the ${accepted.join(' or ')} scope`));
      return;
    }
    req.apiKeyName = match.name;
    next();
  };
}
