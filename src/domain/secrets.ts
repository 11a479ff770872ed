import { createHash, timingSafeEqual } from 'node:crypto';

/** Compare a presented secret with an expected one in constant time, whatever their lengths. */
export function secretEquals(presented: string | undefined | null, expected: string): boolean {
  if (typeof presented !== 'string' || expected.length === 0) return false;
  // Hashing first makes both sides the same length, so the comparison leaks neither content nor length.
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}
