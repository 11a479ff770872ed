import assert from 'node:assert/strict';
import { testEngines } from '../helpers/db';
import { deliveryHarness, SECRET, SECRET_2, sharedTestDb, type DeliveryHarness } from '../helpers/delivery-harness';
import { computeSignature, startMisbehavingReceiver, type MisbehavingReceiver, type RecordedRequest } from '../helpers/misbehaving-receiver';

const header = (r: RecordedRequest, name: string) => String(r.headers[name]);

for (const engine of testEngines()) {
  describe(`delivery signing (${engine})`, function () {
    this.timeout(60_000);
    const testDb = sharedTestDb(engine);
    let partner: MisbehavingReceiver;
    let h: DeliveryHarness | undefined;
    afterEach(async () => {
      await h?.close();
      h = undefined;
      await partner.close();
    });

    /** One meter.created delivery to /crm, its clock shared with the receiver's signature check. */
    async function oneDelivery(secrets: (string | { secret: string; expires_at?: string })[], receiverSecrets: string[]): Promise<string> {
      let clockNow = () => new Date();
      partner = await startMisbehavingReceiver({ secrets: receiverSecrets, now: () => clockNow() });
      h = await deliveryHarness(engine, {
        db: testDb(),
        meters: 1,
        destinations: { crm: { url: `${partner.url}/crm`, events: ['meter.created'], secrets, retry: { schedule: ['10s', '10s'], jitter: 0 } } },
      });
      const clock = h.clock!;
      clockNow = () => clock.now();
      await h.sync();
      const [d] = await h.deliveries();
      return d!.id;
    }

    it('keeps webhook-id across retries and replays, with a fresh webhook-timestamp and signature on every attempt', async () => {
      const id = await oneDelivery([SECRET], [SECRET]);
      partner.queue({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });
      await h!.settle();
      await h!.advance(10_000);
      await h!.advance(10_000);
      assert.equal((await h!.delivery(id)).status, 'delivered');
      await h!.advance(5_000);
      await h!.api().post(`/admin/v1/deliveries/${id}/replay`).expect(202);
      await h!.settle();

      const sent = partner.requests;
      assert.deepEqual(
        sent.map((r) => r.status),
        [500, 503, 200, 200],
      );
      assert.ok(sent.every((r) => r.webhookId === id && r.signature.valid));
      const body = (await h!.delivery(id)).body;
      assert.ok(sent.every((r) => r.rawBody.equals(Buffer.from(body))), 'the same bytes every time');
      const start = Math.floor(sent[0]!.timestamp!);
      assert.deepEqual(
        sent.map((r) => r.timestamp! - start),
        [0, 10, 20, 25],
        'signed at the moment of each attempt',
      );
      assert.equal(new Set(sent.map((r) => header(r, 'webhook-signature'))).size, 4);
      for (const r of sent) assert.equal(header(r, 'webhook-signature'), computeSignature(SECRET, id, r.timestamp!, r.rawBody));

      const attempts = await h!.attempts(id);
      assert.deepEqual(
        attempts.map((a) => [a.attempt, a.trigger, a.statusCode]),
        [
          [1, 'scheduled', 500],
          [2, 'scheduled', 503],
          [3, 'scheduled', 200],
          [4, 'replay', 200],
        ],
      );
      attempts.forEach((a, i) => {
        assert.equal(a.requestHeaders['webhook-id'], id);
        assert.equal(a.requestHeaders['webhook-timestamp'], String(sent[i]!.timestamp));
        assert.equal(a.requestHeaders['webhook-signature'], header(sent[i]!, 'webhook-signature'));
        assert.equal(Math.floor(a.startedAt.getTime() / 1000), sent[i]!.timestamp);
      });
    });

    it('signs with both secrets during a rotation, either one verifies, and the old one stops signing when it expires', async () => {
      const rotationEnds = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_000);
      const id = await oneDelivery([SECRET_2, { secret: SECRET, expires_at: rotationEnds.toISOString() }], [SECRET]);
      const replay = async () => {
        await h!.api().post(`/admin/v1/deliveries/${id}/replay`).expect(202);
        await h!.settle();
        return partner.requests.at(-1)!;
      };

      // The partner still knows only the old secret.
      await h!.settle();
      let last = partner.requests.at(-1)!;
      assert.deepEqual([last.status, last.signature.v1Entries, last.signature.matchedSecrets], [200, 2, [0]]);
      const [newSig, oldSig] = header(last, 'webhook-signature').split(' ');
      assert.equal(newSig, computeSignature(SECRET_2, id, last.timestamp!, last.rawBody));
      assert.equal(oldSig, computeSignature(SECRET, id, last.timestamp!, last.rawBody));

      // It switched to the new one.
      partner.setSecrets([SECRET_2]);
      last = await replay();
      assert.deepEqual([last.status, last.signature.matchedSecrets], [200, [0]]);

      // Knowing both, both match.
      partner.setSecrets([SECRET, SECRET_2]);
      last = await replay();
      assert.deepEqual([last.status, last.signature.matchedSecrets], [200, [0, 1]]);

      // The rotation is over: only the new secret signs, so a partner still on the old one refuses it.
      h!.clock!.set(rotationEnds);
      partner.setSecrets([SECRET]);
      last = await replay();
      assert.deepEqual([last.status, last.signature.v1Entries, last.signature.problem], [401, 1, 'no_matching_signature']);
      assert.equal(header(last, 'webhook-signature'), computeSignature(SECRET_2, id, last.timestamp!, last.rawBody));
      const d = await h!.delivery(id);
      assert.deepEqual([d.status, d.lastStatus], ['pending', 401], 'a refused signature is retried, not lost');

      partner.setSecrets([SECRET_2]);
      await h!.advance(10_000);
      last = partner.requests.at(-1)!;
      assert.deepEqual([last.status, last.signature.v1Entries, last.signature.valid], [200, 1, true]);
      assert.equal((await h!.delivery(id)).status, 'delivered');
    });
  });
}
