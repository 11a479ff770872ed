import assert from 'node:assert/strict';
import { Faults, RateLimiter, validateFaultConfig } from '../../src/simulator/faults';

describe('simulator faults', () => {
  it('validates the fault body and lists every problem', () => {
    assert.deepEqual(validateFaultConfig({ rateLimited: 0.2, latency: 1, latencyMs: [5, 10], paths: ['/v2/'], rateLimit: 5, retryAfterSeconds: 2 }), {
      ok: true,
      config: { rateLimited: 0.2, latency: 1, latencyMs: [5, 10], paths: ['/v2/'], rateLimit: 5, retryAfterSeconds: 2 },
    });
    const bad = validateFaultConfig({ rateLimited: 2, serverError: 0.7, truncatedJson: 0.6, latencyMs: [10, 5], paths: ['v2'], rateLimit: 0, retryAfterSeconds: 1.5, typo: 1 });
    assert.ok(!bad.ok);
    assert.deepEqual(Object.keys(bad.errors).sort(), ['latencyMs', 'paths', 'rateLimit', 'rateLimited', 'rates', 'retryAfterSeconds', 'typo']);
    assert.ok(!validateFaultConfig([]).ok);
    assert.deepEqual(validateFaultConfig({ rateLimit: null }), { ok: true, config: { rateLimit: null } });
  });

  it('draws faults at the configured rates from a seeded generator', () => {
    const draw = (seed: number): string[] => {
      const f = new Faults(seed, null);
      f.set({ serverError: 0.25, malformedJson: 0.25 });
      return Array.from({ length: 400 }, () => String(f.decide('/v2/meters/search', false).fault));
    };
    const a = draw(1);
    assert.deepEqual(draw(1), a);
    assert.notDeepEqual(draw(2), a);
    const count = (k: string): number => a.filter((x) => x === k).length;
    assert.ok(count('serverError') > 60 && count('serverError') < 140);
    assert.ok(count('malformedJson') > 60 && count('malformedJson') < 140);
    assert.ok(count('null') > 140);
  });

  it('expired page tokens only hit requests carrying one; paths scope every fault', () => {
    const f = new Faults(3, null);
    f.set({ expiredPageToken: 1, paths: ['/v2/meters/enrollments'] });
    assert.equal(f.decide('/v2/meters/enrollments/search', false).fault, null);
    assert.equal(f.decide('/v2/meters/enrollments/search', true).fault, 'expiredPageToken');
    assert.equal(f.decide('/v2/meters/search', true).fault, null);
    assert.equal(f.injected.expiredPageToken, 1);
    f.set({ latency: 1, latencyMs: 7 });
    assert.equal(f.decide('/v1.1/webhooks', false).latencyMs, 7);
    f.clear();
    assert.deepEqual(f.decide('/v2/meters/search', true), { fault: null, latencyMs: 0 });
  });

  it('the rate limit counts per second and says how long to wait; clear restores the option', () => {
    const limiter = new RateLimiter(2);
    const t = 5_000_200;
    assert.equal(limiter.take(t), 0);
    assert.equal(limiter.take(t + 10), 0);
    assert.equal(limiter.take(t + 20), 1);
    assert.equal(limiter.take(t + 700), 1);
    assert.equal(limiter.take(t + 1700), 0);
    assert.equal(new RateLimiter(null).take(t), 0);

    const f = new Faults(1, 10);
    f.set({ rateLimit: 3 });
    assert.equal(f.current().rateLimit, 3);
    f.set({ serverError: 0.1 });
    assert.equal(f.current().rateLimit, 3, 'absent rateLimit keeps the current limit');
    f.clear();
    assert.equal(f.current().rateLimit, 10);
  });

  it('cuts truncated bodies strictly inside', () => {
    const f = new Faults(9, null);
    for (let k = 0; k < 200; k++) {
      const cut = f.cutPoint(50);
      assert.ok(cut >= 1 && cut < 50);
    }
  });
});
