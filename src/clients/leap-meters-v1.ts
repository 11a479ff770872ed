import type { LeapPage, LeapV1Meter, LeapV1SearchFilter } from '../domain/leap-types';
import { ConfigError } from '../errors';
import { getItem, type MeterSearchOptions, searchItems } from './leap-meter-reads';
import type { LeapTransport } from './leap-transport';

/** Leap's original Meters API (sunset 2026-10-31): Search Meters and Get Meter under the partner's account. */

export function searchMeters(leap: LeapTransport, accountId: string | undefined, filter: LeapV1SearchFilter, opts: MeterSearchOptions): AsyncGenerator<LeapPage<LeapV1Meter>, void, undefined> {
  return searchItems(leap, 'v1', `${accountPath(accountId)}/meters/search`, filter, opts);
}

export function getMeter(leap: LeapTransport, accountId: string | undefined, meterId: string, signal: AbortSignal | undefined): Promise<LeapV1Meter> {
  return getItem(leap, 'v1', `${accountPath(accountId)}/meters/${encodeURIComponent(meterId)}`, meterId, signal);
}

function accountPath(accountId: string | undefined): string {
  if (!accountId) throw new ConfigError(['accountId is required for Leap API v1 (the Account ID on the Partner account page)']);
  return `/v1.1/account/${encodeURIComponent(accountId)}`;
}
