/**
 * Every change to a meter goes through here, whether the evolution or a test helper makes it:
 * the change is applied, `audit.updated_at` moves to the time it happened, the next scheduled
 * transition is set, and Leap's matching webhook is emitted.
 */
import {
  ACTIVE,
  ELIGIBLE,
  INELIGIBLE,
  NOT_PARTICIPATING,
  PENDING,
  PREF_IDLE,
  PREF_PARTICIPATE,
} from './catalog';
import type { DueQueue } from './due-queue';
import type { MarketGroups } from './markets';
import type { Rng } from './random';
import type { EventPayloads, LeapEventPayload } from './render-events';
import { FLAG_ARCHIVED, type MeterStore, type Stamper } from './state';
import { DAY_MS, HOUR_MS, localDay } from './time';

/** Counts of each kind of change, cumulative; /_sim/advance reports the difference. */
export interface ChangeCounts {
  metersCreated: number;
  pendingToEligible: number;
  pendingToIneligible: number;
  activated: number;
  statusSet: number;
  partnerActionsAdded: number;
  partnerActionsCleared: number;
  leapActionsAdded: number;
  leapActionsCleared: number;
  groupsReassigned: number;
  idled: number;
  disenrolled: number;
  resumed: number;
  detailsEdited: number;
  archived: number;
  referencesSet: number;
  unknownFieldsAdded: number;
}

export function zeroCounts(): ChangeCounts {
  return {
    metersCreated: 0,
    pendingToEligible: 0,
    pendingToIneligible: 0,
    activated: 0,
    statusSet: 0,
    partnerActionsAdded: 0,
    partnerActionsCleared: 0,
    leapActionsAdded: 0,
    leapActionsCleared: 0,
    groupsReassigned: 0,
    idled: 0,
    disenrolled: 0,
    resumed: 0,
    detailsEdited: 0,
    archived: 0,
    referencesSet: 0,
    unknownFieldsAdded: 0,
  };
}

export type EventSink = (payload: LeapEventPayload) => void;

export class Mutator {
  readonly counts = zeroCounts();
  /** group.updated events collected until flushGroups(): group index → meters that joined, and from which trade day. */
  private readonly pendingGroups = new Map<string, { group: number; day: number; meters: number[] }>();
  private readonly changed = new Set<number>();
  private trackChanged = false;

  constructor(
    private readonly store: MeterStore,
    private readonly groups: MarketGroups,
    private readonly events: EventPayloads,
    private readonly stamper: Stamper,
    private readonly rng: Rng,
    readonly due: DueQueue,
    private readonly emit: EventSink,
  ) {}

  /** Starts collecting the distinct meters changed (for an advance summary). */
  beginTracking(): void {
    this.changed.clear();
    this.trackChanged = true;
  }

  endTracking(): number {
    this.trackChanged = false;
    const n = this.changed.size;
    this.changed.clear();
    return n;
  }

  touch(i: number, atMs: number, limitMs = atMs): void {
    const s = this.store;
    const stamp = this.stamper.next(atMs, limitMs);
    s.updatedMs[i] = stamp.ms;
    s.updatedSub[i] = stamp.sub;
    s.updatedPrecision[i] = stamp.precision;
    if (this.trackChanged) this.changed.add(i);
  }

  /** Restamps a change as a late commit shows it: at `atMs`, behind stamps already given out. */
  backdate(i: number, atMs: number): void {
    const s = this.store;
    s.updatedMs[i] = atMs;
    s.updatedSub[i] = 0;
    s.updatedPrecision[i] = 3;
  }

  /**
   * An enrollment change. The delivery periods a meter shows are those in force when its status
   * last moved (`enrollAt`), so actions, groups and preferences alone never shift its periods.
   */
  private touchEnrollment(i: number, atMs: number, limitMs: number): void {
    this.touch(i, atMs, limitMs);
  }

  /** Sets the next scheduled transition for the meter's current state (none for most states). */
  schedule(i: number, atMs: number): void {
    const s = this.store;
    const rng = this.rng;
    let dueMs = 0;
    if (!s.isArchived(i)) {
      const status = s.status[i];
      if (status === PENDING) dueMs = atMs + rng.range(24, 72) * HOUR_MS + rng.int(HOUR_MS);
      else if (status === ELIGIBLE) dueMs = atMs + rng.range(12, 240) * HOUR_MS + rng.int(HOUR_MS);
      else if (status === INELIGIBLE && s.partnerActions[i] !== 0 && rng.chance(0.5)) dueMs = atMs + rng.range(24, 360) * HOUR_MS + rng.int(HOUR_MS);
      else if (status === NOT_PARTICIPATING && s.preference[i] === PREF_IDLE && s.preferenceEnd[i] > 0) dueMs = s.preferenceEnd[i] * 1000;
    }
    const dueSec = dueMs > 0 ? Math.max(Math.floor(dueMs / 1000), Math.floor(atMs / 1000) + 1) : 0;
    s.due[i] = dueSec;
    if (dueSec > 0) this.due.push(dueSec, i);
  }

  /** A new meter has already been added to the store; stamp it, schedule it and announce it. */
  created(i: number, atMs: number, limitMs = atMs): void {
    const s = this.store;
    const stamp = this.stamper.next(atMs, limitMs);
    s.createdMs[i] = stamp.ms;
    s.createdSub[i] = stamp.sub;
    s.createdPrecision[i] = stamp.precision;
    s.updatedMs[i] = stamp.ms;
    s.updatedSub[i] = stamp.sub;
    s.updatedPrecision[i] = stamp.precision;
    s.enrollAt[i] = Math.floor(stamp.ms / 1000);
    if (this.trackChanged) this.changed.add(i);
    this.counts.metersCreated++;
    this.schedule(i, atMs);
    this.emit(this.events.created(i));
  }

  /** Moves the global status, with what each status implies (eligibility and activation dates, a group). */
  private applyStatus(i: number, status: number, atMs: number): boolean {
    const s = this.store;
    const before = s.status[i];
    if (before === status) return false;
    s.status[i] = status;
    const sec = Math.floor(atMs / 1000);
    s.enrollAt[i] = sec;
    if (status === ELIGIBLE || status === ACTIVE) {
      if (s.eligibleFrom[i] === 0 || before === INELIGIBLE || before === PENDING) s.eligibleFrom[i] = sec;
    }
    if (status === ACTIVE) {
      s.activeFrom[i] = sec;
      if (s.group[i] === 0) this.assignGroup(i, this.pickGroup(i), atMs);
    }
    if (status !== NOT_PARTICIPATING) s.resumeStatus[i] = status;
    return true;
  }

  private pickGroup(i: number): number {
    const list = this.groups.forUtility(this.store.utility[i]);
    return list[this.rng.int(list.length)];
  }

  private assignGroup(i: number, group: number, atMs: number): void {
    const s = this.store;
    s.group[i] = group;
    s.groupNext[i] = 0;
    s.groupNextDay[i] = 0;
    this.queueGroupEvent(group, localDay(s.region[i], atMs), i);
  }

  private queueGroupEvent(group: number, day: number, i: number): void {
    const key = `${group}:${day}`;
    const entry = this.pendingGroups.get(key);
    if (entry) entry.meters.push(i);
    else this.pendingGroups.set(key, { group, day, meters: [i] });
  }

  /** Emits the group.updated events collected since the last flush, one per group and start day. */
  flushGroups(): void {
    for (const { group, day, meters } of this.pendingGroups.values()) {
      const payload = this.events.group(group, meters, day);
      if (payload) this.emit(payload);
    }
    this.pendingGroups.clear();
  }

  /** Sets the global status directly (test helpers); NOT_PARTICIPATING goes through an open-ended idle period. */
  setStatus(i: number, status: number, atMs: number): void {
    if (status === NOT_PARTICIPATING) {
      this.setPreference(i, PREF_IDLE, atMs, { endMs: 0 });
      return;
    }
    const s = this.store;
    if (s.status[i] === NOT_PARTICIPATING) {
      s.preference[i] = PREF_PARTICIPATE;
      s.preferenceStart[i] = Math.floor(atMs / 1000);
      s.preferenceEnd[i] = 0;
    }
    if (!this.applyStatus(i, status, atMs)) return;
    this.touchEnrollment(i, atMs, atMs);
    this.counts.statusSet++;
    this.schedule(i, atMs);
    this.emit(this.events.globalStatus(i));
  }

  /** Leap finished evaluating a PENDING meter: eligible, or ineligible with actions on one side or the other. */
  evaluate(i: number, atMs: number, limitMs: number): void {
    const s = this.store;
    const rng = this.rng;
    s.leapActions[i] &= ~2; // market registration done either way
    if (rng.chance(0.7)) {
      this.applyStatus(i, ELIGIBLE, atMs);
      this.counts.pendingToEligible++;
      this.touchEnrollment(i, atMs, limitMs);
      this.schedule(i, atMs);
      this.emit(this.events.globalStatus(i));
      return;
    }
    this.applyStatus(i, INELIGIBLE, atMs);
    this.counts.pendingToIneligible++;
    let partner = 0;
    if (rng.chance(0.65)) {
      partner = [1, 2, 2, 4][rng.int(4)];
      if (rng.chance(0.1)) partner |= 1;
    } else {
      s.leapActions[i] |= 1;
    }
    s.partnerActions[i] = partner;
    this.touchEnrollment(i, atMs, limitMs);
    this.schedule(i, atMs);
    this.emit(this.events.globalStatus(i));
    if (partner !== 0) {
      this.counts.partnerActionsAdded++;
      this.emit(this.events.requiredActions(i));
    }
  }

  /** An ELIGIBLE meter reaches its activation date: ACTIVE, in a market group. */
  activate(i: number, atMs: number, limitMs = atMs, group = 0): void {
    const s = this.store;
    if (group > 0) this.assignGroup(i, group, atMs);
    if (!this.applyStatus(i, ACTIVE, atMs)) {
      if (group > 0) this.touchEnrollment(i, atMs, limitMs);
      return;
    }
    s.leapActions[i] &= ~1;
    this.counts.activated++;
    this.touchEnrollment(i, atMs, limitMs);
    this.schedule(i, atMs);
    this.emit(this.events.globalStatus(i));
  }

  /**
   * Adds partner actions (bits of PARTNER_ACTIONS). A PENDING or ELIGIBLE meter becomes INELIGIBLE
   * unless `keepStatus`; an ACTIVE one stays ACTIVE (Leap asks before the next period).
   */
  addPartnerActions(i: number, bits: number, atMs: number, limitMs = atMs, keepStatus = false): void {
    const s = this.store;
    const before = s.partnerActions[i];
    if ((before | bits) === before) return;
    s.partnerActions[i] = before | bits;
    const statusChanged = !keepStatus && (s.status[i] === ELIGIBLE || s.status[i] === PENDING) && this.applyStatus(i, INELIGIBLE, atMs);
    this.counts.partnerActionsAdded++;
    this.touchEnrollment(i, atMs, limitMs);
    this.schedule(i, atMs);
    if (statusChanged) this.emit(this.events.globalStatus(i));
    this.emit(this.events.requiredActions(i));
  }

  /** Clears partner actions; an INELIGIBLE meter with none left becomes ELIGIBLE. The last event carries an empty list. */
  clearPartnerActions(i: number, bits: number, atMs: number, limitMs = atMs): void {
    const s = this.store;
    const before = s.partnerActions[i];
    if ((before & bits) === 0) return;
    s.partnerActions[i] = before & ~bits;
    const statusChanged = s.partnerActions[i] === 0 && s.status[i] === INELIGIBLE && this.applyStatus(i, ELIGIBLE, atMs);
    this.counts.partnerActionsCleared++;
    this.touchEnrollment(i, atMs, limitMs);
    this.schedule(i, atMs);
    this.emit(this.events.requiredActions(i));
    if (statusChanged) this.emit(this.events.globalStatus(i));
  }

  /**
   * Leap-side actions change (no webhook for the actions: Leap's event carries only the partner
   * list). An INELIGIBLE meter whose last blocker was on Leap's side becomes ELIGIBLE.
   */
  setLeapActions(i: number, bits: number, atMs: number, limitMs = atMs): void {
    const s = this.store;
    const before = s.leapActions[i];
    if (before === bits) return;
    s.leapActions[i] = bits;
    if ((bits & ~before) !== 0) this.counts.leapActionsAdded++;
    if ((before & ~bits) !== 0) this.counts.leapActionsCleared++;
    const statusChanged = bits === 0 && s.partnerActions[i] === 0 && s.status[i] === INELIGIBLE && this.applyStatus(i, ELIGIBLE, atMs);
    this.touchEnrollment(i, atMs, limitMs);
    if (statusChanged) {
      this.schedule(i, atMs);
      this.emit(this.events.globalStatus(i));
    }
  }

  /**
   * Puts the meter in `group` from trade date `fromDay` (local days since epoch) on; a date on or
   * before today takes effect at once, a later one is shown for upcoming trade dates only.
   */
  reassignGroup(i: number, group: number, fromDay: number, atMs: number, limitMs = atMs): void {
    const s = this.store;
    const today = localDay(s.region[i], atMs);
    // A reassignment whose day has come is now simply the group.
    if (s.groupNext[i] !== 0 && s.groupNextDay[i] <= today) {
      s.group[i] = s.groupNext[i];
      s.groupNext[i] = 0;
      s.groupNextDay[i] = 0;
    }
    if (fromDay <= today) {
      if (s.group[i] === group && s.groupNext[i] === 0) return;
      s.group[i] = group;
      s.groupNext[i] = 0;
      s.groupNextDay[i] = 0;
      this.queueGroupEvent(group, today, i);
    } else {
      if (s.groupNext[i] === group && s.groupNextDay[i] === fromDay) return;
      s.groupNext[i] = group;
      s.groupNextDay[i] = fromDay;
      this.queueGroupEvent(group, fromDay, i);
    }
    this.counts.groupsReassigned++;
    this.touchEnrollment(i, atMs, limitMs);
  }

  /** A different group of the meter's utility than the one it has (or any when it has none). */
  otherGroup(i: number): number {
    const list = this.groups.forUtility(this.store.utility[i]);
    const current = this.store.groupNext[i] || this.store.group[i];
    if (list.length === 1) return list[0];
    let g = list[this.rng.int(list.length)];
    while (g === current) g = list[this.rng.int(list.length)];
    return g;
  }

  /**
   * The partner's participation preference. IDLE (with an end, default 1–30 days) and DISENROLL
   * make the meter NOT_PARTICIPATING; PARTICIPATE returns it to the status it had.
   */
  setPreference(i: number, pref: number, atMs: number, opts: { endMs?: number; limitMs?: number } = {}): void {
    const s = this.store;
    const limitMs = opts.limitMs ?? atMs;
    if (pref === s.preference[i] && pref === PREF_PARTICIPATE && s.status[i] !== NOT_PARTICIPATING) return;
    s.preference[i] = pref;
    s.preferenceStart[i] = Math.floor(atMs / 1000);
    let statusChanged = false;
    if (pref === PREF_PARTICIPATE) {
      s.preferenceEnd[i] = 0;
      if (s.status[i] === NOT_PARTICIPATING) statusChanged = this.applyStatus(i, s.resumeStatus[i] === NOT_PARTICIPATING ? ELIGIBLE : s.resumeStatus[i], atMs);
      this.counts.resumed++;
    } else {
      const endMs = pref === PREF_IDLE ? (opts.endMs ?? atMs + this.rng.range(1, 30) * DAY_MS) : 0;
      s.preferenceEnd[i] = endMs > 0 ? Math.floor(endMs / 1000) : 0;
      if (s.status[i] !== NOT_PARTICIPATING) {
        s.resumeStatus[i] = s.status[i];
        s.status[i] = NOT_PARTICIPATING;
        s.enrollAt[i] = Math.floor(atMs / 1000);
        statusChanged = true;
      }
      if (pref === PREF_IDLE) this.counts.idled++;
      else this.counts.disenrolled++;
    }
    this.touchEnrollment(i, atMs, limitMs);
    this.schedule(i, atMs);
    this.emit(this.events.participationStatus(i));
    if (statusChanged) this.emit(this.events.globalStatus(i));
  }

  /**
   * Detail edits (no Leap webhook exists for these; only polling sees them). False when the parts
   * asked for change nothing (a device edit of a meter without a device).
   */
  editDetails(i: number, parts: { address?: boolean; tariff?: boolean; device?: boolean }, atMs: number, limitMs = atMs): boolean {
    const s = this.store;
    let changed = false;
    if (parts.address) {
      s.addressEdits[i] = (s.addressEdits[i] % 255) + 1;
      changed = true;
    }
    if (parts.tariff) {
      // Tariff lists are short; an edit that lands on the same tariff is still an edit at Leap.
      s.tariffEdits[i] = (s.tariffEdits[i] % 255) + 1;
      changed = true;
    }
    if (parts.device && s.device[i] !== 0) {
      s.deviceEdits[i] = (s.deviceEdits[i] % 255) + 1;
      changed = true;
    }
    if (!changed) return false;
    this.counts.detailsEdited++;
    this.touch(i, atMs, limitMs);
    return true;
  }

  archive(i: number, atMs: number, limitMs = atMs): void {
    const s = this.store;
    if (s.isArchived(i)) return;
    s.flags[i] |= FLAG_ARCHIVED;
    s.due[i] = 0;
    this.counts.archived++;
    this.touch(i, atMs, limitMs);
  }

  setPartnerReference(i: number, reference: string, atMs: number): void {
    this.store.referenceOverride.set(i, reference);
    this.counts.referencesSet++;
    this.touch(i, atMs);
  }

  setUnknownField(i: number, name: string, value: unknown, parts: readonly ('details' | 'enrollment' | 'v1')[], atMs: number): void {
    const s = this.store;
    let extra = s.extraFields.get(i);
    if (!extra) {
      extra = { details: {}, enrollment: {}, v1: {} };
      s.extraFields.set(i, extra);
    }
    for (const p of parts) extra[p][name] = value;
    this.counts.unknownFieldsAdded++;
    this.touch(i, atMs);
  }
}
