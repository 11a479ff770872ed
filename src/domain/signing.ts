import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the key is the base64 part of a
 * `whsec_` secret; the signed text is `${webhook-id}.${webhook-timestamp}.${body}`; the header
 * lists `v1,<base64 HMAC-SHA256>` once per active secret, separated by spaces.
 */

export const SECRET_PREFIX = 'whsec_';
/** Receivers reject timestamps further than this from their clock (the reference libraries' default). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export interface SigningSecret {
  /** `whsec_` followed by base64 of 24 to 64 random bytes. */
  secret: string;
  /** After this instant the secret no longer signs (the end of a rotation). */
  expiresAt?: Date | null;
}

/** Why a secret is unusable, or null when it is fine. */
export function secretProblem(secret: string): string | null {
  if (!secret.startsWith(SECRET_PREFIX)) return 'must start with whsec_';
  const b64 = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return 'must be whsec_ followed by base64';
  const bytes = Buffer.from(b64, 'base64').length;
  if (bytes < 24 || bytes > 64) return `must decode to 24-64 bytes (got ${bytes})`;
  return null;
}

export function generateSecret(bytes = 32): string {
  return `${SECRET_PREFIX}${randomBytes(bytes).toString('base64')}`;
}

function key(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/** One `v1,<base64>` signature. */
export function sign(secret: string, msgId: string, timestampSeconds: number, body: string | Buffer): string {
  const mac = createHmac('sha256', key(secret)).update(`${msgId}.${timestampSeconds}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/** The secrets that sign at `now`: every one not yet expired. */
export function activeSecrets(secrets: readonly SigningSecret[], now: Date): SigningSecret[] {
  return secrets.filter((s) => !s.expiresAt || s.expiresAt.getTime() > now.getTime());
}

/** The `webhook-signature` header value: one entry per active secret. */
export function signatureHeader(secrets: readonly SigningSecret[], msgId: string, timestampSeconds: number, body: string | Buffer, now: Date): string {
  return activeSecrets(secrets, now)
    .map((s) => sign(s.secret, msgId, timestampSeconds, body))
    .join(' ');
}

/** The three Standard Webhooks headers for one attempt. */
export function webhookHeaders(secrets: readonly SigningSecret[], msgId: string, body: string | Buffer, now: Date): Record<string, string> {
  const ts = Math.floor(now.getTime() / 1000);
  const headers: Record<string, string> = { 'webhook-id': msgId, 'webhook-timestamp': String(ts) };
  const sig = signatureHeader(secrets, msgId, ts, body, now);
  if (sig) headers['webhook-signature'] = sig;
  return headers;
}

export type VerifyFailure = 'missing_headers' | 'timestamp_too_old' | 'timestamp_too_new' | 'invalid_timestamp' | 'no_matching_signature';

/**
 * Verify as a receiver does: headers present, timestamp within tolerance, and some `v1` entry
 * matching some secret (constant-time). Returns null when valid.
 */
export function verify(
  secrets: readonly string[],
  headers: Record<string, string | string[] | undefined>,
  body: string | Buffer,
  now: Date = new Date(),
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): VerifyFailure | null {
  const get = (name: string): string | undefined => {
    const v = headers[name] ?? headers[name.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  };
  const id = get('webhook-id');
  const ts = get('webhook-timestamp');
  const sigs = get('webhook-signature');
  if (!id || !ts || !sigs) return 'missing_headers';
  if (!/^\d+$/.test(ts)) return 'invalid_timestamp';
  const t = Number(ts);
  const nowS = Math.floor(now.getTime() / 1000);
  if (t < nowS - toleranceSeconds) return 'timestamp_too_old';
  if (t > nowS + toleranceSeconds) return 'timestamp_too_new';
  const presented = sigs
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  for (const secret of secrets) {
    const expected = Buffer.from(sign(secret, id, t, body).slice(3), 'base64');
    for (const p of presented) if (p.length === expected.length && timingSafeEqual(p, expected)) return null;
  }
  return 'no_matching_signature';
}
