import assert from 'node:assert/strict';
import { LeapUnavailableError } from '../../src/clients/leap-errors';
import { toDbTime } from '../../src/db/dialect';
import type { LeapSearchFilter } from '../../src/domain/leap-types';
import { canonicalInstant } from '../../src/domain/timestamps';
import type { MeterEvent } from '../../src/domain/events';
import { SyncBusyError } from '../../src/services/sync/sync-errors';
import { testEngines } from '../helpers/db';
import { syncHarness, type SyncHarness } from '../helpers/sync-harness';

const types = (events: MeterEvent[]) => events.map((e) => e.type);
/** For assertion messages: what each event changed. */
const explain = (events: MeterEvent[]) => JSON.stringify(events.map((e) => [e.type, e.changes?.map((c) => c.path)]));
const ofMeter = (events: MeterEvent[], id: string) => events.filter((e) => e.meter_id === id);

async function meterRows(h: SyncHarness) {
  return (await h.db.knex('meters').select('meter_id', 'content_hash', 'details_hash', 'enrollment_hash', 'sequence', 'is_archived', 'last_changed_at').orderBy('meter_id')) as Record<string, unknown>[];
}

/** A meter's stored raw parts (v1 keeps the one meter as `details`), by part. */
async function rawParts(h: SyncHarness, meterId: string): Promise<Record<string, string>> {
  const rows = (await h.db.knex('meter_raw_parts as p').join('meters as m', 'm.id', 'p.meter_ref').where('m.meter_id', meterId).select('p.part', 'p.json')) as { part: string; json: string }[];
  return Object.fromEntries(rows.map((r) => [r.part, String(r.json)]));
}

for (const engine of testEngines()) {
  for (const apiVersion of ['v2', 'v1'] as const) {
    describe(`sync engine (${engine}, Leap ${apiVersion})`, function () {
      this.timeout(60_000);
      let h: SyncHarness;
      before(async () => {
        h = await syncHarness(engine, { apiVersion, meters: 150 });
      });
      after(() => h.close());

      it('first pass stores every meter and announces each with meter.created, sequence 1', async () => {
        const { result, events } = await h.pass();
        const total = h.sim.simulator.meterCount();
        assert.equal(await h.composed.stores.meters.count(), total);
        assert.equal(result.metersSeen, total, 'each meter counted once');
        const created = events.filter((e) => e.type === 'meter.created');
        assert.equal(created.length, total);
        assert.equal(new Set(created.map((e) => e.meter_id)).size, total);
        assert.ok(created.every((e) => e.sequence === 1 && e.meter.enrollment !== null));
        // Each meter's state is stored once, in its raw parts: its events carry no copy until it changes.
        assert.equal(Number(((await h.db.knex('meter_events').whereNotNull('meter_json').count({ n: '*' })) as { n: number | string }[])[0]!.n), 0);
        assert.deepEqual(
          (await h.composed.stores.events.list({ meterId: created[0]!.meter_id }, 100)).map((e) => JSON.stringify(e.meter)),
          ofMeter(events, created[0]!.meter_id).map((e) => JSON.stringify(e.meter)),
        );
        // Follow-up lifecycle events for meters already active or needing action, never twice.
        const active = events.filter((e) => e.type === 'meter.enrollment.activated');
        assert.equal(active.length, created.filter((e) => e.meter.enrollment?.status === 'ACTIVE').length);
        const run = await h.composed.stores.runs.get(result.runId!);
        assert.equal(run?.status, 'succeeded');
        assert.equal(run?.events, events.length);
        for (const cursor of Object.values(result.cursors)) assert.match(String(cursor), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/);
      });

      it('a pass with nothing new re-reads the overlap, emits nothing and writes only last_seen_at', async () => {
        const before = await meterRows(h);
        const eventsBefore = await h.composed.stores.events.count();
        const cursorsBefore = await h.composed.stores.state.all();
        const { result, events } = await h.pass();
        assert.equal(events.length, 0);
        assert.equal(result.metersChanged, 0);
        assert.ok(result.metersSeen > 0, 'the overlap window re-read some meters');
        assert.deepEqual(await meterRows(h), before);
        assert.equal(await h.composed.stores.events.count(), eventsBefore);
        assert.deepEqual(
          (await h.composed.stores.state.all()).map((s) => s.cursor),
          cursorsBefore.map((s) => s.cursor),
        );
      });

      it('a new authorization of several meters arrives as meter.created with their shared partner_reference', async () => {
        const ids = h.sim.simulator.authorize({ count: 3, partnerReference: `site-shared-${apiVersion}` });
        const { events } = await h.pass();
        const created = events.filter((e) => e.type === 'meter.created');
        assert.deepEqual(created.map((e) => e.meter_id).sort(), [...ids].sort());
        for (const e of created) {
          assert.equal(e.meter.partner_reference, `site-shared-${apiVersion}`);
          assert.equal(e.meter.enrollment?.status, 'PENDING');
          assert.equal(e.sequence, 1);
        }
      });

      it('a meter becoming ACTIVE: status change, meter.enrollment.activated, then its market group', async () => {
        const [id] = h.sim.simulator.meterIds({ status: 'ELIGIBLE', limit: 1 });
        assert.ok(id, 'an ELIGIBLE meter to activate');
        const seqBefore = (await h.composed.stores.meters.get(id!))!.sequence;
        const partsBefore = await rawParts(h, id!);
        h.sim.simulator.activate(id!);
        const { events } = await h.pass();
        const mine = ofMeter(events, id!);
        // Leap's change, then what it means for readiness: the activated meter awaits the partner.
        assert.deepEqual(
          mine.map((e) => `${e.type} ${e.origin}`),
          ['meter.enrollment.global-status.updated poll', 'meter.enrollment.activated poll', 'meter.enrollment.group.updated poll', 'meter.readiness.updated readiness'],
        );
        assert.deepEqual(mine[3]!.changes![0], { path: 'readiness.state', from: 'not_required', to: 'awaiting' });
        const partsAfter = await rawParts(h, id!);
        if (apiVersion === 'v2') {
          // Only the enrollment changed: only that part is written; the stored details stay as they were read.
          assert.equal(partsAfter.details, partsBefore.details);
          assert.notEqual(partsAfter.enrollment, partsBefore.enrollment);
        } else assert.notEqual(partsAfter.details, partsBefore.details, 'v1 has one part, rewritten whole');
        assert.deepEqual(mine[0]!.changes![0], { path: 'enrollment.status', from: 'ELIGIBLE', to: 'ACTIVE' });
        assert.ok(mine[0]!.changes!.slice(1).every((c) => c.path.startsWith('enrollment.')), 'program detail travels with the status');
        assert.deepEqual(
          mine.map((e) => e.sequence),
          [seqBefore + 1, seqBefore + 2, seqBefore + 3, seqBefore + 4],
        );
        assert.equal((await h.composed.stores.meters.get(id!))!.sequence, seqBefore + 4);
        const group = h.sim.simulator.groupOn(id!);
        assert.ok(mine[2]!.meter.group_assignments.some((g) => g.market_group_id === group?.id));
      });

      it('partner actions appear with their reason codes, then clear', async () => {
        const [id] = h.sim.simulator.meterIds({ status: 'ELIGIBLE', limit: 1 });
        h.sim.simulator.addPartnerAction(id!, 'SERV_0005');
        let { events } = await h.pass();
        let mine = ofMeter(events, id!);
        assert.deepEqual(types(mine), ['meter.enrollment.global-status.updated', 'meter.enrollment.required-actions.updated'], explain(mine));
        assert.deepEqual(mine[0]!.changes![0], { path: 'enrollment.status', from: 'ELIGIBLE', to: 'INELIGIBLE' });
        const actions = mine[1]!.meter.enrollment!.partner_actions;
        assert.ok(actions.length >= 1);
        assert.ok(actions.every((a) => a.code === 'SERV_0005' && a.type === 'NO_MISSING_FIELDS' && (a.description ?? '').length > 0));
        assert.equal(mine[1]!.meter.enrollment!.partner_action_required, true);
        const listed = await h.composed.stores.meters.list({ partnerActionRequired: true }, { limit: 1000 });
        assert.ok(listed.some((m) => m.meterId === id));

        h.sim.simulator.clearPartnerActions(id!);
        ({ events } = await h.pass());
        mine = ofMeter(events, id!);
        assert.deepEqual(types(mine), ['meter.enrollment.global-status.updated', 'meter.enrollment.required-actions.updated']);
        assert.deepEqual(mine[0]!.changes![0], { path: 'enrollment.status', from: 'INELIGIBLE', to: 'ELIGIBLE' });
        assert.deepEqual(mine[1]!.meter.enrollment!.partner_actions, []);
        assert.equal(mine[1]!.meter.enrollment!.partner_action_required, false);
      });

      it('a market group change for today and the coming trade dates is meter.enrollment.group.updated', async () => {
        const [id] = h.sim.simulator.meterIds({ status: 'ACTIVE', limit: 1 });
        const current = h.sim.simulator.groupOn(id!)!;
        const other = h.sim.simulator.marketGroupsFor(id!).find((g) => g.id !== current.id)!;
        h.sim.simulator.setMarketGroup(id!, other.id);
        const { events } = await h.pass();
        const mine = ofMeter(events, id!);
        assert.deepEqual(types(mine), ['meter.enrollment.group.updated']);
        assert.equal(mine[0]!.changes![0]!.path, 'group_assignments');
        assert.ok(mine[0]!.changes!.every((c) => c.path === 'group_assignments' || c.path.startsWith('enrollment.programs')), explain(mine));
        const after = mine[0]!.meter.group_assignments;
        assert.ok(after.some((g) => g.market_group_id === other.id));
        const rows = (await h.db.knex('meter_group_assignments as g').join('meters as m', 'm.id', 'g.meter_ref').where({ 'm.meter_id': id, 'g.market_group_id': other.id }).select('g.trade_date')) as { trade_date: string | null }[];
        if (apiVersion === 'v1') {
          // Leap v1 lists today and the next two trade dates; all three move.
          assert.equal(rows.length, 3);
          assert.ok(rows.every((r) => /^\d{4}-\d{2}-\d{2}$/.test(String(r.trade_date))));
        } else assert.ok(rows.length >= 1);
      });

      it('an IDLE then DISENROLL preference is meter.enrollment.participation-status.updated', async () => {
        const [id] = h.sim.simulator.meterIds({ status: 'ACTIVE', limit: 3 }).slice(-1);
        h.sim.simulator.setParticipation(id!, 'IDLE', { end: new Date(h.sim.simulator.now().getTime() + 7 * 86_400_000) });
        let { events } = await h.pass();
        let mine = ofMeter(events, id!);
        assert.ok(types(mine).includes('meter.enrollment.participation-status.updated'), types(mine).join());
        assert.equal(mine.at(-1)!.meter.enrollment!.participation_preference, 'IDLE');
        assert.equal(mine.at(-1)!.meter.enrollment!.status, 'NOT_PARTICIPATING');
        h.sim.simulator.setParticipation(id!, 'DISENROLL');
        ({ events } = await h.pass());
        mine = ofMeter(events, id!);
        assert.ok(types(mine).includes('meter.enrollment.participation-status.updated'));
        assert.equal(mine.at(-1)!.meter.enrollment!.participation_preference, 'DISENROLL');
      });

      it('a detail edit is meter.details.updated listing the changed paths', async () => {
        const [id] = h.sim.simulator.meterIds({ limit: 5 }).slice(-1);
        h.sim.simulator.editDetails(id!, { address: true });
        const { events } = await h.pass();
        const mine = ofMeter(events, id!);
        assert.deepEqual(types(mine), ['meter.details.updated']);
        const paths = mine[0]!.changes!.map((c) => c.path);
        assert.ok(paths.length > 0);
        assert.ok(
          paths.every((p) => p.startsWith('customer.')),
          paths.join(),
        );
        for (const c of mine[0]!.changes!) assert.notDeepEqual(c.from, c.to);
      });

      it('a change Leap shows stamped before the stored cursor (a late commit) is caught by the overlap, once', async () => {
        const [id] = h.sim.simulator.meterIds({ limit: 9 }).slice(-1);
        const stream = apiVersion === 'v2' ? 'v2:details' : 'v1:modified';
        const cursorOf = async () => (await h.composed.stores.state.all()).find((s) => s.name === stream)!.cursor!;
        const cursor = await cursorOf();
        h.sim.simulator.editDetailsLate(id!, 60_000);
        const view = h.sim.simulator.meter(id!);
        const stamp = canonicalInstant(apiVersion === 'v2' ? (view.details.audit as { updated_at: string }).updated_at : String(view.v1.date_last_modified))!;
        assert.ok(stamp < cursor, `the edit is stamped ${stamp}, before the cursor ${cursor}: a pass asking from the cursor would miss it`);
        const { events } = await h.pass();
        assert.deepEqual(types(ofMeter(events, id!)), ['meter.details.updated'], explain(events));
        const again = await h.pass();
        assert.deepEqual(ofMeter(again.events, id!), [], 'read again in the next overlap, it is not announced twice');
        assert.equal(await cursorOf(), cursor, 'an older stamp does not move the cursor back');
      });

      it('a field Leap adds is stored and reported as a detail change, not dropped', async () => {
        const [id] = h.sim.simulator.meterIds({ limit: 7 }).slice(-1);
        h.sim.simulator.addUnknownField(id!, 'battery_warranty_years', 10);
        const { events } = await h.pass();
        const mine = ofMeter(events, id!);
        assert.deepEqual(types(mine), ['meter.details.updated']);
        assert.deepEqual(mine[0]!.changes, [{ path: 'extra.battery_warranty_years', from: null, to: 10 }]);
        const stored = await h.composed.stores.meters.get(id!);
        const raw = apiVersion === 'v1' ? stored!.raw.v1 : stored!.raw.details;
        assert.equal(raw!.battery_warranty_years, 10);
      });

      it('archiving at Leap is meter.archived', async () => {
        const [id] = h.sim.simulator.meterIds({ limit: 9 }).slice(-1);
        h.sim.simulator.archive(id!);
        const { events } = await h.pass();
        const mine = ofMeter(events, id!);
        assert.deepEqual(types(mine), ['meter.archived']);
        assert.deepEqual(mine[0]!.changes, [{ path: 'is_archived', from: false, to: true }]);
      });

      it('a partner reference set later is meter.partner-reference.updated', async () => {
        const [id] = h.sim.simulator.meterIds({ limit: 11 }).slice(-1);
        h.sim.simulator.setPartnerReference(id!, `crm-${apiVersion}-42`);
        const { events } = await h.pass();
        const mine = ofMeter(events, id!);
        assert.ok(types(mine).includes('meter.partner-reference.updated'), types(mine).join());
        const e = mine.find((x) => x.type === 'meter.partner-reference.updated')!;
        assert.equal(e.changes![0]!.path, 'partner_reference');
        assert.equal(e.changes![0]!.to, `crm-${apiVersion}-42`);
      });

      it('stored events show the meter as each read left it: the latest read from the stored meter, earlier reads from the state kept when it next changed', async () => {
        const [id] = h.sim.simulator.meterIds({ status: 'ACTIVE', limit: 20 }).slice(-1);
        const json = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;
        const stored = () => h.composed.stores.events.list({ meterId: id! }, 1000);
        const before = await stored();
        assert.ok(before.length > 0, 'announced by the first pass');
        const emitted: MeterEvent[] = [];
        for (const change of [() => h.sim.simulator.editDetails(id!, { address: true }), () => h.sim.simulator.editDetails(id!, { address: true }), () => h.sim.simulator.archive(id!)]) {
          change();
          emitted.push(...ofMeter((await h.pass()).events, id!));
        }
        // Archived, the meter no longer needs readiness: its readiness event follows the archive.
        assert.deepEqual(types(emitted), ['meter.details.updated', 'meter.details.updated', 'meter.archived', 'meter.readiness.updated']);
        assert.deepEqual(emitted[3]!.changes![0], { path: 'readiness.state', from: 'awaiting', to: 'not_required' });
        assert.notDeepEqual(json(emitted[0]!.meter), json(emitted[1]!.meter));
        assert.deepEqual(
          (await stored()).map((e) => [e.sequence, json(e.meter)]),
          [...before, ...emitted].map((e) => [e.sequence, json(e.meter)]),
        );
        // Written: a snapshot on the last event of each earlier read, kept when the meter changed again.
        const rows = (await h.db.knex('meter_events').where({ meter_id: id }).select('sequence', 'meter_json')) as { sequence: number | string; meter_json: unknown }[];
        const kept = new Set(rows.filter((r) => r.meter_json !== null).map((r) => Number(r.sequence)));
        assert.deepEqual(
          [before.at(-1)!, ...emitted.slice(0, 2)].map((e) => kept.has(e.sequence)),
          [true, true, true],
        );
      });

      it('a dry run reads everything, reports the events it would emit, and writes nothing', async () => {
        const [id] = h.sim.simulator.meterIds({ limit: 13 }).slice(-1);
        h.sim.simulator.editDetails(id!, { tariff: true, device: true });
        const snapshot = async () => ({
          meters: await meterRows(h),
          events: await h.composed.stores.events.count(),
          runs: (await h.composed.stores.runs.list({}, { limit: 1000 })).length,
          cursors: await h.composed.stores.state.all(),
        });
        const before = await snapshot();
        const seen: MeterEvent[] = [];
        const { result } = await h.pass({ dryRun: true, onEvent: (e) => seen.push(e) });
        assert.equal(result.runId, null);
        assert.ok(seen.some((e) => e.meter_id === id && e.type === 'meter.details.updated'));
        assert.deepEqual(await snapshot(), before);
        const { events } = await h.pass();
        assert.deepEqual(
          ofMeter(events, id!).map((e) => [e.type, e.changes]),
          seen.filter((e) => e.meter_id === id).map((e) => [e.type, e.changes]),
        );
      });

      it('a failed run records its error and never moves a cursor', async () => {
        h.sim.simulator.editDetails(h.sim.simulator.meterIds({ limit: 15 })[14]!, { address: true });
        const cursors = await h.composed.stores.state.all();
        h.sim.simulator.setFaults({ serverError: 1 });
        try {
          await assert.rejects(h.pass(), (err: unknown) => err instanceof LeapUnavailableError);
        } finally {
          h.sim.simulator.clearFaults();
        }
        const [last] = await h.composed.stores.runs.list({}, { limit: 1 });
        assert.equal(last!.status, 'failed');
        assert.equal(last!.errorCode, 'leap_unavailable');
        assert.deepEqual(
          (await h.composed.stores.state.all()).map((s) => s.cursor),
          cursors.map((s) => s.cursor),
        );
        // The change is not lost: the next run sees it.
        const { events } = await h.pass();
        assert.ok(events.some((e) => e.type === 'meter.details.updated'));
      });

      if (apiVersion === 'v2')
        it("a whole-portfolio walk reads each details page with its meters' enrollments and leaves both cursors as two walks would", async () => {
          const p = await syncHarness(engine, { apiVersion, meters: 120, seed: 11 });
          try {
            const searches: LeapSearchFilter[] = [];
            const leap = p.composed.leap;
            // Enrollment searches: by time (an incremental pass), and by meter_ids (paired with a details page).
            const search = leap.searchEnrollments.bind(leap);
            leap.searchEnrollments = (filter, opts) => {
              searches.push(filter);
              return search(filter, opts);
            };
            const decoded = leap.searchDecoded.bind(leap);
            leap.searchDecoded = (kind, filter, decode, opts) => {
              if (kind === 'enrollment') searches.push(filter);
              return decoded(kind, filter, decode, opts);
            };
            const { result, events } = await p.pass();
            assert.equal(result.pages, 3, '120 meters, 50 a page: three details pages and nothing else counted as a page');
            assert.equal(searches.length, 3, 'one enrollment search a details page');
            const named = searches.flatMap((f) => f.meter_ids ?? []);
            assert.ok(searches.every((f) => f.last_modified_date_time === undefined && f.meter_ids!.length <= 50));
            assert.deepEqual([...new Set(named)].sort(), p.sim.simulator.meterIds({}).sort(), 'every meter, once');
            assert.equal(events.filter((e) => e.type === 'meter.created').length, 120);
            assert.deepEqual(await p.composed.stores.meters.incomplete(10), [], 'every meter read whole');
            // The cursors are the newest time of each part, as walking each stream would have left them.
            const newest = async (part: string) => {
              const rows = (await p.db.knex('meter_raw_parts').select('json').where({ part })) as { json: string }[];
              return rows.map((r) => canonicalInstant((JSON.parse(String(r.json)) as { audit: { updated_at: string } }).audit.updated_at)!).sort().at(-1);
            };
            assert.equal(result.cursors['v2:details'], await newest('details'));
            assert.equal(result.cursors['v2:enrollments'], await newest('enrollment'));
            assert.deepEqual(await p.composed.stores.state.all().then((all) => all.filter((st) => st.runId !== null)), [], 'no position left behind');

            // A full reconcile walks the same way and finds nothing new.
            searches.length = 0;
            const full = await p.pass({ kind: 'full' });
            assert.equal(full.events.length, 0);
            assert.equal(searches.length, 3);
            assert.deepEqual(full.result.cursors, result.cursors);

            // With cursors stored, an incremental pass searches each stream by time, not by meter.
            p.sim.simulator.activate(p.sim.simulator.meterIds({ status: 'ELIGIBLE', limit: 1 })[0]!);
            searches.length = 0;
            const next = await p.pass();
            assert.ok(searches.length >= 1 && searches.every((f) => f.meter_ids === undefined && typeof f.last_modified_date_time === 'string'), JSON.stringify(searches));
            assert.ok(next.events.some((e) => e.type === 'meter.enrollment.activated'), explain(next.events));
          } finally {
            await p.close();
          }
        });

      if (apiVersion === 'v2')
        it('an enrollment search that ignores meter_ids is not paged through: its meters are completed one by one, and the sync ends as usual', async () => {
          const p = await syncHarness(engine, { apiVersion, meters: 60, seed: 12, pageSize: 20 });
          try {
            const leap = p.composed.leap;
            const search = leap.searchDecoded.bind(leap);
            const pagesPerSearch: number[] = [];
            // As a Leap that drops the filter would answer: every enrollment, page after page (three of them).
            leap.searchDecoded = (kind, filter, decode, opts) => {
              if (kind !== 'enrollment') return search(kind, filter, decode, opts);
              const at = pagesPerSearch.push(0) - 1;
              const pages = search(kind, {}, decode, opts);
              return (async function* () {
                for await (const page of pages) {
                  pagesPerSearch[at]! += 1;
                  yield page;
                }
              })();
            };
            const { result, events } = await p.pass();
            assert.equal(pagesPerSearch.length, 3, 'one search a details page');
            assert.ok(
              pagesPerSearch.every((n) => n <= 2),
              `each stopped at the first page holding meters it did not ask for, not walked to its end: ${pagesPerSearch.join(' ')}`,
            );
            assert.equal(events.filter((e) => e.type === 'meter.created').length, 60);
            assert.deepEqual(await p.composed.stores.meters.incomplete(10), [], 'every meter read whole');
            assert.ok(result.cursors['v2:enrollments']);
          } finally {
            await p.close();
          }
        });

      if (apiVersion === 'v2')
        it('a meter whose enrollment never came in a search is completed with a GET, then announced once', async () => {
          const [x] = (await h.db.knex('meters').select('meter_id').where({ source: 'v2', is_archived: 0 }).whereNull('missing_since').orderBy('meter_id').limit(1)) as { meter_id: string }[];
          const id = x!.meter_id;
          // As if only its details had been read: no enrollment part, no events yet.
          await h.db.knex('meter_raw_parts').where({ part: 'enrollment' }).whereIn('meter_ref', h.db.knex('meters').select('id').where({ meter_id: id })).del();
          await h.db.knex('meter_events').where({ meter_id: id }).del();
          await h.db.knex('meters').where({ meter_id: id }).update({ enrollment_hash: null, sequence: 0 });
          assert.deepEqual(await h.composed.stores.meters.incomplete(10), [{ meterId: id, missing: 'enrollment' }]);
          const { events } = await h.pass();
          const mine = ofMeter(events, id);
          assert.equal(mine[0]?.type, 'meter.created', explain(mine));
          assert.deepEqual(
            mine.map((e) => e.sequence),
            mine.map((_, i) => i + 1),
          );
          assert.ok(mine[0]!.meter.enrollment !== null, 'announced with its enrollment');
          assert.deepEqual(await h.composed.stores.meters.incomplete(10), []);
          const again = await h.pass();
          assert.deepEqual(ofMeter(again.events, id), [], 'nothing more once complete');
        });

      it('a full reconcile archives meters Leap no longer returns, once, without moving cursors back', async () => {
        const now = toDbTime(new Date(Date.now() - 60_000));
        const ghost = '00000000-0000-4000-8000-00000000dead';
        const raw = apiVersion === 'v1' ? { details: { meter_id: ghost, enrollment: { status: 'Active' } } } : { details: { meter_id: ghost, audit: {}, customer: {} }, enrollment: { meter_id: ghost, audit: {}, global_enrollment_status: 'ACTIVE', program_enrollment: [], required_actions: {} } };
        await h.db.knex('meters').insert({ meter_id: ghost, source: apiVersion, content_hash: 'x', sequence: 4, is_archived: 0, partner_action_required: 0, first_seen_at: now, last_seen_at: now, last_changed_at: now });
        const { id: ref } = (await h.db.knex('meters').select('id').where({ meter_id: ghost }).first()) as { id: number };
        await h.db.knex('meter_raw_parts').insert(Object.entries(raw).map(([part, json]) => ({ meter_ref: ref, part, json: JSON.stringify(json) })));
        const cursors = await h.composed.stores.state.all();
        const { result, events } = await h.pass({ kind: 'full' });
        assert.deepEqual(
          events.map((e) => [e.meter_id, e.type, e.sequence, e.origin]),
          [[ghost, 'meter.archived', 5, 'reconcile']],
        );
        assert.equal(result.archived, 1);
        const row = (await h.db.knex('meters').where({ meter_id: ghost }).first()) as Record<string, unknown>;
        assert.ok(row.missing_since);
        for (const s of await h.composed.stores.state.all()) {
          const prior = cursors.find((c) => c.name === s.name)?.cursor;
          if (prior) assert.ok(s.cursor! >= prior, `${s.name} moved back`);
        }
        const again = await h.pass({ kind: 'full' });
        assert.equal(again.events.length, 0, 'a meter already archived is not archived again');
        // Every meter Leap returns is counted once, though v2 reads each in two searches.
        assert.equal(again.result.metersSeen, h.sim.simulator.meterCount());
        assert.equal((await h.composed.stores.runs.get(again.result.runId!))?.metersSeen, h.sim.simulator.meterCount());
      });

      it('refuses to run while another process holds the sync lease, and takes over an expired one', async () => {
        assert.ok(await h.composed.stores.leases.acquire('sync', 'other-process', 60_000, new Date()));
        await assert.rejects(h.pass(), (err: unknown) => err instanceof SyncBusyError && /other-process/.test(err.message));
        await h.db.knex('leases').where({ name: 'sync' }).update({ expires_at: toDbTime(new Date(Date.now() - 1000)) });
        const { result } = await h.pass();
        assert.ok(result.runId);
        assert.equal(await h.composed.stores.leases.get('sync'), undefined, 'released after the run');
      });
    });
  }
}
