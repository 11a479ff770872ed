/**
 * What Leap's meter views share, as JSON text: the identifier fields that open v2 details and
 * enrollments, the partner reference, the audit stamps, city text, the unknown fields Leap may
 * add, and the per-kind and per-utility tables the views key their fragments by.
 */
import * as catalog from './catalog';
import * as random from './random';
import type { City } from './regions';
import * as regions from './regions';
import * as state from './state';
import type { MeterStore } from './state';
import { assertCatalogIsPlainText, bool, Fragments } from './text';
import * as time from './time';

// Imported bindings, read once: under tsx (esbuild's CommonJS output) every use of an imported
// name is a getter call, and these are used for every meter rendered.
const { CLASSIFICATIONS, CREATED_BY, CUSTOMER_GROUPS, LOAD_TYPE_SETS, METER_TYPE_CODES, TAG_SETS } = catalog;
const { salt } = random;
const { REGIONS, UTILITY_REFS } = regions;
const { FLAG_ARCHIVED, FLAG_CONNECT, FLAG_HAS_REFERENCE, kindClassification, kindCreatedBy, kindMeterType } = state;
const { formatInstant, programNumber } = time;

export type Json = Record<string, unknown>;
/** A view Leap may add unknown fields to. */
export type ViewName = 'details' | 'enrollment' | 'v1';

export const S_PROGRAMS = salt('render-programs');
export const S_MISC = salt('render-misc');

assertCatalogIsPlainText();

const regionIndex = (code: string): number => REGIONS.findIndex((r) => r.code === code);
export const CAISO = regionIndex('CAISO');
export const ISONE = regionIndex('ISONE');
export const NYISO = regionIndex('NYISO');
export const REGION_CODE = REGIONS.map((r) => r.code);
/** Every `kind` byte: meter type (2 bits), classification (1), creator (2). */
export const KINDS = 32;
export const COMMERCIAL_KIND = Array.from({ length: KINDS }, (_, k) => CLASSIFICATIONS[kindClassification(k)] === 'COMMERCIAL');
export const METER_TYPE_OF_KIND = Array.from({ length: KINDS }, (_, k) => METER_TYPE_CODES[kindMeterType(k)] ?? '');
const CLASSIFICATION_OF_KIND = Array.from({ length: KINDS }, (_, k) => CLASSIFICATIONS[kindClassification(k)] ?? '');
export const UTILITIES = UTILITY_REFS.length;
/** Stride of tariff keys: the longest tariff list in the catalog. */
export const TARIFFS = Math.max(...UTILITY_REFS.map((r) => Math.max(r.utility.tariffs.length, r.utility.commercialTariffs.length)));
/** Each utility's programs (primary first) by program number. */
export const UTILITY_PROGRAMS = UTILITY_REFS.map((r) => r.utility.programs.map(programNumber));
/** The view identifiers() leads into. */
export const DETAILS = 0;
export const ENROLLMENT = 1;

/** `…","transmission_region":…,"connection_references":` by (region, kind, load set, has reference). */
const IDENT_MID = new Fragments(REGIONS.length * KINDS * LOAD_TYPE_SETS.length * 2, (key) => {
  const hasRef = key % 2;
  const loadSet = Math.floor(key / 2) % LOAD_TYPE_SETS.length;
  const kind = Math.floor(key / 2 / LOAD_TYPE_SETS.length) % KINDS;
  const region = Math.floor(key / 2 / LOAD_TYPE_SETS.length / KINDS);
  return (
    (hasRef ? '' : '"') +
    `,"transmission_region":"${REGION_CODE[region]}","customer_classification":"${CLASSIFICATION_OF_KIND[kind]}","load_types":${JSON.stringify(LOAD_TYPE_SETS[loadSet])}` +
    `,"meter_type":"${METER_TYPE_OF_KIND[kind]}","connection_references":`
  );
});

/**
 * `customer_group` to `is_archived`, then the start of what follows: the customer's street
 * (details) or the audit up to `created_at` (enrollment). Keyed by (customer group, tags,
 * archived, creator, no connection reference, view).
 */
const IDENT_TAIL = new Fragments(CUSTOMER_GROUPS.length * TAG_SETS.length * 2 * 4 * 2 * 2, (key) => {
  const view = key % 2;
  const emptyConnection = Math.floor(key / 2) % 2;
  const createdBy = Math.floor(key / 4) % 4;
  const archived = Math.floor(key / 16) % 2;
  const tags = Math.floor(key / 32) % TAG_SETS.length;
  const group = Math.floor(key / 32 / TAG_SETS.length);
  return (
    (emptyConnection ? '[]' : '') +
    `,"customer_group":${JSON.stringify(CUSTOMER_GROUPS[group])},"tags":${JSON.stringify(TAG_SETS[tags])},"is_archived":${bool(archived === 1)}` +
    (view === DETAILS ? ',"customer":{"street_1":"' : `,"audit":{"created_by":"${CREATED_BY[createdBy]}","created_at":"`)
  );
});

export interface CityText {
  /** Customer address from `city` through the start of `end_customer_name`. */
  customer: string;
  /** Billing address from `city` to its closing brace. */
  billing: string;
  /** v1 `service_address_full` from the city on, upper case: `, CITY, ST `. */
  v1: string;
}
const CITY_TEXT = new Map<City, CityText>();
for (const { utility } of UTILITY_REFS) {
  for (const c of utility.cities) {
    const address = `","city":"${c.name}","state_or_province_code":"${c.state}","country_code":"US"`;
    CITY_TEXT.set(c, { customer: `${address},"end_customer_name":"`, billing: `${address}}`, v1: `, ${c.name}, ${c.state} `.toUpperCase() });
  }
}
export function cityText(c: City): CityText {
  const text = CITY_TEXT.get(c);
  if (!text) throw new Error(`city ${c.name} is not in the catalog`);
  return text;
}

export function createdAt(s: MeterStore, i: number): string {
  return formatInstant(s.createdMs[i], s.createdSub[i], s.createdPrecision[i]);
}

export function updatedAt(s: MeterStore, i: number): string {
  return formatInstant(s.updatedMs[i], s.updatedSub[i], s.updatedPrecision[i]);
}

/** The partner reference as a JSON string literal, or undefined when the meter has none. */
export function referenceJson(s: MeterStore, i: number): string | undefined {
  if (s.referenceOverride.size > 0) {
    const override = s.referenceOverride.get(i);
    // Set by hand: any text, so escaped.
    if (override !== undefined) return JSON.stringify(override);
  }
  if ((s.flags[i] & FLAG_HAS_REFERENCE) === 0) return undefined;
  return '"' + s.generatedReference(s.authGroup[i]) + '"';
}

/**
 * `{` and the identifier fields shared by details and enrollment, then the start of what follows
 * them in `view`: up to the customer's street (details) or the audit's `created_at` (enrollment).
 */
export function identifiers(s: MeterStore, i: number, ref: string | undefined, view: number): string {
  const kind = s.kind[i];
  const flags = s.flags[i];
  const mid = IDENT_MID.get(((s.region[i] * KINDS + kind) * LOAD_TYPE_SETS.length + s.loadSet[i]) * 2 + (ref === undefined ? 0 : 1));
  let o = '{"meter_id":"' + s.meterId(i);
  let emptyConnection = 1;
  if (ref === undefined) {
    o += mid;
  } else {
    o += '","partner_reference":' + ref + mid;
    if ((flags & FLAG_CONNECT) !== 0) {
      o += '[' + ref + ']';
      emptyConnection = 0;
    }
  }
  const tailKey = (((s.customerGroup[i] * TAG_SETS.length + s.tagSet[i]) * 2 + ((flags & FLAG_ARCHIVED) !== 0 ? 1 : 0)) * 4 + kindCreatedBy(kind)) * 2 + emptyConnection;
  return o + IDENT_TAIL.get(tailKey * 2 + view);
}

/** The unknown fields set on the meter's `view`, if any. */
export function extraFields(s: MeterStore, i: number, view: ViewName): Json | undefined {
  const extras = s.extraFields;
  return extras.size === 0 ? undefined : extras.get(i)?.[view];
}

/** Fields Leap added that the simulator models as unknown: rare, so merged through the object form. */
export function withExtraText(s: MeterStore, text: string, i: number, view: ViewName): string {
  const extra = extraFields(s, i, view);
  if (!extra) return text;
  return JSON.stringify(withExtra(JSON.parse(text) as Json, extra));
}

export function withExtra(out: Json, extra: Json | undefined): Json {
  if (!extra) return out;
  for (const [k, v] of Object.entries(extra)) out[k] = v;
  return out;
}
