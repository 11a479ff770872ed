import { isScalar, type Scalar } from 'yaml';
import type jsonata from 'jsonata';
import type { MeterView } from '../domain/events';
import { isTimeZone } from '../domain/trade-dates';
import { RESERVED_DATA_KEYS } from '../domain/webhook-body';
import { MappingError } from '../errors';
import { toPointer, type SourcePosition, type SourceProblem, type YamlSource } from '../config/yaml-source';
import { FIELD_KEYS } from './destination-schema';
import { compileExpression, errorIndex, evaluate, GUARDRAILS, isJsonataFailure, syntaxFailure, toPlainJson, type ExpressionBindings, type JsonataFailure } from './expressions';
import { mapStep, transformStep } from './transforms';
import { parsePath, pathProblem, pathToJsonata } from './meter-paths';
import { hasTrailingComment, offsetInScalar } from './scalar-position';

export type OnMissing = 'omit' | 'null';

/** One output key of a mapping, compiled: a JSONata pipeline for its value, or nested fields. */
export interface CompiledField {
  key: string;
  pointer: string;
  /** `file:line:col` of the field, for runtime errors. */
  where: string;
  file: string;
  required: boolean;
  onMissing: OnMissing;
  hasDefault: boolean;
  default: unknown;
  /** What the value comes from, for messages: a path, or `expr`. */
  describe: string;
  value: ValuePipeline | null;
  fields: CompiledField[] | null;
}

interface ValuePipeline {
  expr: jsonata.Expression;
  /** The source alone (no map/format/transform), to say why a required field came out empty. */
  source: jsonata.Expression | null;
  /** The generated JSONata, and where the integrator's own expression sits in it, to place runtime errors. */
  text: string;
  /** A path's null means missing; done here when no stage follows (stages do it in JSONata). */
  nullIsMissing: boolean;
  sourceNullIsMissing: boolean;
  userStart: number;
  userLength: number;
  userPosition: (index: number) => SourcePosition | null;
}

/** A whole record over 1 MiB is a mistake in the mapping, not a payload anyone wants. */
export const MAX_RECORD_BYTES = 1024 * 1024;
/** All fields of one record together; each evaluation also has its own GUARDRAILS.timeout. */
export const RECORD_BUDGET_MS = 4 * GUARDRAILS.timeout;

export interface MappingSource {
  yaml: YamlSource;
  text: string;
  source: string;
}

type Path = (string | number)[];
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Compile a validated mapping (see mappingSchema). Every field becomes one JSONata expression,
 * compiled here once; problems (bad paths, expression syntax, formats) come back positioned.
 */
export function compileMapping(mapping: Obj, src: MappingSource, onMissing: OnMissing, base: Path = ['mapping']): { fields: CompiledField[]; problems: SourceProblem[] } {
  const problems: SourceProblem[] = [];
  const fields = compileFields(mapping, src, onMissing, base, problems, true);
  return { fields, problems };
}

function compileFields(mapping: Obj, src: MappingSource, onMissing: OnMissing, base: Path, problems: SourceProblem[], top: boolean): CompiledField[] {
  const out: CompiledField[] = [];
  for (const [key, raw] of Object.entries(mapping)) {
    const path = [...base, key];
    if (top && (RESERVED_DATA_KEYS as readonly string[]).includes(key)) {
      problems.push(problemAt(src, path, `is reserved: the connector adds ${RESERVED_DATA_KEYS.join(', ')} to every data object itself`, true));
      continue;
    }
    const field = compileField(key, raw, src, onMissing, path, problems);
    if (field) out.push(field);
  }
  return out;
}

function compileField(key: string, raw: unknown, src: MappingSource, inherited: OnMissing, path: Path, problems: SourceProblem[]): CompiledField | null {
  // Anything else, and a spec with keys the DSL does not know, was reported by the schema.
  if (typeof raw !== 'string' && !isObj(raw)) return null;
  if (isObj(raw) && Object.keys(raw).some((k) => !(FIELD_KEYS as readonly string[]).includes(k))) return null;
  const spec: Obj = typeof raw === 'string' ? { from: raw } : raw;
  const fromPath = typeof raw === 'string' ? path : [...path, 'from'];
  const onMissing: OnMissing = spec.on_missing === undefined ? inherited : spec.on_missing === 'omit' ? 'omit' : 'null';
  const pos = src.yaml.position(path);
  const base = {
    key,
    pointer: toPointer(path),
    where: pos ? `${src.source}:${pos.line}:${pos.col}` : src.source,
    file: src.source,
    required: spec.required === true,
    onMissing,
    hasDefault: 'default' in spec,
    default: spec.default,
  };
  const before = problems.length;
  const has = (k: string) => spec[k] !== undefined;

  if (has('fields')) {
    for (const k of FIELD_KEYS) {
      if (k !== 'fields' && k !== 'required' && k !== 'on_missing' && has(k)) problems.push(problemAt(src, [...path, k], 'cannot be used with fields: a nested object is built from its fields only', true));
    }
    const nested = isObj(spec.fields) ? compileFields(spec.fields, src, onMissing, [...path, 'fields'], problems, false) : [];
    return problems.length > before ? null : { ...base, describe: 'fields', value: null, fields: nested };
  }
  if (has('from') && has('expr')) problems.push(problemAt(src, [...path, 'expr'], 'cannot be used with from: take the value from a path or from an expression, not both', true));
  if (!has('from') && !has('expr') && !base.hasDefault) {
    problems.push(problemAt(src, path, 'needs from (a path), expr (a JSONata expression), fields (a nested object) or default (a constant)'));
    return null;
  }
  if (base.required && base.hasDefault) problems.push(problemAt(src, [...path, 'default'], 'cannot be used with required: true (the default would always satisfy it)', true));

  let source: string | null = null;
  let userLength = 0;
  let userPosition: (i: number) => SourcePosition | null = () => null;
  let nullIsMissing = false;
  let describe = 'default';
  if (typeof spec.from === 'string') {
    if (spec.from.trim() === '') return null; // reported by the schema as empty
    const steps = parsePath(spec.from.trim());
    if (!steps) {
      problems.push(problemAt(src, fromPath, `"${spec.from}" is not a dotted path into the meter (names of letters, digits, _ and -, with [n] for a list item); write expr for a JSONata expression`));
    } else {
      const why = pathProblem(steps);
      if (why) problems.push(problemAt(src, fromPath, why));
      source = pathToJsonata(steps);
      nullIsMissing = true;
      describe = spec.from.trim();
    }
  } else if (typeof spec.expr === 'string') {
    const exprPath = [...path, 'expr'];
    const failure = syntaxFailure(spec.expr);
    if (failure) problems.push(expressionProblem(src, exprPath, spec.expr, failure));
    else {
      source = spec.expr;
      describe = 'expr';
      userLength = spec.expr.length;
      userPosition = scalarPosition(src, exprPath);
    }
  }

  // map and transform are plain functions registered into the field's expression; format uses
  // JSONata's own date pictures, inline. Order: source, map, format, transform.
  const pre: ((v: unknown) => unknown)[] = [];
  if (nullIsMissing) pre.push((v) => (v === null ? undefined : v));
  if (isObj(spec.map)) pre.push(mapStep(spec.map));
  const format = spec.format === undefined ? null : formatStage(spec.format, src, [...path, 'format'], problems);
  const post = (spec.transform === undefined ? [] : Array.isArray(spec.transform) ? spec.transform : [spec.transform]).map(transformStep);

  if (problems.length > before) return null;
  let value: ValuePipeline | null = null;
  if (source !== null) {
    const run = (steps: ((v: unknown) => unknown)[]) => (v: unknown) => steps.reduce((acc, step) => (acc === undefined ? acc : step(acc)), toPlainJson(v));
    let head = '';
    let text = source;
    const helpers: Record<string, (v: unknown) => unknown> = {};
    if (format) {
      // Most fields are a bare path or expression: they are evaluated as written, cheapest of all.
      head = '(\n  $__v := $__pre((';
      text = `${head}${source}\n));\n  $__v := $exists($__v) and $type($__v) != "null" ? ${format} : $__v;\n  $__post($__v)\n)`;
      helpers.__pre = run(pre);
      helpers.__post = run(post);
    } else if (pre.length > (nullIsMissing ? 1 : 0) || post.length) {
      head = '$__stages((';
      text = `${head}${source}\n))`;
      helpers.__stages = run([...pre, ...post]);
    }
    const expr = compileExpression(text);
    for (const [name, f] of Object.entries(helpers)) expr.registerFunction(name, f);
    value = {
      expr,
      text,
      nullIsMissing: nullIsMissing && !head,
      source: head ? compileExpression(source) : null,
      sourceNullIsMissing: nullIsMissing,
      userStart: head.length,
      userLength,
      userPosition,
    };
  }
  return { ...base, describe, value, fields: null };
}

const FIXED_OFFSET = /^[+-]\d{4}$/;

/** `format: {in?, out, timezone?}` (or just the out picture): parse with `in` (ISO when absent), print with `out`; JSONata over `$__v`. */
function formatStage(format: unknown, src: MappingSource, path: Path, problems: SourceProblem[]): string | null {
  const f = typeof format === 'string' ? { out: format } : (format as { in?: string; out: string; timezone?: string });
  const before = problems.length;
  for (const [k, picture] of [['out', f.out], ['in', f.in]] as const) {
    if (picture === undefined) continue;
    const failure = pictureFailure(picture);
    if (failure) problems.push(problemAt(src, typeof format === 'string' ? path : [...path, k], `is not a usable JSONata date picture: ${failure}`));
  }
  let zone: string | null = null;
  if (f.timezone !== undefined) {
    const tz = f.timezone === 'Z' || f.timezone === 'UTC' ? '+0000' : f.timezone;
    if (FIXED_OFFSET.test(tz)) zone = JSON.stringify(tz);
    else if (isTimeZone(tz)) zone = `$zoneOffset($__ms, ${JSON.stringify(tz)})`;
    else problems.push(problemAt(src, [...path, 'timezone'], `"${f.timezone}" is neither an IANA time zone (America/Los_Angeles) nor an offset (-0800, +0000)`));
  }
  if (problems.length > before) return null;
  const parse = f.in === undefined ? '$toMillis($__v)' : `$toMillis($__v, ${JSON.stringify(f.in)})`;
  return `(($__ms := $type($__v) = "number" ? $__v : ${parse}; $fromMillis($__ms, ${JSON.stringify(f.out)}${zone ? `, ${zone}` : ''})))`;
}

const COMPONENTS = 'YMDdFWwXxHhPmsfZzCE';

/**
 * JSONata checks a date picture only when it formats a value, and asynchronously; loading is
 * synchronous, so the two mistakes that matter (a bad component, an unclosed bracket) are checked here.
 */
function pictureFailure(picture: string): string | null {
  for (let i = 0; i < picture.length; i++) {
    const c = picture[i];
    if ((c === '[' || c === ']') && picture[i + 1] === c) {
      i++;
      continue;
    }
    if (c === ']') return `a lone "]" at character ${i + 1} (write "]]" for a literal bracket)`;
    if (c !== '[') continue;
    const close = picture.indexOf(']', i);
    if (close < 0) return `no closing "]" for the "[" at character ${i + 1}`;
    const marker = picture.slice(i + 1, close).replace(/\s+/g, '');
    if (!marker || !COMPONENTS.includes(marker[0]!)) return `unknown component "[${marker}]" (components: ${COMPONENTS.split('').join(' ')}; e.g. [Y0001]-[M01]-[D01])`;
    i = close;
  }
  return null;
}

function scalarNode(src: MappingSource, path: Path): Scalar | null {
  const node = src.yaml.nodeAt(path);
  return isScalar(node) && node.range ? node : null;
}

/** Where each character of the expression at path sits in the file. */
export function scalarPosition(src: MappingSource, path: Path): (index: number) => SourcePosition | null {
  const node = scalarNode(src, path);
  return (index) => (node ? src.yaml.positionOfOffset(offsetInScalar(src.text, node, index)) : src.yaml.position(path));
}

/** A JSONata syntax error, placed at the exact character of the YAML scalar. */
export function expressionProblem(src: MappingSource, path: Path, expression: string, failure: JsonataFailure): SourceProblem {
  const node = scalarNode(src, path);
  const index = errorIndex(failure, expression);
  const position = node ? src.yaml.positionOfOffset(offsetInScalar(src.text, node, index)) : src.yaml.position(path);
  let message = `JSONata ${failure.code}: ${failure.message}`;
  if (node && hasTrailingComment(src.text, node)) message += ` (YAML dropped everything after " #" on this line as a comment: quote the expression)`;
  return { source: src.source, position, pointer: toPointer(path), message };
}

export function problemAt(src: MappingSource, path: Path, message: string, atKey = false): SourceProblem {
  return { source: src.source, position: atKey ? src.yaml.keyPosition(path) : src.yaml.position(path), pointer: toPointer(path), message };
}

export interface RenderContext {
  destination: string;
  meter: MeterView;
  bindings: ExpressionBindings;
  started: number;
}

/** Evaluate every field; a missing value follows default, then required, then on_missing. */
export async function renderFields(fields: readonly CompiledField[], ctx: RenderContext): Promise<Obj> {
  const out: Obj = {};
  for (const f of fields) {
    let value: unknown;
    if (f.fields) {
      const nested = await renderFields(f.fields, ctx);
      value = Object.keys(nested).length ? nested : undefined;
    } else if (f.value) {
      value = await evaluateField(f, f.value, ctx);
    }
    if (value === undefined && f.hasDefault) value = structuredClone(f.default);
    if (value === undefined) {
      if (f.required) throw new MappingError(await missingMessage(f, ctx), details(f, ctx));
      if (f.onMissing === 'omit') continue;
      value = null;
    }
    out[f.key] = value;
    if (Date.now() - ctx.started > RECORD_BUDGET_MS) {
      throw new MappingError(`destination "${ctx.destination}": the mapping took longer than ${RECORD_BUDGET_MS} ms for meter ${ctx.meter.meter_id} (at ${f.pointer})`, details(f, ctx));
    }
  }
  return out;
}

function details(f: CompiledField, ctx: RenderContext, extra: Obj = {}): { destination: string; field: string; meter_id: string; position: string } {
  return { destination: ctx.destination, field: f.pointer, meter_id: ctx.meter.meter_id, position: f.where, ...extra };
}

async function evaluateField(f: CompiledField, p: ValuePipeline, ctx: RenderContext): Promise<unknown> {
  try {
    const value = await evaluate(p.expr, ctx.meter, ctx.bindings);
    return value === null && p.nullIsMissing ? undefined : value;
  } catch (err) {
    const failure: JsonataFailure = isJsonataFailure(err) ? err : { code: 'error', message: err instanceof Error ? err.message : String(err) };
    let where = f.where;
    const index = errorIndex(failure, p.text) - p.userStart;
    if (p.userLength > 0 && typeof failure.position === 'number' && index >= 0 && index <= p.userLength) {
      const pos = p.userPosition(index);
      if (pos) where = `${f.file}:${pos.line}:${pos.col}`;
    }
    const guard = failure.code === 'D1012' || failure.code === 'D1011' || failure.code === 'D2015' ? ' (a guardrail stopped it)' : '';
    // Our own helpers' codes start with LC; JSONata's are its own (S0201, D3030, ...).
    const cause = failure.code.startsWith('LC') ? failure.message : `JSONata ${failure.code}: ${failure.message}`;
    throw new MappingError(`destination "${ctx.destination}": field ${f.pointer} (${f.describe}) failed for meter ${ctx.meter.meter_id}: ${cause}${guard} [${where}]`, {
      ...details(f, ctx),
      position: where,
      cause_code: failure.code,
    });
  }
}

async function missingMessage(f: CompiledField, ctx: RenderContext): Promise<string> {
  const head = `destination "${ctx.destination}": field ${f.pointer} is required, but`;
  if (f.fields) return `${head} none of its fields has a value for meter ${ctx.meter.meter_id} [${f.where}]`;
  if (f.value?.source) {
    const raw = await evaluate(f.value.source, ctx.meter, ctx.bindings).catch(() => undefined);
    if (raw !== undefined && !(raw === null && f.value.sourceNullIsMissing)) return `${head} meter ${ctx.meter.meter_id} has ${JSON.stringify(raw)} at ${f.describe}, which map/format/transform turned into nothing [${f.where}]`;
  }
  return f.describe === 'expr'
    ? `${head} its expression returned nothing for meter ${ctx.meter.meter_id} [${f.where}]`
    : `${head} meter ${ctx.meter.meter_id} has no value at ${f.describe} [${f.where}]`;
}
