import { hash } from 'node:crypto';

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return write(value) ?? 'null';
}

function write(value: unknown): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      return undefined;
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + (write(value[i]) ?? 'null');
    return `${out}]`;
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return write((value as { toJSON(): unknown }).toJSON());
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = write(obj[k]);
    if (v === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${v}`;
    first = false;
  }
  return `${out}}`;
}

export function sha256Hex(text: string): string {
  return hash('sha256', text);
}

/**
 * Sort items whose order carries no meaning, by a key: a cheap identifying key where the caller
 * has one (ties are broken by the full JSON text), Leap's own objects by their canonical form.
 */
export function sortCanonical<T>(items: readonly T[], key?: (item: T) => string): T[] {
  if (items.length < 2) return [...items];
  const keyed = items.map((item) => ({ item, key: key ? key(item) : canonicalJson(item), full: '' }));
  const full = (e: { item: T; full: string }) => (e.full ||= JSON.stringify(e.item));
  return keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : key ? (full(a) < full(b) ? -1 : full(a) > full(b) ? 1 : 0) : 0)).map((e) => e.item);
}
