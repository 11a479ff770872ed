import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { insertRows, type BulkInsert } from '../../src/db/bulk';
import { startCheckpointer } from '../../src/db/sqlite-checkpointer';
import { fromDbBool, fromDbJson, fromDbTime, isUniqueViolation, toDbBool, toDbJson, toDbTime } from '../../src/db/dialect';
import { parseDatabaseUrl } from '../../src/db/knex';
import { migrateDown, migrateLatest, migrateRollback, migrateUp, migrationStatus } from '../../src/db/migrate';
import { meterView } from '../../src/domain/events';
import { meterFromRaw } from '../../src/domain/normalize';
import { DatabaseStore } from '../../src/stores/database-store';
import { createTestDb, testEngines, type TestDb } from '../helpers/db';

const TABLES = ['meters', 'meter_raw_parts', 'meter_group_assignments', 'meter_events', 'sync_runs', 'sync_cursors', 'leases', 'leap_event_receipts'];

describe('database URLs', () => {
  it('parses sqlite and mysql URLs, decoding credentials', () => {
    assert.deepEqual(parseDatabaseUrl('sqlite:./data/connector.sqlite'), { client: 'sqlite', filename: './data/connector.sqlite' });
    assert.deepEqual(parseDatabaseUrl('sqlite::memory:'), { client: 'sqlite', filename: ':memory:' });
    assert.deepEqual(parseDatabaseUrl('mysql://app:p%40ss%3Aword@db.internal:3307/leap'), {
      client: 'mysql',
      host: 'db.internal',
      port: 3307,
      user: 'app',
      password: 'p@ss:word',
      database: 'leap',
    });
  });
  it('rejects URLs it cannot use, without echoing credentials', () => {
    assert.throws(() => parseDatabaseUrl('mysql://u:secretpw@host:3306/'), (e: Error) => /must name the database/.test(e.message) && !e.message.includes('secretpw'));
    assert.throws(() => parseDatabaseUrl('postgres://u:secretpw@h/db'), (e: Error) => /unsupported scheme/.test(e.message) && !e.message.includes('secretpw'));
  });
});

for (const engine of testEngines()) {
  describe(`database (${engine})`, () => {
    let db: TestDb;
    before(async () => {
      db = await createTestDb(engine);
    });
    after(() => db.destroy());

    it('creates every table through the migrations and reports the schema current', async () => {
      for (const t of TABLES) assert.ok(await db.knex.schema.hasTable(t), `table ${t}`);
      const status = await migrationStatus(db.knex);
      assert.equal(status.current, true);
      assert.deepEqual(status.pending, []);
      assert.ok(status.completed.every((n) => /^\d{14}_[a-z_]+$/.test(n)), 'names are recorded without extension');
    });

    it('rolls every migration back and forward again', async () => {
      await migrateRollback(db.knex, true);
      for (const t of TABLES) assert.equal(await db.knex.schema.hasTable(t), false, `table ${t} dropped`);
      assert.equal((await migrationStatus(db.knex)).current, false);
      await migrateLatest(db.knex);
      assert.equal((await migrationStatus(db.knex)).current, true);
    });

    /** Undo migrations, newest first, until `name` is the latest applied. */
    async function downTo(name: string): Promise<void> {
      const { completed } = await migrationStatus(db.knex);
      assert.ok(completed.includes(name), `${name} is applied`);
      while ((await migrationStatus(db.knex)).completed.at(-1) !== name) await migrateDown(db.knex);
    }

    async function deliveryIndexes(): Promise<string[]> {
      if (engine === 'mysql') return [...new Set(((await db.knex.raw('SHOW INDEX FROM deliveries')) as [{ Key_name: string }[]])[0].map((r) => r.Key_name))].sort();
      return ((await db.knex.raw('PRAGMA index_list(deliveries)')) as { name: string }[]).map((r) => r.name).sort();
    }

    it('indexes active deliveries by destination, meter and sequence, and takes the indexes away on the way down', async () => {
      const byStatus = engine === 'mysql' ? ['deliveries_destination_meter_id_status_sequence_index'] : ['deliveries_delivering_by_meter_index', 'deliveries_pending_by_meter_index'];
      const inLine = engine === 'mysql' ? byStatus : ['deliveries_in_line_by_meter_index'];
      const all = [...new Set([...byStatus, ...inLine])];
      const present = async () => (await deliveryIndexes()).filter((n) => all.includes(n));
      assert.deepEqual(await present(), inLine);
      await downTo('20261204000000_key_meter_rows_by_number');
      assert.deepEqual(await present(), byStatus);
      await downTo('20261127210000_split_meter_raw_parts');
      assert.deepEqual(await present(), []);
      await migrateLatest(db.knex);
      assert.deepEqual(await present(), inLine);
    });

    it('puts queued deliveries in line: those behind an earlier pending or in-flight one of their meter wait, and pend again on the way down', async () => {
      await downTo('20261204000000_key_meter_rows_by_number');
      const at = toDbTime(new Date());
      let n = 0;
      const row = (meterId: string, sequence: number, status: string, extra: Record<string, unknown> = {}) => ({ id: `msg_line_${++n}`, destination: 'crm', event_id: 9000 + n, meter_id: meterId, sequence, event_type: 'meter.created', status, body: '{}', record_hash: 'h', created_at: at, next_attempt_at: at, ...extra });
      await db.knex('deliveries').insert([
        row('a', 1, 'delivered', { delivered_at: at }),
        row('a', 2, 'pending'),
        row('a', 3, 'pending'),
        row('b', 1, 'delivering'),
        row('b', 2, 'pending'),
        row('c', 1, 'dead', { dead_at: at }),
        row('c', 2, 'pending', { delivered_at: at }),
      ]);
      const statuses = async () => ((await db.knex('deliveries').where('id', 'like', 'msg_line_%').orderBy('event_id').select('status', 'delivered_at')) as { status: string; delivered_at: unknown }[]).map((r) => `${r.status}${r.delivered_at ? '@' : ''}`);
      await migrateUp(db.knex);
      assert.deepEqual(await statuses(), ['delivered@', 'pending', 'waiting', 'delivering', 'waiting', 'dead', 'pending']);
      await migrateDown(db.knex);
      assert.deepEqual(await statuses(), ['delivered@', 'pending', 'pending', 'delivering', 'pending', 'dead', 'pending']);
      await db.knex('deliveries').where('id', 'like', 'msg_line_%').del();
      await migrateLatest(db.knex);
    });

    it('moves raw meter parts out of the meters table and back, losing nothing', async () => {
      await downTo('20261127210000_split_meter_raw_parts');
      await migrateDown(db.knex);
      const now = toDbTime(new Date());
      const base = { source: 'v2', content_hash: 'h', first_seen_at: now, last_seen_at: now, last_changed_at: now };
      const both = '22222222-2222-4222-8222-222222222222';
      const detailsOnly = '33333333-3333-4333-8333-333333333333';
      await db.knex('meters').insert([
        { ...base, meter_id: both, details_json: '{"meter_id":"both","ü":"✓"}', enrollment_json: '{"status":"ACTIVE"}' },
        { ...base, meter_id: detailsOnly, details_json: '{"meter_id":"d"}', enrollment_json: null },
      ]);
      await migrateUp(db.knex);
      assert.equal(await db.knex.schema.hasColumn('meters', 'details_json'), false);
      const parts = (await db.knex('meter_raw_parts').select('meter_id', 'part', 'json').orderBy(['meter_id', 'part'])) as Record<string, unknown>[];
      assert.deepEqual(parts.map((p) => [p.meter_id, p.part, String(p.json)]), [
        [both, 'details', '{"meter_id":"both","ü":"✓"}'],
        [both, 'enrollment', '{"status":"ACTIVE"}'],
        [detailsOnly, 'details', '{"meter_id":"d"}'],
      ]);
      await migrateDown(db.knex);
      const back = (await db.knex('meters').select('meter_id', 'details_json', 'enrollment_json').orderBy('meter_id')) as Record<string, unknown>[];
      assert.deepEqual(back.map((r) => [r.meter_id, r.details_json === null ? null : String(r.details_json), r.enrollment_json === null ? null : String(r.enrollment_json)]), [
        [both, '{"meter_id":"both","ü":"✓"}', '{"status":"ACTIVE"}'],
        [detailsOnly, '{"meter_id":"d"}', null],
      ]);
      await db.knex('meters').del();
      await migrateLatest(db.knex);
      assert.equal((await migrationStatus(db.knex)).current, true);
    });

    describe('meter rows keyed by row number', () => {
      const now = toDbTime(new Date());
      const base = { source: 'v2', content_hash: 'h', last_seen_at: now, last_changed_at: now };
      const first = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
      const second = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
      const secondParts = {
        details: { meter_id: second, audit: {}, customer: { name: 'Zoë ✓' } },
        enrollment: { meter_id: second, audit: {}, global_enrollment_status: 'ACTIVE', program_enrollment: [], required_actions: {} },
      };
      const event = (meterId: string, sequence: number, type: string) => ({ meter_id: meterId, sequence, type, occurred_at: now, origin: 'poll', meter_json: `{"s":${sequence}}` });

      /** Meters, parts, assignments and events as keyed by meter id, before the re-keying. */
      async function seedKeyedByMeterId(): Promise<void> {
        await downTo('20261128000000_deliveries_active_by_meter');
        await db.knex('meters').insert([
          { ...base, meter_id: second, first_seen_at: toDbTime('2026-06-02T00:00:00Z') },
          { ...base, meter_id: first, first_seen_at: toDbTime('2026-06-01T00:00:00Z') },
        ]);
        await db.knex('meter_raw_parts').insert([
          { meter_id: second, part: 'details', json: JSON.stringify(secondParts.details) },
          { meter_id: second, part: 'enrollment', json: JSON.stringify(secondParts.enrollment) },
          { meter_id: first, part: 'details', json: '{"d":1}' },
        ]);
        await db.knex('meter_group_assignments').insert([
          { meter_id: second, assignment_key: 'trade_date:2026-06-02', market_group_id: 'g2', trade_date: '2026-06-02' },
          { meter_id: first, assignment_key: 'trade_date:2026-06-01', market_group_id: 'g1', trade_date: '2026-06-01' },
        ]);
        await db.knex('meter_events').insert([event(first, 1, 'meter.created'), event(second, 1, 'meter.created'), event(second, 2, 'meter.details.updated')]);
      }

      const contents = async (key: 'meter_ref' | 'meter_id') => {
        const through = (table: string) =>
          key === 'meter_ref' ? db.knex(`${table} as c`).join('meters as m', 'm.id', 'c.meter_ref').select('m.meter_id') : db.knex(`${table} as c`).select('c.meter_id');
        return {
          parts: ((await through('meter_raw_parts').select('c.part', 'c.json').orderBy(['meter_id', 'c.part'])) as Record<string, unknown>[]).map((r) => [r.meter_id, r.part, String(r.json)]),
          groups: ((await through('meter_group_assignments').select('c.assignment_key', 'c.market_group_id').orderBy('meter_id')) as Record<string, unknown>[]).map((r) => [r.meter_id, r.assignment_key, r.market_group_id]),
          events: ((await db.knex('meter_events').select('id', 'meter_id', 'sequence', 'type', 'meter_json').orderBy('id')) as Record<string, unknown>[]).map((r) => [Number(r.id), r.meter_id, Number(r.sequence), r.type, String(r.meter_json)]),
        };
      };

      afterEach(async () => {
        for (const t of ['meter_group_assignments', 'meter_raw_parts', 'meter_events', 'meters']) await db.knex(t).del();
        await migrateLatest(db.knex);
      });

      it('numbers meters in the order they were first seen; parts, assignments and events follow them there and back, losing nothing', async () => {
        await seedKeyedByMeterId();
        const before = await contents('meter_id');
        await migrateUp(db.knex);
        assert.equal((await migrationStatus(db.knex)).completed.at(-1), '20261204000000_key_meter_rows_by_number');
        const numbered = (await db.knex('meters').select('id', 'meter_id').orderBy('id')) as { id: number | string; meter_id: string }[];
        assert.deepEqual(numbered.map((r) => r.meter_id), [first, second]);
        assert.deepEqual(await contents('meter_ref'), before);
        const refOf = new Map(numbered.map((r) => [r.meter_id, Number(r.id)]));
        const refs = (await db.knex('meter_events').select('meter_id', 'meter_ref').orderBy('id')) as { meter_id: string; meter_ref: number | string }[];
        assert.deepEqual(refs.map((r) => Number(r.meter_ref)), refs.map((r) => refOf.get(r.meter_id)));
        // (meter, sequence) stays unique, and a meter's rows still go with it.
        await assert.rejects(db.knex('meter_events').insert({ ...event(second, 2, 'meter.archived'), meter_ref: refOf.get(second) }), (err: unknown) => isUniqueViolation(err));
        await db.knex('meters').where({ meter_id: first }).del();
        assert.deepEqual((await contents('meter_ref')).parts.map((p) => p[0]), [second, second]);
        await db.knex('meters').insert({ ...base, meter_id: first, first_seen_at: toDbTime('2026-06-01T00:00:00Z') });
        await db.knex('meter_raw_parts').insert({ meter_ref: db.knex('meters').select('id').where({ meter_id: first }), part: 'details', json: '{"d":1}' });
        await db.knex('meter_group_assignments').insert({ meter_ref: db.knex('meters').select('id').where({ meter_id: first }), assignment_key: 'trade_date:2026-06-01', market_group_id: 'g1', trade_date: '2026-06-01' });
        await db.knex('meter_events').where({ meter_id: first }).update({ meter_ref: db.knex('meters').select('id').where({ meter_id: first }) });
        // An event of the meter's latest read, stored without a snapshot, as the connector now writes them.
        await db.knex('meter_events').insert({ ...event(second, 3, 'meter.details.updated'), meter_ref: refOf.get(second), meter_json: null });
        await db.knex('meters').where({ meter_id: second }).update({ sequence: 3 });
        await migrateDown(db.knex);
        const after = await contents('meter_id');
        const latest = after.events.pop()!;
        assert.deepEqual(after, before);
        // The earlier schema has no stored meter to fall back on: the event gets the meter's state.
        const stored = meterView(meterFromRaw({ ...secondParts, v1: null }));
        assert.deepEqual([latest[1], latest[2], JSON.parse(String(latest[4]))], [second, 3, JSON.parse(JSON.stringify(stored))]);
      });

      it('refuses to number meters while an event names a meter that is not stored, and changes nothing', async () => {
        await seedKeyedByMeterId();
        await db.knex('meter_events').insert(event('cccccccc-cccc-4ccc-8ccc-cccccccccccc', 1, 'meter.created'));
        const before = await contents('meter_id');
        await assert.rejects(migrateUp(db.knex), /meter_events: 1 rows belong to meters that are not stored/);
        assert.equal(await db.knex.schema.hasColumn('meters', 'id'), false);
        assert.deepEqual(await contents('meter_id'), before);
        await db.knex('meter_events').where({ meter_id: 'cccccccc-cccc-4ccc-8ccc-cccccccccccc' }).del();
      });
    });

    it('stores and reads back UTC instants identically, to the millisecond', async () => {
      const at = new Date('2026-03-08T09:59:59.987Z');
      await db.knex('leases').insert({ name: 'n', owner: 'o', acquired_at: toDbTime(at), renewed_at: toDbTime(at), expires_at: toDbTime('9000-12-31T23:59:59.999Z') });
      const row = (await db.knex('leases').where({ name: 'n' }).first()) as Record<string, unknown>;
      assert.equal(row.acquired_at, '2026-03-08 09:59:59.987');
      assert.equal(fromDbTime(row.acquired_at)?.toISOString(), at.toISOString());
      assert.equal(fromDbTime(row.expires_at)?.toISOString(), '9000-12-31T23:59:59.999Z');
      const later = await db.knex('leases').where('expires_at', '>', toDbTime('2026-03-08T10:00:00Z')).count({ n: '*' });
      assert.equal(Number(later[0]!.n), 1);
      await db.knex('leases').del();
    });

    it('round-trips booleans and JSON', async () => {
      const now = toDbTime(new Date());
      const meter = { meter_id: '11111111-1111-1111-1111-111111111111', nested: { list: [1, 'two', null], 'ünïcode': '✓' } };
      await db.knex('meters').insert({
        meter_id: meter.meter_id,
        source: 'v2',
        is_archived: toDbBool(true),
        partner_action_required: toDbBool(false),
        content_hash: 'h',
        first_seen_at: now,
        last_seen_at: now,
        last_changed_at: now,
      });
      const { id: ref } = (await db.knex('meters').select('id').first()) as { id: number };
      await db.knex('meter_raw_parts').insert({ meter_ref: ref, part: 'details', json: toDbJson(meter) });
      const row = (await db.knex('meters').first()) as Record<string, unknown>;
      assert.equal(fromDbBool(row.is_archived), true);
      assert.equal(fromDbBool(row.partner_action_required), false);
      const part = (await db.knex('meter_raw_parts').first()) as Record<string, unknown>;
      assert.deepEqual(fromDbJson(part.json), meter);
      await db.knex('meters').del();
      assert.equal((await db.knex('meter_raw_parts')).length, 0, 'raw parts go with their meter');
    });

    it('recognizes a unique violation on either engine', async () => {
      const now = toDbTime(new Date());
      const row = { name: 'same', owner: 'a', acquired_at: now, renewed_at: now, expires_at: now };
      await db.knex('leases').insert(row);
      await assert.rejects(db.knex('leases').insert(row), (err: unknown) => isUniqueViolation(err));
      await db.knex('leases').del();
    });

    it('compares text byte for byte (case matters) as SQLite does', async () => {
      const now = toDbTime(new Date());
      await db.knex('leases').insert({ name: 'Sync', owner: 'a', acquired_at: now, renewed_at: now, expires_at: now });
      await db.knex('leases').insert({ name: 'sync', owner: 'b', acquired_at: now, renewed_at: now, expires_at: now });
      const rows = await db.knex('leases').where({ name: 'sync' });
      assert.equal(rows.length, 1);
      assert.equal((rows[0] as { owner: string }).owner, 'b');
      await db.knex('leases').del();
    });

    it('answers readiness questions through the store', async () => {
      const store = new DatabaseStore(db.knex);
      assert.equal(store.dialect, engine);
      await store.ping();
      assert.equal((await store.migrationStatus()).current, true);
    });
  });
}

describe('prepared statements on SQLite', () => {
  let db: TestDb;
  before(async () => {
    db = await createTestDb('sqlite', { migrate: false });
  });
  after(() => db.destroy());

  it('are prepared once per query shape and still answer correctly when the schema changes under them', async () => {
    const conn = (await db.knex.client.acquireConnection()) as { prepare(sql: string): unknown };
    try {
      assert.equal(conn.prepare('SELECT 1'), conn.prepare('SELECT 1'), 'the same SQL gets the same statement');
      assert.notEqual(conn.prepare('SELECT 1'), conn.prepare('SELECT 2'));
    } finally {
      await db.knex.client.releaseConnection(conn);
    }
    await db.knex.schema.createTable('shapes', (t) => {
      t.integer('id').primary();
      t.string('name');
    });
    await db.knex('shapes').insert([{ id: 1, name: 'one' }, { id: 2, name: 'two' }]);
    const read = () => db.knex('shapes').select('*').where('id', '>', 0).orderBy('id');
    assert.deepEqual(await read(), [{ id: 1, name: 'one' }, { id: 2, name: 'two' }]);
    await db.knex.schema.alterTable('shapes', (t) => t.string('colour'));
    await db.knex('shapes').where({ id: 2 }).update({ colour: 'red' });
    assert.deepEqual(await read(), [
      { id: 1, name: 'one', colour: null },
      { id: 2, name: 'two', colour: 'red' },
    ]);
  });
});

for (const engine of testEngines()) {
  describe(`bulk inserts (${engine})`, () => {
    let db: TestDb;
    before(async () => {
      db = await createTestDb(engine, { migrate: false });
      await db.knex.schema.createTable('bulk_rows', (t) => {
        t.string('id', 16).primary();
        t.string('name', 32);
        t.integer('n');
        t.string('note', 32);
      });
    });
    after(() => db.destroy());

    it('insert many rows over several statements, upsert only the merged columns, and store undefined as NULL', async () => {
      const spec: BulkInsert = { table: 'bulk_rows', columns: ['id', 'name', 'n', 'note'], chunk: 7 };
      await insertRows(db.knex, spec, Array.from({ length: 30 }, (_, i) => [`r${String(i).padStart(2, '0')}`, `name ${i}`, i, i % 2 ? undefined : 'even']));
      const rows = (await db.knex('bulk_rows').select('*').orderBy('id')) as { id: string; name: string; n: number; note: string | null }[];
      assert.equal(rows.length, 30);
      assert.deepEqual(rows[3], { id: 'r03', name: 'name 3', n: 3, note: null });
      assert.deepEqual(rows[4], { id: 'r04', name: 'name 4', n: 4, note: 'even' });

      const upsert: BulkInsert = { table: 'bulk_rows', columns: ['id', 'name', 'n', 'note'], conflict: { keys: ['id'], merge: ['n'] } };
      await insertRows(db.knex, upsert, [
        ['r04', 'ignored', 40, 'ignored'],
        ['r99', 'new', 99, null],
      ]);
      assert.deepEqual(await db.knex('bulk_rows').where({ id: 'r04' }).first(), { id: 'r04', name: 'name 4', n: 40, note: 'even' });
      assert.deepEqual(await db.knex('bulk_rows').where({ id: 'r99' }).first(), { id: 'r99', name: 'new', n: 99, note: null });
      const skip: BulkInsert = { table: 'bulk_rows', columns: ['id', 'name', 'n', 'note'], conflict: { keys: ['id'], merge: [] } };
      await insertRows(db.knex, skip, [
        ['r05', 'ignored', 50, 'ignored'],
        ['r97', 'kept', 97, null],
      ]);
      assert.deepEqual(await db.knex('bulk_rows').where({ id: 'r05' }).first(), { id: 'r05', name: 'name 5', n: 5, note: null }, 'the stored row stays');
      assert.deepEqual(await db.knex('bulk_rows').where({ id: 'r97' }).first(), { id: 'r97', name: 'kept', n: 97, note: null });
      await assert.rejects(insertRows(db.knex, spec, [['r98', 'short']]), /bulk_rows: a row has 2 values for 4 columns/);
      await assert.rejects(insertRows(db.knex, spec, [['r00', 'again', 0, null]]), (err: unknown) => isUniqueViolation(err));
    });

    it('splits a batch of large rows into statements of at most four million characters', async () => {
      await db.knex.schema.createTable('bulk_text', (t) => {
        t.integer('id').primary();
        t.text('body', 'mediumtext');
      });
      const statements: string[] = [];
      const onQuery = (q: { sql: string }) => {
        if (q.sql.startsWith('insert into `bulk_text`')) statements.push(q.sql);
      };
      db.knex.on('query', onQuery);
      try {
        await insertRows(db.knex, { table: 'bulk_text', columns: ['id', 'body'] }, Array.from({ length: 6 }, (_, i) => [i, String(i).repeat(1_000_000)]));
      } finally {
        db.knex.removeListener('query', onQuery);
      }
      assert.equal(statements.length, 2, 'four rows (4 million characters), then two');
      const rows = (await db.knex('bulk_text').select('id', db.knex.raw('length(body) as n')).orderBy('id')) as { id: number; n: number }[];
      assert.deepEqual(
        rows.map((r) => [r.id, Number(r.n)]),
        Array.from({ length: 6 }, (_, i) => [i, 1_000_000]),
      );
    });
  });
}

describe('SQLite write-ahead log', () => {
  let db: TestDb;
  before(async () => {
    db = await createTestDb('sqlite', { migrate: false });
  });
  after(() => db.destroy());

  it('uses 8 KB pages and is copied back into the database file by the checkpointer, not by a commit', async () => {
    const pragma = async (sql: string) => ((await db.knex.raw(`PRAGMA ${sql}`)) as Record<string, unknown>[])[0];
    assert.deepEqual(await pragma('page_size'), { page_size: 8192 });
    assert.deepEqual(await pragma('journal_mode'), { journal_mode: 'wal' });
    // SQLite itself would copy the log back only past 16,000 pages (128 MB).
    assert.deepEqual(await pragma('wal_autocheckpoint'), { wal_autocheckpoint: 16000 });
    await db.knex.schema.createTable('wal_rows', (t) => {
      t.integer('id').primary();
      t.text('body');
    });
    const file = parseDatabaseUrl(db.url).filename!;
    const before = statSync(file).size;
    await db.knex.transaction(async (trx) => {
      for (let i = 0; i < 40; i++) await insertRows(trx, { table: 'wal_rows', columns: ['id', 'body'] }, Array.from({ length: 25 }, (_, j) => [i * 25 + j, 'x'.repeat(4000)]));
    });
    // Four megabytes committed: the database file grows only as the log is copied into it.
    const deadline = Date.now() + 10_000;
    while (statSync(file).size < before + 4_000_000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.ok(statSync(file).size >= before + 4_000_000, `database file ${statSync(file).size} bytes, was ${before}`);
    assert.equal(((await db.knex('wal_rows').count({ n: '*' })) as { n: number }[])[0]!.n, 1000);
  });

  it('a checkpointer that cannot open its database says so once, and does not take the process down', async () => {
    const problems: string[] = [];
    const told = new Promise<void>((resolve) => {
      const checkpointer = startCheckpointer({
        filename: `${parseDatabaseUrl(db.url).filename!}.missing`,
        onError: (message) => {
          problems.push(message);
          checkpointer.stop();
          resolve();
        },
      });
    });
    await told;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /unable to open database file|does not exist/i);
  });
});
