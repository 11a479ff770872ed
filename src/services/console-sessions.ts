import { randomBytes } from 'node:crypto';
import type { ApiKeyConfig } from '../config/schema';
import type { Clock } from '../domain/clock';
import { secretMatcher } from '../domain/secrets';
import type { Logger } from '../logger';
import type { ConsoleSessionStore } from '../stores/console-session-store';

/** Who is signed in to the console, for the pages and the CSRF check. */
export interface SignedIn {
  keyName: string;
  csrfToken: string;
}

export type SignInResult = { ok: true; sessionId: string; keyName: string } | { ok: false; status: 400 | 401 | 403; message: string };

const token = (): string => randomBytes(32).toString('base64url');

/**
 * Console sign-in with an admin API key: compared in constant time against every configured key
 * and never stored. A session is a random id (the cookie's value; stored hashed) with its own
 * CSRF token; it lasts `ttlMs`, and only while its key is still configured with the admin scope.
 */
export class ConsoleSessionService {
  private readonly keyFor: (presented: string) => ApiKeyConfig | undefined;

  constructor(private readonly deps: { keys: readonly ApiKeyConfig[]; store: ConsoleSessionStore; ttlMs: number; clock: Clock; logger: Logger }) {
    this.keyFor = secretMatcher(deps.keys, (k) => k.key);
  }

  get ttlMs(): number {
    return this.deps.ttlMs;
  }

  async signIn(presented: string, ip: string | undefined): Promise<SignInResult> {
    if (!presented) return { ok: false, status: 400, message: 'Enter an API key with the admin scope.' };
    const match = this.keyFor(presented);
    if (!match) {
      this.deps.logger.warn('console sign-in refused: the key is not valid', { ip });
      return { ok: false, status: 401, message: 'That key is not valid.' };
    }
    if (!match.scopes.includes('admin')) {
      this.deps.logger.warn('console sign-in refused: the key lacks the admin scope', { key: match.name, ip });
      return { ok: false, status: 403, message: `The key "${match.name}" lacks the admin scope; the console needs an admin key.` };
    }
    const now = this.deps.clock.now();
    await this.deps.store.purgeExpired(now);
    const sessionId = token();
    await this.deps.store.create(sessionId, { keyName: match.name, csrfToken: token(), createdAt: now, expiresAt: new Date(now.getTime() + this.deps.ttlMs) });
    this.deps.logger.info('console sign-in', { key: match.name });
    return { ok: true, sessionId, keyName: match.name };
  }

  /** The live session with this id, or null (expired, signed out, or its key no longer an admin key). */
  async find(sessionId: string | undefined): Promise<SignedIn | null> {
    if (!sessionId) return null;
    const s = await this.deps.store.find(sessionId, this.deps.clock.now());
    if (!s || !this.deps.keys.some((k) => k.name === s.keyName && k.scopes.includes('admin'))) return null;
    return { keyName: s.keyName, csrfToken: s.csrfToken };
  }

  async signOut(sessionId: string): Promise<void> {
    await this.deps.store.delete(sessionId);
  }
}
