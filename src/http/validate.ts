import Ajv, { type ErrorObject, type JSONSchemaType } from 'ajv';
import addFormats from 'ajv-formats';
import { ValidationError, type ErrorDetail } from '../errors';

/** Query strings and path parameters are text: "5" may stand for 5 there, never in a JSON body. */
const coercing = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, strict: false });
const exact = new Ajv({ allErrors: true, coerceTypes: false, useDefaults: true, strict: false });
addFormats(coercing);
addFormats(exact);
const TEXT_INPUTS = new Set(['query', 'path']);

function details(errors: ErrorObject[] | null | undefined): ErrorDetail[] {
  return (errors ?? []).map((e) => {
    if (e.keyword === 'additionalProperties') {
      const p = (e.params as { additionalProperty: string }).additionalProperty;
      return { path: `${e.instancePath}/${p}`, message: 'is not a known field' };
    }
    if (e.keyword === 'required') return { path: `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`, message: 'is required' };
    if (e.keyword === 'enum') return { path: e.instancePath, message: `must be one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` };
    return { path: e.instancePath, message: e.message ?? 'is invalid' };
  });
}

/**
 * Compile a schema once; the returned function validates or throws a 400 naming each field.
 * `what` says where the input comes from: a `query` or `path` is coerced from text, a body never is.
 */
export function validator<T>(schema: JSONSchemaType<T> | Record<string, unknown>, what: string): (input: unknown) => T {
  const check = (TEXT_INPUTS.has(what) ? coercing : exact).compile<T>(schema as JSONSchemaType<T>);
  return (input: unknown) => {
    // A shallow copy: defaults and coercions land in it, not in the caller's object; no deep walk,
    // so a body nested thousands deep is refused by its schema, not by a stack overflow.
    const copy = Array.isArray(input) ? [...input] : input && typeof input === 'object' ? { ...input } : input;
    if (!check(copy)) throw new ValidationError(`Invalid ${what}`, details(check.errors));
    return copy as T;
  };
}
