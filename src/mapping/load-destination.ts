import path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { closest, toProblem } from '../config/load';
import { DURATION_PATTERN } from '../config/schema';
import { refersToEnv, substituteEnv } from '../config/substitute';
import { formatProblem, fromPointer, toPointer, YamlSource, type SourcePosition, type SourceProblem } from '../config/yaml-source';
import { canonicalJson, sha256Hex } from '../domain/canonical-json';
import type { Destination } from '../domain/destination';
import { METER_EVENT_TYPES } from '../domain/events';
import { secretProblem, type SigningSecret } from '../domain/signing';
import { FIELD_KEYS, destinationSchema, mappingSchema, type DestinationFile } from './destination-schema';
import { typesMatching } from './event-patterns';
import { LoadedDestination, type CompiledFilter } from './compiled-destination';
import { compileExpression, syntaxFailure } from './expressions';
import { compileMapping, expressionProblem, problemAt, scalarPosition, type CompiledField, type MappingSource, type OnMissing } from './field-mapping';

const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, verbose: true, strict: true, allowUnionTypes: true });
addFormats(ajv);
const validateDestination = ajv.compile(destinationSchema);
// No coercion here: an expression YAML read as a number, a map or null must be reported, not converted.
const strictAjv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
const validateMapping = strictAjv.compile(mappingSchema);

/** Headers the connector sets itself; a destination may not override them. */
const RESERVED_HEADERS = ['content-type', 'content-length', 'host', 'connection', 'transfer-encoding', 'webhook-id', 'webhook-timestamp', 'webhook-signature'];
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** YAML errors that stay local to one value (an unquoted `a ? b : c`): the rest of the file is still checked. */
const LOCAL_YAML_ERRORS = new Set(['BLOCK_AS_IMPLICIT_KEY', 'BLOCK_IN_FLOW']);

export interface ParseOptions {
  env: NodeJS.ProcessEnv;
  /** For "every secret has expired"; defaults to now. */
  now?: Date;
}

export interface ParsedDestination {
  destination: Destination | null;
  /** The name this file claims (for duplicate checks), even when it has problems. */
  name: string | null;
  namePosition: SourcePosition | null;
  problems: SourceProblem[];
}

type Path = (string | number)[];
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Parse, validate and compile one destination file. Every problem is collected, each with its
 * position; a file with any problem yields no destination.
 */
export function parseDestination(text: string, file: string, opts: ParseOptions): ParsedDestination {
  const yaml = new YamlSource(file, text);
  const src: MappingSource = { yaml, text, source: file };
  const problems: SourceProblem[] = [];
  const fallbackName = path.basename(file).replace(/\.ya?ml$/i, '');

  // YAML first. A ternary written without quotes breaks only its own value: report it with the
  // fix, and keep checking the rest of the file; any other syntax error stops here.
  const hidden: string[] = [];
  const traps: SourceProblem[] = [];
  let fatal = false;
  for (const e of [...yaml.doc.errors, ...yaml.doc.warnings]) {
    const pos = e.linePos?.[0];
    const at = LOCAL_YAML_ERRORS.has(e.code) ? pathAtOffset(yaml.doc.contents, e.pos[0]) : null;
    if (at && (at[0] === 'mapping' || at[0] === 'filter')) {
      hidden.push(toPointer(at));
      traps.push({
        source: file,
        position: pos ? { line: pos.line, col: pos.col } : null,
        pointer: toPointer(at),
        message: `${e.code}: YAML read this value as a mapping because it contains ": " (as in a ? b : c); quote the expression ('...') or write it as a | block`,
      });
    } else {
      fatal = true;
    }
  }
  if (fatal) return { destination: null, name: null, namePosition: null, problems: yaml.syntaxProblems };

  const raw = yaml.toJS();
  if (!isObj(raw)) {
    problems.push({ source: file, position: { line: 1, col: 1 }, pointer: '', message: 'must be a mapping of settings (url, events, secrets, mapping, ...); see config/examples' });
    return { destination: null, name: null, namePosition: null, problems };
  }

  // ${VAR} everywhere but in JSONata (filter, mapping), where `$` belongs to the expression language.
  const { filter: rawFilter, mapping: rawMapping, ...settings } = raw;
  const envValued = new Set<string>();
  const unset = new Set<string>();
  const substituted = substituteEnv(settings, [], opts.env, (p, message) => {
    unset.add(toPointer(p));
    problems.push({ source: file, position: yaml.position(p), pointer: toPointer(p), message });
  }) as Obj;
  markEnvValues(settings, [], envValued);
  const data: Obj = { ...substituted };
  if (rawFilter !== undefined) data.filter = rawFilter;
  if (rawMapping !== undefined) data.mapping = rawMapping;

  if (!validateDestination(data)) {
    for (const err of validateDestination.errors ?? []) {
      const p = settingProblem(err, yaml);
      // A value already reported as an unset variable would only repeat itself.
      if (p && !unset.has(p.pointer)) problems.push(p);
    }
  }
  const spec = data as unknown as DestinationFile;
  const name = typeof spec.name === 'string' ? spec.name : fallbackName;
  const namePosition = typeof spec.name === 'string' ? yaml.position(['name']) : null;

  if (data.mapping === null) problems.push(problemAt(src, ['mapping'], 'is empty; remove it to send only meter_id, sequence and changes, or list fields under it'));
  else if (isObj(data.mapping) && !validateMapping(data.mapping)) {
    for (const err of validateMapping.errors ?? []) {
      const p = mappingProblem(err, yaml, data.mapping);
      if (p) problems.push(p);
    }
  } else if (data.mapping !== undefined && !isObj(data.mapping)) problems.push(problemAt(src, ['mapping'], 'must be a mapping of output fields'));

  // Meaning, beyond shape.
  if (Array.isArray(spec.events)) {
    spec.events.forEach((pattern, i) => {
      if (typeof pattern !== 'string' || typesMatching(pattern).length) return;
      const hint = closest(pattern, [...METER_EVENT_TYPES]);
      problems.push(problemAt(src, ['events', i], `"${pattern}" matches no event type${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${METER_EVENT_TYPES.join(', ')}`));
    });
  }
  const secrets: SigningSecret[] = [];
  if (Array.isArray(spec.secrets)) {
    spec.secrets.forEach((s, i) => {
      const secret = typeof s === 'string' ? s : s?.secret;
      const at: Path = typeof s === 'string' ? ['secrets', i] : ['secrets', i, 'secret'];
      if (typeof secret !== 'string' || unset.has(toPointer(at))) return;
      const why = secret === '' ? 'is empty (set the variable it refers to, or remove this entry)' : secretProblem(secret);
      if (why) problems.push(problemAt(src, at, why));
      const expires = typeof s === 'object' && s.expires_at ? new Date(s.expires_at) : null;
      secrets.push({ secret, expiresAt: expires && !Number.isNaN(expires.getTime()) ? expires : null });
    });
    const now = opts.now ?? new Date();
    if (secrets.length && secrets.every((s) => s.expiresAt && s.expiresAt.getTime() <= now.getTime())) {
      problems.push(problemAt(src, ['secrets'], 'every secret has expired, so nothing could be signed; add the current secret'));
    }
  }
  for (const [header, value] of Object.entries(isObj(spec.headers) ? spec.headers : {})) {
    if (!HEADER_NAME.test(header)) problems.push(problemAt(src, ['headers', header], 'is not a valid header name', true));
    else if (RESERVED_HEADERS.includes(header.toLowerCase())) problems.push(problemAt(src, ['headers', header], 'is set by the connector and cannot be overridden', true));
    if (typeof value === 'string' && /[\r\n]/.test(value)) problems.push(problemAt(src, ['headers', header], 'must be one line'));
  }

  let filter: CompiledFilter | null = null;
  if (spec.filter !== undefined) {
    const trap = stringTrap(spec.filter, 'filter');
    if (trap) problems.push(problemAt(src, ['filter'], trap));
    else {
      const text = spec.filter as string;
      const failure = syntaxFailure(text);
      if (failure) problems.push(expressionProblem(src, ['filter'], text, failure));
      else filter = { expr: compileExpression(text), text, position: scalarPosition(src, ['filter']) };
    }
  }

  // `on_missing: null` unquoted is YAML's null, which means the same as "null".
  const onMissing: OnMissing = spec.on_missing === 'omit' ? 'omit' : 'null';
  let fields: CompiledField[] = [];
  if (isObj(data.mapping)) {
    const compiled = compileMapping(data.mapping, src, onMissing);
    fields = compiled.fields;
    problems.push(...compiled.problems);
  }

  // What a trap broke (an unknown key where the expression should be) would only repeat the trap.
  const shown = dedupe([...traps, ...problems.filter((p) => !hidden.some((h) => p.pointer === h || p.pointer.startsWith(`${h}/`)))]).sort(byPosition);
  if (shown.length) return { destination: null, name, namePosition, problems: shown };

  const version = sha256Hex(canonicalJson({ ...data, name })).slice(0, 12);
  const headerSecrets = Object.entries(spec.headers).filter(([h]) => envValued.has(toPointer(['headers', h]))).map(([, v]) => v);
  return {
    destination: new LoadedDestination({ name, file, spec, secrets, filter, fields, version, headerSecrets }),
    name,
    namePosition,
    problems: [],
  };
}

/** The path of the value a YAML error offset falls on (the value that was read wrongly). */
function pathAtOffset(node: unknown, offset: number, at: Path = []): Path | null {
  if (isMap(node)) {
    for (const pair of node.items) {
      const value = pair.value as Node | null;
      const key = isScalar(pair.key) ? String(pair.key.value) : null;
      if (key === null || !value?.range) continue;
      if (value.range[0] === offset) return [...at, key];
      if (value.range[0] <= offset && offset < value.range[2]) return pathAtOffset(value, offset, [...at, key]) ?? [...at, key];
    }
  } else if (isSeq(node)) {
    for (let i = 0; i < node.items.length; i++) {
      const value = node.items[i] as Node | null;
      if (!value?.range) continue;
      if (value.range[0] === offset) return [...at, i];
      if (value.range[0] <= offset && offset < value.range[2]) return pathAtOffset(value, offset, [...at, i]) ?? [...at, i];
    }
  }
  return null;
}

function markEnvValues(value: unknown, at: Path, out: Set<string>): void {
  if (typeof value === 'string' && refersToEnv(value)) out.add(toPointer(at));
  else if (Array.isArray(value)) value.forEach((v, i) => markEnvValues(v, [...at, i], out));
  else if (isObj(value)) for (const [k, v] of Object.entries(value)) markEnvValues(v, [...at, k], out);
}

function valueAt(root: unknown, pointer: string): unknown {
  let node = root;
  for (const key of fromPointer(pointer)) node = Array.isArray(node) ? node[Number(key)] : isObj(node) ? node[key] : undefined;
  return node;
}

/**
 * Why a value that must be an expression (or a path) is not a usable string. These are the
 * YAML traps: `#` starts a comment (the value becomes null), `a ? b : c` becomes a mapping.
 */
export function stringTrap(value: unknown, what: string): string | null {
  if (typeof value === 'string') return value.trim() === '' ? `is empty: give the ${what}` : null;
  if (value === null || value === undefined)
    return `has no value: if it starts with #, YAML read it as a comment; quote it ('#...') or write it as a | block`;
  if (isObj(value)) return `must be a string, but YAML read a mapping (a ": " inside an unquoted value); quote the ${what} ('...') or write it as a | block`;
  if (Array.isArray(value)) return `must be a string, but YAML read a list; quote the ${what} ('[...]')`;
  return `must be a string, but YAML read ${JSON.stringify(value)} as a ${typeof value}; quote it ('${String(value)}')`;
}

function settingProblem(err: ErrorObject, yaml: YamlSource): SourceProblem | null {
  if (err.keyword === 'if') return null;
  if (err.keyword === 'type' && /^\/secrets\/\d+$/.test(err.instancePath)) {
    return { source: yaml.source, position: yaml.position(fromPointer(err.instancePath)), pointer: err.instancePath, message: 'must be a whsec_ secret, or {secret, expires_at}' };
  }
  if (err.keyword === 'format' && err.instancePath.endsWith('/expires_at')) {
    return { source: yaml.source, position: yaml.position(fromPointer(err.instancePath)), pointer: err.instancePath, message: 'must be an ISO 8601 time with a zone, e.g. 2026-01-31T00:00:00Z' };
  }
  if (err.keyword === 'pattern' && (err.params as { pattern?: string }).pattern === DURATION_PATTERN) {
    return { source: yaml.source, position: yaml.position(fromPointer(err.instancePath)), pointer: err.instancePath, message: 'must be a duration such as 500ms, 15s, 5m, 2h or 1d' };
  }
  if (err.keyword === 'enum' && err.instancePath === '/on_missing') {
    return { source: yaml.source, position: yaml.position(['on_missing']), pointer: '/on_missing', message: 'must be omit or null' };
  }
  if (err.keyword === 'pattern' && err.instancePath === '/name') {
    return { source: yaml.source, position: yaml.position(['name']), pointer: '/name', message: 'must be 1-64 letters, digits, _, . or - (starting with a letter or digit)' };
  }
  return toProblem(err, yaml, new Map());
}

/** One ajv error on the mapping, in the integrator's words; the trap values get their own advice. */
function mappingProblem(err: ErrorObject, yaml: YamlSource, mapping: Obj): SourceProblem | null {
  // `if` only announces that a `then`/`else` branch failed; that branch's own errors say why.
  if (err.keyword === 'if') return null;
  const pointer = `/mapping${err.instancePath}`;
  const p = fromPointer(pointer);
  const value = valueAt(mapping, err.instancePath);
  const last = p[p.length - 1];
  const isFieldValue = p.length === 2 || p[p.length - 2] === 'fields';
  if (err.keyword === 'type' && (last === 'from' || last === 'expr' || isFieldValue) && typeof value !== 'string' && !isObj(value)) {
    return { source: yaml.source, position: yaml.position(p), pointer, message: stringTrap(value, last === 'expr' ? 'expression' : 'path')! };
  }
  if (err.keyword === 'type' && (last === 'from' || last === 'expr') && isObj(value)) {
    return { source: yaml.source, position: yaml.position(p), pointer, message: stringTrap(value, last === 'expr' ? 'expression' : 'path')! };
  }
  if (err.keyword === 'minLength' && (last === 'from' || last === 'expr' || isFieldValue)) {
    return { source: yaml.source, position: yaml.position(p), pointer, message: stringTrap('', last === 'expr' ? 'expression' : 'path')! };
  }
  if (err.keyword === 'additionalProperties' && isObj(value)) {
    const key = String((err.params as { additionalProperty: string }).additionalProperty);
    const known = Object.keys(value).filter((k) => (FIELD_KEYS as readonly string[]).includes(k));
    if (!known.length && isFieldValue && !closest(key, [...FIELD_KEYS])) {
      const at = [...p, key];
      return { source: yaml.source, position: yaml.keyPosition(at), pointer: toPointer(at), message: `is not a field setting (${FIELD_KEYS.join(', ')}); to send a nested object, put its fields under "fields:"` };
    }
  }
  if ((err.keyword === 'maxProperties' || err.keyword === 'minProperties') && /\/transform(\/\d+)?$/.test(pointer)) {
    return { source: yaml.source, position: yaml.position(p), pointer, message: 'holds one transform; list several in order, e.g. [trim, lowercase, {join: ", "}]' };
  }
  if (err.keyword === 'enum' && last === 'on_missing') return { source: yaml.source, position: yaml.position(p), pointer, message: 'must be omit or null' };
  return toProblem({ ...err, instancePath: pointer }, yaml, new Map());
}

function byPosition(a: SourceProblem, b: SourceProblem): number {
  return (a.position?.line ?? 0) - (b.position?.line ?? 0) || (a.position?.col ?? 0) - (b.position?.col ?? 0);
}

function dedupe(problems: SourceProblem[]): SourceProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const line = formatProblem(p);
    if (seen.has(line)) return false;
    seen.add(line);
    return true;
  });
}
