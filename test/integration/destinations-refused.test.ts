import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { compose, type Composed } from '../../src/compose/compose';
import { silentLogger } from '../../src/logger';
import { testConfig } from '../helpers/config';
import { createTestDb, testEngines, type TestDb } from '../helpers/db';
import { SECRET } from '../helpers/destinations';

const ADMIN = 'refused-admin-key-0123456789';
const good = (field: string) => `url: https://partner.example.com/hooks\nevents: ["*"]\nsecrets: [${SECRET}]\nmapping:\n  id: { from: ${field} }\n`;

for (const engine of testEngines()) {
  describe(`a destination file refused on reload (${engine})`, function () {
    this.timeout(30_000);
    let dir: string;
    let db: TestDb;
    let c: Composed;
    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'refused-'));
      writeFileSync(path.join(dir, 'crm.yaml'), good('meter_id'));
      db = await createTestDb(engine);
      c = compose(testConfig(`destinations: { dir: ${dir}, watch: false }\napi: { keys: [{ name: ops, key: ${ADMIN}, scopes: [admin] }] }\n`), { db: db.knex, logger: silentLogger });
      await c.database.migrateLatest();
    });
    after(async () => {
      await c?.close();
      await db?.destroy();
      rmSync(dir, { recursive: true, force: true });
    });

    it('shows the file’s error on /readyz and on the destination, with the last good version still in force', async () => {
      const version = c.destinations.get('crm')!.version;
      let ready = await request(c.app).get('/readyz').expect(200);
      assert.deepEqual(ready.body.checks.find((x: { name: string }) => x.name === 'destinations'), { name: 'destinations', ok: true, message: 'every file loaded' });

      writeFileSync(path.join(dir, 'crm.yaml'), good('meter_id').replace('events: ["*"]', 'events: ["meter.exploded"]'));
      writeFileSync(path.join(dir, 'new.yaml'), 'url: nope\n');
      const r = c.registry!.reload();
      assert.equal(r.problems.length >= 2, true);
      assert.equal(c.destinations.get('crm')!.version, version, 'the last good version runs');

      ready = await request(c.app).get('/readyz').expect(200);
      const check = ready.body.checks.find((x: { name: string }) => x.name === 'destinations');
      assert.equal(check.ok, true);
      assert.equal(check.message, "2 destination files refused; the others, and the last good version of each refused one, are in force");
      assert.equal(check.warnings.length, 2);
      assert.match(check.warnings[0], new RegExp(`crm\\.yaml:\\d+:\\d+: /events/0 "meter\\.exploded" matches no event type.*; "crm" keeps running on its last good version ${version}$`));
      assert.match(check.warnings[1], /new\.yaml:1:1: \/events is required \(and \d+ more\); nothing from it is running$/);

      const list = await request(c.app).get('/admin/v1/destinations').set('Authorization', `Bearer ${ADMIN}`).expect(200);
      const crm = list.body.destinations.find((d: { name: string }) => d.name === 'crm');
      assert.equal(crm.version_in_force, 'last_good');
      assert.equal(crm.file_problems.length, 1);
      assert.match(crm.file_problems[0], /meter\.exploded/);

      writeFileSync(path.join(dir, 'crm.yaml'), good('partner_reference'));
      c.registry!.reload();
      const fixed = (await request(c.app).get('/admin/v1/destinations').set('Authorization', `Bearer ${ADMIN}`).expect(200)).body.destinations.find((d: { name: string }) => d.name === 'crm');
      assert.deepEqual([fixed.version_in_force, fixed.file_problems], ['current', []]);
      assert.notEqual(c.destinations.get('crm')!.version, version);
    });
  });
}
