import { REDACTED } from '../domain/redaction';
import {
  LeapBadRequestError,
  type LeapError,
  LeapForbiddenError,
  LeapNotFoundError,
  LeapPageTokenExpiredError,
  type LeapRequestContext,
  LeapUnauthorizedError,
  LeapUnexpectedStatusError,
} from './leap-errors';

/**
 * What Leap's error answers say, read into typed errors, and the scrubbing that makes any text
 * quoted from an answer or a failure safe for errors and logs.
 */

const EXCERPT_BYTES = 1024;

/** Removes the API key (whole or either half) and any bearer token from text bound for errors and logs. */
export class SecretScrubber {
  private readonly secrets: string[];

  constructor(apiKey: string) {
    this.secrets = secretVariants(apiKey);
  }

  text(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/:=-]+/gi, `$1 ${REDACTED}`);
  }

  /** At most 1 KB of an answer, secrets removed, cut on a character boundary. */
  excerpt(text: string): string | undefined {
    if (text === '') return undefined;
    const clean = this.text(text);
    if (Buffer.byteLength(clean) <= EXCERPT_BYTES) return clean;
    const cut = Buffer.from(clean).subarray(0, EXCERPT_BYTES - 3).toString('utf8').replace(/\uFFFD+$/, '');
    return `${cut}…`;
  }

  /** Leap's `details`, secrets removed; very large ones are cut to text rather than kept whole. */
  details(details: unknown): unknown {
    const text = this.text(JSON.stringify(details) ?? 'null');
    if (text.length > 4000) return `${text.slice(0, 4000)}…`;
    return JSON.parse(text) as unknown;
  }
}

/** What a 3xx/4xx means depends on what was asked: a page token, a meter, a webhook subscription. */
export interface AskedFor {
  hasPageToken?: boolean;
  notFound?: { meterId?: string; webhookId?: string };
}

/** 3xx/4xx: typed errors whose messages say what to check. Never retried. */
export function clientError(ctx: LeapRequestContext, asked: AskedFor, status: number, text: string, location: string | undefined, scrubber: SecretScrubber): LeapError {
  const envelope = parseEnvelope(text);
  const title = envelope.title === undefined ? undefined : scrubber.text(envelope.title).slice(0, 500);
  const details = envelope.details === undefined ? undefined : scrubber.details(envelope.details);
  const tokenProblem = asked.hasPageToken === true && /page[\s_-]*token|cursor/i.test(`${title ?? ''} ${JSON.stringify(details ?? '')}`);
  switch (status) {
    case 400:
      return tokenProblem ? new LeapPageTokenExpiredError(ctx, title, details) : new LeapBadRequestError(ctx, title, details);
    case 401:
      return new LeapUnauthorizedError(ctx, title);
    case 403:
      return new LeapForbiddenError(ctx, title);
    case 404:
      return new LeapNotFoundError(ctx, { ...asked.notFound, leapTitle: title });
    case 410:
      return asked.hasPageToken ? new LeapPageTokenExpiredError(ctx, title, details) : new LeapBadRequestError(ctx, title, details);
    default:
      if (status >= 400 && status < 500) return new LeapBadRequestError(ctx, title ?? `HTTP ${status}`, details);
      return new LeapUnexpectedStatusError(ctx, title, location === undefined ? undefined : scrubber.text(location).slice(0, 300));
  }
}

/** Leap's error bodies: `{title,status,details}` (meters), `{error,message}` (webhooks), `{code,message}` (dispatch), a bare JSON string (500). */
export function parseEnvelope(text: string): { title?: string; details?: unknown } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return text.trim() ? { title: text.trim().slice(0, 500) } : {};
  }
  if (typeof body === 'string') return { title: body };
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return {};
  const fields = body as Record<string, unknown>;
  const title = firstString(fields.title, fields.message, fields.error);
  const details = fields.details !== undefined ? fields.details : fields.error_code !== undefined ? { error_code: fields.error_code } : undefined;
  return { ...(title !== undefined ? { title } : {}), ...(details !== undefined ? { details } : {}) };
}

/** The key and, for Leap's `id:secret` keys, each half long enough to be recognisable. */
function secretVariants(apiKey: string): string[] {
  const parts = apiKey.split(':').filter((p) => p.length >= 8);
  return [apiKey, ...(parts.length > 1 ? parts : [])].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
}

function firstString(...values: unknown[]): string | undefined {
  for (const v of values) if (typeof v === 'string' && v !== '') return v;
  return undefined;
}
