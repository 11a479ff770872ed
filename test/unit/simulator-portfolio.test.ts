import assert from 'node:assert/strict';
import { Simulator, type MeterViews } from '../../src/simulator';

type Json = Record<string, unknown>;

const START = new Date('2026-03-10T15:00:00Z');
const UTILITIES: Record<string, string[]> = {
  CAISO: ['PGE', 'SCE', 'SDGE'],
  NYISO: ['CECONY', 'NATGRID'],
  ISONE: ['EVERSOURCE', 'NATGRID'],
  ERCOT: ['ONCOR', 'CENTERPOINT'],
  PJM: ['COMED', 'PECO', 'BGE'],
  SERC: ['TVA'],
  WECC_SW: ['SRP'],
  WECC_PC: ['PSE'],
};
const STATES: Record<string, string[]> = {
  CAISO: ['CA'],
  NYISO: ['NY'],
  ISONE: ['MA', 'CT', 'NH'],
  ERCOT: ['TX'],
  PJM: ['IL', 'PA', 'MD'],
  SERC: ['TN', 'AL'],
  WECC_SW: ['AZ'],
  WECC_PC: ['WA'],
};
const V1_STATUS: Record<string, string> = { PENDING: 'Pending', ELIGIBLE: 'Eligible', ACTIVE: 'Active', INELIGIBLE: 'Ineligible', NOT_PARTICIPATING: 'Not Participating' };

function views(sim: Simulator): MeterViews[] {
  return sim.meterIds().map((id) => sim.meter(id));
}

const fraction = (s: string): number => /\.(\d+)Z$/.exec(s)?.[1].length ?? 0;

describe('simulator portfolio', () => {
  const sim = new Simulator({ meters: 300, seed: 1234, apiKey: 'k', start: START });
  const all = views(sim);
  const details = all.map((v) => v.details);
  const enrollments = all.map((v) => v.enrollment);

  it('is the same for the same seed and different for another seed', () => {
    const again = views(new Simulator({ meters: 300, seed: 1234, apiKey: 'k', start: START }));
    assert.deepEqual(again, all);
    const other = views(new Simulator({ meters: 300, seed: 1235, apiKey: 'k', start: START }));
    assert.notDeepEqual(other.map((v) => v.details.meter_id), details.map((d) => d.meter_id));
  });

  it('has every status, meter type and region, each utility in its region and every address in its states', () => {
    const statuses = new Set(enrollments.map((e) => e.global_enrollment_status));
    assert.deepEqual([...statuses].sort(), ['ACTIVE', 'ELIGIBLE', 'INELIGIBLE', 'NOT_PARTICIPATING', 'PENDING']);
    assert.deepEqual([...new Set(details.map((d) => d.meter_type))].sort(), ['DEVICE', 'SUBMETER', 'UTILITY_METER']);
    assert.deepEqual([...new Set(details.map((d) => d.transmission_region))].sort(), Object.keys(UTILITIES).sort());
    for (const d of details) {
      const region = String(d.transmission_region);
      const utility = d.utility as Json;
      const customer = d.customer as Json;
      assert.ok(UTILITIES[region].includes(String(utility.utility_name)), `${String(utility.utility_name)} in ${region}`);
      assert.ok(STATES[region].includes(String(customer.state_or_province_code)), `${String(customer.state_or_province_code)} in ${region}`);
      assert.match(String(customer.postal_code), /^[0-9]{5}(?:-[0-9]{4})?$/);
      assert.equal(customer.country_code, 'US');
      assert.match(String(customer.end_customer_email), /^[a-z]+\.[a-z]+\d*@example\.(com|org|net)$/);
      // Market blocks only where they belong.
      assert.equal(d.caiso !== undefined, region === 'CAISO');
      assert.equal(d.nyiso !== undefined, region === 'NYISO');
      assert.equal(d.isone !== undefined, region === 'ISONE');
    }
  });

  it('archives about 2% of a larger portfolio', () => {
    const big = new Simulator({ meters: 5000, seed: 99, apiKey: 'k', start: START });
    const archived = big.state().meters.archived;
    assert.ok(archived >= 50 && archived <= 150, `${archived} archived of 5000`);
  });

  it('meters authorized together share a partner reference, utility and a creation time seconds apart', () => {
    const byRef = new Map<string, Json[]>();
    for (const d of details) if (typeof d.partner_reference === 'string') byRef.set(d.partner_reference, [...(byRef.get(d.partner_reference) ?? []), d]);
    const shared = [...byRef.values()].filter((g) => g.length > 1);
    assert.ok(shared.length >= 10, `${shared.length} shared references`);
    for (const group of shared) {
      assert.equal(new Set(group.map((d) => (d.utility as Json).utility_name)).size, 1);
      const created = group.map((d) => Date.parse(String((d.audit as Json).created_at)));
      assert.ok(Math.max(...created) - Math.min(...created) < 20_000);
    }
    assert.ok(details.some((d) => d.partner_reference === undefined), 'a meter without partner reference');
  });

  it('creation order is time order; every update is after creation and before the start', () => {
    let previous = '';
    for (const d of details) {
      const audit = d.audit as Json;
      const created = String(audit.created_at);
      const canonical = new Date(created).toISOString();
      assert.ok(canonical >= previous, `${created} after ${previous}`);
      previous = canonical;
      assert.ok(Date.parse(String(audit.updated_at)) >= Date.parse(created));
      assert.ok(Date.parse(String(audit.updated_at)) < START.getTime());
    }
  });

  it('timestamps vary over 0, 3, 6 and 9 fractional digits; open periods use far-future sentinels', () => {
    const digits = new Set(details.flatMap((d) => [fraction(String((d.audit as Json).updated_at)), fraction(String((d.audit as Json).created_at))]));
    assert.deepEqual([...digits].sort(), [0, 3, 6, 9]);
    const ends = new Set(enrollments.flatMap((e) => (e.participation_preferences as Json[]).map((p) => p.end_time)));
    assert.ok(ends.has('9000-12-31T23:59:59.999999999Z'));
    assert.ok(ends.has('9000-01-01T00:00:00Z'));
  });

  it('site devices use the old or the new battery field spellings, never both', () => {
    const batteries = details.flatMap((d) => (((d.site as Json).site_devices as Json[]) ?? []).filter((x) => x.device_type === 'BATTERY'));
    const old = batteries.filter((b) => 'max_energy_production_rate_kw' in b && 'pv_connected' in b);
    const renamed = batteries.filter((b) => 'battery_max_discharge_rate_kw' in b && 'is_connected_to_solar' in b);
    assert.ok(old.length > 5 && renamed.length > 5);
    assert.equal(old.length + renamed.length, batteries.length);
    for (const b of batteries) assert.ok(!('pv_connected' in b && 'is_connected_to_solar' in b));
  });

  it('required actions carry Leap codes and descriptions; groups are named like Leap market groups', () => {
    const partner = enrollments.flatMap((e) => ((e.required_actions as Json).partner as Json[]) ?? []);
    const leap = enrollments.flatMap((e) => ((e.required_actions as Json).leap as Json[]) ?? []);
    const codes = new Set(partner.map((a) => a.action_code));
    for (const c of ['AUTH_0001', 'SERV_0005', 'MRKT_0002']) assert.ok(codes.has(c), c);
    assert.ok(leap.some((a) => a.action_code === 'LEAP_0001'));
    for (const a of partner) {
      if (a.action_code === 'AUTH_0001') assert.equal(a.action_description, 'End customer must re-authorize meter. Learn more in our partner guide');
      if (a.action_code === 'SERV_0005') assert.match(String(a.action_description), /^Partner needs configuration for fields: .+\.$/);
    }
    const groups = enrollments.flatMap((e) => (e.program_enrollment as Json[]).filter((p) => p.market_group_name !== undefined));
    assert.ok(groups.length > 50);
    for (const g of groups) {
      assert.match(String(g.market_group_name), /^[A-Z0-9_]+[0-9]{2}$/);
      assert.equal(g.enrollment_status, 'ACTIVE');
    }
  });

  it('v1 is another view of the same meter', () => {
    for (const { details: d, enrollment: e, v1 } of all) {
      const utility = d.utility as Json;
      const customer = d.customer as Json;
      assert.equal(v1.meter_id, d.meter_id);
      assert.equal(v1.partner_reference, d.partner_reference ?? null);
      assert.equal(v1.utility, utility.utility_name);
      assert.equal(v1.service_point_number, utility.electric_service_account_number);
      assert.equal(v1.bill_customer_agreement_number, utility.bill_customer_account_number);
      assert.equal(v1.tariff, utility.tariff);
      assert.ok(String(v1.service_address_full).endsWith(`, ${String(customer.city).toUpperCase()}, ${String(customer.state_or_province_code)} ${String(customer.postal_code)}`));
      assert.equal(v1.date_added, (d.audit as Json).created_at);
      assert.equal(v1.date_last_modified, (d.audit as Json).updated_at);
      const enrollment = v1.enrollment as Json;
      const partner = (e.required_actions as Json).partner as Json[];
      assert.equal(enrollment.status, partner.length > 0 ? 'ActionRequired' : V1_STATUS[String(e.global_enrollment_status)]);
      if (partner.length > 0) assert.deepEqual((enrollment.status_reasons as Json[]).map((r) => r.code), partner.map((a) => a.action_code));
      const prefs = e.participation_preferences as Json[];
      const current = String(prefs[prefs.length - 1].participation_preference);
      assert.equal(enrollment.partner_preferred_action, current[0] + current.slice(1).toLowerCase());
      const participation = v1.participation as Json[];
      if (e.global_enrollment_status === 'ACTIVE') {
        assert.equal(participation.length, 3);
        const groupIds = new Set((e.program_enrollment as Json[]).map((p) => p.market_group_id).filter(Boolean));
        for (const p of participation) assert.ok(groupIds.has(p.market_group_id), 'the v1 group is one of the v2 program groups');
        assert.equal(enrollment.active_from !== null, true);
      } else {
        assert.deepEqual(participation, []);
        assert.equal(enrollment.active_from, null);
      }
    }
  });
});
