/**
 * One page of a meter search: the filter (sent, or carried by the page token), the matching
 * meters from the token's position, the next page's token, and the page's body as UTF-8 JSON.
 */
import { compileFilter, filterHash, findPage, type SearchRequest } from './filters';
import type { PageTokens } from './paging';
import type { Renderer } from './render';
import type { MeterStore } from './state';
import { Utf8Writer } from './text';

/** `d` v2 details, `e` v2 enrollments, `1` v1 meters. */
export type SearchKind = 'd' | 'e' | '1';
export type SearchOutcome = { ok: true; indices: number[]; nextPageToken?: string } | { ok: false; title: string; details: Record<string, unknown> };

/** Room to reserve per meter in a page body (bytes); the buffer grows past it if needed. */
const PAGE_BYTES_PER_METER: Record<SearchKind, number> = { d: 3072, e: 2048, '1': 1280 };

export class MeterSearch {
  constructor(
    private readonly store: MeterStore,
    private readonly renderer: Renderer,
    private readonly tokens: PageTokens,
  ) {}

  /** One page of a search, honouring and issuing filter-bound page tokens. */
  page(kind: SearchKind, request: SearchRequest): SearchOutcome {
    let filter = request.filter;
    let position = 0;
    let hash = filterHash(kind, filter);
    if (request.pageToken !== undefined) {
      const token = this.tokens.read(request.pageToken);
      const details = { page_token: request.pageToken.length > 4096 ? `${request.pageToken.slice(0, 4096)}...` : request.pageToken };
      if (!token.ok) {
        const title = token.reason === 'expired' ? 'Page token expired' : token.reason === 'forgotten' ? 'Page token is no longer valid' : 'Invalid page token';
        return { ok: false, title, details };
      }
      if (token.kind !== kind) return { ok: false, title: 'Page token was issued for a different search', details };
      if (request.hasFilters && token.hash !== hash) return { ok: false, title: 'Page token does not match the search filters', details };
      filter = token.filter;
      hash = token.hash;
      position = token.position;
    }
    const compiled = compileFilter(filter, this.store, this.renderer);
    const page = findPage(compiled, this.store.count, position, request.pageSize);
    return page.next >= 0 ? { ok: true, indices: page.indices, nextPageToken: this.tokens.issue(kind, hash, filter, page.next) } : { ok: true, indices: page.indices };
  }

  /**
   * The body of one search page, UTF-8 JSON: v2 `{meters, next_page_token?}` (kind `d` details,
   * `e` enrollments) or v1 `{results, next_page_token}` (kind `1`, trade dates from `nowMs`). Each
   * meter's text is encoded straight into the body: the same bytes as the page's text, without
   * building the page-sized string and encoding it again.
   */
  body(kind: SearchKind, indices: readonly number[], nextPageToken: string | undefined, nowMs: number): Buffer {
    const { details, enrollment, v1 } = this.renderer;
    const out = new Utf8Writer(PAGE_BYTES_PER_METER[kind] * indices.length + 4096);
    out.write(kind === '1' ? '{"results":[' : '{"meters":[');
    for (let k = 0; k < indices.length; k++) {
      if (k > 0) out.write(',');
      const i = indices[k];
      out.write(kind === 'd' ? details.json(i) : kind === 'e' ? enrollment.json(i) : v1.json(i, nowMs));
    }
    if (kind === '1') out.write('],"next_page_token":' + (nextPageToken !== undefined ? JSON.stringify(nextPageToken) : 'null') + '}');
    else out.write(nextPageToken ? '],"next_page_token":' + JSON.stringify(nextPageToken) + '}' : ']}');
    return out.bytes();
  }
}
