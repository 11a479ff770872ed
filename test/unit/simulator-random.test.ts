import assert from 'node:assert/strict';
import { hash32, Permutation32, Rng, seededUuid, UUID_PATTERN } from '../../src/simulator/random';
import { MeterStore } from '../../src/simulator/state';

describe('simulator randomness', () => {
  it('Rng is deterministic per (seed, stream) and differs across seeds and streams', () => {
    const draw = (r: Rng): number[] => Array.from({ length: 8 }, () => r.nextU32());
    assert.deepEqual(draw(new Rng(42, 1)), draw(new Rng(42, 1)));
    assert.notDeepEqual(draw(new Rng(42, 1)), draw(new Rng(43, 1)));
    assert.notDeepEqual(draw(new Rng(42, 1)), draw(new Rng(42, 2)));
    assert.notDeepEqual(draw(new Rng(42, 1, 5)), draw(new Rng(42, 1, 5, 9)));
  });

  it('Rng helpers stay in range and poisson has roughly the requested mean', () => {
    const r = new Rng(7);
    for (let k = 0; k < 2000; k++) {
      const x = r.range(3, 9);
      assert.ok(Number.isInteger(x) && x >= 3 && x <= 9);
      const u = r.next();
      assert.ok(u >= 0 && u < 1);
    }
    let total = 0;
    for (let k = 0; k < 4000; k++) total += r.poisson(2.5);
    assert.ok(Math.abs(total / 4000 - 2.5) < 0.15, `mean ${total / 4000}`);
    let big = 0;
    for (let k = 0; k < 500; k++) big += r.poisson(400);
    assert.ok(Math.abs(big / 500 - 400) < 5);
    assert.equal(r.poisson(0), 0);
    const w = [0, 0, 0];
    for (let k = 0; k < 3000; k++) w[r.weighted([1, 0, 3])]++;
    assert.equal(w[1], 0);
    assert.ok(w[2] > w[0] * 2);
  });

  it('Permutation32 is a bijection its inverse undoes', () => {
    const p = new Permutation32(99, 1);
    const seen = new Set<number>();
    for (let i = 0; i < 50_000; i++) {
      const y = p.forward(i);
      assert.equal(p.inverse(y), i);
      seen.add(y);
    }
    assert.equal(seen.size, 50_000);
    assert.equal(p.inverse(p.forward(0xffffffff)), 0xffffffff);
  });

  it('Permutation32 gives the same values once its rounds are tabulated (after heavy use)', () => {
    // The four-round Feistel network, written out with hash32 as the round function.
    const keys = [1, 2, 3, 4].map((r) => hash32(7, 3, r) & 0xffff);
    const reference = (x: number): number => {
      let l = (x >>> 16) & 0xffff;
      let r = x & 0xffff;
      for (const k of keys) [l, r] = [r, l ^ (hash32(r, k) & 0xffff)];
      return ((l << 16) | r) >>> 0;
    };
    const p = new Permutation32(7, 3);
    for (let n = 0; n < 120_000; n++) {
      const x = Math.imul(n, 0x9e3779b1) >>> 0;
      const y = p.forward(x);
      assert.equal(y, reference(x), `forward(${x}) after ${n} uses`);
      if (n % 7 === 0) assert.equal(p.inverse(y), x);
    }
  });

  it('Rng.reset restarts the generator exactly as a new one', () => {
    const r = new Rng(1, 2, 3);
    r.nextU32();
    for (const [seed, stream, extra, extra2] of [
      [42, 7, 0, 0],
      [42, 7, 99, 0],
      [0xffffffff, 0xdeadbeef, 123456, 3],
    ]) {
      r.reset(seed, stream, extra, extra2);
      const fresh = new Rng(seed, stream, extra, extra2);
      for (let k = 0; k < 10; k++) assert.equal(r.nextU32(), fresh.nextU32());
    }
  });

  it('hash32 mixes every argument', () => {
    const base = hash32(1, 2, 3, 4);
    assert.notEqual(hash32(2, 2, 3, 4), base);
    assert.notEqual(hash32(1, 3, 3, 4), base);
    assert.notEqual(hash32(1, 2, 4, 4), base);
    assert.notEqual(hash32(1, 2, 3, 5), base);
  });

  it('meter ids are v4-shaped uuids that map back to their index without a table', () => {
    const store = new MeterStore(5);
    const attrs = { region: 0, utility: 0, kind: 0, device: 0, loadSet: 0, tagSet: 0, customerGroup: 0, flags: 0 };
    for (let i = 0; i < 1000; i++) store.add(attrs, i, 0, { ms: 1e12 + i, sub: 0 }, 3);
    const ids = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = store.meterId(i);
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(store.indexOf(id), i);
      assert.equal(store.indexOf(id.toUpperCase()), i);
      ids.add(id);
    }
    assert.equal(ids.size, 1000);
    // Another seed's ids, tampered ids and ids past the end are unknown.
    assert.equal(store.indexOf(new MeterStore(6).meterId(3)), -1);
    const id = store.meterId(10);
    assert.equal(store.indexOf(`${id.slice(0, 35)}${id[35] === '0' ? '1' : '0'}`), -1);
    assert.equal(store.indexOf('5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d'), -1);
    assert.equal(store.indexOf('not-a-uuid'), -1);
  });

  it('generated partner references decode to their authorization leader', () => {
    const store = new MeterStore(5);
    const attrs = { region: 0, utility: 0, kind: 0, device: 0, loadSet: 0, tagSet: 0, customerGroup: 0, flags: 2 };
    for (let i = 0; i < 10; i++) store.add(attrs, i < 3 ? 0 : i, 0, { ms: 1e12 + i, sub: 0 }, 3);
    assert.equal(store.partnerReference(1), store.partnerReference(2));
    assert.equal(store.referenceLeader(String(store.partnerReference(2))), 0);
    assert.equal(store.referenceLeader(String(store.partnerReference(7))), 7);
    assert.equal(store.referenceLeader('site-zzzzzzz'), -1);
    assert.equal(store.referenceLeader('customer-site-123'), -1);
  });

  it('seededUuid is stable and matches the uuid pattern', () => {
    assert.equal(seededUuid(1, 2, 3), seededUuid(1, 2, 3));
    assert.notEqual(seededUuid(1, 2, 3), seededUuid(1, 2, 4));
    assert.match(seededUuid(1, 2, 3), UUID_PATTERN);
  });
});
