/**
 * Loads Leap's published OpenAPI 3.0 files into ajv so tests can validate what the simulator (or
 * anything else) sends against Leap's own schemas. OpenAPI 3.0 is not JSON Schema: `nullable`,
 * `example`, `x-*` and `discriminator` are translated, and Leap's patterns need `unicodeRegExp: false`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

export const LEAP_OPENAPI_DIR = process.env.LEAP_OPENAPI_DIR ?? '/work/shared/reference/leap-openapi';

type Schema = Record<string, unknown>;

const DROPPED = new Set(['example', 'examples', 'xml', 'externalDocs', 'discriminator']);

function isObject(v: unknown): v is Schema {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Translates one OpenAPI 3.0 schema (recursively) into JSON Schema that ajv accepts in strict mode. */
export function toJsonSchema(node: unknown, id: string): unknown {
  if (Array.isArray(node)) return node.map((n) => toJsonSchema(n, id));
  if (!isObject(node)) return node;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    if (DROPPED.has(k) || k.startsWith('x-') || k === 'nullable') continue;
    if (k === '$ref' && typeof v === 'string') {
      out.$ref = v.startsWith('#/components/schemas/') ? `${id}#/$defs/${v.slice('#/components/schemas/'.length)}` : v;
      continue;
    }
    // `properties` and `$defs` hold names, not keywords: translate their values only.
    if ((k === 'properties' || k === '$defs') && isObject(v)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, toJsonSchema(s, id)]));
      continue;
    }
    out[k] = toJsonSchema(v, id);
  }
  if (node.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (out.enum && Array.isArray(out.enum)) out.enum = [...out.enum, null];
    else return { anyOf: [out, { type: 'null' }] };
  }
  const disc = node.discriminator;
  if (isObject(disc) && typeof disc.propertyName === 'string' && isObject(disc.mapping)) {
    // ajv's own discriminator needs const/enum in every branch, which Leap's allOf branches lack:
    // dispatch on the property with if/then instead of oneOf (several branches would match a oneOf).
    const prop = disc.propertyName;
    delete out.oneOf;
    const branches = Object.entries(disc.mapping).map(([value, ref]) => ({
      if: { properties: { [prop]: { const: value } }, required: [prop] },
      then: toJsonSchema({ $ref: ref }, id),
    }));
    out.allOf = [...(Array.isArray(out.allOf) ? out.allOf : []), ...branches];
  }
  return out;
}

export interface OpenApiValidator {
  file: string;
  doc: Schema;
  ajv: Ajv;
  /** Validator for `components/schemas/<name>`. */
  schema(name: string): ValidateFunction;
  /** Validator for the JSON body of a documented response. */
  response(pathTemplate: string, method: string, status: number | string): ValidateFunction;
}

export function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false, unicodeRegExp: false, allowUnionTypes: true });
  addFormats(ajv);
  return ajv;
}

const cache = new Map<string, OpenApiValidator>();

/** Loads `file` (a name in LEAP_OPENAPI_DIR or a path). */
export function loadOpenApi(file: string, ajv: Ajv = newAjv()): OpenApiValidator {
  const full = path.isAbsolute(file) ? file : path.join(LEAP_OPENAPI_DIR, file);
  const cached = cache.get(full);
  if (cached && cached.ajv === ajv) return cached;
  const doc = YAML.parse(readFileSync(full, 'utf8')) as Schema;
  const id = `leap:${path.basename(full)}`;
  const components = isObject(doc.components) ? doc.components : {};
  const schemas = isObject(components.schemas) ? components.schemas : {};
  ajv.addSchema({ $id: id, $defs: toJsonSchema(schemas, id) as Schema });
  const compiled = new Map<string, ValidateFunction>();
  const validator: OpenApiValidator = {
    file: full,
    doc,
    ajv,
    schema(name) {
      const key = `schema:${name}`;
      let v = compiled.get(key);
      if (!v) {
        if (!isObject(schemas[name])) throw new Error(`${path.basename(full)} has no schema ${name}`);
        v = ajv.compile({ $ref: `${id}#/$defs/${name}` });
        compiled.set(key, v);
      }
      return v;
    },
    response(pathTemplate, method, status) {
      const key = `response:${method}:${pathTemplate}:${status}`;
      let v = compiled.get(key);
      if (!v) {
        const paths = isObject(doc.paths) ? doc.paths : {};
        const op = (paths[pathTemplate] as Schema | undefined)?.[method.toLowerCase()] as Schema | undefined;
        const responses = op && isObject(op.responses) ? op.responses : undefined;
        let res = responses?.[String(status)] as Schema | undefined;
        if (res && typeof res.$ref === 'string') {
          const name = res.$ref.replace('#/components/responses/', '');
          res = (components.responses as Schema | undefined)?.[name] as Schema | undefined;
        }
        const schema = ((res?.content as Schema | undefined)?.['application/json'] as Schema | undefined)?.schema;
        if (!schema) throw new Error(`${path.basename(full)} documents no JSON body for ${method} ${pathTemplate} ${status}`);
        v = ajv.compile(toJsonSchema(schema, id) as Schema);
        compiled.set(key, v);
      }
      return v;
    },
  };
  cache.set(full, validator);
  return validator;
}

/** Readable ajv errors for assertion messages. */
export function describeErrors(errors: ErrorObject[] | null | undefined, limit = 10): string {
  return (errors ?? [])
    .slice(0, limit)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`)
    .join('\n');
}
