/**
 * The Leap simulator in-process: portfolio state, simulated clock, evolution, faults, webhooks,
 * page tokens, and the scenario helpers tests use to drive exact situations.
 */
import { createHash } from 'node:crypto';
import type { Express } from 'express';
import { silentLogger, type Logger } from '../logger';
import { ACTIVE, PENDING, PARTNER_ACTIONS, type PartnerActionCode, PREFERENCES, REGIONS, STATUS_CODES, METER_TYPE_CODES, UTILITY_REFS, type DeviceTypeName, type MeterTypeName, type PreferenceName, type RegionCode, type StatusName } from './catalog';
import { createApp } from './app';
import { Evolver, type AdvanceSummary } from './evolve';
import { Faults, type FaultConfig, type FaultKind } from './faults';
import { compileFilter, filterHash, findPage, type SearchRequest } from './filters';
import { MarketGroups } from './markets';
import { DueQueue, Mutator, PREF_DISENROLL, PREF_IDLE, PREF_PARTICIPATE, type ChangeCounts } from './mutations';
import { PageTokens } from './paging';
import { generatePortfolio, meterAttributes } from './portfolio';
import { Rng, salt, seededUuid } from './random';
import { Renderer, type LeapEventPayload } from './render';
import { FLAG_CONNECT, FLAG_HAS_REFERENCE, kindCreatedBy, kindMeterType, MeterStore, Stamper } from './state';
import { Utf8Writer } from './text';
import { HOUR_MS, localDay } from './time';
import { LeapWebhooks, type LeapEnvelope, type WebhookStats } from './webhooks';

export interface SimulatorOptions {
  /** Initial portfolio size (10 to 300,000 in tests and benchmarks). */
  meters: number;
  /** Same seed: same portfolio and the same evolution for the same sequence of calls. */
  seed: number;
  /** The bearer key accepted; any other key is 403, none or malformed is 401. */
  apiKey: string;
  /** v1 account id in paths (default: a fixed uuid derived from the seed); other ids are 403. */
  accountId?: string;
  /** Simulated clock start (default: now, truncated to the hour). */
  start?: Date;
  /** Requests per second before answering 429 with Retry-After; undefined = unlimited. */
  rateLimit?: number;
  /** Multiplies Leap's webhook retry delays (1 = real time; tests use 0.001). */
  webhookTimeScale?: number;
  /** Demo mode: advance one simulated hour every N real seconds (the timer does not keep the process alive). */
  evolveEverySeconds?: number;
  /** Page tokens older than this (real time) are rejected as expired (default 3600). */
  pageTokenTtlSeconds?: number;
  logger?: Logger;
}

export type { AdvanceSummary, ChangeCounts, FaultConfig, LeapEnvelope, LeapEventPayload, PartnerActionCode };

export interface SimulatorStateReport {
  now: string;
  seed: number;
  accountId: string;
  meters: {
    total: number;
    byStatus: Record<StatusName, number>;
    archived: number;
    withPartnerActions: number;
    withLeapActions: number;
    byRegion: Record<string, number>;
    byMeterType: Record<string, number>;
    /** Bytes held by the per-meter typed arrays. */
    stateBytes: number;
  };
  requests: { total: number; byRoute: Record<string, Record<string, number>> };
  faults: { config: FaultConfig & { rateLimit: number | null }; injected: Record<FaultKind, number> };
  webhooks: WebhookStats;
  advances: { count: number; simulatedHours: number; last: AdvanceSummary | null };
}

/** A snapshot of one meter in every view Leap offers. */
export interface MeterViews {
  details: Record<string, unknown>;
  enrollment: Record<string, unknown>;
  v1: Record<string, unknown>;
}

export type SearchKind = 'd' | 'e' | '1';
export type SearchOutcome = { ok: true; indices: number[]; nextPageToken?: string } | { ok: false; title: string; details: Record<string, unknown> };

export interface AuthorizeOptions {
  /** Meters in this authorization (default 1). */
  count?: number;
  /** Share this partner reference (an existing meter's, to add meters to that customer, or a new string). */
  partnerReference?: string;
  region?: RegionCode;
  utility?: string;
  meterType?: MeterTypeName;
  deviceType?: DeviceTypeName;
}

const PARTNER_CODE_BITS: Record<string, number> = Object.fromEntries(PARTNER_ACTIONS.map((a) => [a.code, a.bit]));
export type LeapActionCode = 'LEAP_0001' | 'MRKT_0001';
const LEAP_CODE_BITS: Record<LeapActionCode, number> = { LEAP_0001: 1, MRKT_0001: 2 };

/** Room to reserve per meter in a page body (bytes); the buffer grows past it if needed. */
const PAGE_BYTES_PER_METER: Record<SearchKind, number> = { d: 3072, e: 2048, '1': 1280 };

export class Simulator {
  readonly app: Express;
  readonly seed: number;
  readonly apiKey: string;
  readonly accountId: string;
  readonly logger: Logger;

  /** @internal */ readonly store: MeterStore;
  /** @internal */ readonly renderer: Renderer;
  /** @internal */ readonly faults: Faults;
  /** @internal */ readonly webhooks: LeapWebhooks;
  /** @internal */ readonly tokens: PageTokens;

  private readonly groups: MarketGroups;
  private readonly mutator: Mutator;
  private readonly evolver: Evolver;
  private clockMs: number;
  private readonly requestCounts = new Map<string, Map<number, number>>();
  private requestTotal = 0;
  private advanceCount = 0;
  private simulatedHours = 0;
  private lastAdvance: AdvanceSummary | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: SimulatorOptions) {
    if (!Number.isInteger(options.meters) || options.meters < 0 || options.meters > 2_000_000) throw new RangeError('meters must be an integer between 0 and 2,000,000');
    if (!Number.isFinite(options.seed)) throw new RangeError('seed must be a number');
    if (!options.apiKey) throw new RangeError('apiKey is required');
    this.seed = Math.trunc(options.seed) >>> 0;
    this.apiKey = options.apiKey;
    this.accountId = (options.accountId ?? seededUuid(this.seed, salt('account-id'), 0)).toLowerCase();
    this.logger = options.logger ?? silentLogger;
    const start = options.start ?? new Date();
    this.clockMs = options.start ? start.getTime() : Math.floor(start.getTime() / HOUR_MS) * HOUR_MS;
    if (!Number.isFinite(this.clockMs)) throw new RangeError('start must be a valid date');

    this.store = new MeterStore(this.seed);
    this.groups = new MarketGroups(this.seed);
    this.renderer = new Renderer(this.store, this.groups, this.seed);
    const due = new DueQueue();
    const stamper = new Stamper(new Rng(this.seed, salt('stamps')));
    this.webhooks = new LeapWebhooks(this.seed, options.webhookTimeScale ?? 1, this.logger);
    this.mutator = new Mutator(this.store, this.groups, this.renderer, stamper, new Rng(this.seed, salt('mutations')), due, (p) => {
      this.webhooks.emit(p);
    });
    generatePortfolio(this.store, this.groups, due, stamper, this.seed, options.meters, this.clockMs);
    this.evolver = new Evolver(this.store, this.mutator, due, new Rng(this.seed, salt('evolution')), this.seed);
    this.faults = new Faults(this.seed, options.rateLimit ?? null);
    const secret = createHash('sha256').update(`leap-simulator:${this.seed}:${this.apiKey}`).digest();
    this.tokens = new PageTokens(secret, (options.pageTokenTtlSeconds ?? 3600) * 1000);
    this.app = createApp(this);
    if (options.evolveEverySeconds !== undefined) {
      if (!(options.evolveEverySeconds > 0)) throw new RangeError('evolveEverySeconds must be positive');
      this.timer = setInterval(() => {
        const summary = this.advance(1);
        this.logger.debug('simulator advanced one hour', { now: summary.to, meters_changed: summary.metersChanged });
      }, options.evolveEverySeconds * 1000);
      this.timer.unref();
    }
  }

  /** The simulated clock. */
  now(): Date {
    return new Date(this.clockMs);
  }

  /**
   * Evolves the portfolio over `hours` simulated hours (fractional allowed, at most a year) and
   * moves the clock; every change is stamped strictly after the previous clock. Same as POST /_sim/advance.
   */
  advance(hours: number): AdvanceSummary {
    if (typeof hours !== 'number' || !Number.isFinite(hours) || hours <= 0 || hours > 24 * 366) throw new RangeError('hours must be a number greater than 0 and at most 8784');
    const from = this.clockMs;
    const to = from + Math.max(1, Math.round(hours * HOUR_MS));
    const eventsBefore = this.webhooks.stats().eventsEmitted;
    const { changes, metersChanged } = this.evolver.run(from, to);
    this.clockMs = to;
    this.advanceCount++;
    this.simulatedHours += hours;
    const summary: AdvanceSummary = {
      hours,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      changes,
      metersChanged,
      webhookEvents: this.webhooks.stats().eventsEmitted - eventsBefore,
    };
    this.lastAdvance = summary;
    return summary;
  }

  setFaults(f: FaultConfig): void {
    this.faults.set(f);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  state(): SimulatorStateReport {
    const s = this.store;
    const byStatus = Object.fromEntries(STATUS_CODES.map((k) => [k, 0])) as Record<StatusName, number>;
    const byRegion: Record<string, number> = Object.fromEntries(REGIONS.map((r) => [r.code, 0]));
    const byMeterType: Record<string, number> = Object.fromEntries(METER_TYPE_CODES.map((t) => [t, 0]));
    let archived = 0;
    let partner = 0;
    let leap = 0;
    for (let i = 0; i < s.count; i++) {
      byStatus[STATUS_CODES[s.status[i]]]++;
      byRegion[REGIONS[s.region[i]].code]++;
      byMeterType[METER_TYPE_CODES[kindMeterType(s.kind[i])]]++;
      if (s.isArchived(i)) archived++;
      if (s.partnerActions[i] !== 0) partner++;
      if (s.leapActions[i] !== 0) leap++;
    }
    const byRoute: Record<string, Record<string, number>> = {};
    for (const [route, statuses] of this.requestCounts) byRoute[route] = Object.fromEntries([...statuses].map(([status, n]) => [String(status), n]));
    return {
      now: this.now().toISOString(),
      seed: this.seed,
      accountId: this.accountId,
      meters: { total: s.count, byStatus, archived, withPartnerActions: partner, withLeapActions: leap, byRegion, byMeterType, stateBytes: s.byteSize() },
      requests: { total: this.requestTotal, byRoute },
      faults: { config: this.faults.current(), injected: { ...this.faults.injected } },
      webhooks: this.webhooks.stats(),
      advances: { count: this.advanceCount, simulatedHours: this.simulatedHours, last: this.lastAdvance },
    };
  }

  /** Stops the demo timer and every pending webhook delivery and retry. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.webhooks.close();
  }

  /** @internal Counts a finished request for /_sim/state. */
  recordRequest(route: string, status: number): void {
    this.requestTotal++;
    let m = this.requestCounts.get(route);
    if (!m) {
      m = new Map();
      this.requestCounts.set(route, m);
    }
    m.set(status, (m.get(status) ?? 0) + 1);
  }

  /** @internal One page of a search, honouring and issuing filter-bound page tokens. */
  search(kind: SearchKind, request: SearchRequest): SearchOutcome {
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
   * @internal The body of one search page, UTF-8 JSON: v2 `{meters, next_page_token?}` (kind `d`
   * details, `e` enrollments) or v1 `{results, next_page_token}` (kind `1`). Each meter's text is
   * encoded straight into the body: the same bytes as the page's text, without building the
   * page-sized string and encoding it again.
   */
  pageBody(kind: SearchKind, indices: readonly number[], nextPageToken: string | undefined): Buffer {
    const r = this.renderer;
    const out = new Utf8Writer(PAGE_BYTES_PER_METER[kind] * indices.length + 4096);
    out.write(kind === '1' ? '{"results":[' : '{"meters":[');
    for (let k = 0; k < indices.length; k++) {
      if (k > 0) out.write(',');
      const i = indices[k];
      out.write(kind === 'd' ? r.detailsJson(i) : kind === 'e' ? r.enrollmentJson(i) : r.v1Json(i, this.clockMs));
    }
    if (kind === '1') out.write('],"next_page_token":' + (nextPageToken !== undefined ? JSON.stringify(nextPageToken) : 'null') + '}');
    else out.write(nextPageToken ? '],"next_page_token":' + JSON.stringify(nextPageToken) + '}' : ']}');
    return out.bytes();
  }

  // ---- Test and demo helpers: each stamps audit.updated_at at the simulated now and emits Leap's webhook. ----

  /** Number of meters, archived ones included. */
  meterCount(): number {
    return this.store.count;
  }

  /** Meter ids in creation order; optionally only a global status, a region, (includeArchived: false) unarchived ones, or every n-th of those. */
  meterIds(filter: { status?: StatusName; region?: RegionCode; includeArchived?: boolean; limit?: number; every?: number } = {}): string[] {
    const s = this.store;
    const out: string[] = [];
    const status = filter.status ? STATUS_CODES.indexOf(filter.status) : -1;
    const region = filter.region ? REGIONS.findIndex((r) => r.code === filter.region) : -1;
    const limit = filter.limit ?? Infinity;
    // Every n-th match only: a sample of a large portfolio without building every id.
    const every = Math.max(1, Math.floor(filter.every ?? 1));
    let matched = 0;
    for (let i = 0; i < s.count && out.length < limit; i++) {
      if (status >= 0 && s.status[i] !== status) continue;
      if (region >= 0 && s.region[i] !== region) continue;
      if (filter.includeArchived === false && s.isArchived(i)) continue;
      if (matched++ % every === 0) out.push(s.meterId(i));
    }
    return out;
  }

  /** The meter as v2 details, v2 enrollment and v1 would show it now (fresh objects, parsed from the served text). Throws for an unknown id. */
  meter(meterId: string): MeterViews {
    const i = this.index(meterId);
    return { details: this.renderer.details(i), enrollment: this.renderer.enrollment(i), v1: this.renderer.v1(i, this.clockMs) };
  }

  /** The Leap webhook events emitted so far (the latest 2000), oldest first. */
  events(): LeapEnvelope[] {
    return this.webhooks.events();
  }

  /** Calls `listener` for every Leap webhook event as it is emitted; returns an unsubscribe function. */
  onEvent(listener: (envelope: LeapEnvelope) => void): () => void {
    return this.webhooks.onEvent(listener);
  }

  /** Resolves when no webhook delivery is queued, in flight or waiting to be retried. */
  webhooksIdle(): Promise<void> {
    return this.webhooks.idle();
  }

  /**
   * A customer authorizes new meters (PENDING): they share one partner reference, which can be an
   * existing meter's (a second authorization of the same site) or a new string. Emits meter.created
   * per meter. Returns the new meter ids.
   */
  authorize(options: AuthorizeOptions = {}): string[] {
    const s = this.store;
    const count = options.count ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > 1000) throw new RangeError('count must be an integer between 1 and 1000');
    let leader = -1;
    let override: string | undefined;
    let region = options.region;
    let utility = options.utility;
    if (options.partnerReference !== undefined) {
      const existing = this.findByReference(options.partnerReference);
      if (existing >= 0 && !s.referenceOverride.has(existing)) {
        leader = s.authGroup[existing];
      } else {
        override = options.partnerReference;
        if (existing >= 0) leader = s.authGroup[existing];
      }
      if (existing >= 0 && !region) {
        region = REGIONS[s.region[existing]].code;
        utility ??= UTILITY_REFS[s.utility[existing]].utility.code;
      }
    }
    const ids: string[] = [];
    for (let k = 0; k < count; k++) {
      const index = s.count;
      const attrs = meterAttributes(this.seed, index, { region, utility, meterType: options.meterType, deviceType: options.deviceType });
      if (k === 0) {
        region ??= REGIONS[attrs.region].code;
        utility ??= UTILITY_REFS[attrs.utility].utility.code;
      }
      // Hand-set or shared references are always present; utility meters come through Leap Connect.
      attrs.flags |= FLAG_HAS_REFERENCE;
      if (kindCreatedBy(attrs.kind) === 0) attrs.flags |= FLAG_CONNECT;
      const i = s.add(attrs, leader >= 0 ? leader : index - k, PENDING, { ms: this.clockMs, sub: 0 }, 3);
      if (override !== undefined) s.referenceOverride.set(i, override);
      this.mutator.created(i, this.clockMs);
      ids.push(s.meterId(i));
    }
    return ids;
  }

  /**
   * Sets the global enrollment status. ACTIVE assigns a market group if the meter has none;
   * NOT_PARTICIPATING starts an open-ended IDLE period. Emits global-status.updated (and group.updated).
   */
  setStatus(meterId: string, status: StatusName): void {
    const code = STATUS_CODES.indexOf(status);
    if (code < 0) throw new RangeError(`unknown status ${status}`);
    this.mutator.setStatus(this.index(meterId), code, this.clockMs);
    this.mutator.flushGroups();
  }

  /** The meter becomes ACTIVE, in `marketGroup` (uuid or name of one of its utility's groups) or a picked one. */
  activate(meterId: string, marketGroup?: string): void {
    const i = this.index(meterId);
    const group = marketGroup === undefined ? 0 : this.group(i, marketGroup);
    this.mutator.activate(i, this.clockMs, this.clockMs, group);
    this.mutator.flushGroups();
  }

  /**
   * Adds partner actions (AUTH_0001 re-authorize, SERV_0005 missing fields, MRKT_0002 conflicting
   * program, made up). A PENDING or ELIGIBLE meter becomes INELIGIBLE unless keepStatus. Emits
   * required-actions.updated (and global-status.updated when the status moves).
   */
  addPartnerAction(meterId: string, code: PartnerActionCode, options: { keepStatus?: boolean } = {}): void {
    const bit = PARTNER_CODE_BITS[code];
    if (!bit) throw new RangeError(`unknown partner action ${code}`);
    this.mutator.addPartnerActions(this.index(meterId), bit, this.clockMs, this.clockMs, options.keepStatus ?? false);
  }

  /**
   * Clears one partner action, or all. An INELIGIBLE meter left with none becomes ELIGIBLE. Emits
   * required-actions.updated (with an empty list once all are cleared).
   */
  clearPartnerActions(meterId: string, code?: PartnerActionCode): void {
    const bits = code === undefined ? 0xff : PARTNER_CODE_BITS[code];
    if (!bits) throw new RangeError(`unknown partner action ${String(code)}`);
    this.mutator.clearPartnerActions(this.index(meterId), bits, this.clockMs);
  }

  /**
   * Sets Leap-side actions (LEAP_0001, MRKT_0001 made up). No webhook for the actions, as Leap's
   * event carries partner actions only; an INELIGIBLE meter left with no blocker becomes ELIGIBLE
   * (global-status.updated).
   */
  setLeapActions(meterId: string, codes: LeapActionCode[]): void {
    let bits = 0;
    for (const c of codes) {
      const bit = LEAP_CODE_BITS[c];
      if (!bit) throw new RangeError(`unknown leap action ${String(c)}`);
      bits |= bit;
    }
    this.mutator.setLeapActions(this.index(meterId), bits, this.clockMs);
  }

  /**
   * Moves meters to a market group (uuid or name) from a trade date on (`YYYY-MM-DD`, default
   * today in each meter's region): today's date changes today and the next two trade dates; a later
   * date only the upcoming ones. Emits one group.updated per group and start date.
   */
  setMarketGroup(meterIds: string | string[], marketGroup: string, options: { fromTradeDate?: string } = {}): void {
    const list = Array.isArray(meterIds) ? meterIds : [meterIds];
    for (const id of list) {
      const i = this.index(id);
      const g = this.group(i, marketGroup);
      let fromDay = localDay(this.store.region[i], this.clockMs);
      if (options.fromTradeDate !== undefined) {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(options.fromTradeDate)) throw new RangeError('fromTradeDate must be YYYY-MM-DD');
        fromDay = Math.floor(Date.parse(`${options.fromTradeDate}T00:00:00Z`) / 86_400_000);
      }
      this.mutator.reassignGroup(i, g, fromDay, this.clockMs);
    }
    this.mutator.flushGroups();
  }

  /** Names and ids of the market groups a meter can be in (its utility's). */
  marketGroupsFor(meterId: string): { id: string; name: string }[] {
    const i = this.index(meterId);
    return this.groups.forUtility(this.store.utility[i]).map((g) => {
      const group = this.groups.get(g);
      if (!group) throw new Error('market group table is inconsistent');
      return { id: group.id, name: group.name };
    });
  }

  /**
   * The partner's participation preference: IDLE (until `end`, default 1–30 days) or DISENROLL make
   * the meter NOT_PARTICIPATING; PARTICIPATE resumes it. Emits participation-status.updated and
   * global-status.updated when the status moves.
   */
  setParticipation(meterId: string, preference: PreferenceName, options: { end?: Date } = {}): void {
    const pref = PREFERENCES.indexOf(preference);
    if (pref < 0) throw new RangeError(`unknown preference ${preference}`);
    if (options.end !== undefined && !(options.end.getTime() > this.clockMs)) throw new RangeError('end must be after the simulated now');
    const code = pref === 0 ? PREF_PARTICIPATE : pref === 1 ? PREF_IDLE : PREF_DISENROLL;
    this.mutator.setPreference(this.index(meterId), code, this.clockMs, { endMs: options.end?.getTime() });
    this.mutator.flushGroups();
  }

  /** Edits details (address, tariff, device fields). Leap has no webhook for these; only polling sees them. */
  editDetails(meterId: string, parts: { address?: boolean; tariff?: boolean; device?: boolean } = { address: true }): void {
    this.mutator.editDetails(this.index(meterId), parts, this.clockMs);
  }

  /**
   * Edits details as a late commit at Leap shows them: stamped `msEarlier` before the simulated now,
   * behind changes already visible to a poller. One asking only from its cursor would miss it.
   */
  editDetailsLate(meterId: string, msEarlier: number, parts: { address?: boolean; tariff?: boolean; device?: boolean } = { address: true }): void {
    if (!(Number.isInteger(msEarlier) && msEarlier > 0)) throw new RangeError('msEarlier must be a positive whole number of milliseconds');
    const i = this.index(meterId);
    if (this.mutator.editDetails(i, parts, this.clockMs)) this.mutator.backdate(i, this.clockMs - msEarlier);
  }

  /** Archives the meter (`is_archived: true`; it stays in searches unless exclude_archived). No webhook. */
  archive(meterId: string): void {
    this.mutator.archive(this.index(meterId), this.clockMs);
  }

  /** Sets the meter's partner reference by hand (no Leap webhook exists for this). */
  setPartnerReference(meterId: string, reference: string): void {
    this.mutator.setPartnerReference(this.index(meterId), reference, this.clockMs);
  }

  /**
   * Adds a field Leap's spec does not know, as Leap does without a version change, to the v2
   * details, v2 enrollment and/or v1 object (default all). No webhook.
   */
  addUnknownField(meterId: string, name: string, value: unknown, parts: ('details' | 'enrollment' | 'v1')[] = ['details', 'enrollment', 'v1']): void {
    this.mutator.setUnknownField(this.index(meterId), name, value, parts, this.clockMs);
  }

  /** Market group (uuid and name) of trade date `tradeDate` (default today in the meter's region), or null. */
  groupOn(meterId: string, tradeDate?: string): { id: string; name: string } | null {
    const i = this.index(meterId);
    if (this.store.status[i] !== ACTIVE) return null;
    const day = tradeDate ? Math.floor(Date.parse(`${tradeDate}T00:00:00Z`) / 86_400_000) : localDay(this.store.region[i], this.clockMs);
    const g = this.groups.get(this.renderer.groupOn(i, day));
    return g ? { id: g.id, name: g.name } : null;
  }

  private index(meterId: string): number {
    const i = this.store.indexOf(meterId);
    if (i < 0) throw new RangeError(`unknown meter ${meterId}`);
    return i;
  }

  private group(i: number, idOrName: string): number {
    const g = this.groups.find(idOrName);
    if (g < 0 || !this.groups.forUtility(this.store.utility[i]).includes(g)) throw new RangeError(`market group ${idOrName} is not one of this meter's utility's groups`);
    return g;
  }

  private findByReference(reference: string): number {
    const s = this.store;
    for (const [i, r] of s.referenceOverride) if (r === reference) return i;
    const leader = s.referenceLeader(reference);
    return leader >= 0 && s.hasReference(leader) ? leader : -1;
  }
}
