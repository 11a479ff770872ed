import assert from 'node:assert/strict';
import { Simulator, type LeapEnvelope } from '../../src/simulator';
import { parseInstant } from '../../src/simulator/time';

type Json = Record<string, unknown>;

const START = new Date('2026-03-10T15:00:00Z');

describe('simulator scenario helpers', () => {
  let sim: Simulator;
  let events: LeapEnvelope[];
  let lastStamp: { ms: number; sub: number };

  const payloads = (type?: string): Json[] => events.map((e) => e.payload as Json).filter((p) => type === undefined || p.webhook_event_type === type);
  const updatedAt = (id: string): string => String((sim.meter(id).enrollment.audit as Json).updated_at);
  /** The helper stamped the meter at the simulated now, later than any earlier stamp. */
  const assertStamped = (id: string): void => {
    const stamp = parseInstant(updatedAt(id));
    assert.ok(stamp);
    assert.ok(stamp.ms >= sim.now().getTime() && stamp.ms < sim.now().getTime() + 1000, `${updatedAt(id)} is the simulated now`);
    assert.ok(stamp.ms > lastStamp.ms || (stamp.ms === lastStamp.ms && stamp.sub > lastStamp.sub), 'strictly after the previous stamp');
    lastStamp = stamp;
  };

  beforeEach(() => {
    sim = new Simulator({ meters: 200, seed: 8, apiKey: 'k', start: START });
    events = [];
    sim.onEvent((e) => events.push(e));
    lastStamp = { ms: 0, sub: 0 };
  });

  it('authorize: new PENDING meters sharing a partner reference, one meter.created each', () => {
    const ids = sim.authorize({ count: 3, partnerReference: 'customer-site-123', region: 'CAISO' });
    assert.equal(ids.length, 3);
    for (const id of ids) {
      const { details, enrollment } = sim.meter(id);
      assert.equal(details.partner_reference, 'customer-site-123');
      assert.equal(details.transmission_region, 'CAISO');
      assert.equal(enrollment.global_enrollment_status, 'PENDING');
      assertStamped(id);
    }
    assert.deepEqual(payloads('meter.created').map((p) => p.meter_id), ids);
    assert.ok(payloads('meter.created').every((p) => p.partner_reference === 'customer-site-123'));

    // A later authorization for the same customer joins its reference and utility.
    const existing = sim.meterIds({ status: 'ACTIVE' })[0];
    const ref = String(sim.meter(existing).details.partner_reference);
    const [joined] = sim.authorize({ partnerReference: ref });
    assert.equal(sim.meter(joined).details.partner_reference, ref);
    assert.deepEqual((sim.meter(joined).details.utility as Json).utility_name, (sim.meter(existing).details.utility as Json).utility_name);
    assert.equal(sim.meterCount(), 204);
  });

  it('activate: ACTIVE in a market group of its utility, global-status and group events', () => {
    const [id] = sim.meterIds({ status: 'ELIGIBLE' });
    const group = sim.marketGroupsFor(id)[1];
    sim.activate(id, group.name);
    const { enrollment, v1 } = sim.meter(id);
    assert.equal(enrollment.global_enrollment_status, 'ACTIVE');
    assert.deepEqual(sim.groupOn(id), group);
    assert.ok((enrollment.program_enrollment as Json[]).some((p) => p.market_group_id === group.id && p.enrollment_status === 'ACTIVE'));
    assert.equal((v1.enrollment as Json).status, 'Active');
    assert.deepEqual(
      (v1.participation as Json[]).map((p) => p.market_group_id),
      [group.id, group.id, group.id],
    );
    assert.deepEqual(payloads().map((p) => p.webhook_event_type), ['meter.enrollment.global-status.updated', 'meter.enrollment.group.updated']);
    assert.deepEqual(payloads('meter.enrollment.group.updated')[0].meter_ids, [id]);
    assertStamped(id);
    assert.throws(() => sim.activate(id, 'NO_SUCH_GROUP'), RangeError);
  });

  it('partner actions appear (ELIGIBLE → INELIGIBLE, v1 ActionRequired) and clear with a last empty event', () => {
    const [id] = sim.meterIds({ status: 'ELIGIBLE' });
    sim.addPartnerAction(id, 'AUTH_0001');
    sim.addPartnerAction(id, 'MRKT_0002');
    let { enrollment, v1 } = sim.meter(id);
    assert.equal(enrollment.global_enrollment_status, 'INELIGIBLE');
    assert.deepEqual(((enrollment.required_actions as Json).partner as Json[]).map((a) => a.action_code), ['AUTH_0001', 'MRKT_0002']);
    assert.equal((v1.enrollment as Json).status, 'ActionRequired');
    assert.deepEqual((v1.enrollment as Json).status_reasons, [
      { code: 'AUTH_0001', comment: 'End customer must re-authorize meter. Learn more in our partner guide' },
      { code: 'MRKT_0002', comment: 'Meter is enrolled in a conflicting program' },
    ]);
    assertStamped(id);
    sim.clearPartnerActions(id, 'AUTH_0001');
    assert.equal(sim.meter(id).enrollment.global_enrollment_status, 'INELIGIBLE');
    sim.clearPartnerActions(id);
    ({ enrollment, v1 } = sim.meter(id));
    assert.equal(enrollment.global_enrollment_status, 'ELIGIBLE');
    assert.equal((v1.enrollment as Json).status, 'Eligible');
    assertStamped(id);
    const actionEvents = payloads('meter.enrollment.required-actions.updated');
    assert.deepEqual(
      actionEvents.map((p) => ((p.required_actions as Json).partner as Json[]).length),
      [1, 2, 1, 0],
    );
    assert.deepEqual(
      payloads('meter.enrollment.global-status.updated').map((p) => p.global_enrollment_status),
      ['INELIGIBLE', 'ELIGIBLE'],
    );
    // An ACTIVE meter keeps its status when asked to re-authorize.
    const [active] = sim.meterIds({ status: 'ACTIVE' });
    sim.addPartnerAction(active, 'AUTH_0001', { keepStatus: true });
    assert.equal(sim.meter(active).enrollment.global_enrollment_status, 'ACTIVE');
  });

  it('market group changes for today and for upcoming trade dates only', () => {
    const [id] = sim.meterIds({ status: 'ACTIVE' });
    const current = sim.groupOn(id);
    assert.ok(current);
    const groups = sim.marketGroupsFor(id).filter((g) => g.id !== current.id);
    sim.setMarketGroup(id, groups[0].id);
    const today = (sim.meter(id).v1.participation as Json[]).map((p) => p.market_group_id);
    assert.deepEqual(today, [groups[0].id, groups[0].id, groups[0].id]);
    assertStamped(id);

    const dates = (sim.meter(id).v1.participation as Json[]).map((p) => String(p.trade_date));
    sim.setMarketGroup(id, groups[groups.length - 1].id, { fromTradeDate: dates[2] });
    const later = (sim.meter(id).v1.participation as Json[]).map((p) => p.market_group_id);
    assert.deepEqual(later, [groups[0].id, groups[0].id, groups[groups.length - 1].id]);
    assert.deepEqual(sim.groupOn(id, dates[2]), groups[groups.length - 1]);
    const groupEvents = payloads('meter.enrollment.group.updated');
    assert.equal(groupEvents.length, 2);
    assert.equal(groupEvents[1].market_group_id, groups[groups.length - 1].id);
    assert.ok(String(groupEvents[1].start_date_time).startsWith(dates[2]));
    assertStamped(id);
  });

  it('IDLE and DISENROLL make the meter NOT_PARTICIPATING; PARTICIPATE resumes it', () => {
    const [id] = sim.meterIds({ status: 'ACTIVE' });
    const end = new Date('2026-04-01T07:00:00Z');
    sim.setParticipation(id, 'IDLE', { end });
    let { enrollment, v1 } = sim.meter(id);
    assert.equal(enrollment.global_enrollment_status, 'NOT_PARTICIPATING');
    const prefs = enrollment.participation_preferences as Json[];
    assert.deepEqual(prefs[prefs.length - 1].participation_preference, 'IDLE');
    assert.equal(prefs[prefs.length - 1].end_time, '2026-04-01T07:00:00Z');
    assert.equal((v1.enrollment as Json).partner_preferred_action, 'Idle');
    assert.deepEqual(v1.participation, []);
    assertStamped(id);
    sim.setParticipation(id, 'DISENROLL');
    assert.equal((sim.meter(id).v1.enrollment as Json).partner_preferred_action, 'Disenroll');
    sim.setParticipation(id, 'PARTICIPATE');
    ({ enrollment, v1 } = sim.meter(id));
    assert.equal(enrollment.global_enrollment_status, 'ACTIVE');
    assert.equal((v1.enrollment as Json).partner_preferred_action, 'Participate');
    const participation = payloads('meter.enrollment.participation-status.updated');
    assert.deepEqual(participation.map((p) => p.participation_preference), ['IDLE', 'DISENROLL', 'PARTICIPATE']);
    assert.equal(participation[0].end_time, '2026-04-01T07:00:00Z');
    assert.equal(participation[1].end_time, undefined);
    assert.deepEqual(payloads('meter.enrollment.global-status.updated').map((p) => p.global_enrollment_status), ['NOT_PARTICIPATING', 'ACTIVE']);
    assert.throws(() => sim.setParticipation(id, 'IDLE', { end: new Date('2020-01-01T00:00:00Z') }), RangeError);
  });

  it('detail edits, archiving, a hand-set reference and an unknown field change the meter with no Leap webhook', () => {
    const [id] = sim.meterIds({ status: 'ACTIVE' });
    const before = sim.meter(id).details;
    sim.editDetails(id, { address: true });
    assert.notDeepEqual(sim.meter(id).details.customer, before.customer);
    assertStamped(id);
    const tariffBefore = (sim.meter(id).details.utility as Json).tariff;
    sim.editDetails(id, { tariff: true });
    assert.notEqual((sim.meter(id).details.utility as Json).tariff, tariffBefore);
    assertStamped(id);
    sim.archive(id);
    assert.equal(sim.meter(id).details.is_archived, true);
    assert.equal(sim.meter(id).v1.is_archived, true);
    assertStamped(id);
    sim.setPartnerReference(id, 'crm-account-77');
    assert.equal(sim.meter(id).enrollment.partner_reference, 'crm-account-77');
    assertStamped(id);
    sim.addUnknownField(id, 'flex_capacity_tier', 'GOLD', ['details']);
    assert.equal(sim.meter(id).details.flex_capacity_tier, 'GOLD');
    assert.equal(sim.meter(id).enrollment.flex_capacity_tier, undefined);
    assertStamped(id);
    assert.equal(events.length, 0);
  });

  it('device edits change device fields; leap actions change without a webhook', () => {
    const withDevice = sim.meterIds().find((id) => sim.meter(id).details.device !== undefined && sim.meter(id).enrollment.global_enrollment_status === 'ACTIVE');
    assert.ok(withDevice);
    const before = JSON.stringify([sim.meter(withDevice).details.device, sim.meter(withDevice).details.site]);
    sim.editDetails(withDevice, { device: true });
    assert.notEqual(JSON.stringify([sim.meter(withDevice).details.device, sim.meter(withDevice).details.site]), before);
    sim.setLeapActions(withDevice, ['LEAP_0001']);
    assert.deepEqual(((sim.meter(withDevice).enrollment.required_actions as Json).leap as Json[]).map((a) => a.action_code), ['LEAP_0001']);
    sim.setLeapActions(withDevice, []);
    assert.deepEqual((sim.meter(withDevice).enrollment.required_actions as Json).leap, []);
    assert.equal(events.length, 0);
  });

  it('setStatus drives any status with its webhook; unknown meters and values are rejected', () => {
    const [id] = sim.meterIds({ status: 'PENDING' });
    sim.setStatus(id, 'INELIGIBLE');
    sim.setStatus(id, 'ELIGIBLE');
    sim.setStatus(id, 'ACTIVE');
    sim.setStatus(id, 'NOT_PARTICIPATING');
    assert.equal(sim.meter(id).enrollment.global_enrollment_status, 'NOT_PARTICIPATING');
    assert.deepEqual(payloads('meter.enrollment.global-status.updated').map((p) => p.global_enrollment_status), ['INELIGIBLE', 'ELIGIBLE', 'ACTIVE', 'NOT_PARTICIPATING']);
    assert.throws(() => sim.setStatus('5d1f3c2a-8b7e-4f6a-9c1d-2e3f4a5b6c7d', 'ACTIVE'), /unknown meter/);
    assert.throws(() => sim.setStatus(id, 'DONE' as never), RangeError);
    assert.throws(() => sim.addPartnerAction(id, 'XXXX_0001' as never), RangeError);
    assert.throws(() => sim.authorize({ count: 0 }), RangeError);
  });

  it('demo mode advances one simulated hour per period until closed', async () => {
    const demo = new Simulator({ meters: 20, seed: 2, apiKey: 'k', start: START, evolveEverySeconds: 0.02 });
    try {
      while (demo.now().getTime() < START.getTime() + 2 * 3_600_000) await new Promise((r) => setTimeout(r, 5));
      assert.equal((demo.now().getTime() - START.getTime()) % 3_600_000, 0);
      assert.ok(demo.state().advances.count >= 2);
    } finally {
      await demo.close();
    }
    const stopped = demo.now().getTime();
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(demo.now().getTime(), stopped);
  });
});
