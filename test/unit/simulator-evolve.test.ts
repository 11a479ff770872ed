import assert from 'node:assert/strict';
import { Simulator, type LeapEnvelope } from '../../src/simulator';
import { parseInstant } from '../../src/simulator/time';

type Json = Record<string, unknown>;

const START = new Date('2026-05-04T10:00:00Z');

/** Exact ordering key of a Leap timestamp (nine fractional digits). */
function exact(value: unknown): string {
  const p = parseInstant(String(value));
  assert.ok(p, `not an instant: ${String(value)}`);
  return `${String(p.ms).padStart(15, '0')}.${String(p.sub).padStart(6, '0')}`;
}

function snapshot(sim: Simulator): Map<string, { updated: string; details: string; enrollment: string }> {
  const out = new Map<string, { updated: string; details: string; enrollment: string }>();
  for (const id of sim.meterIds()) {
    const m = sim.meter(id);
    out.set(id, { updated: String((m.details.audit as Json).updated_at), details: JSON.stringify(m.details), enrollment: JSON.stringify(m.enrollment) });
  }
  return out;
}

describe('simulator evolution', function () {
  this.timeout(30_000);

  it('is deterministic: same seed and same advances give the same portfolio, events and summaries', () => {
    const run = () => {
      const sim = new Simulator({ meters: 400, seed: 77, apiKey: 'k', start: START });
      const summaries = [sim.advance(5), sim.advance(0.5), sim.advance(30)];
      return { summaries, views: sim.meterIds().map((id) => sim.meter(id)), events: sim.events() };
    };
    const a = run();
    const b = run();
    assert.deepEqual(a.summaries, b.summaries);
    assert.deepEqual(a.views, b.views);
    assert.deepEqual(a.events, b.events);
    assert.ok(a.events.length > 10);
  });

  it('stamps every change strictly after the previous clock, within the window, and never changes a meter without stamping it', () => {
    const sim = new Simulator({ meters: 1500, seed: 5, apiKey: 'k', start: START });
    sim.advance(3);
    const before = snapshot(sim);
    const from = sim.now().getTime();
    const summary = sim.advance(12);
    const to = sim.now().getTime();
    assert.equal(to - from, 12 * 3_600_000);
    const after = snapshot(sim);
    let changed = 0;
    const stamps = new Set<string>();
    const digits = new Set<number>();
    for (const [id, now] of after) {
      const old = before.get(id);
      if (old && old.updated === now.updated) {
        assert.equal(now.details, old.details, `details of ${id} changed without updated_at`);
        assert.equal(now.enrollment, old.enrollment, `enrollment of ${id} changed without updated_at`);
        continue;
      }
      changed++;
      const t = Date.parse(now.updated);
      assert.ok(t > from && t <= to, `${now.updated} outside (${new Date(from).toISOString()}, ${new Date(to).toISOString()}]`);
      stamps.add(exact(now.updated));
      digits.add(/\.(\d+)Z$/.exec(now.updated)?.[1].length ?? 0);
    }
    assert.equal(summary.metersChanged, changed);
    assert.equal(stamps.size, changed, 'every stamp of the advance is distinct');
    assert.equal(summary.changes.metersCreated, after.size - before.size);
    assert.deepEqual([...digits].sort(), [0, 3, 6, 9]);
  });

  it('reports each kind of change and emits a webhook for every enrollment change, the last one matching the final state', () => {
    const sim = new Simulator({ meters: 3000, seed: 2024, apiKey: 'k', start: START });
    const events: LeapEnvelope[] = [];
    sim.onEvent((e) => events.push(e));
    const summary = sim.advance(96);
    assert.equal(summary.webhookEvents, events.length);
    for (const [kind, n] of Object.entries(summary.changes)) {
      if (['statusSet', 'referencesSet', 'unknownFieldsAdded'].includes(kind)) assert.equal(n, 0, kind);
      else assert.ok(n > 0, `${kind}: ${n}`);
    }
    const last = new Map<string, Json>();
    const lastActions = new Map<string, Json>();
    const lastPreference = new Map<string, Json>();
    let created = 0;
    for (const e of events) {
      const p = e.payload as Json;
      if (p.webhook_event_type === 'meter.created') created++;
      if (p.webhook_event_type === 'meter.enrollment.global-status.updated') last.set(String(p.meter_id), p);
      if (p.webhook_event_type === 'meter.enrollment.required-actions.updated') lastActions.set(String(p.meter_id), p);
      if (p.webhook_event_type === 'meter.enrollment.participation-status.updated') lastPreference.set(String(p.meter_id), p);
    }
    assert.equal(created, summary.changes.metersCreated);
    for (const [id, p] of last) assert.equal(p.global_enrollment_status, sim.meter(id).enrollment.global_enrollment_status);
    for (const [id, p] of lastActions) assert.deepEqual((p.required_actions as Json).partner, (sim.meter(id).enrollment.required_actions as Json).partner);
    for (const [id, p] of lastPreference) {
      const prefs = sim.meter(id).enrollment.participation_preferences as Json[];
      assert.equal(p.participation_preference, prefs[prefs.length - 1].participation_preference);
    }
    const groups = events.filter((e) => (e.payload as Json).webhook_event_type === 'meter.enrollment.group.updated');
    assert.ok(groups.length > 0);
    for (const g of groups) {
      const p = g.payload as Json;
      assert.ok((p.meter_ids as string[]).length > 0);
      assert.ok(Date.parse(String(p.end_date_time)) > Date.parse(String(p.start_date_time)));
    }
  });

  it('moves meters through Leap statuses: PENDING is evaluated, ELIGIBLE activates with a market group', () => {
    const sim = new Simulator({ meters: 600, seed: 31, apiKey: 'k', start: START });
    const pending = sim.meterIds({ status: 'PENDING', includeArchived: false });
    const eligible = sim.meterIds({ status: 'ELIGIBLE', includeArchived: false });
    sim.advance(24 * 11);
    const stillPending = pending.filter((id) => sim.meter(id).enrollment.global_enrollment_status === 'PENDING');
    assert.ok(stillPending.length < pending.length / 4, `${stillPending.length} of ${pending.length} still pending`);
    const activated = eligible.filter((id) => sim.meter(id).enrollment.global_enrollment_status === 'ACTIVE');
    assert.ok(activated.length > eligible.length / 2);
    for (const id of activated) assert.ok(sim.groupOn(id), `${id} has a market group`);
  });

  it('samples every n-th meter id of a filter without listing the rest', () => {
    const sim = new Simulator({ meters: 250, seed: 2, apiKey: 'k', start: START });
    const all = sim.meterIds();
    assert.deepEqual(
      sim.meterIds({ every: 100 }),
      all.filter((_, i) => i % 100 === 0),
    );
    const active = sim.meterIds({ status: 'ACTIVE' });
    assert.deepEqual(sim.meterIds({ status: 'ACTIVE', every: 7, limit: 3 }), active.filter((_, i) => i % 7 === 0).slice(0, 3));
  });

  it('rejects advances that are not a positive number of hours up to a year, and moves the clock by fractions', () => {
    const sim = new Simulator({ meters: 10, seed: 1, apiKey: 'k', start: START });
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 9000]) assert.throws(() => sim.advance(bad), RangeError);
    sim.advance(0.25);
    assert.equal(sim.now().toISOString(), '2026-05-04T10:15:00.000Z');
  });
});
