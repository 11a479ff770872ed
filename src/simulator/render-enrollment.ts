/**
 * v2 MeterEnrollmentResponse as JSON text: identifiers, audit, global status, participation
 * periods, program enrollments (their text kept, as thousands of meters share each) and required
 * actions.
 */
import * as catalog from './catalog';
import type { MarketGroups } from './markets';
import * as random from './random';
import * as regions from './regions';
import type { RequiredActionJson, RequiredActions } from './render-actions';
import * as shared from './render-shared';
import type { Json } from './render-shared';
import type { MeterStore } from './state';
import { Fragments } from './text';
import * as time from './time';
import type { DeliveryPeriod } from './time';

// Imported bindings, read once: under tsx (esbuild's CommonJS output) every use of an imported
// name is a getter call, and these are used for every meter rendered.
const { ACTIVE, DISENROLL_REASONS, ELIGIBLE, IDLE_REASONS, INELIGIBLE, OPEN_ENDED_SENTINELS, PREFERENCES, PROGRAMS, STATUS_CODES } = catalog;
const { hash32 } = random;
const { REGIONS } = regions;
const { createdAt, ENROLLMENT, extraFields, identifiers, referenceJson, S_MISC, S_PROGRAMS, updatedAt, UTILITY_PROGRAMS, withExtra, withExtraText } = shared;
const { formatSeconds, nextPeriodOf, periodDeadlines, periodOf } = time;

/** Stride of reason keys: the longer list of reasons. */
const REASONS = Math.max(IDLE_REASONS.length, DISENROLL_REASONS.length);
const PROGRAM_IDS = Object.keys(PROGRAMS);

/** Enrollment: status, then participation up to the first period's start: by status. */
const ENROLLMENT_STATUS = new Fragments(STATUS_CODES.length, (s) => `"},"global_enrollment_status":"${STATUS_CODES[s]}","participation_preferences":[{"participation_preference":"PARTICIPATE","start_time":"`);
/** An open-ended end time, closing the participation list: by sentinel. */
const PERIODS_END_SENTINEL = new Fragments(OPEN_ENDED_SENTINELS.length, (k) => `","end_time":"${OPEN_ENDED_SENTINELS[k]}"}],"program_enrollment":[`);
/** Between the two period starts: by preference. */
const PERIODS_CURRENT = new Fragments(PREFERENCES.length, (p) => `"},{"participation_preference":"${PREFERENCES[p]}","start_time":"`);
/** A reason, closing the participation list: by (preference, reason). */
const PERIODS_END_REASON = new Fragments(PREFERENCES.length * REASONS, (key) => {
  const reasons = Math.floor(key / REASONS) === 1 ? IDLE_REASONS : DISENROLL_REASONS;
  return `","reason":"${reasons[key % REASONS]}"}],"program_enrollment":[`;
});
const PERIODS_TO_PROGRAMS = ',"program_enrollment":[';
const NO_ACTIONS_END = '],"required_actions":{"partner":[],"leap":[]}}';

/** Program entries are shared by thousands of meters: their text is kept, up to this many. */
const ENTRY_CACHE_LIMIT = 20_000;
const GROUP_SLOTS = 4096;

export class EnrollmentView {
  private readonly entryCache = new Map<number, string>();

  constructor(
    private readonly store: MeterStore,
    private readonly groups: MarketGroups,
    private readonly seed: number,
    private readonly actions: RequiredActions,
  ) {
    // Program entry keys pack these in fixed widths.
    if (groups.all.length > GROUP_SLOTS || REGIONS.length > 16 || PROGRAM_IDS.length > 64 || STATUS_CODES.length > 8) throw new Error('catalog too large for the program entry keys');
  }

  /** v2 MeterEnrollmentResponse as JSON text. */
  json(i: number): string {
    return withExtraText(this.store, this.text(i), i, 'enrollment');
  }

  object(i: number): Json {
    return withExtra(JSON.parse(this.text(i)) as Json, extraFields(this.store, i, 'enrollment'));
  }

  participationPeriods(i: number): Json[] {
    const text = this.participationText(i);
    return JSON.parse('[{"participation_preference":"PARTICIPATE","start_time":"' + text.slice(0, text.length - PERIODS_TO_PROGRAMS.length)) as Json[];
  }

  /** `participation_preferences` from the first period's start time, through `"program_enrollment":[`. */
  private participationText(i: number): string {
    const s = this.store;
    const createdStart = formatSeconds(s.createdMs[i]);
    const start = s.preferenceStart[i];
    if (start === 0) return createdStart + PERIODS_END_SENTINEL.get(this.sentinel(i));
    const pref = s.preference[i];
    const startText = formatSeconds(start * 1000);
    const o = createdStart + '","end_time":"' + startText + PERIODS_CURRENT.get(pref) + startText;
    if (pref === 1) {
      const end = s.preferenceEnd[i];
      const reason = hash32(this.seed, S_MISC, i, start) % IDLE_REASONS.length;
      return o + '","end_time":"' + (end ? formatSeconds(end * 1000) : OPEN_ENDED_SENTINELS[this.sentinel(i)]) + PERIODS_END_REASON.get(REASONS + reason);
    }
    if (pref === 2) return o + PERIODS_END_REASON.get(2 * REASONS + (hash32(this.seed, S_MISC, i, start) % DISENROLL_REASONS.length));
    return o + PERIODS_END_SENTINEL.get(this.sentinel(i));
  }

  private text(i: number): string {
    const s = this.store;
    let o = identifiers(s, i, referenceJson(s, i), ENROLLMENT) + createdAt(s, i);
    o += '","updated_at":"' + updatedAt(s, i);
    o += ENROLLMENT_STATUS.get(s.status[i]) + this.participationText(i);
    o += this.programEnrollment(i);
    if (s.partnerActions[i] === 0 && s.leapActions[i] === 0) return o + NO_ACTIONS_END;
    return o + '],"required_actions":{"partner":' + actionsText(this.actions.partnerActions(i)) + ',"leap":' + actionsText(this.actions.leapActions(i)) + '}}';
  }

  /** End time of open-ended periods: one of Leap's far-future sentinels (its index), fixed per meter. */
  private sentinel(i: number): number {
    return hash32(this.seed, S_MISC, i, 1) % OPEN_ENDED_SENTINELS.length;
  }

  /**
   * One program_enrollment entry as JSON text, after a comma unless first. Entries repeat across
   * thousands of meters (same program, region, period, status and group), so each is built once.
   */
  private programEntry(program: number, period: DeliveryPeriod, region: number, status: number, group: number, first: boolean): string {
    const key = ((((period.key * 16 + region) * 64 + program) * 8 + status) * GROUP_SLOTS + group) * 2 + (first ? 1 : 0);
    const cached = this.entryCache.get(key);
    if (cached !== undefined) return cached;
    const deadlines = periodDeadlines(region, period).map((d) => ({
      enrollment_deadline_date_time: formatSeconds(d.deadlineMs),
      activation_date_time: formatSeconds(d.activationMs),
    }));
    const entry: Json = {
      program_identifier: PROGRAM_IDS[program],
      delivery_period: period.name,
      delivery_period_start_date_time: formatSeconds(period.startMs),
      delivery_period_end_date_time: formatSeconds(period.endMs),
      enrollment_status: STATUS_CODES[status],
      enrollment_deadlines: deadlines,
    };
    const g = group > 0 ? this.groups.get(group) : null;
    if (g) {
      entry.market_group_id = g.id;
      entry.market_group_name = g.name;
    }
    const text = (first ? '' : ',') + JSON.stringify(entry);
    if (this.entryCache.size >= ENTRY_CACHE_LIMIT) this.entryCache.clear();
    this.entryCache.set(key, text);
    return text;
  }

  /** The program_enrollment entries, comma-separated: the same programs as RequiredActions.programs(), without building it. */
  private programEnrollment(i: number): string {
    const s = this.store;
    const status = s.status[i];
    const region = s.region[i];
    const programs = UTILITY_PROGRAMS[s.utility[i]];
    const enrolledMs = s.enrollAt[i] * 1000;
    const primary = programs[0];
    const p0 = periodOf(primary, region, enrolledMs);
    let out: string;
    if (status === ACTIVE) {
      out = this.programEntry(primary, p0, region, ACTIVE, s.group[i], true);
      out += this.programEntry(primary, nextPeriodOf(primary, region, p0), region, ACTIVE, s.groupNext[i] || s.group[i], false);
    } else {
      out = this.programEntry(primary, p0, region, status, 0, true);
    }
    const h = hash32(this.seed, S_PROGRAMS, i);
    let secondaries = 0;
    for (let k = 1; k < programs.length && secondaries < 2; k++) {
      if (((h >>> (k * 3)) & 7) >= 3) continue;
      secondaries++;
      const follows = ((h >>> (k * 3 + 12)) & 1) === 1;
      const followed = status === ACTIVE || status === ELIGIBLE ? (follows ? status : INELIGIBLE) : status;
      out += this.programEntry(programs[k], periodOf(programs[k], region, enrolledMs), region, followed, followed === ACTIVE ? s.group[i] : 0, false);
    }
    return out;
  }
}

/** Required actions as a JSON array; every field is catalog text or a timestamp. */
function actionsText(actions: readonly RequiredActionJson[]): string {
  let out = '[';
  for (let k = 0; k < actions.length; k++) {
    const a = actions[k];
    out +=
      (k > 0 ? ',{"program_identifier":"' : '{"program_identifier":"') +
      a.program_identifier +
      '","delivery_period":"' +
      a.delivery_period +
      '","enrollment_deadline_date_time":"' +
      a.enrollment_deadline_date_time +
      '","action_type":"' +
      a.action_type +
      '","action_description":"' +
      a.action_description +
      '","action_code":"' +
      a.action_code +
      '"}';
  }
  return out + ']';
}
