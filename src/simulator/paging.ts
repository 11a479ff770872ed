/**
 * Opaque page tokens: base64url JSON {endpoint, filter hash, position, issue time} plus an HMAC,
 * so a token cannot be forged, is bound to the filters it was issued for, and expires. Small
 * filters travel inside the token; large ones (long meter_id lists) stay in a bounded cache.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json';
import type { NormalizedFilter } from './filters';

interface TokenBody {
  v: 1;
  /** Endpoint kind: `d` details, `e` enrollments, `1` v1. */
  k: string;
  h: string;
  p: number;
  t: number;
  f?: NormalizedFilter;
}

export type TokenRead =
  | { ok: true; kind: string; hash: string; position: number; filter: NormalizedFilter }
  | { ok: false; reason: 'invalid' | 'expired' | 'forgotten' };

const INLINE_FILTER_LIMIT = 2048;
const CACHE_LIMIT = 2000;

export class PageTokens {
  private readonly cache = new Map<string, NormalizedFilter>();

  constructor(
    private readonly secret: Buffer,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  issue(kind: string, hash: string, filter: NormalizedFilter, position: number): string {
    const body: TokenBody = { v: 1, k: kind, h: hash, p: position, t: this.now() };
    if (canonicalJson(filter).length <= INLINE_FILTER_LIMIT) body.f = filter;
    else this.remember(hash, filter);
    const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  read(token: string): TokenRead {
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return { ok: false, reason: 'invalid' };
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1));
    const expected = Buffer.from(this.sign(payload));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' };
    let body: TokenBody;
    try {
      body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenBody;
    } catch {
      return { ok: false, reason: 'invalid' };
    }
    if (body.v !== 1 || typeof body.p !== 'number' || typeof body.t !== 'number') return { ok: false, reason: 'invalid' };
    if (this.now() - body.t > this.ttlMs) return { ok: false, reason: 'expired' };
    const filter = body.f ?? this.cache.get(body.h);
    if (!filter) return { ok: false, reason: 'forgotten' };
    return { ok: true, kind: body.k, hash: body.h, position: body.p, filter };
  }

  private remember(hash: string, filter: NormalizedFilter): void {
    this.cache.delete(hash);
    this.cache.set(hash, filter);
    if (this.cache.size > CACHE_LIMIT) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url').slice(0, 22);
  }
}
