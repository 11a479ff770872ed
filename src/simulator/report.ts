/**
 * What /_sim/state reports: the portfolio's counts, requests by route and status, faults injected,
 * webhook deliveries and advances.
 */
import { METER_TYPE_CODES, STATUS_CODES, type StatusName } from './catalog';
import type { AdvanceSummary } from './evolve';
import type { FaultConfig, FaultKind } from './faults';
import { REGIONS } from './regions';
import { kindMeterType, type MeterStore } from './state';
import type { WebhookStats } from './webhooks';

export interface SimulatorStateReport {
  now: string;
  seed: number;
  accountId: string;
  meters: {
    total: number;
    byStatus: Record<StatusName, number>;
    archived: number;
    withPartnerActions: number;
    withLeapActions: number;
    byRegion: Record<string, number>;
    byMeterType: Record<string, number>;
    /** Bytes held by the per-meter typed arrays. */
    stateBytes: number;
  };
  requests: { total: number; byRoute: Record<string, Record<string, number>> };
  faults: { config: FaultConfig & { rateLimit: number | null }; injected: Record<FaultKind, number> };
  webhooks: WebhookStats;
  advances: { count: number; simulatedHours: number; last: AdvanceSummary | null };
}

/** The portfolio by status, region and meter type, archived meters and meters with open actions. */
export function meterCounts(s: MeterStore): SimulatorStateReport['meters'] {
  const byStatus = Object.fromEntries(STATUS_CODES.map((k) => [k, 0])) as Record<StatusName, number>;
  const byRegion: Record<string, number> = Object.fromEntries(REGIONS.map((r) => [r.code, 0]));
  const byMeterType: Record<string, number> = Object.fromEntries(METER_TYPE_CODES.map((t) => [t, 0]));
  let archived = 0;
  let partner = 0;
  let leap = 0;
  for (let i = 0; i < s.count; i++) {
    byStatus[STATUS_CODES[s.status[i]]]++;
    byRegion[REGIONS[s.region[i]].code]++;
    byMeterType[METER_TYPE_CODES[kindMeterType(s.kind[i])]]++;
    if (s.isArchived(i)) archived++;
    if (s.partnerActions[i] !== 0) partner++;
    if (s.leapActions[i] !== 0) leap++;
  }
  return { total: s.count, byStatus, archived, withPartnerActions: partner, withLeapActions: leap, byRegion, byMeterType, stateBytes: s.byteSize() };
}

/** Finished requests counted by route label and status. */
export class RequestLog {
  private readonly counts = new Map<string, Map<number, number>>();
  private total = 0;

  record(route: string, status: number): void {
    this.total++;
    let m = this.counts.get(route);
    if (!m) {
      m = new Map();
      this.counts.set(route, m);
    }
    m.set(status, (m.get(status) ?? 0) + 1);
  }

  report(): SimulatorStateReport['requests'] {
    const byRoute: Record<string, Record<string, number>> = {};
    for (const [route, statuses] of this.counts) byRoute[route] = Object.fromEntries([...statuses].map(([status, n]) => [String(status), n]));
    return { total: this.total, byRoute };
  }
}
