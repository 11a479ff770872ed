import assert from 'node:assert/strict';
import request from 'supertest';
import { compose, type Composed } from '../../src/compose/compose';
import { silentLogger } from '../../src/logger';
import { testConfig } from '../helpers/config';
import { createTestDb, testEngines, type TestDb } from '../helpers/db';

for (const engine of testEngines()) {
  describe(`HTTP basics (${engine})`, () => {
    let db: TestDb;
    let c: Composed;
    before(async () => {
      db = await createTestDb(engine);
      c = compose(testConfig('server:\n  body_limit: 2kb\n'), { db: db.knex, logger: silentLogger });
    });
    after(async () => {
      await c.close();
      await db.destroy();
    });

    it('GET /healthz answers ok', async () => {
      const res = await request(c.app).get('/healthz').expect(200);
      assert.deepEqual(res.body, { status: 'ok' });
    });

    it('GET /readyz checks the database, migrations, config and destination files', async () => {
      const res = await request(c.app).get('/readyz').expect(200);
      assert.equal(res.body.status, 'ready');
      assert.deepEqual(
        (res.body.checks as { name: string; ok: boolean }[]).map((x) => [x.name, x.ok]),
        [
          ['database', true],
          ['migrations', true],
          ['config', true],
          ['destinations', true],
        ],
      );
    });

    it('gives every response a request id, keeping a sane one from the caller', async () => {
      const mine = await request(c.app).get('/healthz').set('X-Request-Id', 'abc-123').expect(200);
      assert.equal(mine.headers['x-request-id'], 'abc-123');
      const fresh = await request(c.app).get('/healthz').set('X-Request-Id', 'bad id with spaces').expect(200);
      assert.match(String(fresh.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    });

    it('answers unknown routes with the error envelope', async () => {
      const res = await request(c.app).get('/nope').set('X-Request-Id', 'r1').expect(404);
      assert.deepEqual(res.body, { code: 'not_found', message: 'No route for GET /nope', details: null, request_id: 'r1' });
    });

    it('rejects malformed JSON and bodies past the limit with clear codes', async () => {
      const bad = await request(c.app).post('/healthz').set('Content-Type', 'application/json').send('{"a":').expect(400);
      assert.equal(bad.body.code, 'invalid_json');
      assert.ok(bad.body.request_id);
      const big = await request(c.app).post('/healthz').set('Content-Type', 'application/json').send(JSON.stringify({ a: 'x'.repeat(4096) })).expect(413);
      assert.equal(big.body.code, 'payload_too_large');
    });
  });

  describe(`readiness with a schema behind (${engine})`, () => {
    let db: TestDb;
    let c: Composed;
    before(async () => {
      db = await createTestDb(engine, { migrate: false });
      c = compose(testConfig(), { db: db.knex, logger: silentLogger });
    });
    after(async () => {
      await c.close();
      await db.destroy();
    });

    it('GET /readyz is 503 and names the pending migrations', async () => {
      const res = await request(c.app).get('/readyz').expect(503);
      assert.equal(res.body.status, 'not_ready');
      const migrations = (res.body.checks as { name: string; ok: boolean; message: string }[]).find((x) => x.name === 'migrations');
      assert.equal(migrations?.ok, false);
      assert.match(migrations!.message, /pending: 20261127090000_create_meters/);
    });
  });
}
