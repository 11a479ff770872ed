import assert from 'node:assert/strict';
import { abortableSleep, backoffDelay, parseRetryAfter, retryAfterCapMs } from '../../src/clients/retry';

const NOW = Date.parse('2026-03-01T12:00:00Z');

describe('retry schedule', () => {
  describe('backoffDelay, full jitter', () => {
    const policy = { maxAttempts: 10, baseDelayMs: 250, maxDelayMs: 5000 };

    it('has a ceiling of base·2^(retry-1), capped at maxDelayMs', () => {
      assert.deepEqual(
        [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(policy, n, () => 1)),
        [250, 500, 1000, 2000, 4000, 5000, 5000],
      );
    });

    it('draws uniformly below the ceiling', () => {
      assert.equal(backoffDelay(policy, 3, () => 0), 0);
      assert.equal(backoffDelay(policy, 3, () => 0.25), 250);
    });

    it('stays finite for absurd retry counts', () => {
      assert.equal(backoffDelay(policy, 5000, () => 1), 5000);
    });
  });

  describe('backoffDelay, decorrelated jitter', () => {
    const policy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000, jitter: 'decorrelated' as const };

    it('draws between base and three times the previous delay, capped', () => {
      assert.equal(backoffDelay(policy, 1, () => 0), 100);
      assert.equal(backoffDelay(policy, 1, () => 1), 300);
      assert.equal(backoffDelay(policy, 2, () => 1, 300), 900);
      assert.equal(backoffDelay(policy, 3, () => 1, 900), 1000);
      assert.equal(backoffDelay(policy, 3, () => 0.5, 200), 350);
    });
  });

  describe('parseRetryAfter', () => {
    it('reads delta-seconds', () => {
      assert.equal(parseRetryAfter('120', NOW), 120_000);
      assert.equal(parseRetryAfter(' 0 ', NOW), 0);
      assert.equal(parseRetryAfter('1.5', NOW), 1500);
    });

    it('reads an HTTP date against the injected clock', () => {
      assert.equal(parseRetryAfter('Sun, 01 Mar 2026 12:00:30 GMT', NOW), 30_000);
      assert.equal(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', NOW), 0, 'a date in the past means now');
    });

    it('ignores what it cannot read', () => {
      for (const v of [undefined, null, '', 'soon', '-5', '12abc']) assert.equal(parseRetryAfter(v, NOW), null, String(v));
    });

    it('takes the first of repeated headers', () => {
      assert.equal(parseRetryAfter(['3', '9'], NOW), 3000);
    });
  });

  it('caps Retry-After at twice maxDelayMs, within 1 s and 5 min', () => {
    assert.equal(retryAfterCapMs({ maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 30_000 }), 60_000);
    assert.equal(retryAfterCapMs({ maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 10 }), 1_000);
    assert.equal(retryAfterCapMs({ maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 3_600_000 }), 300_000);
  });

  describe('abortableSleep', () => {
    it('rejects with the reason as soon as the signal aborts', async () => {
      const controller = new AbortController();
      const sleeping = abortableSleep(60_000, controller.signal);
      controller.abort(new Error('stop'));
      await assert.rejects(sleeping, /stop/);
    });

    it('rejects at once on an already aborted signal and resolves at once for 0 ms', async () => {
      await assert.rejects(abortableSleep(10, AbortSignal.abort(new Error('gone'))), /gone/);
      await abortableSleep(0);
    });
  });
});
