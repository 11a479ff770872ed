import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response, Router } from 'express';
import * as cookie from 'cookie';
import type { ApiKeyConfig } from '../config/schema';
import type { Clock } from '../domain/clock';
import { secretEquals } from '../domain/secrets';
import type { Logger } from '../logger';
import type { ConsoleSessionStore } from '../stores/console-session-store';
import { render, type SignedIn } from './render';

export const SESSION_COOKIE = 'lc_console';
const LOGIN_COOKIE = 'lc_console_login';

export interface SessionDeps {
  keys: readonly ApiKeyConfig[];
  sessions: ConsoleSessionStore;
  sessionTtlMs: number;
  clock: Clock;
  logger: Logger;
}

declare module 'express-serve-static-core' {
  interface Request {
    console?: SignedIn;
  }
}

const token = (): string => randomBytes(32).toString('base64url');

function cookiesOf(req: Request): Record<string, string | undefined> {
  return cookie.parse(req.headers.cookie ?? '');
}

/** Over https (or behind a proxy the app trusts to say so) the cookie is Secure. */
function cookieOptions(req: Request, maxAgeMs: number, path = '/console') {
  return { httpOnly: true, sameSite: 'strict' as const, secure: req.secure, path, maxAge: maxAgeMs };
}

/** The configured key with this name, if it still has the admin scope: a key taken out of the configuration ends its sessions. */
function adminKeyNamed(keys: readonly ApiKeyConfig[], name: string): ApiKeyConfig | undefined {
  return keys.find((k) => k.name === name && k.scopes.includes('admin'));
}

/** Where to go after signing in: only a page of the console itself. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/console(\/[^/\\]|$|\?)/.test(next) && !next.includes('//') ? next : '/console';
}

/**
 * Sign-in with an admin API key (a password field; the key is compared in constant time against
 * every configured key and never stored), sign-out, and the session every other page needs. The
 * sign-in form carries a token of its own (double-submit cookie), so another site cannot sign a
 * browser in under a key of its choosing.
 */
export function sessionRoutes(router: Router, deps: SessionDeps): void {
  const loginPage = (req: Request, res: Response, status: number, error: string | null) => {
    const loginToken = token();
    res.cookie(LOGIN_COOKIE, loginToken, cookieOptions(req, 30 * 60_000, '/console/login'));
    res.status(status);
    render(res, 'login', { title: 'Sign in', error, loginToken, next: safeNext(req.query.next ?? req.body?.next) }, null);
  };

  router.get('/login', (req, res) => loginPage(req, res, 200, null));

  router.post('/login', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const expected = cookiesOf(req)[LOGIN_COOKIE];
    if (!expected || !secretEquals(typeof body._login === 'string' ? body._login : '', expected)) {
      loginPage(req, res, 403, 'The sign-in form had expired; enter the key again.');
      return;
    }
    const presented = typeof body.key === 'string' ? body.key.trim() : '';
    if (!presented) {
      loginPage(req, res, 400, 'Enter an API key with the admin scope.');
      return;
    }
    let match: ApiKeyConfig | undefined;
    for (const k of deps.keys) if (secretEquals(presented, k.key) && !match) match = k;
    if (!match) {
      deps.logger.warn('console sign-in refused: the key is not valid', { ip: req.ip });
      loginPage(req, res, 401, 'That key is not valid.');
      return;
    }
    if (!match.scopes.includes('admin')) {
      deps.logger.warn('console sign-in refused: the key lacks the admin scope', { key: match.name, ip: req.ip });
      loginPage(req, res, 403, `The key "${match.name}" lacks the admin scope; the console needs an admin key.`);
      return;
    }
    const now = deps.clock.now();
    await deps.sessions.purgeExpired(now);
    const sessionId = token();
    await deps.sessions.create(sessionId, { keyName: match.name, csrfToken: token(), createdAt: now, expiresAt: new Date(now.getTime() + deps.sessionTtlMs) });
    deps.logger.info('console sign-in', { key: match.name });
    res.clearCookie(LOGIN_COOKIE, { path: '/console/login' });
    res.cookie(SESSION_COOKIE, sessionId, cookieOptions(req, deps.sessionTtlMs));
    res.redirect(303, safeNext(body.next));
  });

  router.post('/logout', async (req, res) => {
    const id = cookiesOf(req)[SESSION_COOKIE];
    const session = id ? await deps.sessions.find(id, deps.clock.now()) : undefined;
    // Signing out is a state change too: only this session's own form may do it.
    if (id && session && secretEquals(typeof req.body?._csrf === 'string' ? req.body._csrf : '', session.csrfToken)) await deps.sessions.delete(id);
    else if (session) {
      res.status(403);
      render(res, 'error', { title: 'Refused', status: 403, message: 'That form was not from this console session; nothing was changed.' }, null);
      return;
    }
    res.clearCookie(SESSION_COOKIE, { path: '/console' });
    res.redirect(303, '/console/login');
  });
}

/** Every page past sign-in: a live session whose key is still configured with the admin scope. */
export function requireSession(deps: SessionDeps) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const id = cookiesOf(req)[SESSION_COOKIE];
    const session = id ? await deps.sessions.find(id, deps.clock.now()) : undefined;
    if (!session || !adminKeyNamed(deps.keys, session.keyName)) {
      if (id) res.clearCookie(SESSION_COOKIE, { path: '/console' });
      if (req.method === 'GET' || req.method === 'HEAD') {
        res.redirect(303, `/console/login?next=${encodeURIComponent(req.originalUrl)}`);
        return;
      }
      res.status(401);
      render(res, 'error', { title: 'Signed out', status: 401, message: 'Your console session has ended; sign in again. Nothing was changed.' }, null);
      return;
    }
    req.console = { keyName: session.keyName, csrfToken: session.csrfToken };
    next();
  };
}

/** Every POST carries the session's synchronizer token (`_csrf`); without it nothing happens. */
export function requireCsrf(req: Request, res: Response, next: NextFunction): void {
  if (req.method !== 'POST') {
    next();
    return;
  }
  const sent = (req.body as Record<string, unknown> | undefined)?._csrf;
  if (!req.console || typeof sent !== 'string' || !secretEquals(sent, req.console.csrfToken)) {
    res.status(403);
    render(res, 'error', { title: 'Refused', status: 403, message: 'That form was not from this console session (its token is missing or stale); nothing was changed. Reload the page and try again.' }, req.console ?? null);
    return;
  }
  next();
}
