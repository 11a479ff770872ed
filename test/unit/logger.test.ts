import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger, REDACTED, Redactor } from '../../src/logger';

function capture(secrets: string[], format: 'json' | 'pretty' = 'json') {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const { logger } = createLogger({ level: 'debug', format, secrets, stream });
  return { logger, lines, flush: () => new Promise((r) => setImmediate(r)) };
}

describe('logger', () => {
  const apiKey = '4P0u5KS3NuAOrw6Y:G9ztJlkDvBqdZjHf1J5bLtpY4t8DwI097LeCS4LoKC2g';

  it('never writes a configured secret, in the message or in any field', async () => {
    const { logger, lines, flush } = capture([apiKey, 's3cr3t-db-pass']);
    logger.info(`calling Leap with ${apiKey}`, { nested: { deeper: [`x ${apiKey} y`] }, url: 'mysql://root:s3cr3t-db-pass@db/x' });
    logger.child({ component: 'leap' }).warn('retry', { headers: { authorization: `Bearer ${apiKey}`, 'x-api-key': 'anything-at-all' } });
    await flush();
    const text = lines.join('\n');
    assert.ok(!text.includes(apiKey), text);
    assert.ok(!text.includes('s3cr3t-db-pass'), text);
    assert.ok(!text.includes('anything-at-all'), text);
    assert.equal(lines.length, 2);
    const first = JSON.parse(lines[0]!) as { message: string; nested: { deeper: string[] } };
    assert.equal(first.message, `calling Leap with ${REDACTED}`);
    assert.deepEqual(first.nested.deeper, [`x ${REDACTED} y`]);
  });

  it('redacts bearer tokens, URL passwords and whsec_ secrets it was not told about', () => {
    const r = new Redactor();
    assert.equal(r.text('Authorization: Bearer abc.def-ghi'), `Authorization: Bearer ${REDACTED}`);
    assert.equal(r.text('mysql://app:pa55word@db:3306/x'), `mysql://app:${REDACTED}@db:3306/x`);
    assert.equal(r.text('secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw='), `secret ${REDACTED}`);
  });

  it('redacts values of secret-named keys and drops the request config of errors', () => {
    const r = new Redactor();
    const err = Object.assign(new Error('boom'), { config: { headers: { Authorization: 'Bearer zzz' } }, code: 'ECONNRESET' });
    const out = r.value({ password: 'p', api_key: 'k', ok: 'v', err }) as Record<string, unknown>;
    assert.equal(out.password, REDACTED);
    assert.equal(out.api_key, REDACTED);
    assert.equal(out.ok, 'v');
    const e = out.err as Record<string, unknown>;
    assert.equal(e.message, 'boom');
    assert.equal(e.code, 'ECONNRESET');
    assert.equal(e.config, undefined);
  });

  it('writes readable lines in pretty format, still redacted', async () => {
    const { logger, lines, flush } = capture([apiKey], 'pretty');
    logger.child({ component: 'sync' }).info(`key ${apiKey}`, { pages: 3 });
    await flush();
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /\[sync\] key \[REDACTED\] \{"pages":3\}/);
  });

  it('respects the level', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    stream.on('data', (c: Buffer) => lines.push(c.toString()));
    const { logger } = createLogger({ level: 'warn', format: 'json', stream });
    logger.info('hidden');
    logger.debug('hidden');
    logger.warn('shown');
    await new Promise((r) => setImmediate(r));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /shown/);
  });
});
