import type { NextFunction, Request, Response, Router } from 'express';
import * as cookie from 'cookie';
import { randomBytes } from 'node:crypto';
import { secretEquals } from '../../domain/secrets';
import type { ConsoleSessionService, SignedIn } from '../../services/console-sessions';
import { render } from './render';

export const SESSION_COOKIE = 'lc_console';
const LOGIN_COOKIE = 'lc_console_login';

export interface SessionDeps {
  sessions: ConsoleSessionService;
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

/** Where to go after signing in: only a page of the console itself. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/console(\/[^/\\]|$|\?)/.test(next) && !next.includes('//') ? next : '/console';
}

/**
 * Sign-in with an admin API key in a password field (checked by the session service), sign-out,
 * and the session every other page needs. The
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
    const result = await deps.sessions.signIn(typeof body.key === 'string' ? body.key.trim() : '', req.ip);
    if (!result.ok) {
      loginPage(req, res, result.status, result.message);
      return;
    }
    res.clearCookie(LOGIN_COOKIE, { path: '/console/login' });
    res.cookie(SESSION_COOKIE, result.sessionId, cookieOptions(req, deps.sessions.ttlMs));
    res.redirect(303, safeNext(body.next));
  });

  router.post('/logout', async (req, res) => {
    const id = cookiesOf(req)[SESSION_COOKIE];
    const session = await deps.sessions.find(id);
    // Signing out is a state change too: only this session's own form may do it.
    if (id && session && secretEquals(typeof req.body?._csrf === 'string' ? req.body._csrf : '', session.csrfToken)) await deps.sessions.signOut(id);
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
    const session = await deps.sessions.find(id);
    if (!session) {
      if (id) res.clearCookie(SESSION_COOKIE, { path: '/console' });
      if (req.method === 'GET' || req.method === 'HEAD') {
        res.redirect(303, `/console/login?next=${encodeURIComponent(req.originalUrl)}`);
        return;
      }
      res.status(401);
      render(res, 'error', { title: 'Signed out', status: 401, message: 'Your console session has ended; sign in again. Nothing was changed.' }, null);
      return;
    }
    req.console = session;
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
