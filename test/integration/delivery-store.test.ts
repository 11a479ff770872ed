import assert from 'node:assert/strict';
import { toDbTime } from '../../src/db/dialect';
import { DeliveryAdminStore } from '../../src/stores/deliveries/admin-store';
import { AttemptStore } from '../../src/stores/deliveries/attempt-store';
import { DeliveryQueueStore } from '../../src/stores/deliveries/queue-store';
import type { AttemptRecord, NewDelivery } from '../../src/stores/deliveries/rows';
import { createTestDb, testEngines, type TestDb } from '../helpers/db';

for (const engine of testEngines()) {
  describe(`delivery stores over long histories (${engine})`, () => {
    let db: TestDb;
    let store: DeliveryQueueStore;
    let attempts: AttemptStore;
    let admin: DeliveryAdminStore;
    let n = 0;
    const now = toDbTime(new Date('2026-06-10T12:00:00Z'));

    before(async () => {
      db = await createTestDb(engine);
      store = new DeliveryQueueStore(db.knex);
      attempts = new AttemptStore(db.knex);
      admin = new DeliveryAdminStore(db.knex);
    });
    after(() => db.destroy());

    /** A meter with deliveries to `destination` in sequence order, each with a status and a record hash. */
    async function meterWith(meterId: string, destination: string, history: [status: string, hash: string][]): Promise<void> {
      if (!(await db.knex('meters').where({ meter_id: meterId }).first())) await db.knex('meters').insert({ meter_id: meterId, source: 'v2', content_hash: 'h', first_seen_at: now, last_seen_at: now, last_changed_at: now });
      const rows = history.map(([status, hash], i) => ({
        id: `msg_${String(++n).padStart(10, '0')}`,
        destination,
        event_id: n,
        meter_id: meterId,
        sequence: i + 1,
        event_type: 'meter.details.updated',
        status,
        body: '{}',
        record_hash: hash,
        created_at: now,
        next_attempt_at: now,
      }));
      for (let i = 0; i < rows.length; i += 100) await db.knex('deliveries').insert(rows.slice(i, i + 100));
    }

    it('the latest record hash per meter is that of its newest delivery not dead, for that destination only', async () => {
      const long = Array.from({ length: 250 }, (_, i): [string, string] => [i % 9 === 0 ? 'dead' : 'delivered', `h${i + 1}`]);
      await meterWith('m-long', 'crm', long);
      await meterWith('m-dead-last', 'crm', [['delivered', 'a1'], ['delivered', 'a2'], ['dead', 'a3'], ['dead', 'a4']]);
      await meterWith('m-pending', 'crm', [['delivered', 'b1'], ['pending', 'b2']]);
      await meterWith('m-all-dead', 'crm', [['dead', 'c1']]);
      await meterWith('m-other', 'devices', [['delivered', 'd1']]);
      await meterWith('m-long', 'devices', [['delivered', 'e1']]);
      const got = await store.latestRecordHashes(db.knex, 'crm', ['m-long', 'm-dead-last', 'm-pending', 'm-all-dead', 'm-other', 'm-unknown']);
      assert.deepEqual(Object.fromEntries([...got].sort()), { 'm-dead-last': 'a2', 'm-long': 'h250', 'm-pending': 'b2' });
    });

    it('the claim sweep releases exactly the expired claims of the destinations asked, by id, and none still held', async () => {
      await meterWith('sweep-1', 'sweep', [['pending', 'a']]);
      await meterWith('sweep-2', 'sweep', [['pending', 'b']]);
      await meterWith('sweep-3', 'sweep-other', [['pending', 'c']]);
      const t0 = new Date('2026-06-10T12:00:01Z');
      const first = await store.claimDue('sweep', 'dead-worker', 1, t0, 1000);
      const held = await store.claimDue('sweep', 'live-worker', 1, t0, 60_000);
      await store.claimDue('sweep-other', 'dead-worker', 1, t0, 1000);
      assert.equal(first.length + held.length, 2);
      const later = new Date(t0.getTime() + 5000);
      assert.equal(await store.releaseExpiredClaims([], later), 0);
      assert.equal(await store.releaseExpiredClaims(['sweep'], later), 1);
      const statusOf = async (meterId: string) => ((await db.knex('deliveries').where({ meter_id: meterId }).first('status', 'claimed_by')) as { status: string; claimed_by: string | null });
      assert.deepEqual(await statusOf(first[0]!.meterId), { status: 'pending', claimed_by: null });
      assert.deepEqual(await statusOf(held[0]!.meterId), { status: 'delivering', claimed_by: 'live-worker' });
      assert.deepEqual(await statusOf('sweep-3'), { status: 'delivering', claimed_by: 'dead-worker' }, 'another destination is not swept');
      assert.equal(await store.releaseExpiredClaims(['sweep'], later), 0, 'nothing twice');
      await db.knex('deliveries').whereIn('destination', ['sweep', 'sweep-other']).del();
    });

    it('a delivery waits behind an earlier pending or in-flight one of its meter, however long the meter\'s history', async () => {
      await meterWith('w-free', 'hist', [...Array.from({ length: 120 }, (): [string, string] => ['delivered', 'x']), ['pending', 'free']]);
      await meterWith('w-behind-pending', 'hist', [...Array.from({ length: 120 }, (): [string, string] => ['delivered', 'x']), ['pending', 'first'], ['waiting', 'second']]);
      await meterWith('w-behind-flight', 'hist', [['delivered', 'x'], ['delivering', 'sending'], ['dead', 'x'], ['waiting', 'waits']]);
      const claimed = await store.claimDue('hist', 'worker-a', 100, new Date('2026-06-10T12:00:01Z'), 60_000);
      assert.deepEqual(claimed.map((d) => [d.meterId, d.recordHash]).sort(), [
        ['w-behind-pending', 'first'],
        ['w-free', 'free'],
      ]);
    });

    describe('lines: per destination and meter, only the first delivery not delivered or dead can go', () => {
      let k = 0;
      const at = new Date('2026-06-10T12:00:00Z');
      const fresh = (meterId: string, sequence: number, destination = 'line'): NewDelivery => ({
        id: `msg_line_${String(++k).padStart(6, '0')}`,
        destination,
        eventId: 500_000 + k,
        meterId,
        sequence,
        eventType: 'meter.details.updated',
        status: 'pending',
        body: '{}',
        recordHash: `r${k}`,
        createdAt: at,
      });
      const stored = async (destination = 'line') =>
        Object.fromEntries(((await db.knex('deliveries').where({ destination }).orderBy(['meter_id', 'sequence']).select('meter_id', 'sequence', 'status')) as { meter_id: string; sequence: number | string; status: string }[]).map((r) => [`${r.meter_id}#${Number(r.sequence)}`, r.status]));
      const done = (d: NewDelivery, status: 'delivered' | 'dead' | 'pending'): AttemptRecord => ({
        deliveryId: d.id,
        destination: d.destination,
        meterId: d.meterId,
        claimedBy: 'w',
        attemptNumber: 1,
        trigger: 'scheduled',
        attempt: { trigger: 'scheduled', startedAt: at, durationMs: 1, url: 'http://x', requestHeaders: {}, statusCode: status === 'delivered' ? 200 : 500, responseHeaders: {}, responseBody: '', errorClass: null, errorMessage: null, outcome: status === 'pending' ? 'retry' : status },
        next: { status, nextAttemptAt: status === 'pending' ? at : null, retryIndex: 0, countsAsAttempt: true, deadReason: status === 'dead' ? 'status_400' : null },
      });
      const claim = async (n = 100) => (await store.claimDue('line', 'w', n, new Date('2026-06-10T12:00:01Z'), 60_000)).map((d) => `${d.meterId}#${d.sequence}`).sort();

      it('new deliveries join their line: the first of an empty line can go, the rest wait (shown as pending), and only firsts are claimed', async () => {
        const a = [fresh('l-a', 1), fresh('l-a', 2), fresh('l-a', 3)];
        const b = [fresh('l-b', 1)];
        await db.knex.transaction((trx) => store.insertMany(trx, [...a, ...b]));
        assert.deepEqual(await stored(), { 'l-a#1': 'pending', 'l-a#2': 'waiting', 'l-a#3': 'waiting', 'l-b#1': 'pending' });
        // A later batch for a meter already in line waits behind it.
        await db.knex.transaction((trx) => store.insertMany(trx, [fresh('l-b', 2)]));
        assert.equal((await stored())['l-b#2'], 'waiting');
        assert.equal((await admin.get(a[1]!.id))?.status, 'pending', 'waiting is pending to everyone outside the store');
        assert.equal(await admin.count({ destination: 'line', status: 'pending' }), 5);
        assert.deepEqual(await claim(), ['l-a#1', 'l-b#1']);
        // Done, delivered or dead, the next in line goes; a retry keeps its place.
        await db.knex.transaction((trx) => attempts.record(trx, [done(a[0]!, 'delivered'), done(b[0]!, 'pending')], at));
        assert.deepEqual(await claim(), ['l-a#2', 'l-b#1']);
        await db.knex.transaction((trx) => attempts.record(trx, [done(a[1]!, 'dead')], at));
        assert.deepEqual(await stored(), { 'l-a#1': 'delivered', 'l-a#2': 'dead', 'l-a#3': 'pending', 'l-b#1': 'delivering', 'l-b#2': 'waiting' });
      });

      it('a replayed delivery goes before the later ones still queued, and never calls back one in flight', async () => {
        const m = [fresh('l-r', 1), fresh('l-r', 2), fresh('l-r', 3)];
        await db.knex.transaction((trx) => store.insertMany(trx, m));
        await store.claimDue('line', 'w', 100, new Date('2026-06-10T12:00:01Z'), 60_000);
        await db.knex.transaction((trx) => attempts.record(trx, [done(m[0]!, 'delivered')], at));
        assert.deepEqual(await stored().then((x) => [x['l-r#1'], x['l-r#2'], x['l-r#3']]), ['delivered', 'pending', 'waiting']);
        await admin.requeue([m[0]!.id], 'replay', at);
        assert.deepEqual(await stored().then((x) => [x['l-r#1'], x['l-r#2'], x['l-r#3']]), ['pending', 'waiting', 'waiting']);
        const row = (await db.knex('deliveries').where({ id: m[0]!.id }).first()) as { delivered_at: unknown };
        assert.equal(row.delivered_at, null, 'back in line, not delivered');
        // Replayed while a later one is in flight: both may go (the one in flight cannot be held back).
        assert.deepEqual(await claim(), ['l-r#1']);
        await db.knex.transaction((trx) => attempts.record(trx, [done(m[0]!, 'delivered')], at));
        assert.deepEqual(await claim(), ['l-r#2']);
        assert.equal((await stored())['l-r#2'], 'delivering');
        await admin.requeue([m[0]!.id], 'replay', at);
        assert.deepEqual(await stored().then((x) => [x['l-r#1'], x['l-r#2'], x['l-r#3']]), ['pending', 'delivering', 'waiting']);
      });

      it('a line whose first delivery waits with nothing ahead of it is put in order by the safety sweep', async () => {
        const m = [fresh('l-s', 1, 'sweep'), fresh('l-s', 2, 'sweep')];
        await db.knex.transaction((trx) => store.insertMany(trx, m));
        // As if a writer had missed a move: the first of the line left waiting.
        await db.knex('deliveries').where({ id: m[0]!.id }).update({ status: 'waiting' });
        assert.equal(await store.nextDueAt(['sweep']), null, 'nothing claimable');
        assert.equal(await store.lineUpStalled('sweep'), 1);
        assert.deepEqual(await stored('sweep'), { 'l-s#1': 'pending', 'l-s#2': 'waiting' });
        assert.equal(await store.lineUpStalled('sweep'), 0);
      });

      it('a look at the newest waiting deliveries finds a line left behind among them, and only among them', async () => {
        const older = [fresh('l-old', 1, 'near'), fresh('l-old', 2, 'near')];
        const newer = [fresh('l-new', 1, 'near'), fresh('l-new', 2, 'near')];
        await db.knex.transaction((trx) => store.insertMany(trx, [...older, ...newer]));
        // Both lines left with their first waiting; one came due a minute after the other.
        await db.knex('deliveries').whereIn('id', [older[0]!.id, newer[0]!.id]).update({ status: 'waiting' });
        await db.knex('deliveries').whereIn('id', newer.map((d) => d.id)).update({ next_attempt_at: toDbTime(new Date('2026-06-10T12:01:00Z')) });
        assert.equal(await store.lineUpStalled('near', { newest: 1 }), 1);
        assert.deepEqual(await stored('near'), { 'l-new#1': 'pending', 'l-new#2': 'waiting', 'l-old#1': 'waiting', 'l-old#2': 'waiting' });
        assert.equal(await store.lineUpStalled('near', { newest: 1 }), 0, 'the newest waits in a line in order');
        assert.equal(await store.lineUpStalled('near', {}), 1);
        assert.equal((await stored('near'))['l-old#1'], 'pending');
      });
    });
  });
}
