import { UpstreamError } from '../errors';

/**
 * Every way a call to Leap can fail, as typed errors with stable codes. They are built once,
 * inside the Leap client, from plain values: no axios error, request config or header ever
 * reaches one, so the API key cannot leak through an error message, its JSON or a log line.
 */

/** Where a failing request was going; shared by every Leap error. */
export interface LeapRequestContext {
  method: string;
  /** Path below the base URL, e.g. `/v2/meters/search`. */
  path: string;
  /** 1-based page within the search, for search requests. */
  pageNumber?: number;
  /** HTTP status Leap answered with, when it answered. */
  status?: number;
  /** At most 1 KB of Leap's answer, secrets removed. */
  bodyExcerpt?: string;
  /** How many attempts were made before giving up. */
  attempts?: number;
}

export const LEAP_ERROR_CODES = [
  'leap_unauthorized',
  'leap_forbidden',
  'leap_not_found',
  'leap_bad_request',
  'leap_page_token_expired',
  'leap_unavailable',
  'leap_malformed_page',
  'leap_unexpected_status',
  'leap_aborted',
] as const;
export type LeapErrorCode = (typeof LEAP_ERROR_CODES)[number];

export abstract class LeapError extends UpstreamError {
  declare readonly code: LeapErrorCode;
  readonly method: string;
  readonly path: string;
  readonly pageNumber: number | undefined;
  readonly attempts: number | undefined;

  protected constructor(code: LeapErrorCode, message: string, ctx: LeapRequestContext, details: Record<string, unknown> = {}) {
    super(code, 'leap', message, {
      status: ctx.status,
      body: ctx.bodyExcerpt,
      details: dropUndefined({
        method: ctx.method,
        path: ctx.path,
        page_number: ctx.pageNumber,
        attempts: ctx.attempts,
        body_excerpt: ctx.bodyExcerpt,
        ...details,
      }),
    });
    this.method = ctx.method;
    this.path = ctx.path;
    this.pageNumber = ctx.pageNumber;
    this.attempts = ctx.attempts;
  }
}

/** 401: the key was missing or malformed. */
export class LeapUnauthorizedError extends LeapError {
  constructor(ctx: LeapRequestContext, leapTitle?: string) {
    super('leap_unauthorized', `Leap rejected the request as unauthenticated: check LEAP_API_KEY is set and sent${said(leapTitle)} (${where(ctx)})`, ctx, {
      leap_title: leapTitle,
    });
  }
}

/** 403: the key is valid somewhere, but not here or not for this. */
export class LeapForbiddenError extends LeapError {
  constructor(ctx: LeapRequestContext, leapTitle?: string) {
    super(
      'leap_forbidden',
      `Leap refused the API key: a staging key used against production (or the reverse) or a key without meter permissions — check LEAP_BASE_URL matches the key's environment${said(leapTitle)} (${where(ctx)})`,
      ctx,
      { leap_title: leapTitle },
    );
  }
}

/** 404: the meter (or webhook subscription) does not exist, or the path is wrong. */
export class LeapNotFoundError extends LeapError {
  readonly meterId: string | undefined;
  readonly webhookId: string | undefined;
  constructor(ctx: LeapRequestContext, what: { meterId?: string; webhookId?: string; leapTitle?: string }) {
    const message = what.meterId
      ? `Leap has no meter ${what.meterId}${said(what.leapTitle)} (${where(ctx)})`
      : what.webhookId
        ? `Leap has no webhook subscription ${what.webhookId}${said(what.leapTitle)} (${where(ctx)})`
        : `Leap answered 404 for ${where(ctx)}${said(what.leapTitle)}: check LEAP_BASE_URL (and, on API v1, the account id)`;
    super('leap_not_found', message, ctx, { meter_id: what.meterId, webhook_id: what.webhookId, leap_title: what.leapTitle });
    this.meterId = what.meterId;
    this.webhookId = what.webhookId;
  }
}

/** 400 (or another 4xx Leap documents as a client error): the request itself was wrong. */
export class LeapBadRequestError extends LeapError {
  readonly leapTitle: string | undefined;
  readonly leapDetails: unknown;
  constructor(ctx: LeapRequestContext, leapTitle: string | undefined, leapDetails: unknown) {
    const detailText = describeDetails(leapDetails);
    super(
      'leap_bad_request',
      `Leap rejected ${where(ctx)} as a bad request: ${leapTitle ?? 'no reason given'}${detailText ? ` (${detailText})` : ''}`,
      ctx,
      { leap_title: leapTitle, leap_details: leapDetails },
    );
    this.leapTitle = leapTitle;
    this.leapDetails = leapDetails;
  }
}

/** The stored page token is no longer accepted: restart the search from the sync cursor. */
export class LeapPageTokenExpiredError extends LeapError {
  readonly leapTitle: string | undefined;
  constructor(ctx: LeapRequestContext, leapTitle: string | undefined, leapDetails: unknown) {
    super(
      'leap_page_token_expired',
      `Leap no longer accepts the page token for page ${ctx.pageNumber ?? '?'} of ${ctx.method} ${ctx.path}${said(leapTitle)}: restart the search from its cursor`,
      ctx,
      { leap_title: leapTitle, leap_details: leapDetails },
    );
    this.leapTitle = leapTitle;
  }
}

/** Leap kept failing (network, timeout, 429, 5xx) until the retries ran out. */
export class LeapUnavailableError extends LeapError {
  /** The last failure, as text without secrets: `HTTP 503`, `ECONNRESET: socket hang up`, `timeout after 10000 ms`. */
  readonly lastCause: string;
  readonly lastStatus: number | undefined;
  constructor(ctx: LeapRequestContext, lastCause: string, hint?: string) {
    super(
      'leap_unavailable',
      `Leap is unavailable: ${ctx.method} ${ctx.path}${ctx.pageNumber ? ` (page ${ctx.pageNumber})` : ''} failed ${ctx.attempts ?? 1} time(s), last with ${lastCause}${hint ? `; ${hint}` : ''}`,
      ctx,
      { last_cause: lastCause },
    );
    this.lastCause = lastCause;
    this.lastStatus = ctx.status;
  }
}

/** One reason a page or meter failed validation. */
export interface LeapPageProblem {
  /** Index of the item within the page; absent for envelope problems. */
  index?: number;
  meter_id?: string;
  /** JSON pointer into Leap's answer, e.g. `/meters/3/audit/updated_at`. */
  pointer: string;
  message: string;
}

/** Leap answered 2xx with JSON we cannot use: unparseable, truncated, or not the documented shape. */
export class LeapMalformedPageError extends LeapError {
  readonly problems: LeapPageProblem[];
  constructor(ctx: LeapRequestContext, problems: LeapPageProblem[]) {
    const shown = problems.slice(0, 5).map(describeProblem).join('; ');
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    const what = ctx.pageNumber ? `page ${ctx.pageNumber} of ${ctx.method} ${ctx.path}` : `${ctx.method} ${ctx.path}`;
    super('leap_malformed_page', `Leap returned a malformed answer for ${what}: ${shown}${more}`, ctx, { problems: problems.slice(0, 50) });
    this.problems = problems;
  }
}

/** A status Leap does not document for this call (3xx, 405, 409, ...). */
export class LeapUnexpectedStatusError extends LeapError {
  constructor(ctx: LeapRequestContext, leapTitle?: string, location?: string) {
    const redirect = location ? `: redirected to ${location} — check LEAP_BASE_URL (scheme and host)` : '';
    super('leap_unexpected_status', `Leap answered ${where(ctx)} with unexpected HTTP ${ctx.status ?? '?'}${said(leapTitle)}${redirect}`, ctx, {
      leap_title: leapTitle,
      location,
    });
  }
}

/** The caller aborted the call (shutdown, a cancelled sync run). */
export class LeapAbortedError extends LeapError {
  constructor(ctx: LeapRequestContext) {
    super('leap_aborted', `The call to Leap was aborted: ${where(ctx)}`, ctx);
  }
}

function where(ctx: LeapRequestContext): string {
  return `${ctx.method} ${ctx.path}${ctx.pageNumber ? ` page ${ctx.pageNumber}` : ''}`;
}

function said(title: string | undefined): string {
  return title ? ` (Leap said: "${title}")` : '';
}

function describeProblem(p: LeapPageProblem): string {
  const item = p.index === undefined ? '' : `item ${p.index}${p.meter_id ? ` (meter_id ${p.meter_id})` : ''} `;
  return `${item}${p.pointer || '/'} ${p.message}`;
}

/** Leap's `details` is documented as an object but seen as an array of `{message, description}`. */
function describeDetails(details: unknown): string {
  if (details === undefined || details === null) return '';
  if (Array.isArray(details)) {
    return details
      .map((d) => (d && typeof d === 'object' ? Object.values(d as Record<string, unknown>).map(String).join(': ') : String(d)))
      .filter((s) => s !== '')
      .join('; ');
  }
  if (typeof details === 'object') {
    return Object.entries(details as Record<string, unknown>)
      .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(', ');
  }
  return String(details);
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
