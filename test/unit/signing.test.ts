import assert from 'node:assert/strict';
import { generateSecret, secretProblem, sign, signatureHeader, verify, webhookHeaders } from '../../src/domain/signing';

const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

describe('Standard Webhooks signing', () => {
  it("matches the specification's published test vector", () => {
    assert.equal(sign(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body), VECTOR.signature);
  });

  it('verifies the vector and rejects any change to id, timestamp, body or secret', () => {
    const at = new Date(VECTOR.timestamp * 1000);
    const headers = { 'webhook-id': VECTOR.id, 'webhook-timestamp': String(VECTOR.timestamp), 'webhook-signature': VECTOR.signature };
    assert.equal(verify([VECTOR.secret], headers, VECTOR.body, at), null);
    assert.equal(verify([VECTOR.secret], headers, '{"test": 2432232315}', at), 'no_matching_signature');
    assert.equal(verify([VECTOR.secret], { ...headers, 'webhook-id': 'msg_other' }, VECTOR.body, at), 'no_matching_signature');
    assert.equal(verify([generateSecret()], headers, VECTOR.body, at), 'no_matching_signature');
    assert.equal(verify([VECTOR.secret], headers, VECTOR.body, new Date((VECTOR.timestamp + 301) * 1000)), 'timestamp_too_old');
    assert.equal(verify([VECTOR.secret], headers, VECTOR.body, new Date((VECTOR.timestamp - 301) * 1000)), 'timestamp_too_new');
    assert.equal(verify([VECTOR.secret], { 'webhook-id': VECTOR.id }, VECTOR.body, at), 'missing_headers');
  });

  it('signs with every active secret during a rotation, and stops signing with one past its expiry', () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    const expiry = new Date('2026-12-01T00:00:00Z');
    const secrets = [
      { secret: oldSecret, expiresAt: expiry },
      { secret: newSecret, expiresAt: null },
    ];
    const before = new Date('2026-11-30T23:59:59Z');
    const both = signatureHeader(secrets, 'msg_1', 1, 'body', before).split(' ');
    assert.deepEqual(both, [sign(oldSecret, 'msg_1', 1, 'body'), sign(newSecret, 'msg_1', 1, 'body')]);
    const after = signatureHeader(secrets, 'msg_1', 1, 'body', expiry);
    assert.equal(after, sign(newSecret, 'msg_1', 1, 'body'));
    // A receiver that knows either secret accepts the rotated message.
    const headers = webhookHeaders(secrets, 'msg_2', '{"a":1}', before);
    assert.equal(verify([oldSecret], headers, '{"a":1}', before), null);
    assert.equal(verify([newSecret], headers, '{"a":1}', before), null);
  });

  it('puts the attempt time in webhook-timestamp, in seconds', () => {
    const h = webhookHeaders([{ secret: VECTOR.secret }], VECTOR.id, VECTOR.body, new Date(VECTOR.timestamp * 1000 + 999));
    assert.deepEqual(h, { 'webhook-id': VECTOR.id, 'webhook-timestamp': String(VECTOR.timestamp), 'webhook-signature': VECTOR.signature });
  });

  it('explains what is wrong with a secret', () => {
    assert.equal(secretProblem(VECTOR.secret), null);
    assert.equal(secretProblem(generateSecret(64)), null);
    assert.equal(secretProblem('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'), 'must start with whsec_');
    assert.equal(secretProblem('whsec_not base64!'), 'must be whsec_ followed by base64');
    assert.equal(secretProblem('whsec_c2hvcnQ='), 'must decode to 24-64 bytes (got 5)');
  });
});
