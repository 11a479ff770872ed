import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { LeapClient } from '../../src/clients/leap-client';
import { SharedLimits } from '../../src/clients/shared-limits';
import { WebhookSender, type SendTarget } from '../../src/clients/webhook-sender';
import { configSecrets, parseConfig } from '../../src/config/load';
import { ConfigError } from '../../src/errors';
import { silentLogger, type Logger, type LogMeta } from '../../src/logger';
import { openRuntime } from '../../src/compose/runtime';
import { startSimulator } from '../../src/simulator';
import { startMisbehavingReceiver, type MisbehavingReceiver } from '../helpers/misbehaving-receiver';

class Warnings implements Logger {
  readonly lines: string[] = [];
  error(message: string): void {
    this.lines.push(message);
  }
  warn(message: string, meta?: LogMeta): void {
    this.lines.push(`${message} ${JSON.stringify(meta ?? {})}`);
  }
  info(): void {}
  debug(): void {}
  child(): Logger {
    return this;
  }
}

describe('redis settings', () => {
  it('REDIS_URL sets redis.url, its password is kept out of logs, and a URL that is not redis:// names the field', () => {
    const config = parseConfig('log: { level: warn }\n', 'c.yaml', { REDIS_URL: 'redis://:s3cret%21pw@cache:6379/2' });
    assert.equal(config.redis.url, 'redis://:s3cret%21pw@cache:6379/2');
    assert.equal(config.redis.key_prefix, 'leap-connector');
    assert.ok(configSecrets(config).includes('s3cret!pw'));
    assert.throws(
      () => parseConfig('redis:\n  url: http://cache:6379\n', 'c.yaml', {}),
      (e: unknown) => e instanceof ConfigError && e.problems.some((p) => /c\.yaml:2:\d+: \/redis\/url /.test(p)),
    );
  });
});

const REDIS_URL = process.env.TEST_REDIS_URL;
if (REDIS_URL) {
  describe('rate limits shared by replicas through Redis', function () {
    this.timeout(30_000);
    let prefix: string;
    let open: SharedLimits[];
    let receiver: MisbehavingReceiver | undefined;
    const replica = (logger: Logger = new Warnings(), url = REDIS_URL) => {
      const limits = new SharedLimits(url, prefix, logger);
      open.push(limits);
      return limits;
    };

    beforeEach(() => {
      prefix = `test-${randomUUID()}`;
      open = [];
    });
    afterEach(async () => {
      await Promise.all(open.map((l) => l.close()));
      await receiver?.close();
      receiver = undefined;
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`b_${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    });

    /** Two replicas, each with its own sender, send `each` webhooks at once to one rate-limited destination. */
    async function twoReplicasSend(each: number, shared: boolean): Promise<{ statuses: (number | null)[]; spanMs: number }> {
      receiver = await startMisbehavingReceiver({ secrets: [], rejectInvalidSignatures: false });
      receiver.setRateLimit(10);
      const target: SendTarget = { name: 'crm', url: `${receiver.url}/hook`, timeoutMs: 5000, ratePerSecond: 10, concurrency: 4 };
      const senders = await Promise.all(
        [0, 1].map(async () => {
          if (!shared) return new WebhookSender();
          const limits = replica();
          assert.equal(await limits.ready(), true);
          return new WebhookSender({ limiterFactory: (t) => limits.limiter(`destination:${t.name}`, { ratePerSecond: t.ratePerSecond!, maxConcurrent: t.concurrency }) });
        }),
      );
      try {
        const results = await Promise.all(
          senders.flatMap((sender, r) =>
            Array.from({ length: each }, (_, i) => sender.send(target, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ replica: r, i }) })),
          ),
        );
        const arrivals = receiver.requests.map((q) => q.arrivedAt);
        return { statuses: results.map((x) => x.result.status), spanMs: Math.max(...arrivals) - Math.min(...arrivals) };
      } finally {
        await Promise.all(senders.map((s) => s.close()));
      }
    }

    it('two replicas keep a destination rate limit together: no 429, every webhook answered', async () => {
      const { statuses, spanMs } = await twoReplicasSend(15, true);
      assert.deepEqual(
        statuses.filter((s) => s !== 200),
        [],
      );
      assert.equal(receiver!.rateLimited, 0);
      // 30 requests at 10/s across both replicas take close to 3 s; each replica alone would allow 20/s.
      assert.ok(spanMs >= 2500, `30 requests spread over ${Math.round(spanMs)} ms`);
    });

    it('a reload that changes a destination rate updates its shared limiter in place: queued sends finish, new ones go at the new pace', async () => {
      receiver = await startMisbehavingReceiver({ secrets: [], rejectInvalidSignatures: false });
      const limits = replica();
      assert.equal(await limits.ready(), true);
      const sender = new WebhookSender({ limiterFactory: (t) => limits.limiter(`destination:${t.name}`, { ratePerSecond: t.ratePerSecond!, maxConcurrent: t.concurrency }) });
      const before: SendTarget = { name: 'crm', url: `${receiver.url}/hook`, timeoutMs: 5000, ratePerSecond: 2, concurrency: 1 };
      const after: SendTarget = { ...before, ratePerSecond: 50 };
      const send = (target: SendTarget, i: number) => sender.send(target, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ i }) });
      try {
        const queued = [0, 1, 2].map((i) => send(before, i));
        await new Promise((r) => setTimeout(r, 50));
        const t0 = Date.now();
        // The reload: queued sends are not stranded, and later ones share the one limiter at its new rate.
        const results = await Promise.all([...queued, ...[3, 4, 5, 6, 7, 8].map((i) => send(after, i))]);
        assert.deepEqual(
          results.map((r) => r.result.status),
          Array(9).fill(200),
        );
        assert.equal(limits.size, 1, 'one limiter for the destination, not one per settings');
        // Eight more starts at 2/s would take 4 s; at 50/s they take well under one.
        assert.ok(Date.now() - t0 < 2500, `the remaining sends took ${Date.now() - t0} ms`);
      } finally {
        await sender.close();
      }
    });

    it('without Redis each replica keeps the limit alone, so two of them exceed it (what sharing prevents)', async () => {
      const { statuses } = await twoReplicasSend(15, false);
      assert.ok(receiver!.rateLimited > 0, 'the receiver refused some requests');
      assert.ok(statuses.includes(429));
    });

    it("two replicas' Leap calls share Leap's limit: the simulator never answers 429", async () => {
      const sim = await startSimulator({ meters: 30, seed: 3, apiKey: 'shared-key-0123456789', rateLimit: 6, start: new Date('2026-06-10T12:00:00Z') });
      const clients = [0, 1].map(() => {
        const limits = replica();
        const limiter = limits.limiter('leap', { ratePerSecond: 6, maxConcurrent: 2 });
        return new LeapClient(
          {
            baseUrl: sim.url,
            apiKey: 'shared-key-0123456789',
            apiVersion: 'v2',
            pageSize: 100,
            timeoutMs: 5000,
            rateLimit: { requestsPerSecond: 6, maxConcurrent: 2 },
            retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 2000 },
          },
          new Warnings(),
          { limiter },
        );
      });
      try {
        await Promise.all(open.map((l) => l.ready()));
        const ids = sim.simulator.meterIds({ limit: 12 });
        const got = await Promise.all(clients.flatMap((c) => ids.map((id) => c.getDetails(id))));
        assert.equal(got.length, 24);
        assert.deepEqual(
          clients.map((c) => c.stats().throttled429),
          [0, 0],
        );
        assert.equal(sim.simulator.state().faults.injected.rateLimit ?? 0, 0);
      } finally {
        await Promise.all(clients.map((c) => c.close()));
        await sim.close();
      }
    });

    it('a connector configured with REDIS_URL sends its Leap calls through the shared limiter', async () => {
      const sim = await startSimulator({ meters: 20, seed: 5, apiKey: 'wired-key-0123456789', start: new Date('2026-06-10T12:00:00Z') });
      const config = parseConfig(`log: { level: warn }\nsync: { enabled: false }\nredis: { key_prefix: ${prefix} }\n`, 'c.yaml', {
        LEAP_API_KEY: 'wired-key-0123456789',
        LEAP_BASE_URL: sim.url,
        DATABASE_URL: 'sqlite::memory:',
        REDIS_URL,
      });
      const runtime = await openRuntime({ config, overrides: { logger: silentLogger } });
      try {
        const result = await runtime.composed.sync.run({ kind: 'full', trigger: 'test' });
        assert.equal(result.metersSeen > 0, true);
        const redis = new Redis(REDIS_URL);
        const keys = await redis.keys(`b_${prefix}:leap_*`);
        redis.disconnect();
        assert.ok(keys.length > 0, 'the Leap limiter keeps its state in Redis');
      } finally {
        await runtime.close();
        await sim.close();
      }
    });

    it('Redis losing the limiter state (a restart without persistence) sets the limiter up again; calls go on', async () => {
      const logger = new Warnings();
      const limits = replica(logger);
      assert.equal(await limits.ready(), true);
      const limiter = limits.limiter('destination:crm', { ratePerSecond: 50, maxConcurrent: 2 });
      assert.equal(await limiter.schedule(async () => 'first'), 'first');
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`b_${prefix}:destination:crm*`);
      assert.ok(keys.length > 0, 'the limiter keeps its state in Redis');
      await redis.del(...keys);
      redis.disconnect();
      assert.equal(await limiter.schedule(async () => 'after the loss'), 'after the loss');
      assert.match(logger.lines.join('\n'), /lost its state in Redis; setting it up again/);
      assert.equal(await limiter.schedule(async () => 'shared again'), 'shared again');
    });

    it('with Redis unreachable, calls are limited in this process and none is lost; a failing call fails once, as itself', async () => {
      const logger = new Warnings();
      const limits = replica(logger, 'redis://127.0.0.1:1');
      assert.equal(await limits.ready(200), false);
      const limiter = limits.limiter('leap', { ratePerSecond: 100, maxConcurrent: 2 });
      const done = await Promise.all([1, 2, 3].map((n) => limiter.schedule(async () => n * 10)));
      assert.deepEqual(done, [10, 20, 30]);
      let runs = 0;
      await assert.rejects(
        limiter.schedule(async () => {
          runs += 1;
          throw new Error('receiver said no');
        }),
        /receiver said no/,
      );
      assert.equal(runs, 1);
    });
  });
}
