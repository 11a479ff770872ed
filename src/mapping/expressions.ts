import jsonata from 'jsonata';
import type { MeterView } from '../domain/events';
import { groupForTradeDate, isTimeZone, marketTimeZone, offsetText, tradeDate, zoneOffsetMinutes } from '../domain/trade-dates';

/**
 * Every expression runs under JSONata's guardrails, so a pathological expression (endless
 * recursion, a runaway range) fails in well under a second instead of hanging the connector.
 */
export const GUARDRAILS = {
  /** Milliseconds one evaluation may run; generous because evaluations share the event loop. */
  timeout: 250,
  /** Nesting depth of the evaluator: deep non-tail recursion stops here. */
  stack: 500,
  /** Longest sequence an expression may build. */
  sequence: 100_000,
} as const;

/** What a JSONata failure carries: a code (S0201, D3030, ...), a position and the token there. */
export interface JsonataFailure {
  code: string;
  message: string;
  position?: number;
  token?: string;
}

export function isJsonataFailure(err: unknown): err is JsonataFailure {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' && typeof (err as { message?: unknown }).message === 'string';
}

/**
 * The 0-based index in the expression text a JSONata error is about. JSONata's `position` is
 * the end of the offending token (after the `(` for a function), so look back for the token
 * itself, and include the `$` of a function or variable name.
 */
export function errorIndex(err: JsonataFailure, text: string): number {
  const pos = Math.max(0, Math.min(typeof err.position === 'number' ? err.position : 0, text.length));
  const token = typeof err.token === 'string' && err.token !== '(end)' ? err.token : '';
  if (token) {
    const at = text.lastIndexOf(token, Math.max(0, pos - 1));
    if (at >= 0 && pos - at <= token.length + 2) return text[at - 1] === '$' ? at - 1 : at;
  }
  return pos;
}

/** Helper functions every expression may call, with JSONata signatures. */
export const HELPERS: readonly { name: string; signature: string; doc: string }[] = [
  { name: 'tradeDate', signature: '<n?s?:s>', doc: '$tradeDate(days?, zone?): the trade date (YYYY-MM-DD) `days` after the event, in the market time zone' },
  { name: 'marketGroup', signature: '<s?s?:o>', doc: "$marketGroup(date?, program?): the meter's market group assignment on a trade date (default: the event's)" },
  { name: 'marketZone', signature: '<:s>', doc: "$marketZone(): the IANA time zone of the meter's market (CAISO: America/Los_Angeles)" },
  { name: 'zoneOffset', signature: '<n-s:s>', doc: '$zoneOffset(millis, zone): the ±HHMM offset of an IANA zone at that instant, for $fromMillis' },
  { name: 'toBoolean', signature: '<x-:b>', doc: '$toBoolean(value): true/false, yes/no, on/off, 1/0 as a boolean; anything else is an error' },
];

class HelperError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Focus {
  environment: { lookup(name: string): unknown };
}

function eventTime(focus: Focus): Date {
  const event = focus.environment.lookup('event') as { occurred_at?: unknown } | undefined;
  const at = typeof event?.occurred_at === 'string' ? new Date(event.occurred_at) : new Date(NaN);
  return Number.isNaN(at.getTime()) ? new Date() : at;
}

function rootMeter(focus: Focus): Partial<MeterView> {
  const root = focus.environment.lookup('$');
  return root !== null && typeof root === 'object' ? (root as Partial<MeterView>) : {};
}

function zoneArg(zone: string | undefined, focus: Focus): string {
  if (zone === undefined) return marketTimeZone(rootMeter(focus).transmission_region);
  if (!isTimeZone(zone)) throw new HelperError('LC101', `unknown time zone "${zone}" (use an IANA name such as America/Los_Angeles)`);
  return zone;
}

const TRUE_WORDS = new Set(['true', 'yes', 'y', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'n', 'off', '0', '']);

export function toBoolean(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') {
    const word = value.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  throw new HelperError('LC102', `cannot read ${JSON.stringify(value)} as a boolean (true/false, yes/no, on/off, 1/0)`);
}

function registerHelpers(expr: jsonata.Expression): void {
  const sig = (name: string) => HELPERS.find((h) => h.name === name)!.signature;
  expr.registerFunction(
    'tradeDate',
    function (this: Focus, days?: number, zone?: string) {
      if (days !== undefined && !Number.isInteger(days)) throw new HelperError('LC103', `$tradeDate takes a whole number of days, not ${days}`);
      return tradeDate(eventTime(this), zoneArg(zone, this), days ?? 0);
    },
    sig('tradeDate'),
  );
  expr.registerFunction(
    'marketGroup',
    function (this: Focus, date?: string, program?: string) {
      const meter = rootMeter(this);
      const zone = marketTimeZone(meter.transmission_region);
      const day = date ?? tradeDate(eventTime(this), zone, 0);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new HelperError('LC104', `$marketGroup takes a trade date as YYYY-MM-DD, not "${day}"`);
      const found = groupForTradeDate(Array.isArray(meter.group_assignments) ? meter.group_assignments : [], day, zone, program);
      return found ? { ...found } : undefined;
    },
    sig('marketGroup'),
  );
  expr.registerFunction(
    'marketZone',
    function (this: Focus) {
      return marketTimeZone(rootMeter(this).transmission_region);
    },
    sig('marketZone'),
  );
  expr.registerFunction(
    'zoneOffset',
    function (this: Focus, millis: number, zone: string) {
      return offsetText(zoneOffsetMinutes(new Date(millis), zoneArg(zone, this)));
    },
    sig('zoneOffset'),
  );
  expr.registerFunction('toBoolean', (value: unknown) => toBoolean(value), sig('toBoolean'));
}

/** Parse and prepare an expression; throws the JSONata failure (with its position) on a syntax error. */
export function compileExpression(source: string): jsonata.Expression {
  const expr = jsonata(source, { ...GUARDRAILS });
  registerHelpers(expr);
  return expr;
}

/** The syntax error of an expression, or null when it compiles. */
export function syntaxFailure(source: string): JsonataFailure | null {
  try {
    compileExpression(source);
    return null;
  } catch (err) {
    if (isJsonataFailure(err)) return err;
    return { code: 'S0000', message: err instanceof Error ? err.message : String(err) };
  }
}

/** The values an expression sees besides its input: `$event` and `$destination`. */
export interface ExpressionBindings {
  event: { type: string; sequence: number; changes: unknown; occurred_at: string };
  destination: string;
}

/** Evaluate and return plain JSON (JSONata's sequences carry extra properties and may hold functions). */
export async function evaluate(expr: jsonata.Expression, input: unknown, bindings: ExpressionBindings): Promise<unknown> {
  const result: unknown = await expr.evaluate(input, bindings as unknown as Record<string, unknown>);
  return toPlainJson(result);
}

export function toPlainJson(value: unknown): unknown {
  if (value === undefined || value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value;
  if (Array.isArray(value)) return value.map(toPlainJson).filter((v) => v !== undefined);
  if (typeof value === 'function') throw new HelperError('LC105', 'the expression returned a function, not a value (call it?)');
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const plain = toPlainJson(v);
      if (plain !== undefined) out[k] = plain;
    }
    return out;
  }
  return undefined;
}

/** JSONata's own truthiness (`$boolean`), for filters. */
export function truthy(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') return value.length > 0;
  if (typeof value === 'number') return value !== 0;
  if (Array.isArray(value)) return value.some(truthy);
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return false;
}
