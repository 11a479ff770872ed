/**
 * The Leap simulator in-process: portfolio state, simulated clock, evolution, faults, webhooks,
 * page tokens, and the scenario helpers tests use to drive exact situations.
 */
import { createHash } from 'node:crypto';
import type { Express } from 'express';
import { silentLogger, type Logger } from '../logger';
import { createApp } from './app';
import {
  ACTIVE,
  PARTNER_ACTIONS,
  PREF_DISENROLL,
  PREF_IDLE,
  PREF_PARTICIPATE,
  PREFERENCES,
  STATUS_CODES,
  type LeapActionCode,
  type PartnerActionCode,
  type PreferenceName,
  type RegionCode,
  type StatusName,
} from './catalog';
import { DueQueue } from './due-queue';
import { Evolver, type AdvanceSummary } from './evolve';
import { Faults, type FaultConfig } from './faults';
import type { SearchRequest } from './filters';
import { MarketGroups } from './markets';
import { Mutator, type ChangeCounts } from './mutations';
import { PageTokens } from './paging';
import { authorizeMeters, generatePortfolio, type AuthorizeOptions } from './portfolio';
import { Rng, salt, seededUuid } from './random';
import { REGIONS } from './regions';
import { Renderer, type MeterViews } from './render';
import type { LeapEventPayload } from './render-events';
import { meterCounts, RequestLog, type SimulatorStateReport } from './report';
import { MeterSearch, type SearchKind, type SearchOutcome } from './search';
import type { ServedSimulator } from './served-simulator';
import { MeterStore, Stamper } from './state';
import { HOUR_MS, localDay } from './time';
import { LeapWebhooks, type LeapEnvelope } from './webhooks';

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

export type { AdvanceSummary, AuthorizeOptions, ChangeCounts, FaultConfig, LeapActionCode, LeapEnvelope, LeapEventPayload, MeterViews, PartnerActionCode, SearchKind, SearchOutcome, SimulatorStateReport };

const PARTNER_CODE_BITS: Record<string, number> = Object.fromEntries(PARTNER_ACTIONS.map((a) => [a.code, a.bit]));
const LEAP_CODE_BITS: Record<LeapActionCode, number> = { LEAP_0001: 1, MRKT_0001: 2 };

export class Simulator implements ServedSimulator {
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
  private readonly searches: MeterSearch;
  private readonly requests = new RequestLog();
  private clockMs: number;
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
    this.mutator = new Mutator(this.store, this.groups, this.renderer.events, stamper, new Rng(this.seed, salt('mutations')), due, (p) => {
      this.webhooks.emit(p);
    });
    generatePortfolio(this.store, this.groups, due, stamper, this.seed, options.meters, this.clockMs);
    this.evolver = new Evolver(this.store, this.mutator, due, new Rng(this.seed, salt('evolution')), this.seed);
    this.faults = new Faults(this.seed, options.rateLimit ?? null);
    const secret = createHash('sha256').update(`leap-simulator:${this.seed}:${this.apiKey}`).digest();
    this.tokens = new PageTokens(secret, (options.pageTokenTtlSeconds ?? 3600) * 1000);
    this.searches = new MeterSearch(this.store, this.renderer, this.tokens);
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
    return {
      now: this.now().toISOString(),
      seed: this.seed,
      accountId: this.accountId,
      meters: meterCounts(this.store),
      requests: this.requests.report(),
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
    this.requests.record(route, status);
  }

  /** @internal One page of a search, honouring and issuing filter-bound page tokens. */
  search(kind: SearchKind, request: SearchRequest): SearchOutcome {
    return this.searches.page(kind, request);
  }

  /** @internal The body of one search page as UTF-8 JSON, v1 trade dates at the simulated now. */
  pageBody(kind: SearchKind, indices: readonly number[], nextPageToken: string | undefined): Buffer {
    return this.searches.body(kind, indices, nextPageToken, this.clockMs);
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
    return this.renderer.views(i, this.clockMs);
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
    return authorizeMeters(this.store, this.mutator, this.seed, this.clockMs, options);
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
    const g = this.groups.get(this.store.groupOn(i, day));
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
}
