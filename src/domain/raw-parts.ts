import { hash } from 'node:crypto';
import { sha256Hex } from './canonical-json';
import type { MeterRaw } from './meter';
import { canonicalInstant } from './timestamps';

/**
 * Leap's parts of a meter as the sync stores and compares them: their JSON text, hashes that
 * leave out the times Leap bumps on every touch, and the cursor times they carry. Pure, so that
 * the sync's page thread and its main thread compute the same values.
 */

export const audit = (item: Record<string, unknown>): Record<string, unknown> =>
  item.audit !== null && typeof item.audit === 'object' ? (item.audit as Record<string, unknown>) : {};

/** A raw part as stored (its JSON text, as Leap sent it) and its hash without the times Leap bumps on every touch. */
export interface SerializedPart {
  json: string;
  hash: string;
}

const serializedParts = new WeakMap<object, SerializedPart>();

/**
 * Serialize a raw part once: the text is stored, and its hash (minus `updated_at` /
 * `date_last_modified`, whose values are cut out of the same text) tells whether anything else
 * changed. Equal hashes mean nothing to compare; unequal ones go to the normalized comparison.
 */
export function serializePart(part: Record<string, unknown>): SerializedPart {
  const cached = serializedParts.get(part);
  if (cached) return cached;
  const json = JSON.stringify(part);
  // Cut the volatile values out of the hashed text: the pieces around them, joined, hashed at once.
  const cuts: [number, number][] = [];
  for (const [key, value] of [
    ['updated_at', audit(part).updated_at],
    ['date_last_modified', part.date_last_modified],
  ] as const) {
    if (typeof value !== 'string') continue;
    const needle = `"${key}":${JSON.stringify(value)}`;
    const at = json.indexOf(needle);
    if (at >= 0) cuts.push([at, at + needle.length]);
  }
  cuts.sort((a, b) => a[0] - b[0]);
  let hashed = '';
  let from = 0;
  for (const [start, end] of cuts) {
    hashed += json.slice(from, start);
    from = end;
  }
  hashed += json.slice(from);
  const out = { json, hash: hash('sha1', hashed) };
  serializedParts.set(part, out);
  return out;
}

/** A part parsed from text serialized elsewhere (the page thread): its text and hash are known already. */
export function parsePart(serialized: SerializedPart): Record<string, unknown> {
  const part = JSON.parse(serialized.json) as Record<string, unknown>;
  serializedParts.set(part, serialized);
  return part;
}

export function rawPartHash(part: Record<string, unknown> | null): string | null {
  return part ? serializePart(part).hash : null;
}

/** The meter's content as Leap sent it, without volatile times; `gone` marks a meter a reconcile archived. */
export function contentHash(detailsHash: string | null, enrollmentHash: string | null, gone: boolean): string {
  return sha256Hex(`${detailsHash ?? ''}:${enrollmentHash ?? ''}${gone ? ':gone' : ''}`);
}

export function maxInstant(a: string | null, b: string | null): string | null {
  if (!a) return b;
  if (!b) return a;
  return a >= b ? a : b;
}

/** The largest cursor time among items (canonical form), null if none has one. */
export function latestOf(items: readonly Record<string, unknown>[], field: (item: Record<string, unknown>) => unknown): string | null {
  let latest: string | null = null;
  for (const item of items) {
    const t = field(item);
    const c = typeof t === 'string' ? canonicalInstant(t) : null;
    if (c && c > (latest ?? '')) latest = c;
  }
  return latest;
}

/** When Leap last changed the meter, as its parts say (canonical form). */
export function leapUpdatedRaw(raw: MeterRaw): string | null {
  const pick = (o: Record<string, unknown> | null): string | null => {
    if (!o) return null;
    const a = audit(o).updated_at ?? o.date_last_modified;
    return typeof a === 'string' ? a : null;
  };
  const d = pick(raw.details) ?? pick(raw.v1);
  const e = pick(raw.enrollment);
  const cd = d ? canonicalInstant(d) : null;
  const ce = e ? canonicalInstant(e) : null;
  return maxInstant(cd, ce);
}

/** The meter's `leap_updated_at`: the latest time its parts carry, when the normalized meter has one. */
export function leapUpdatedAt(raw: MeterRaw, normalizedUpdatedAt: string | null): string | null {
  return normalizedUpdatedAt ? canonicalInstant(leapUpdatedRaw(raw) ?? normalizedUpdatedAt) : null;
}
