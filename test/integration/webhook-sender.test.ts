import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { WebhookSender, type SendTarget } from '../../src/clients/webhook-sender';
import { startMisbehavingReceiver, type MisbehavingReceiver } from '../helpers/misbehaving-receiver';

describe('webhook sender gates: concurrency, order, reloads, close', function () {
  this.timeout(30_000);
  let receiver: MisbehavingReceiver;
  let sender: WebhookSender;

  beforeEach(async () => {
    receiver = await startMisbehavingReceiver({ secrets: [], rejectInvalidSignatures: false });
    sender = new WebhookSender();
  });
  afterEach(async () => {
    await sender.close();
    await receiver.close();
  });

  const send = (target: SendTarget, i: number) => sender.send(target, { headers: { 'content-type': 'application/json', 'webhook-id': `msg_${i}` }, body: JSON.stringify({ i }) });

  it('keeps to its concurrency with thousands queued, starts them in the order queued, answers every one', async () => {
    // Answers a millisecond late, so that sends overlap at the receiver.
    receiver.setDefault({ kind: 'sleep', ms: 1 });
    const target: SendTarget = { name: 'crm', url: `${receiver.url}/hook`, timeoutMs: 5000, ratePerSecond: null, concurrency: 3 };
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => send(target, i)));
    assert.equal(results.filter((r) => r.result.status === 200).length, 2000);
    assert.equal(receiver.maxConcurrency, 3);
    assert.equal(sender.queued('crm'), 0);
    // Three at a time may reach the receiver in any order among themselves, never further apart.
    const order = receiver.requests.map((r) => Number(r.webhookId!.slice(4)));
    assert.ok(
      order.every((n, at) => Math.abs(n - at) < 3),
      'starts follow the queue',
    );
  });

  it('close() turns away the sends still waiting with an error; those in flight end as failed attempts, not thrown errors', async () => {
    receiver.setDefault({ kind: 'hold' });
    const target: SendTarget = { name: 'crm', url: `${receiver.url}/hook`, timeoutMs: 5000, ratePerSecond: null, concurrency: 2 };
    const sends = Array.from({ length: 50 }, (_, i) => send(target, i).then((r) => r.result.errorClass, (err: Error) => err.message));
    await receiver.waitFor(2);
    assert.equal(sender.queued('crm'), 50);
    await sender.close();
    const outcomes = await Promise.all(sends);
    receiver.release();
    assert.deepEqual(outcomes.slice(0, 2), ['reset', 'reset']);
    assert.deepEqual(new Set(outcomes.slice(2)), new Set(['sender stopped']));
  });

  it('a reload that raises concurrency lets the sends already queued go at once', async () => {
    receiver.setDefault({ kind: 'hold' });
    const before: SendTarget = { name: 'crm', url: `${receiver.url}/hook`, timeoutMs: 5000, ratePerSecond: null, concurrency: 1 };
    const queued = [0, 1, 2, 3].map((i) => send(before, i));
    await receiver.waitFor(1);
    const later = send({ ...before, concurrency: 3 }, 4);
    await receiver.waitFor(3);
    assert.equal(receiver.holding(), 3);
    assert.deepEqual(
      receiver.requests.map((r) => r.webhookId),
      ['msg_0', 'msg_1', 'msg_2'],
    );
    while ((await Promise.race([later.then(() => 'done'), new Promise((r) => setTimeout(() => r('waiting'), 20))])) === 'waiting') receiver.release();
    const results = await Promise.all(queued);
    assert.deepEqual(
      [...results, await later].map((r) => r.result.status),
      [200, 200, 200, 200, 200],
    );
  });

  it('with a rate limit, a reload that raises the rate paces the sends already queued at the new rate', async () => {
    const before: SendTarget = { name: 'crm', url: `${receiver.url}/hook`, timeoutMs: 5000, ratePerSecond: 2, concurrency: 1 };
    const queued = [0, 1, 2, 3, 4, 5].map((i) => send(before, i));
    await receiver.waitFor(1);
    const t0 = Date.now();
    const results = await Promise.all([...queued, send({ ...before, ratePerSecond: 50 }, 6)]);
    assert.deepEqual(
      results.map((r) => r.result.status),
      Array(7).fill(200),
    );
    assert.equal(sender.queued('crm'), 0);
    // Six more starts at 2/s would take 3 s; at 50/s well under one.
    assert.ok(Date.now() - t0 < 1500, `the queued sends took ${Date.now() - t0} ms`);
  });

  it('the thread that makes the requests: one that dies fails what it held as network errors, and the next send starts another', async () => {
    receiver.setDefault({ kind: 'hold' });
    const target: SendTarget = { name: 'crm', url: `${receiver.url}/hook`, timeoutMs: 5000, ratePerSecond: null, concurrency: 4 };
    const held = [0, 1].map((i) => send(target, i));
    await receiver.waitFor(2);
    // As if it crashed: the worker thread is stopped under the sender.
    await (sender as unknown as { posts: { worker: Worker } }).posts.worker.terminate();
    const failed = await Promise.all(held);
    assert.deepEqual(
      failed.map((r) => [r.result.status, r.result.errorClass, /sending thread stopped/.test(r.result.errorMessage ?? '')]),
      [
        [null, 'network', true],
        [null, 'network', true],
      ],
    );
    receiver.release();
    receiver.setDefault({ kind: 'status', status: 200 });
    assert.equal((await send(target, 2)).result.status, 200);
  });

  it('keeps a process alive while a request is out, and not after', async () => {
    receiver.setDefault({ kind: 'sleep', ms: 300 });
    const script = [
      "require('tsx/cjs');",
      "const { WebhookSender } = require('./src/clients/webhook-sender');",
      `new WebhookSender().send({ name: 'crm', url: ${JSON.stringify(`${receiver.url}/hook`)}, timeoutMs: 5000, ratePerSecond: null, concurrency: 1 }, { headers: {}, body: '{}' })`,
      '  .then((r) => console.log(r.result.status));',
    ].join('\n');
    // Nothing else holds the process: it must wait for the answer, then end by itself (never closed).
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..', '..'), timeout: 15_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    assert.equal(out.trim(), '200');
  });
});
