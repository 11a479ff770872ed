import type { LeapMeterDetails, LeapMeterEnrollment, LeapPage, LeapSearchFilter } from '../domain/leap-types';
import { getItem, type MeterSearchOptions, searchItems, searchPages } from './leap-meter-reads';
import type { LeapTransport } from './leap-transport';
import type { DecodedAnswer, DecodedPage, LeapItemKind } from './leap-validate';

/** Leap's Meters API v2: each meter in two parts, its details and its enrollments, searched and read apart. */

const DETAILS_SEARCH = '/v2/meters/search';
const ENROLLMENTS_SEARCH = '/v2/meters/enrollments/search';

/** Parses and checks a search answer's text, e.g. off the main thread; see `searchDecoded`. */
export type PageDecoder<P> = (kind: LeapItemKind, text: string) => Promise<DecodedAnswer<DecodedPage<P>>>;

export function searchDetails(leap: LeapTransport, filter: LeapSearchFilter, opts: MeterSearchOptions): AsyncGenerator<LeapPage<LeapMeterDetails>, void, undefined> {
  return searchItems(leap, 'details', DETAILS_SEARCH, filter, opts);
}

export function searchEnrollments(leap: LeapTransport, filter: LeapSearchFilter, opts: MeterSearchOptions): AsyncGenerator<LeapPage<LeapMeterEnrollment>, void, undefined> {
  return searchItems(leap, 'enrollment', ENROLLMENTS_SEARCH, filter, opts);
}

export function searchDecoded<P>(
  leap: LeapTransport,
  kind: 'details' | 'enrollment',
  filter: LeapSearchFilter,
  decode: PageDecoder<P>,
  opts: MeterSearchOptions,
): AsyncGenerator<DecodedPage<P> & { pageNumber: number }, void, undefined> {
  return searchPages(leap, kind === 'details' ? DETAILS_SEARCH : ENROLLMENTS_SEARCH, filter, opts, (text) => decode(kind, text));
}

export function getDetails(leap: LeapTransport, meterId: string, signal: AbortSignal | undefined): Promise<LeapMeterDetails> {
  return getItem(leap, 'details', `/v2/meters/${encodeURIComponent(meterId)}`, meterId, signal);
}

export function getEnrollment(leap: LeapTransport, meterId: string, signal: AbortSignal | undefined): Promise<LeapMeterEnrollment> {
  return getItem(leap, 'enrollment', `/v2/meters/${encodeURIComponent(meterId)}/enrollments`, meterId, signal);
}
