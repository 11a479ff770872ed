import { createHash, timingSafeEqual } from 'node:crypto';

/** Compare a presented secret with an expected one in constant time, whatever their lengths. */
export function secretEquals(presented: string | undefined | null, expected: string): boolean {
  if (typeof presented !== 'string' || expected.length === 0) return false;
  // Hashing first makes both sides the same length, so the comparison leaks neither content nor length.
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

const digestOf = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Which of several configured secrets a presented one is, comparing with every one in constant
 * time (no early exit), so timing says nothing about which matched or how much. The configured
 * secrets are hashed once, the presented one once per call.
 */
export function secretMatcher<T>(entries: readonly T[], secretOf: (entry: T) => string): (presented: string | undefined | null) => T | undefined {
  const digests = entries.map((e) => ({ entry: e, digest: secretOf(e).length ? digestOf(secretOf(e)) : null }));
  return (presented) => {
    if (typeof presented !== 'string') return undefined;
    const a = digestOf(presented);
    let match: T | undefined;
    for (const { entry, digest } of digests) if (digest && timingSafeEqual(a, digest) && match === undefined) match = entry;
    return match;
  };
}
