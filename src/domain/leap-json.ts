import { canonicalInstant, toIsoMillis } from './timestamps';

/** Small readers of Leap's JSON, shared by the v1 and v2 normalizers: a wrong type reads as absent, never as an error. */

export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
export const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
export const nonEmpty = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
export const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
/** Timestamps become ISO with milliseconds; an unparseable value is kept as sent rather than lost. */
export const time = (v: unknown): string | null => toIsoMillis(v) ?? str(v);

export function laterInstant(a: string | undefined | null, b: string | undefined | null): string | null {
  if (!a) return b ?? null;
  if (!b) return a;
  const ca = canonicalInstant(a) ?? a;
  const cb = canonicalInstant(b) ?? b;
  return ca >= cb ? a : b;
}

/** A detail section as Leap sent it (shared with the raw part, never mutated). */
export function section(v: unknown): Obj | null {
  return isObj(v) ? v : null;
}

/** The fields that are set: Leap's optional fields are left out of the model, not kept as undefined. */
export function dropUndefined(o: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
