/**
 * Portfolio evolution over simulated time. An advance runs in steps of at most one hour; each step
 * gathers the scheduled transitions that fall due (evaluations, activations, actions clearing,
 * idle periods ending) and random events drawn at per-meter hourly rates, then applies them in
 * time order, each stamped at its own instant inside the step.
 */
import {
  ACTIVE,
  ELIGIBLE,
  INELIGIBLE,
  NOT_PARTICIPATING,
  PENDING,
  PREF_DISENROLL,
  PREF_IDLE,
  PREF_PARTICIPATE,
} from './catalog';
import type { DueQueue } from './due-queue';
import { zeroCounts, type ChangeCounts, type Mutator } from './mutations';
import { joinAuthorization, meterAttributes } from './portfolio';
import type { Rng } from './random';
import type { MeterStore } from './state';
import { HOUR_MS, localDay } from './time';

enum Kind {
  Due,
  Authorize,
  PartnerActionAddActive,
  PartnerActionAddEligible,
  PartnerActionClear,
  LeapActionAdd,
  LeapActionClear,
  GroupReassign,
  Idle,
  Disenroll,
  Resume,
  Edit,
  Archive,
}

interface Population {
  total: number;
  byStatus: number[];
  partnerActions: number;
  leapActions: number;
}

interface Pending {
  at: number;
  kind: Kind;
  meter: number;
  seq: number;
}

/**
 * Hourly rates per meter of the population each kind draws from. Chosen so a portfolio grows a few
 * percent a month and its status mix stays roughly steady over simulated months.
 */
const RATES = {
  authorizeBase: 0.05,
  authorizePerMeter: 0.00004,
  partnerActionAddActive: 0.0001,
  partnerActionAddEligible: 0.0005,
  partnerActionClear: 0.004,
  leapActionAdd: 0.0003,
  leapActionClear: 0.01,
  groupReassign: 0.0008,
  idle: 0.0002,
  disenroll: 0.0001,
  resume: 0.002,
  edit: 0.0008,
  archive: 0.00001,
};

export interface AdvanceSummary {
  hours: number;
  from: string;
  to: string;
  /** Changes of each kind made during the advance. */
  changes: ChangeCounts;
  /** Distinct meters whose `audit.updated_at` moved. */
  metersChanged: number;
  /** Leap webhook events emitted (before fan-out to subscriptions). */
  webhookEvents: number;
}

export class Evolver {
  private seq = 0;

  constructor(
    private readonly store: MeterStore,
    private readonly mutator: Mutator,
    private readonly due: DueQueue,
    private readonly rng: Rng,
    private readonly seed: number,
  ) {}

  /** Evolves from `fromMs` to `toMs`; the caller reports the summary. */
  run(fromMs: number, toMs: number): { changes: ChangeCounts; metersChanged: number } {
    const before = { ...this.mutator.counts };
    this.mutator.beginTracking();
    let population = this.population();
    let steps = 0;
    for (let t = fromMs; t < toMs; t += HOUR_MS) {
      // Recount every six simulated hours so long advances follow the portfolio as it changes.
      if (++steps % 6 === 0) population = this.population();
      this.step(t, Math.min(t + HOUR_MS, toMs), population);
    }
    const metersChanged = this.mutator.endTracking();
    const changes = zeroCounts();
    for (const k of Object.keys(changes) as (keyof ChangeCounts)[]) changes[k] = this.mutator.counts[k] - before[k];
    return { changes, metersChanged };
  }

  /** Live meters by status and with open actions at the start of an advance; rates scale with these. */
  private population(): Population {
    const byStatus = [0, 0, 0, 0, 0];
    let partnerActions = 0;
    let leapActions = 0;
    const s = this.store;
    for (let i = 0; i < s.count; i++) {
      if (s.isArchived(i)) continue;
      byStatus[s.status[i]]++;
      if (s.partnerActions[i] !== 0) partnerActions++;
      if (s.leapActions[i] !== 0) leapActions++;
    }
    return { total: s.count, byStatus, partnerActions, leapActions };
  }

  private step(t0: number, t1: number, pop: Population): void {
    const s = this.store;
    const rng = this.rng;
    const hours = (t1 - t0) / HOUR_MS;
    const events: Pending[] = [];
    const at = (): number => t0 + 1 + rng.int(Math.max(1, t1 - t0));
    const add = (kind: Kind, meter: number, when = at()): void => {
      events.push({ at: when, kind, meter, seq: this.seq++ });
    };

    const lastSec = Math.floor(t1 / 1000);
    while (this.due.peekTime() <= lastSec) {
      const time = this.due.peekTime();
      const i = this.due.pop();
      if (s.due[i] !== time) continue; // rescheduled since
      s.due[i] = 0;
      add(Kind.Due, i, Math.min(t1, Math.max(t0 + 1, time * 1000 + rng.int(1000))));
    }

    const draw = (kind: Kind, rate: number, population: number, eligible: (i: number) => boolean): void => {
      const n = rng.poisson(rate * population * hours);
      for (let k = 0; k < n; k++) {
        const i = this.sample(eligible);
        if (i >= 0) add(kind, i);
      }
    };
    const live = (i: number): boolean => !s.isArchived(i);
    const activeOrEligible = (i: number): boolean => live(i) && (s.status[i] === ACTIVE || s.status[i] === ELIGIBLE);
    const active = pop.byStatus[ACTIVE];
    const eligible = pop.byStatus[ELIGIBLE];

    const authorizations = rng.poisson((RATES.authorizeBase + RATES.authorizePerMeter * pop.total) * hours);
    for (let k = 0; k < authorizations; k++) add(Kind.Authorize, -1);
    draw(Kind.PartnerActionAddActive, RATES.partnerActionAddActive, active, (i) => live(i) && s.status[i] === ACTIVE && s.partnerActions[i] === 0);
    draw(Kind.PartnerActionAddEligible, RATES.partnerActionAddEligible, eligible, (i) => live(i) && s.status[i] === ELIGIBLE);
    draw(Kind.PartnerActionClear, RATES.partnerActionClear, pop.partnerActions, (i) => live(i) && s.partnerActions[i] !== 0);
    draw(Kind.LeapActionAdd, RATES.leapActionAdd, active + eligible, (i) => activeOrEligible(i) && s.leapActions[i] === 0);
    draw(Kind.LeapActionClear, RATES.leapActionClear, pop.leapActions, (i) => live(i) && s.leapActions[i] !== 0);
    draw(Kind.GroupReassign, RATES.groupReassign, active, (i) => live(i) && s.status[i] === ACTIVE);
    draw(Kind.Idle, RATES.idle, active + eligible, activeOrEligible);
    draw(Kind.Disenroll, RATES.disenroll, active + eligible, activeOrEligible);
    draw(Kind.Resume, RATES.resume, pop.byStatus[NOT_PARTICIPATING], (i) => live(i) && s.status[i] === NOT_PARTICIPATING && s.preference[i] === PREF_DISENROLL);
    draw(Kind.Edit, RATES.edit, pop.total, live);
    draw(Kind.Archive, RATES.archive, pop.total, live);

    events.sort((a, b) => a.at - b.at || a.seq - b.seq);
    for (const e of events) this.apply(e, t1);
    this.mutator.flushGroups();
  }

  /** A meter satisfying `ok`: a random start, then the next one that qualifies (bounded probe). */
  private sample(ok: (i: number) => boolean): number {
    const n = this.store.count;
    if (n === 0) return -1;
    const start = this.rng.int(n);
    const limit = Math.min(n, 4096);
    for (let k = 0; k < limit; k++) {
      const i = (start + k) % n;
      if (ok(i)) return i;
    }
    return -1;
  }

  private apply(e: Pending, limitMs: number): void {
    const s = this.store;
    const m = this.mutator;
    const rng = this.rng;
    const i = e.meter;
    if (i >= 0 && s.isArchived(i)) return;
    switch (e.kind) {
      case Kind.Due: {
        const status = s.status[i];
        if (status === PENDING) m.evaluate(i, e.at, limitMs);
        else if (status === ELIGIBLE) m.activate(i, e.at, limitMs);
        else if (status === INELIGIBLE && s.partnerActions[i] !== 0) m.clearPartnerActions(i, s.partnerActions[i], e.at, limitMs);
        else if (status === NOT_PARTICIPATING && s.preference[i] === PREF_IDLE) m.setPreference(i, PREF_PARTICIPATE, e.at, { limitMs });
        return;
      }
      case Kind.Authorize:
        this.authorize(e.at, limitMs);
        return;
      case Kind.PartnerActionAddActive:
        // An active meter is asked to re-authorize before the next period and stays active meanwhile.
        if (s.status[i] === ACTIVE) m.addPartnerActions(i, 1, e.at, limitMs, true);
        return;
      case Kind.PartnerActionAddEligible:
        if (s.status[i] === ELIGIBLE) m.addPartnerActions(i, [1, 2, 4][rng.int(3)], e.at, limitMs);
        return;
      case Kind.PartnerActionClear:
        if (s.partnerActions[i] !== 0) m.clearPartnerActions(i, s.partnerActions[i], e.at, limitMs);
        return;
      case Kind.LeapActionAdd:
        if (s.status[i] === ACTIVE || s.status[i] === ELIGIBLE) m.setLeapActions(i, s.leapActions[i] | 1, e.at, limitMs);
        return;
      case Kind.LeapActionClear:
        if (s.leapActions[i] !== 0) m.setLeapActions(i, 0, e.at, limitMs);
        return;
      case Kind.GroupReassign: {
        if (s.status[i] !== ACTIVE) return;
        const today = localDay(s.region[i], e.at);
        const fromDay = rng.chance(0.2) ? today : today + rng.range(1, 2);
        m.reassignGroup(i, m.otherGroup(i), fromDay, e.at, limitMs);
        return;
      }
      case Kind.Idle:
        if (s.status[i] === ACTIVE || s.status[i] === ELIGIBLE) m.setPreference(i, PREF_IDLE, e.at, { limitMs });
        return;
      case Kind.Disenroll:
        if (s.status[i] === ACTIVE || s.status[i] === ELIGIBLE) m.setPreference(i, PREF_DISENROLL, e.at, { limitMs });
        return;
      case Kind.Resume:
        if (s.status[i] === NOT_PARTICIPATING) m.setPreference(i, PREF_PARTICIPATE, e.at, { limitMs });
        return;
      case Kind.Edit: {
        const hasDevice = s.device[i] !== 0;
        const roll = rng.next();
        m.editDetails(i, roll < 0.4 ? { address: true } : roll < 0.7 || !hasDevice ? { tariff: true } : { device: true }, e.at, limitMs);
        return;
      }
      case Kind.Archive:
        m.archive(i, e.at, limitMs);
        return;
    }
  }

  /**
   * A customer authorizes one to four meters at once through Leap Connect: they share a partner
   * reference, utility and region. One in ten joins an earlier authorization's reference.
   */
  private authorize(atMs: number, limitMs: number): void {
    const s = this.store;
    const rng = this.rng;
    const size = [1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4][rng.int(11)];
    let leader = -1;
    if (s.count > 0 && rng.chance(0.1)) {
      const candidate = s.authGroup[rng.int(s.count)];
      if (s.hasReference(candidate) && !s.referenceOverride.has(candidate)) leader = candidate;
    }
    let at = atMs;
    for (let k = 0; k < size; k++) {
      const index = s.count;
      const attrs = meterAttributes(this.seed, index);
      const groupLeader = leader >= 0 ? leader : index - k;
      if (groupLeader !== index) joinAuthorization(attrs, s, groupLeader);
      const i = s.add(attrs, groupLeader, PENDING, { ms: at, sub: 0 }, 3);
      this.mutator.created(i, at, limitMs);
      at = Math.min(limitMs, at + rng.range(200, 4000));
    }
  }
}
