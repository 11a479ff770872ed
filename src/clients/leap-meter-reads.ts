import type { LeapPage } from '../domain/leap-types';
import { ConfigError } from '../errors';
import { type DecodedAnswer, type DecodedPage, decodePage, type LeapItemKind, type LeapItemTypes, validateItem } from './leap-validate';
import type { LeapTransport, RequestSpec } from './leap-transport';

/**
 * How both versions of Leap's Meters API are read: searches page by page with the same filters
 * on every page, and single meters checked against their schema. Each version only names paths.
 */

/** Leap's largest page, and the default: the fewest calls. */
export const MAX_PAGE_SIZE = 500;

export interface LeapSearchOptions {
  /** Resume a search at a stored position: the `next_page_token` of the last page processed. */
  pageToken?: string;
  pageSize?: number;
  signal?: AbortSignal;
  /** Number of the first page fetched, when resuming (so errors name the page within the whole search); default 1. */
  firstPageNumber?: number;
}

/** A search's options with the client's page size filled in where the caller gave none. */
export type MeterSearchOptions = LeapSearchOptions & { pageSize: number };

/** A search whose pages are parsed and checked here, on the calling thread. */
export async function* searchItems<K extends LeapItemKind>(
  leap: LeapTransport,
  kind: K,
  path: string,
  filter: object,
  opts: MeterSearchOptions,
): AsyncGenerator<LeapPage<LeapItemTypes[K]>, void, undefined> {
  for await (const p of searchPages(leap, path, filter, opts, (text) => Promise.resolve(decodePage(kind, text)))) yield { items: p.page, nextPageToken: p.nextPageToken, pageNumber: p.pageNumber };
}

/** Page after page of one search, each answer decoded by `decode` within its attempt's retries. */
export async function* searchPages<P>(
  leap: LeapTransport,
  path: string,
  filter: object,
  opts: MeterSearchOptions,
  decode: (text: string) => Promise<DecodedAnswer<DecodedPage<P>>>,
): AsyncGenerator<DecodedPage<P> & { pageNumber: number }, void, undefined> {
  const { pageSize } = opts;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new ConfigError([`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${String(pageSize)}`]);
  }
  let token: string | null = opts.pageToken ? opts.pageToken : null;
  let pageNumber = Math.max(1, Math.floor(opts.firstPageNumber ?? 1)) - 1;
  do {
    pageNumber += 1;
    // Leap's tokens are tied to their filters: the same filters go with every page.
    const body = { ...filter, page_size: pageSize, ...(token ? { page_token: token } : {}) };
    const spec: RequestSpec = { method: 'POST', path, body, pageNumber, idempotent: true, signal: opts.signal, hasPageToken: token !== null };
    const page = await leap.exchange(spec, decode);
    if (page.nextPageToken !== null && page.nextPageToken === token) {
      // The same token twice would page forever; stop loudly instead.
      throw leap.malformed(spec, [{ pointer: '/next_page_token', message: 'repeats the token that requested this page' }], { next_page_token: token });
    }
    leap.countPage(page.items);
    token = page.nextPageToken;
    yield { ...page, pageNumber };
  } while (token !== null);
}

/** One meter (or one part of it); an unknown meter is LeapNotFoundError. */
export async function getItem<K extends LeapItemKind>(leap: LeapTransport, kind: K, path: string, meterId: string, signal: AbortSignal | undefined): Promise<LeapItemTypes[K]> {
  const spec: RequestSpec = { method: 'GET', path, idempotent: true, signal, notFound: { meterId } };
  const answer = await leap.send(spec);
  const result = validateItem(kind, answer);
  if (!result.ok) throw leap.malformed(spec, result.problems, answer);
  return result.item;
}
