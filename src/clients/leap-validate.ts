import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { LeapMeterDetails, LeapMeterEnrollment, LeapV1Meter } from '../domain/leap-types';
import { parseLeapInstant } from '../domain/timestamps';
import type { LeapPageProblem } from './leap-errors';

/**
 * JSON Schemas for what Leap answers, checked before anything is normalized or stored.
 * They check what the connector relies on (ids, audit times, enrollment shapes, that arrays
 * are arrays) and nothing more: unknown fields are kept, enums are not closed (Leap adds
 * values without a version change), and both spellings of drifted fields are accepted.
 */

export type LeapItemKind = 'details' | 'enrollment' | 'v1';

export interface LeapItemTypes {
  details: LeapMeterDetails;
  enrollment: LeapMeterEnrollment;
  v1: LeapV1Meter;
}

/** The list key of each search answer: v2 says `meters`, v1 says `results`. */
export const PAGE_LIST_KEY: Record<LeapItemKind, 'meters' | 'results'> = { details: 'meters', enrollment: 'meters', v1: 'results' };

type Schema = Record<string, unknown>;

const TIMESTAMP_FORMAT = 'leap-date-time';

const str: Schema = { type: 'string' };
const strOrNull: Schema = { type: ['string', 'null'] };
const numOrNull: Schema = { type: ['number', 'null'] };
const boolOrNull: Schema = { type: ['boolean', 'null'] };
const ts: Schema = { type: 'string', format: TIMESTAMP_FORMAT };
const tsOrNull: Schema = { type: ['string', 'null'], format: TIMESTAMP_FORMAT };
const strArrayOrNull: Schema = { type: ['array', 'null'], items: str };
const uuid: Schema = { type: 'string', format: 'uuid' };

function obj(properties: Record<string, Schema>, required: string[] = []): Schema {
  return { type: 'object', properties, required };
}
function objOrNull(properties: Record<string, Schema> = {}): Schema {
  return { type: ['object', 'null'], properties };
}
function arrayOf(items: Schema, nullable = true): Schema {
  return { type: nullable ? ['array', 'null'] : 'array', items };
}

const audit = obj({ created_by: strOrNull, created_at: tsOrNull, updated_at: ts }, ['updated_at']);

const identifierProps: Record<string, Schema> = {
  meter_id: uuid,
  partner_reference: strOrNull,
  transmission_region: strOrNull,
  customer_classification: strOrNull,
  meter_type: strOrNull,
  load_types: strArrayOrNull,
  connection_references: strArrayOrNull,
  customer_group: strOrNull,
  tags: strArrayOrNull,
  is_archived: { type: 'boolean' },
  audit,
};

/** §4.5: the older and newer copies of Leap's spec spell three site-device fields differently. */
const siteDevice = obj(
  {
    device_type: strOrNull,
    energy_capacity_kwh: numOrNull,
    power_capacity_kw: numOrNull,
    max_energy_production_rate_kw: numOrNull,
    battery_max_discharge_rate_kw: numOrNull,
    max_energy_consumption_rate_kw: numOrNull,
    battery_max_charge_rate_kw: numOrNull,
    pv_connected: boolOrNull,
    is_connected_to_solar: boolOrNull,
  },
  [],
);

const detailsSchema = obj(
  {
    ...identifierProps,
    customer: objOrNull(),
    device: objOrNull({
      battery_power_capacity_kw: numOrNull,
      battery_energy_capacity_kwh: numOrNull,
      battery_duration_hours: numOrNull,
      battery_max_discharge_rate_kw: numOrNull,
      battery_max_charge_rate_kw: numOrNull,
      battery_max_state_of_charge_percentage: numOrNull,
      battery_min_state_of_charge_percentage: numOrNull,
      is_connected_to_solar: boolOrNull,
    }),
    site: objOrNull({
      load_zone: strOrNull,
      number_of_devices: numOrNull,
      on_site_fossil_generator: boolOrNull,
      renewable_generator: boolOrNull,
      site_devices: arrayOf(siteDevice),
    }),
    utility: objOrNull({ utility_name: strOrNull }),
    caiso: objOrNull(),
    isone: objOrNull(),
    nyiso: objOrNull(),
  },
  ['meter_id', 'audit'],
);

const requiredAction = obj({
  program_identifier: strOrNull,
  delivery_period: strOrNull,
  enrollment_deadline_date_time: tsOrNull,
  action_type: strOrNull,
  action_description: strOrNull,
  action_code: strOrNull,
});

const programEnrollment = obj(
  {
    program_identifier: str,
    delivery_period: strOrNull,
    delivery_period_start_date_time: tsOrNull,
    delivery_period_end_date_time: tsOrNull,
    enrollment_status: str,
    enrollment_deadlines: arrayOf(obj({ enrollment_deadline_date_time: tsOrNull, activation_date_time: tsOrNull })),
    market_group_id: strOrNull,
    market_group_name: strOrNull,
  },
  ['program_identifier', 'enrollment_status'],
);

const enrollmentSchema = obj(
  {
    ...identifierProps,
    global_enrollment_status: str,
    participation_preferences: arrayOf(
      obj({ participation_preference: str, start_time: tsOrNull, end_time: tsOrNull, reason: strOrNull }, ['participation_preference']),
    ),
    program_enrollment: arrayOf(programEnrollment, false),
    required_actions: obj({ partner: arrayOf(requiredAction), leap: arrayOf(requiredAction) }),
  },
  ['meter_id', 'audit', 'global_enrollment_status', 'program_enrollment', 'required_actions'],
);

const v1Schema = obj(
  {
    meter_id: uuid,
    partner_reference: strOrNull,
    transmission_region: strOrNull,
    meter_type: strOrNull,
    utility: { type: ['string', 'object', 'null'] },
    is_archived: { type: 'boolean' },
    date_added: tsOrNull,
    date_last_modified: tsOrNull,
    partner_preferred_action: strOrNull,
    customer: objOrNull(),
    device: objOrNull(),
    site: objOrNull(),
    audit: objOrNull({ created_at: tsOrNull, updated_at: tsOrNull }),
    enrollment: objOrNull({
      status: strOrNull,
      active_from: tsOrNull,
      active_to: tsOrNull,
      eligible_from: tsOrNull,
      eligible_to: tsOrNull,
      status_reasons: arrayOf(obj({ code: strOrNull, comment: strOrNull })),
      partner_preferred_action: strOrNull,
    }),
    participation: arrayOf(obj({ market_group_id: strOrNull, market_group_name: strOrNull, trade_date: strOrNull })),
  },
  ['meter_id'],
);

function envelopeSchema(listKey: string): Schema {
  return obj({ [listKey]: { type: 'array' }, next_page_token: strOrNull }, [listKey]);
}

/** Compiled once per process: every page of every search reuses these. */
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, coerceTypes: false, useDefaults: false, removeAdditional: false });
addFormats(ajv, ['uuid']);
ajv.addFormat(TIMESTAMP_FORMAT, { type: 'string', validate: (s: string) => parseLeapInstant(s) !== null });

const itemValidators: Record<LeapItemKind, ValidateFunction> = {
  details: ajv.compile(detailsSchema),
  enrollment: ajv.compile(enrollmentSchema),
  v1: ajv.compile(v1Schema),
};
const envelopeValidators: Record<'meters' | 'results', ValidateFunction> = {
  meters: ajv.compile(envelopeSchema('meters')),
  results: ajv.compile(envelopeSchema('results')),
};

/** The JSON Schema of one item kind, for /openapi.json and docs. */
export function leapItemSchema(kind: LeapItemKind): Schema {
  return { details: detailsSchema, enrollment: enrollmentSchema, v1: v1Schema }[kind];
}

export type PageValidation<T> = { ok: true; items: T[]; nextPageToken: string | null } | { ok: false; problems: LeapPageProblem[] };
export type ItemValidation<T> = { ok: true; item: T } | { ok: false; problems: LeapPageProblem[] };

/**
 * Check a search answer: the envelope, then every item. All problems are reported, each with
 * the item's index, its meter_id when readable, and a JSON pointer into the answer.
 * A missing, null or empty `next_page_token` means the last page.
 */
export function validatePage<K extends LeapItemKind>(kind: K, body: unknown): PageValidation<LeapItemTypes[K]> {
  const listKey = PAGE_LIST_KEY[kind];
  const envelope = envelopeValidators[listKey];
  if (!envelope(body)) return { ok: false, problems: toProblems(envelope.errors, body, '') };
  const page = body as Record<string, unknown>;
  const list = page[listKey] as unknown[];
  const problems: LeapPageProblem[] = [];
  const validate = itemValidators[kind];
  list.forEach((item, index) => {
    if (validate(item)) return;
    const meterId = meterIdOf(item);
    for (const p of toProblems(validate.errors, item, `/${listKey}/${index}`)) problems.push({ index, ...(meterId ? { meter_id: meterId } : {}), ...p });
  });
  if (problems.length > 0) return { ok: false, problems };
  const token = page.next_page_token;
  return { ok: true, items: list as LeapItemTypes[K][], nextPageToken: typeof token === 'string' && token !== '' ? token : null };
}

/** Check one meter answered by a get. */
export function validateItem<K extends LeapItemKind>(kind: K, body: unknown): ItemValidation<LeapItemTypes[K]> {
  const validate = itemValidators[kind];
  if (validate(body)) return { ok: true, item: body as LeapItemTypes[K] };
  const meterId = meterIdOf(body);
  return { ok: false, problems: toProblems(validate.errors, body, '').map((p) => ({ ...(meterId ? { meter_id: meterId } : {}), ...p })) };
}

function meterIdOf(item: unknown): string | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return undefined;
  const id = (item as Record<string, unknown>).meter_id;
  return typeof id === 'string' && id !== '' ? id.slice(0, 64) : undefined;
}

function toProblems(errors: ErrorObject[] | null | undefined, data: unknown, prefix: string): LeapPageProblem[] {
  return (errors ?? []).map((e) => {
    if (e.keyword === 'required') {
      const missing = String((e.params as { missingProperty?: string }).missingProperty ?? '');
      return { pointer: `${prefix}${e.instancePath}/${escapePointer(missing)}`, message: 'is required' };
    }
    const value = valueAt(data, e.instancePath);
    if (e.keyword === 'type') {
      const expected = String((e.params as { type?: string | string[] }).type ?? '').replace(/,/g, ' or ');
      return { pointer: `${prefix}${e.instancePath}`, message: `must be ${expected}, got ${describe(value)}` };
    }
    if (e.keyword === 'format') {
      const format = (e.params as { format?: string }).format;
      const what = format === 'uuid' ? 'a uuid' : format === TIMESTAMP_FORMAT ? 'an ISO-8601 timestamp' : `format ${String(format)}`;
      return { pointer: `${prefix}${e.instancePath}`, message: `must be ${what}, got ${describe(value)}` };
    }
    return { pointer: `${prefix}${e.instancePath}`, message: e.message ?? e.keyword };
  });
}

function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function valueAt(data: unknown, pointer: string): unknown {
  let current = data;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Short, safe text for a value in a message: the type and, for scalars, up to 60 characters of it. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  return `${typeof value} ${String(value)}`;
}

/**
 * What a decoder makes of a 2xx answer's text: a value, text that is not JSON (retried, as a
 * truncated body is), or JSON that breaks Leap's contract (`problems`, never retried), with the
 * part of the answer to quote in the error.
 */
export type DecodedAnswer<T> = { ok: true; value: T } | { ok: false; notJson: string } | { ok: false; problems: LeapPageProblem[]; excerpt?: unknown };

/** A search answer decoded elsewhere (a worker thread): what the decoder keeps of the page, and the paging token. */
export interface DecodedPage<P> {
  page: P;
  /** Meters on the page. */
  items: number;
  nextPageToken: string | null;
}

/** Leap's JSON, or why the text is not JSON. */
export function parseJson(text: string): DecodedAnswer<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, notJson: err instanceof Error ? err.message : 'unparseable' };
  }
}

/**
 * A search answer parsed and checked: its items, or the problems found, quoting the first failing
 * meter rather than whichever meter happens to open the page.
 */
export function decodePage<K extends LeapItemKind>(kind: K, text: string): DecodedAnswer<DecodedPage<LeapItemTypes[K][]>> {
  const parsed = parseJson(text);
  if (!parsed.ok) return parsed;
  const answer = parsed.value;
  const page = validatePage(kind, answer);
  if (!page.ok) {
    const list = answer !== null && typeof answer === 'object' && !Array.isArray(answer) ? (answer as Record<string, unknown>)[PAGE_LIST_KEY[kind]] : undefined;
    const firstBad = page.problems.find((p) => p.index !== undefined)?.index;
    return { ok: false, problems: page.problems, excerpt: Array.isArray(list) && firstBad !== undefined ? (list[firstBad] as unknown) : answer };
  }
  return { ok: true, value: { page: page.items, items: page.items.length, nextPageToken: page.nextPageToken } };
}
