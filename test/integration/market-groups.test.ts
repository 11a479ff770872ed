import assert from 'node:assert/strict';
import request from 'supertest';
import type { MarketGroupSummary, Roster } from '../../src/services/market-groups/roster-service';
import { testEngines } from '../helpers/db';
import { ApiContract } from '../helpers/api-contract';
import { syncHarness, type SyncHarness } from '../helpers/sync-harness';

const PARTNER = 'partner-key-0123456789abcdef';
const KEYS_YAML = ['api:', '  keys:', `    - { name: crm, key: ${PARTNER}, scopes: [partner] }`, ''].join('\n');
const bearer = { Authorization: `Bearer ${PARTNER}` };
const FAKE_ID = '00000000-0000-4000-8000-00000000beef';

for (const engine of testEngines()) {
  for (const apiVersion of ['v2', 'v1'] as const) {
    describe(`market group rosters (${engine}, Leap ${apiVersion})`, function () {
      this.timeout(60_000);
      let h: SyncHarness;
      let groups: MarketGroupSummary[];
      let group: MarketGroupSummary;
      // Every answer below is checked against the API description once the suite ends.
      const contract = new ApiContract();
      let api: ReturnType<ApiContract['wrap']>;
      before(async () => {
        h = await syncHarness(engine, { apiVersion, meters: 120, yaml: KEYS_YAML });
        api = contract.wrap(h.composed.app);
        await h.pass();
        groups = (await request(api).get('/api/v1/market-groups').set(bearer).expect(200)).body.market_groups;
        // The group with the most members that has an upcoming trade date.
        group = groups.filter((g) => g.next_trade_date).sort((a, b) => b.members - a.members)[0]!;
        assert.ok(group && group.members >= 2, 'a group with members');
      });
      after(() => h.close());
      after(() => contract.verify());

      const roster = async (id: string, query = ''): Promise<Roster> => (await request(api).get(`/api/v1/market-groups/${id}/roster${query}`).set(bearer).expect(200)).body;

      it('lists every group Leap assigned, with its dates or delivery periods and member counts', async () => {
        const stored = (await h.db.knex('meter_group_assignments as a').join('meters as m', 'm.id', 'a.meter_ref').where('m.is_archived', false).distinct('a.market_group_id')) as { market_group_id: string }[];
        assert.deepEqual(groups.map((g) => g.market_group_id).sort(), stored.map((s) => s.market_group_id).sort());
        for (const g of groups) {
          if (apiVersion === 'v1') {
            assert.ok(g.trade_dates.length > 0, g.market_group_id);
            assert.deepEqual(g.delivery_periods, []);
          } else {
            assert.deepEqual(g.trade_dates, [], 'v2 assigns by delivery period');
            assert.ok(g.delivery_periods.every((p) => p.first_trade_date && p.starts_at));
          }
          // Archived meters are no one's members.
          const members = (await h.db.knex('meter_group_assignments as a').join('meters as m', 'm.id', 'a.meter_ref').where('m.is_archived', false).where('a.market_group_id', g.market_group_id).countDistinct({ n: 'a.meter_ref' })) as { n: number }[];
          assert.equal(g.members, Number(members[0]!.n));
        }
      });

      it("a roster by default is the next trade date's, each member with its readiness; at_risk are the ones not ready", async () => {
        const r = await roster(group.market_group_id);
        assert.equal(r.trade_date, group.next_trade_date);
        assert.deepEqual(r.date_basis, [apiVersion === 'v1' ? 'trade_date' : 'delivery_period']);
        assert.equal(r.notice, null);
        assert.ok(r.member_count >= 1);
        // Each member is in the group on that date by its stored assignments.
        for (const m of r.members) {
          const meter = (await request(api).get(`/api/v1/meters/${m.meter_id}`).set(bearer).expect(200)).body;
          assert.ok(meter.meter.group_assignments.some((g: { market_group_id: string }) => g.market_group_id === group.market_group_id));
          assert.equal(m.readiness_state, meter.readiness.state === 'not_required' && !meter.readiness.since ? 'not_required' : meter.readiness.state);
        }
        assert.deepEqual(
          r.at_risk.map((m) => m.meter_id),
          r.members.filter((m) => m.readiness_state !== 'ready').map((m) => m.meter_id),
        );
        const awaiting = r.members.find((m) => m.readiness_state === 'awaiting');
        if (awaiting) {
          await request(api).put(`/api/v1/meters/${awaiting.meter_id}/readiness`).set(bearer).send({ status: 'ready' }).expect(200);
          const after = await roster(group.market_group_id);
          assert.equal(after.at_risk_count, r.at_risk_count - 1);
          assert.ok(!after.at_risk.some((m) => m.meter_id === awaiting.meter_id));
        }
        // A date the group has no members on is an empty roster, not an error.
        const empty = await roster(group.market_group_id, '?trade_date=2001-01-01');
        assert.equal(empty.member_count, 0);
      });

      it("compares the partner's member list with Leap's, stores it, and says when a sync drifts from it", async () => {
        const r = await roster(group.market_group_id);
        const [dropped, ...kept] = r.members.map((m) => m.meter_id);
        const url = `/api/v1/market-groups/${group.market_group_id}/members?trade_date=${r.trade_date}`;
        const res = await request(api)
          .put(url)
          .set(bearer)
          .send({ meter_ids: [...kept, FAKE_ID] })
          .expect(200);
        assert.deepEqual(
          res.body.missing.map((m: { meter_id: string }) => m.meter_id),
          [dropped],
        );
        assert.deepEqual(res.body.extra, [FAKE_ID]);
        assert.equal(res.body.matched, kept.length);
        assert.equal(res.body.leap_count, r.member_count);
        assert.equal(res.body.checked_by, 'partner:crm');
        const stored = await request(api).get(url).set(bearer).expect(200);
        assert.deepEqual(stored.body, res.body);

        // By partner reference, the same comparison in the partner's own names.
        const references = r.members.map((m) => m.partner_reference).filter((x): x is string => x !== null);
        const byRef = await request(api)
          .put(url)
          .set(bearer)
          .send({ partner_references: references })
          .expect(200);
        assert.equal(byRef.body.basis, 'partner_references');
        assert.deepEqual(
          byRef.body.missing.map((m: { meter_id: string }) => m.meter_id),
          r.members.filter((m) => m.partner_reference === null).map((m) => m.meter_id),
        );
        assert.deepEqual(byRef.body.extra, []);

        // Leap moves a meter into the group from that date on: the next sync says the roster drifted.
        const outsider = (await h.db.knex('meters').select('meter_id', 'enrollment_status').whereNotIn('meter_id', r.members.map((m) => m.meter_id)).where('transmission_region', (await h.db.knex('meters').select('transmission_region').where('meter_id', r.members[0]!.meter_id).first()).transmission_region).where('enrollment_status', 'ACTIVE').first()) as { meter_id: string } | undefined;
        assert.ok(outsider, 'an active meter of the same region outside the group');
        h.sim.simulator.setMarketGroup(outsider.meter_id, group.market_group_id, { fromTradeDate: r.trade_date });
        await h.pass();
        const after = await roster(group.market_group_id, `?trade_date=${r.trade_date}`);
        assert.ok(after.members.some((m) => m.meter_id === outsider.meter_id), 'Leap assigns it now');
        const drifted = (await h.composed.stores.events.list({ meterId: outsider.meter_id }, 1000)).filter((e) => e.type === 'market_group.roster.drifted');
        assert.equal(drifted.length, 1);
        // The last check named meters by reference: several meters may share one.
        const inPartnerRoster = references.includes((await h.db.knex('meters').select('partner_reference').where('meter_id', outsider.meter_id).first()).partner_reference);
        assert.deepEqual(drifted[0]!.changes, [
          {
            path: 'roster',
            from: { market_group_id: group.market_group_id, trade_date: r.trade_date, member: false, in_partner_roster: inPartnerRoster },
            to: { market_group_id: group.market_group_id, trade_date: r.trade_date, member: true, in_partner_roster: inPartnerRoster },
          },
        ]);
        const check = (await request(api).get(url).set(bearer).expect(200)).body;
        assert.ok(check.drifted_at, 'the check says when it drifted');
        assert.equal(check.leap_count, after.member_count);
        // Another sync with no change to the group drifts nothing more.
        await h.pass();
        assert.equal((await h.composed.stores.events.list({ meterId: outsider.meter_id }, 1000)).filter((e) => e.type === 'market_group.roster.drifted').length, 1);
      });

      it('names what is wrong: an unknown group 404, a bad date or member list 400, no check yet 404', async () => {
        assert.equal((await request(api).get('/api/v1/market-groups/no-such-group/roster').set(bearer).expect(404)).body.code, 'not_found');
        const badDate = await request(api).get(`/api/v1/market-groups/${group.market_group_id}/roster?trade_date=2026-02-30`).set(bearer).expect(400);
        assert.equal(badDate.body.details[0].path, '/trade_date');
        const url = `/api/v1/market-groups/${group.market_group_id}/members?trade_date=2001-01-02`;
        await request(api).get(url).set(bearer).expect(404);
        const both = await request(api).put(url).set(bearer).send({ meter_ids: [], partner_references: [] }).expect(400);
        assert.equal(both.body.code, 'validation_failed');
        const badId = await request(api).put(url).set(bearer).send({ meter_ids: ['nope'] }).expect(400);
        assert.equal(badId.body.details[0].path, '/meter_ids/0');
        await request(api).put(url).set(bearer).set('Content-Type', 'text/plain').send('x').expect(415);
      });
    });
  }
}
