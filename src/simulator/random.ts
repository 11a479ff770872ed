/**
 * Seeded randomness for the simulator. Everything a meter shows is derived from (seed, meter
 * index, salt) with these functions, so nothing but evolving state has to be stored per meter.
 */

/** A 32-bit integer hash of up to four integers (murmur3 finalizer mixing). */
export function hash32(a: number, b = 0, c = 0, d = 0): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = mix(h ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35));
  h = mix(h ^ Math.imul(c + 0x165667b1, 0x27d4eb2f));
  h = mix(h ^ Math.imul(d + 0x61c88647, 0x9e3779b1));
  return h >>> 0;
}

/** The first three steps of hash32(a, b, c, d): hashes that differ only in `d` share them. */
function hashPrefix(a: number, b: number, c: number): number {
  const h = mix(Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35));
  return mix(h ^ Math.imul(c + 0x165667b1, 0x27d4eb2f));
}

/** hash32(a, b, c, d) from hashPrefix(a, b, c). */
function hashFinish(prefix: number, d: number): number {
  return mix(prefix ^ Math.imul(d + 0x61c88647, 0x9e3779b1)) >>> 0;
}

function mix(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** Salt from a short label, so streams for different purposes never collide. */
export function salt(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** sfc32: small, fast and good enough for simulation; state is four uint32. */
export class Rng {
  // Initialized here so V8 gives the fields a numeric representation from the start.
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(seed: number, stream = 0, extra = 0, extra2 = 0) {
    this.reset(seed, stream, extra, extra2);
  }

  /**
   * Restarts as `new Rng(seed, stream, extra, extra2)` would, without allocating: rendering
   * derives several fields of every meter from their own streams.
   */
  reset(seed: number, stream = 0, extra = 0, extra2 = 0): this {
    const key = extra2 === 0 ? seed : hash32(seed, extra2, 0x5eed);
    // hash32(key, stream, extra, 1 | 2 | 3), sharing the common steps.
    const prefix = hashPrefix(key, stream, extra);
    this.a = hashFinish(prefix, 1);
    this.b = hashFinish(prefix, 2);
    this.c = hashFinish(prefix, 3);
    this.d = 1;
    // hash32 already avalanches the seed words; a few rounds mix them into each other.
    this.nextU32();
    this.nextU32();
    this.nextU32();
    return this;
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Index chosen with the given relative weights. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i];
      if (x < 0) return i;
    }
    return weights.length - 1;
  }

  /** Poisson-distributed count with mean `lambda` (normal approximation for large means). */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 50) {
      const u1 = Math.max(this.next(), 1e-12);
      const u2 = this.next();
      const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      return Math.max(0, Math.round(lambda + z * Math.sqrt(lambda)));
    }
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }
}

/** Feistel rounds are tabulated (4 × 65,536 entries, 512 KB) once a permutation has been used this often. */
const TABULATE_AFTER = 50_000;
const HALF = 0x10000;

/**
 * A keyed bijection on 32-bit integers (four-round Feistel network). Meter ids and partner
 * references embed a permuted index, so an id maps back to its meter without a lookup table.
 * Rendering permutes every meter index it shows, so a heavily used permutation keeps its round
 * function in a table instead of hashing.
 */
export class Permutation32 {
  private readonly keys: number[];
  private readonly k0: number;
  private readonly k1: number;
  private readonly k2: number;
  private readonly k3: number;
  private rounds: Uint16Array | null = null;
  private uses = 0;

  constructor(seed: number, purpose: number) {
    this.keys = [1, 2, 3, 4].map((r) => hash32(seed, purpose, r) & 0xffff);
    [this.k0, this.k1, this.k2, this.k3] = this.keys;
  }

  forward(x: number): number {
    const t = this.rounds ?? this.tabulateWhenBusy();
    const l0 = (x >>> 16) & 0xffff;
    const r0 = x & 0xffff;
    // The four rounds unrolled: (l, r) becomes (r, l ^ f(r)).
    if (t !== null) {
      const r1 = l0 ^ t[r0];
      const r2 = r0 ^ t[HALF + r1];
      const r3 = r1 ^ t[2 * HALF + r2];
      const r4 = r2 ^ t[3 * HALF + r3];
      return ((r3 << 16) | r4) >>> 0;
    }
    const r1 = l0 ^ round(r0, this.k0);
    const r2 = r0 ^ round(r1, this.k1);
    const r3 = r1 ^ round(r2, this.k2);
    const r4 = r2 ^ round(r3, this.k3);
    return ((r3 << 16) | r4) >>> 0;
  }

  inverse(y: number): number {
    const t = this.rounds ?? this.tabulateWhenBusy();
    let l = (y >>> 16) & 0xffff;
    let r = y & 0xffff;
    for (let i = this.keys.length - 1; i >= 0; i--) {
      const f = t !== null ? t[i * HALF + l] : round(l, this.keys[i]);
      [l, r] = [r ^ f, l];
    }
    return ((l << 16) | r) >>> 0;
  }

  private tabulateWhenBusy(): Uint16Array | null {
    if (++this.uses < TABULATE_AFTER) return null;
    const t = new Uint16Array(4 * HALF);
    for (let k = 0; k < 4; k++) for (let h = 0; h < HALF; h++) t[k * HALF + h] = round(h, this.keys[k]);
    this.rounds = t;
    return t;
  }
}

function round(half: number, key: number): number {
  return hash32(half, key) & 0xffff;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const HEX1: string[] = Array.from({ length: 16 }, (_, i) => i.toString(16));
const VARIANT = ['8', '9', 'a', 'b'];

function hex32(x: number): string {
  return HEX[(x >>> 24) & 0xff] + HEX[(x >>> 16) & 0xff] + HEX[(x >>> 8) & 0xff] + HEX[x & 0xff];
}

/**
 * A version-4-shaped uuid whose first 32 bits are `head` and the rest a hash of (seed, purpose, n).
 * With `head` from a Permutation32, the uuid decodes back to `n`.
 *
 * Layout, in hex digits of b, c, d = hash32(seed, purpose, n, 11 | 12 | 13):
 * `head-b[0..4]-4b[5..8]-(variant of c[0])c[1..4]-c[4..8]d`.
 */
export function uuidWithHead(head: number, seed: number, purpose: number, n: number): string {
  const prefix = hashPrefix(seed, purpose, n);
  const b = hashFinish(prefix, 11);
  const c = hashFinish(prefix, 12);
  const d = hashFinish(prefix, 13);
  // Four pieces of at most 12 characters (each a flat string in V8), joined into three rope nodes.
  const first = hex32(head >>> 0) + '-';
  const second = HEX[b >>> 24] + HEX[(b >>> 16) & 0xff] + '-4' + HEX1[(b >>> 8) & 0xf] + HEX[b & 0xff] + '-';
  const third = VARIANT[(c >>> 28) & 3] + HEX1[(c >>> 24) & 0xf] + HEX[(c >>> 16) & 0xff] + '-' + HEX[(c >>> 8) & 0xff] + HEX[c & 0xff];
  return first + second + third + hex32(d);
}

/** A deterministic uuid for anything that needs no reverse lookup (groups, events, webhooks). */
export function seededUuid(seed: number, purpose: number, n: number): string {
  return uuidWithHead(hash32(seed, purpose, n, 10), seed, purpose, n);
}

export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
