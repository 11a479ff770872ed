/**
 * A meter's required actions as Leap lists them, the partner's and Leap's, and the programs they
 * name: shown by the enrollment and v1 views, carried by required-actions.updated and matched by
 * the action_type search filter.
 */
import * as catalog from './catalog';
import * as profile from './profile';
import * as random from './random';
import * as regions from './regions';
import * as shared from './render-shared';
import type { MeterStore } from './state';
import * as time from './time';
import type { DeliveryPeriod } from './time';

// Imported bindings, read once: under tsx (esbuild's CommonJS output) every use of an imported
// name is a getter call, and these are used for every meter rendered.
const { ACTIVE, AUTH_0001, AUTH_0001_DESCRIPTION, LEAP_0001, LEAP_0001_NOMINATIONS, LEAP_0001_UNASSIGNED, MRKT_0001, MRKT_0001_DESCRIPTION, MRKT_0002, MRKT_0002_DESCRIPTION, PARTNER_ACTIONS, SERV_0005 } = catalog;
const { deviceProfile } = profile;
const { hash32 } = random;
const { UTILITY_REFS } = regions;
const { COMMERCIAL_KIND, NYISO, S_PROGRAMS } = shared;
const { formatSeconds, nextPeriod, periodAt, periodDeadlines } = time;

export interface RequiredActionJson {
  program_identifier: string;
  delivery_period: string;
  enrollment_deadline_date_time: string;
  action_type: string;
  action_description: string;
  action_code: string;
}

/** Which programs a meter is in: the utility's primary, plus up to two others. */
export interface MeterPrograms {
  primary: string;
  secondary: string[];
  /** Per secondary: whether it follows the meter's status (true) or sits INELIGIBLE. */
  secondaryFollows: boolean[];
}

export class RequiredActions {
  constructor(
    private readonly store: MeterStore,
    private readonly seed: number,
  ) {}

  programs(i: number): MeterPrograms {
    const list = UTILITY_REFS[this.store.utility[i]].utility.programs;
    const h = hash32(this.seed, S_PROGRAMS, i);
    const secondary: string[] = [];
    const follows: boolean[] = [];
    for (let k = 1; k < list.length && secondary.length < 2; k++) {
      if (((h >>> (k * 3)) & 7) < 3) {
        secondary.push(list[k]);
        follows.push(((h >>> (k * 3 + 12)) & 1) === 1);
      }
    }
    return { primary: list[0], secondary, secondaryFollows: follows };
  }

  partnerActions(i: number): RequiredActionJson[] {
    const s = this.store;
    const bits = s.partnerActions[i];
    if (bits === 0) return [];
    const { primary } = this.programs(i);
    const region = s.region[i];
    let period = this.anchorPeriod(primary, i);
    // An active meter's open action is about keeping the next period.
    if (s.status[i] === ACTIVE) period = nextPeriod(primary, region, period);
    const deadline = formatSeconds(periodDeadlines(region, period)[0].deadlineMs);
    const out: RequiredActionJson[] = [];
    for (const a of PARTNER_ACTIONS) {
      if ((bits & a.bit) === 0) continue;
      let description: string;
      if (a.bit === AUTH_0001) description = AUTH_0001_DESCRIPTION;
      else if (a.bit === SERV_0005) description = `Partner needs configuration for fields: ${this.missingFields(i)}.`;
      else if (a.bit === MRKT_0002) description = MRKT_0002_DESCRIPTION;
      else continue;
      out.push({ program_identifier: primary, delivery_period: period.name, enrollment_deadline_date_time: deadline, action_type: a.actionType, action_description: description, action_code: a.code });
    }
    return out;
  }

  leapActions(i: number): RequiredActionJson[] {
    const s = this.store;
    const bits = s.leapActions[i];
    if (bits === 0) return [];
    const programs = this.programs(i);
    const region = s.region[i];
    const out: RequiredActionJson[] = [];
    if (bits & LEAP_0001) {
      const unassigned = programs.secondary.find((_, k) => !programs.secondaryFollows[k]);
      const program = unassigned ?? programs.primary;
      const period = this.anchorPeriod(program, i);
      out.push({
        program_identifier: program,
        delivery_period: period.name,
        enrollment_deadline_date_time: formatSeconds(periodDeadlines(region, period)[0].activationMs),
        action_type: unassigned ? 'IS_ASSIGNED_TO_A_RESOURCE' : 'HAS_NOMINATIONS',
        action_description: unassigned ? LEAP_0001_UNASSIGNED : LEAP_0001_NOMINATIONS,
        action_code: 'LEAP_0001',
      });
    }
    if (bits & MRKT_0001) {
      const period = this.anchorPeriod(programs.primary, i);
      out.push({
        program_identifier: programs.primary,
        delivery_period: period.name,
        enrollment_deadline_date_time: formatSeconds(periodDeadlines(region, period)[0].deadlineMs),
        action_type: 'HAS_MARKET_REGISTRATION',
        action_description: MRKT_0001_DESCRIPTION,
        action_code: 'MRKT_0001',
      });
    }
    return out;
  }

  /** The fields a SERV_0005 action asks the partner to configure, phrased as Leap does. */
  private missingFields(i: number): string {
    const s = this.store;
    if (s.device[i] > 0 && deviceProfile(s, this.seed, i)?.model.type === 'BATTERY') return 'Battery Energy Capacity, Battery Power Capacity, Number Of Devices';
    if (s.region[i] === NYISO) return 'Voltage Group, CBL Method, Load Zone';
    if (COMMERCIAL_KIND[s.kind[i]]) return 'End Customer Company Name';
    return 'Device Serial Number, Install Date';
  }

  /** The period the meter's enrollment refers to: the one in force at its last enrollment change. */
  private anchorPeriod(program: string, i: number): DeliveryPeriod {
    return periodAt(program, this.store.region[i], this.store.enrollAt[i] * 1000);
  }
}
