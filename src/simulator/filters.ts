/**
 * Search filters: validation of Leap's `MeterFilterRequest` (v2) and the v1 Search Meters body,
 * normalization to a canonical form page tokens are bound to, and a compiled matcher that tests
 * a meter against typed arrays only (no per-meter allocation while scanning 300,000 meters).
 */
import { canonicalJson, sha256Hex } from '../domain/canonical-json';
import {
  ACTION_TYPES,
  CUSTOMER_CLASSIFICATIONS,
  ENROLLMENT_STATUSES,
  METER_TYPES,
  TRANSMISSION_REGIONS,
} from '../domain/leap-types';
import { CLASSIFICATIONS, CUSTOMER_GROUPS, LOAD_TYPE_SETS, METER_TYPE_CODES, PARTNER_ACTIONS, STATUS_CODES, TAG_SETS, LEAP_0001, MRKT_0001 } from './catalog';
import { UUID_PATTERN } from './random';
import { REGIONS } from './regions';
import type { Renderer } from './render';
import { FLAG_CONNECT, kindClassification, kindMeterType, type MeterStore } from './state';
import { formatInstant, parseInstant, type Instant } from './time';

export const LOAD_TYPES = ['HVAC', 'EV_CHARGING', 'BATTERY_STORAGE', 'COLD_STORAGE', 'PUMPING', 'WATER_HEATING', 'BUILDING_AUTOMATION', 'GENERATION', 'MANUFACTURING', 'LIGHTING', 'OTHER'] as const;

/** Canonical filters: only recognized names, lists sorted and de-duplicated, instants with nine digits. */
export interface NormalizedFilter {
  last_modified_date_time?: string;
  created_after_date_time?: string;
  created_before_date_time?: string;
  meter_ids?: string[];
  partner_references?: string[];
  transmission_region?: string;
  customer_classification?: string;
  global_enrollment_statuses?: string[];
  meter_types?: string[];
  load_types?: string[];
  customer_groups?: string[];
  tags?: string[];
  connection_reference_ids?: string[];
  action_type?: string[];
  partner_action_required?: true;
  exclude_archived?: true;
  /** v1 Search Meters: inclusive bounds on the date added. */
  date_added_from?: string;
  date_added_to?: string;
}

export interface SearchRequest {
  filter: NormalizedFilter;
  /** Whether the body named any filter (a page token alone continues with its own filters). */
  hasFilters: boolean;
  pageSize: number;
  pageToken?: string;
}

export type ValidationErrors = Record<string, string>;

const PARTNER_REFERENCE = /^[^/\\?\][{}!#$%^&*()<>|]{3,256}$/;
const V2_FILTER_KEYS = new Set([
  'last_modified_date_time',
  'created_after_date_time',
  'created_before_date_time',
  'meter_ids',
  'partner_references',
  'transmission_region',
  'customer_classification',
  'global_enrollment_statuses',
  'meter_types',
  'load_types',
  'customer_groups',
  'tags',
  'connection_reference_ids',
  'action_type',
  'partner_action_required',
  'exclude_archived',
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

class Reader {
  readonly errors: ValidationErrors = {};
  constructor(private readonly body: Record<string, unknown>) {}

  /** null is read as absent: clients built on nullable models send it for unset filters. */
  private value(key: string): unknown {
    const v = this.body[key];
    return v === null ? undefined : v;
  }

  instant(key: string): string | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    const parsed = typeof v === 'string' ? parseInstant(v) : null;
    if (!parsed) {
      this.errors[key] = 'must be an RFC 3339 date-time, e.g. 2024-10-21T11:43:05.892Z';
      return undefined;
    }
    return formatInstant(parsed.ms, parsed.sub, 9);
  }

  bool(key: string): boolean | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') {
      this.errors[key] = 'must be a boolean';
      return undefined;
    }
    return v;
  }

  oneOf(key: string, allowed: readonly string[]): string | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !allowed.includes(v)) {
      this.errors[key] = `must be one of ${allowed.join(', ')}`;
      return undefined;
    }
    return v;
  }

  list(key: string, min: number, max: number, item: (s: string) => boolean, itemRule: string): string[] | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      this.errors[key] = 'must be an array';
      return undefined;
    }
    if (v.length < min || v.length > max) {
      this.errors[key] = `must have between ${min} and ${max} items`;
      return undefined;
    }
    const bad = v.findIndex((x) => typeof x !== 'string' || !item(x));
    if (bad >= 0) {
      this.errors[`${key}[${bad}]`] = itemRule;
      return undefined;
    }
    const strings = v as string[];
    if (new Set(strings).size !== strings.length) {
      this.errors[key] = 'must not contain duplicates';
      return undefined;
    }
    return [...strings].sort();
  }

  int(key: string, min: number, max: number): number | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.errors[key] = `must be an integer between ${min} and ${max}`;
      return undefined;
    }
    return v;
  }

  token(key: string): string | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v === '') {
      this.errors[key] = 'must be a non-empty string';
      return undefined;
    }
    return v;
  }
}

function enumRule(values: readonly string[]): string {
  return `must be one of ${values.join(', ')}`;
}

/** Validates a v2 `MeterFilterRequest`; unknown names are ignored, as Leap ignores them. */
export function readV2Search(body: unknown): { ok: true; request: SearchRequest } | { ok: false; errors: ValidationErrors } {
  const src = body === undefined || body === null ? {} : body;
  if (!isObject(src)) return { ok: false, errors: { body: 'must be a JSON object' } };
  const r = new Reader(src);
  const f: NormalizedFilter = {};
  const set = <K extends keyof NormalizedFilter>(k: K, v: NormalizedFilter[K] | undefined): void => {
    if (v !== undefined) f[k] = v;
  };
  set('last_modified_date_time', r.instant('last_modified_date_time'));
  set('created_after_date_time', r.instant('created_after_date_time'));
  set('created_before_date_time', r.instant('created_before_date_time'));
  const ids = r.list('meter_ids', 0, 1000, (s) => UUID_PATTERN.test(s), 'must be a UUID');
  if (ids && ids.length > 0) f.meter_ids = [...new Set(ids.map((s) => s.toLowerCase()))].sort();
  set('partner_references', r.list('partner_references', 1, 1000, (s) => PARTNER_REFERENCE.test(s), 'must be 3-256 characters without / \\ ? [ ] { } ! # $ % ^ & * ( ) < > |'));
  set('transmission_region', r.oneOf('transmission_region', TRANSMISSION_REGIONS));
  set('customer_classification', r.oneOf('customer_classification', CUSTOMER_CLASSIFICATIONS));
  set('global_enrollment_statuses', r.list('global_enrollment_statuses', 1, 5, (s) => (ENROLLMENT_STATUSES as readonly string[]).includes(s), enumRule(ENROLLMENT_STATUSES)));
  set('meter_types', r.list('meter_types', 1, 20, (s) => (METER_TYPES as readonly string[]).includes(s), enumRule(METER_TYPES)));
  set('load_types', r.list('load_types', 1, 20, (s) => (LOAD_TYPES as readonly string[]).includes(s), enumRule(LOAD_TYPES)));
  set('customer_groups', r.list('customer_groups', 1, 20, (s) => s.length <= 128, 'must be at most 128 characters'));
  set('tags', r.list('tags', 1, 20, (s) => s.length >= 1 && s.length <= 128, 'must be 1-128 characters'));
  set('connection_reference_ids', r.list('connection_reference_ids', 1, 100, (s) => PARTNER_REFERENCE.test(s), 'must be 3-256 characters without / \\ ? [ ] { } ! # $ % ^ & * ( ) < > |'));
  set('action_type', r.list('action_type', 1, 20, (s) => (ACTION_TYPES as readonly string[]).includes(s), enumRule(ACTION_TYPES)));
  if (r.bool('partner_action_required') === true) f.partner_action_required = true;
  if (r.bool('exclude_archived') === true) f.exclude_archived = true;
  const pageSize = r.int('page_size', 1, 500);
  const pageToken = r.token('page_token');
  if (Object.keys(r.errors).length > 0) return { ok: false, errors: r.errors };
  const hasFilters = Object.keys(src).some((k) => V2_FILTER_KEYS.has(k) && src[k] !== null);
  return { ok: true, request: { filter: f, hasFilters, pageSize: pageSize ?? 500, pageToken } };
}

/** Validates a v1 Search Meters body (`date_added_from`, `date_added_to`, `date_last_modified`); empty = all. */
export function readV1Search(body: unknown): { ok: true; request: SearchRequest } | { ok: false; errors: ValidationErrors } {
  const src = body === undefined || body === null ? {} : body;
  if (!isObject(src)) return { ok: false, errors: { body: 'must be a JSON object' } };
  const r = new Reader(src);
  const f: NormalizedFilter = {};
  const from = r.instant('date_added_from');
  const to = r.instant('date_added_to');
  const modified = r.instant('date_last_modified');
  if (from) f.date_added_from = from;
  if (to) f.date_added_to = to;
  if (modified) f.last_modified_date_time = modified;
  const pageSize = r.int('page_size', 1, 500);
  const pageToken = r.token('page_token');
  if (Object.keys(r.errors).length > 0) return { ok: false, errors: r.errors };
  const hasFilters = ['date_added_from', 'date_added_to', 'date_last_modified'].some((k) => src[k] !== undefined && src[k] !== null);
  return { ok: true, request: { filter: f, hasFilters, pageSize: pageSize ?? 500, pageToken } };
}

export function filterHash(kind: string, filter: NormalizedFilter): string {
  return sha256Hex(`${kind}\n${canonicalJson(filter)}`).slice(0, 24);
}

function instantOf(s: string | undefined): Instant | undefined {
  return s === undefined ? undefined : (parseInstant(s) ?? undefined);
}

/** Bit mask over `sets` (indices) of the sets containing any of `wanted`. */
function setMask(sets: readonly (readonly string[])[], wanted: readonly string[]): number {
  let mask = 0;
  sets.forEach((set, k) => {
    if (set.some((x) => wanted.includes(x))) mask |= 1 << k;
  });
  return mask;
}

export interface CompiledFilter {
  /** Sorted meter indices to consider (meter_ids); undefined = every meter. */
  candidates?: Int32Array;
  test(i: number): boolean;
}

/** Compiles a filter to a predicate over the store. Lists OR within, filters AND across. */
export function compileFilter(f: NormalizedFilter, store: MeterStore, renderer: Renderer): CompiledFilter {
  const s = store;
  const checks: ((i: number) => boolean)[] = [];
  let candidates: Int32Array | undefined;

  if (f.meter_ids) {
    const found = f.meter_ids.map((id) => s.indexOf(id)).filter((i) => i >= 0);
    candidates = Int32Array.from(new Set(found)).sort();
  }
  if (f.exclude_archived) checks.push((i) => !s.isArchived(i));
  if (f.transmission_region) {
    const region = REGIONS.findIndex((r) => r.code === f.transmission_region);
    checks.push((i) => s.region[i] === region);
  }
  if (f.global_enrollment_statuses) {
    let mask = 0;
    for (const st of f.global_enrollment_statuses) mask |= 1 << STATUS_CODES.indexOf(st as (typeof STATUS_CODES)[number]);
    checks.push((i) => ((mask >> s.status[i]) & 1) === 1);
  }
  if (f.meter_types) {
    let mask = 0;
    for (const t of f.meter_types) mask |= 1 << METER_TYPE_CODES.indexOf(t as (typeof METER_TYPE_CODES)[number]);
    checks.push((i) => ((mask >> kindMeterType(s.kind[i])) & 1) === 1);
  }
  if (f.customer_classification) {
    const c = CLASSIFICATIONS.indexOf(f.customer_classification as (typeof CLASSIFICATIONS)[number]);
    checks.push((i) => kindClassification(s.kind[i]) === c);
  }
  if (f.load_types) {
    const mask = setMask(LOAD_TYPE_SETS, f.load_types);
    checks.push((i) => ((mask >> s.loadSet[i]) & 1) === 1);
  }
  if (f.tags) {
    const mask = setMask(TAG_SETS, f.tags);
    checks.push((i) => ((mask >> s.tagSet[i]) & 1) === 1);
  }
  if (f.customer_groups) {
    let mask = 0;
    CUSTOMER_GROUPS.forEach((g, k) => {
      if (f.customer_groups?.includes(g)) mask |= 1 << k;
    });
    checks.push((i) => ((mask >> s.customerGroup[i]) & 1) === 1);
  }
  if (f.partner_action_required) checks.push((i) => s.partnerActions[i] !== 0);
  if (f.action_type) {
    const wanted = f.action_type;
    let partnerMask = 0;
    for (const a of PARTNER_ACTIONS) if (wanted.includes(a.actionType)) partnerMask |= a.bit;
    const market = wanted.includes('HAS_MARKET_REGISTRATION') ? MRKT_0001 : 0;
    const leap0001 = wanted.includes('IS_ASSIGNED_TO_A_RESOURCE') || wanted.includes('HAS_NOMINATIONS');
    const actions = renderer.actions;
    checks.push((i) => {
      if ((s.partnerActions[i] & partnerMask) !== 0 || (s.leapActions[i] & market) !== 0) return true;
      if (!leap0001 || (s.leapActions[i] & LEAP_0001) === 0) return false;
      // LEAP_0001's type depends on the meter's programs; only meters with the flag pay for this.
      return actions.leapActions(i).some((a) => a.action_code === 'LEAP_0001' && wanted.includes(a.action_type));
    });
  }
  for (const [key, connectOnly] of [
    ['partner_references', false],
    ['connection_reference_ids', true],
  ] as const) {
    const refs = f[key];
    if (!refs) continue;
    const wanted = new Set(refs);
    const leaders = new Set<number>();
    for (const r of refs) {
      const leader = s.referenceLeader(r);
      if (leader >= 0) leaders.add(leader);
    }
    const overrides = s.referenceOverride;
    checks.push((i) => {
      if (connectOnly && (s.flags[i] & FLAG_CONNECT) === 0) return false;
      if (overrides.size > 0) {
        const o = overrides.get(i);
        if (o !== undefined) return wanted.has(o);
      }
      return s.hasReference(i) && leaders.has(s.authGroup[i]);
    });
  }
  const created = (bound: string | undefined, cmp: (c: number) => boolean): void => {
    const b = instantOf(bound);
    if (!b) return;
    checks.push((i) => cmp(s.createdMs[i] !== b.ms ? s.createdMs[i] - b.ms : s.createdSub[i] - b.sub));
  };
  created(f.created_after_date_time, (c) => c > 0);
  created(f.created_before_date_time, (c) => c < 0);
  created(f.date_added_from, (c) => c >= 0);
  created(f.date_added_to, (c) => c <= 0);
  const modified = instantOf(f.last_modified_date_time);
  // Cheapest and most selective in a delta sync: checked first.
  if (modified) checks.unshift((i) => s.updatedAfter(i, modified.ms, modified.sub));

  const n = checks.length;
  const test =
    n === 0
      ? (): boolean => true
      : n === 1
        ? checks[0]
        : (i: number): boolean => {
            for (let k = 0; k < n; k++) if (!checks[k](i)) return false;
            return true;
          };
  return candidates ? { candidates, test } : { test };
}

/**
 * One page: up to `size` matching meters from position `from` (a meter index, or a position in
 * `candidates`), and the position of the next match or -1 when there is none.
 */
export function findPage(compiled: CompiledFilter, count: number, from: number, size: number): { indices: number[]; next: number } {
  const indices: number[] = [];
  const c = compiled.candidates;
  const test = compiled.test;
  if (c) {
    let k = from;
    for (; k < c.length && indices.length < size; k++) if (c[k] < count && test(c[k])) indices.push(c[k]);
    for (; k < c.length; k++) if (c[k] < count && test(c[k])) return { indices, next: k };
    return { indices, next: -1 };
  }
  let i = from;
  for (; i < count && indices.length < size; i++) if (test(i)) indices.push(i);
  for (; i < count; i++) if (test(i)) return { indices, next: i };
  return { indices, next: -1 };
}
