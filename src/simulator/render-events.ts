/**
 * Payloads of Leap's webhook events (§7.2) for a meter's changes; the webhook envelope and its
 * deliveries are in webhooks.ts.
 */
import { METER_TYPE_CODES, PREFERENCES, STATUS_CODES } from './catalog';
import type { MarketGroups } from './markets';
import { REGIONS, UTILITY_REFS } from './regions';
import type { RequiredActionJson, RequiredActions } from './render-actions';
import type { EnrollmentView } from './render-enrollment';
import { kindMeterType, type MeterStore } from './state';
import { formatSeconds, localMidnightOfDay, periodAt } from './time';

/** Payloads inside Leap's webhook envelope (§7.2), keyed by `webhook_event_type`. */
export type LeapEventPayload =
  | { webhook_event_type: 'meter.created'; meter_id: string; partner_reference?: string; transmission_region: string; meter_type: string }
  | {
      webhook_event_type: 'meter.enrollment.global-status.updated';
      meter_id: string;
      partner_reference?: string;
      transmission_region: string;
      meter_type: string;
      global_enrollment_status: string;
    }
  | {
      webhook_event_type: 'meter.enrollment.participation-status.updated';
      meter_id: string;
      partner_reference?: string;
      transmission_region: string;
      meter_type: string;
      participation_preference: string;
      start_time: string;
      end_time?: string;
    }
  | {
      webhook_event_type: 'meter.enrollment.required-actions.updated';
      meter_id: string;
      partner_reference?: string;
      transmission_region: string;
      meter_type: string;
      global_enrollment_status: string;
      required_actions: { partner: RequiredActionJson[] };
    }
  | {
      webhook_event_type: 'meter.enrollment.group.updated';
      market_group_id: string;
      market_group_name: string;
      start_date_time: string;
      end_date_time: string;
      meter_ids: string[];
    };

export class EventPayloads {
  constructor(
    private readonly store: MeterStore,
    private readonly groups: MarketGroups,
    private readonly actions: RequiredActions,
    private readonly enrollment: EnrollmentView,
  ) {}

  private base(i: number): { meter_id: string; partner_reference?: string; transmission_region: string; meter_type: string } {
    const s = this.store;
    const ref = s.partnerReference(i);
    // Leap's schema requires 3+ characters; a shorter hand-set reference is left out of events.
    const meter_id = s.meterId(i);
    const transmission_region = REGIONS[s.region[i]].code;
    const meter_type = METER_TYPE_CODES[kindMeterType(s.kind[i])];
    return ref !== undefined && ref.length >= 3 ? { meter_id, partner_reference: ref, transmission_region, meter_type } : { meter_id, transmission_region, meter_type };
  }

  created(i: number): LeapEventPayload {
    return { webhook_event_type: 'meter.created', ...this.base(i) };
  }

  globalStatus(i: number): LeapEventPayload {
    return { webhook_event_type: 'meter.enrollment.global-status.updated', ...this.base(i), global_enrollment_status: STATUS_CODES[this.store.status[i]] };
  }

  participationStatus(i: number): LeapEventPayload {
    const s = this.store;
    const periods = this.enrollment.participationPeriods(i);
    const current = periods[periods.length - 1];
    const payload: LeapEventPayload = {
      webhook_event_type: 'meter.enrollment.participation-status.updated',
      ...this.base(i),
      participation_preference: PREFERENCES[s.preference[i]],
      start_time: String(current.start_time),
    };
    if (typeof current.end_time === 'string') payload.end_time = current.end_time;
    return payload;
  }

  requiredActions(i: number): LeapEventPayload {
    return {
      webhook_event_type: 'meter.enrollment.required-actions.updated',
      ...this.base(i),
      global_enrollment_status: STATUS_CODES[this.store.status[i]],
      required_actions: { partner: this.actions.partnerActions(i) },
    };
  }

  /** group.updated for meters that joined `group` from trade date `fromDay` (through the end of that delivery period). */
  group(group: number, meters: readonly number[], fromDay: number): LeapEventPayload | null {
    const g = this.groups.get(group);
    if (!g) return null;
    const region = UTILITY_REFS[g.utility].region;
    const start = localMidnightOfDay(region, fromDay);
    const program = UTILITY_REFS[g.utility].utility.programs[0];
    const period = periodAt(program, region, start);
    return {
      webhook_event_type: 'meter.enrollment.group.updated',
      market_group_id: g.id,
      market_group_name: g.name,
      start_date_time: formatSeconds(start),
      end_date_time: formatSeconds(period.endMs),
      meter_ids: meters.map((m) => this.store.meterId(m)),
    };
  }
}
