import { deepEqual, type MeterEvent } from '../../domain/events';
import { memberOn } from '../../domain/rosters';
import { addDays, localDate, marketTimeZone } from '../../domain/trade-dates';
import type { MarketGroupStore } from '../../stores/market-group-store';
import type { Tx } from '../../stores/transaction';
import type { Annotation, AnnotationWriter } from '../annotation-writer';
import type { MeterWriteHook, WrittenMeter } from '../sync/page-writer';

/**
 * After a partner checked its roster of a group for a trade date, a sync that changes Leap's
 * members for that date says so: one `market_group.roster.drifted` event per meter that joined or
 * left, naming the group, the date, and whether the partner's list had it. The check then compares
 * against Leap's new members.
 */
export class RosterDriftTracker implements MeterWriteHook {
  constructor(private readonly deps: { groups: MarketGroupStore; annotations: AnnotationWriter }) {}

  async afterWrite(tx: Tx, written: readonly WrittenMeter[], now: Date, runId: string | null): Promise<MeterEvent[]> {
    const moved = written.filter((w) => w.before !== null && !deepEqual(w.before.group_assignments, w.view().group_assignments));
    if (!moved.length) return [];
    // A day's slack: trade dates are local, and the earliest zone is a day behind UTC.
    const checks = await this.deps.groups.checksFrom(addDays(now.toISOString().slice(0, 10), -1), tx);
    if (!checks.length) return [];
    const annotations: Annotation[] = [];
    const sequences = new Map<number, number>();
    for (const check of checks) {
      const zone = (w: WrittenMeter): string => marketTimeZone(w.view().transmission_region);
      const leap = new Set(check.leap);
      const partner = new Set(check.partner);
      let changed = false;
      for (const w of moved) {
        if (check.tradeDate < localDate(now, zone(w))) continue;
        const was = memberOn(w.before!.group_assignments, check.marketGroupId, check.tradeDate, zone(w));
        const is = memberOn(w.view().group_assignments, check.marketGroupId, check.tradeDate, zone(w));
        if (was === is) continue;
        changed = true;
        if (is) leap.add(w.meterId);
        else leap.delete(w.meterId);
        const reference = w.view().partner_reference;
        const inPartnerRoster = check.basis === 'meter_ids' ? partner.has(w.meterId) : reference !== null && partner.has(reference);
        const roster = (member: boolean) => ({ market_group_id: check.marketGroupId, trade_date: check.tradeDate, member, in_partner_roster: inPartnerRoster });
        sequences.set(w.ref, w.sequence);
        annotations.push({ ref: w.ref, meterId: w.meterId, type: 'market_group.roster.drifted', changes: [{ path: 'roster', from: roster(was), to: roster(is) }], view: w.view });
      }
      if (changed) await this.deps.groups.recordDrift(tx, check.marketGroupId, check.tradeDate, [...leap].sort(), now);
    }
    // A meter that drifted in two checks gets two events, in order.
    return this.deps.annotations.append(tx, annotations, sequences, 'roster', now, runId);
  }
}
