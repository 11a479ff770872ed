/**
 * The v1 meter object (leap-api.md §3.5–3.7) as JSON text: identifiers, utility numbers and
 * service address, enrollment with its status reasons, and market group participation for today
 * and the next two trade dates.
 */
import * as catalog from './catalog';
import type { MarketGroups } from './markets';
import * as profile from './profile';
import type { Address } from './profile';
import * as regions from './regions';
import type { RequiredActions } from './render-actions';
import * as shared from './render-shared';
import type { Json } from './render-shared';
import * as state from './state';
import type { MeterStore } from './state';
import { bool, Fragments } from './text';
import * as time from './time';

// Imported bindings, read once: under tsx (esbuild's CommonJS output) every use of an imported
// name is a getter call, and these are used for every meter rendered.
const { ACTIVE, ELIGIBLE, V1_PREFERENCE, V1_STATUS } = catalog;
const { address, tariffIndex, utilityNumbers } = profile;
const { REGIONS, UTILITY_REFS } = regions;
const { cityText, COMMERCIAL_KIND, createdAt, extraFields, KINDS, METER_TYPE_OF_KIND, REGION_CODE, referenceJson, TARIFFS, UTILITIES, UTILITY_PROGRAMS, updatedAt, withExtra, withExtraText } = shared;
const { FLAG_ARCHIVED } = state;
const { civilFromDays, formatDay, formatSeconds, localDay, localMidnight, nextPeriodOf, periodOf } = time;

/** v1 from the region to the service point number: by (region, utility). */
const V1_HEAD = new Fragments(REGIONS.length * UTILITIES, (key) => {
  const u = UTILITY_REFS[key % UTILITIES].utility;
  return `,"transmission_region":"${REGION_CODE[Math.floor(key / UTILITIES)]}","utility":"${u.code}","service_point_number":"`;
});
/** v1 tariff up to the service address: by (utility, commercial, tariff). */
const V1_TARIFF = new Fragments(UTILITIES * 2 * TARIFFS, (key) => {
  const u = UTILITY_REFS[Math.floor(key / 2 / TARIFFS)].utility;
  const list = Math.floor(key / TARIFFS) % 2 === 1 ? u.commercialTariffs : u.tariffs;
  return `","tariff":"${list[key % TARIFFS]}","service_address_full":"`;
});
/** v1 meter type and archive flag up to `date_added`: by (kind, archived). */
const V1_MID = new Fragments(KINDS * 2, (key) => `","meter_type":"${METER_TYPE_OF_KIND[key >> 1]}","is_archived":${bool((key & 1) === 1)},"date_added":"`);
/** v1 enrollment status up to `active_from`: by status, or 5 for ActionRequired. */
const V1_STATUS_HEAD = new Fragments(V1_STATUS.length + 1, (s) => `","enrollment":{"status":"${s < V1_STATUS.length ? V1_STATUS[s] : 'ActionRequired'}","active_from":`);
/** Empty status reasons through the participation list's start: by (open string, preference). */
const V1_NO_REASONS = new Fragments(2 * V1_PREFERENCE.length, (key) => {
  const open = key >= V1_PREFERENCE.length;
  return (open ? '"' : '') + `,"status_reasons":[],"partner_preferred_action":"${V1_PREFERENCE[key % V1_PREFERENCE.length]}"},"participation":[`;
});
/** After non-empty status reasons, through the participation list's start: by preference. */
const V1_REASONS_END = new Fragments(V1_PREFERENCE.length, (p) => `],"partner_preferred_action":"${V1_PREFERENCE[p]}"},"participation":[`);

export class V1View {
  /** Per market group: its v1 `participation` item up to the trade date, first in the list or not. */
  private readonly groupItems: string[] = [];
  /** Trade date (local day) of `nowMs` per region, for v1 `participation`. */
  private todayNowMs = NaN;
  private readonly todayByRegion = new Float64Array(REGIONS.length);

  constructor(
    private readonly store: MeterStore,
    private readonly groups: MarketGroups,
    private readonly seed: number,
    private readonly actions: RequiredActions,
  ) {}

  /** The v1 meter object (leap-api.md §3.5) as JSON text; trade dates are today and the next two in the meter's region. */
  json(i: number, nowMs: number): string {
    return withExtraText(this.store, this.text(i, nowMs), i, 'v1');
  }

  object(i: number, nowMs: number): Json {
    return withExtra(JSON.parse(this.text(i, nowMs)) as Json, extraFields(this.store, i, 'v1'));
  }

  private today(region: number, nowMs: number): number {
    if (nowMs !== this.todayNowMs) {
      for (let r = 0; r < REGIONS.length; r++) this.todayByRegion[r] = localDay(r, nowMs);
      this.todayNowMs = nowMs;
    }
    return this.todayByRegion[region];
  }

  /** A v1 `participation` item up to its trade date, after the previous item's trade date unless first. */
  private groupItem(group: number, first: boolean): string | undefined {
    const key = group * 2 + (first ? 1 : 0);
    const cached = this.groupItems[key];
    if (cached !== undefined) return cached;
    const g = this.groups.get(group);
    if (!g) return undefined;
    const text = (first ? '' : '"},') + `{"market_group_id":${JSON.stringify(g.id)},"market_group_name":${JSON.stringify(g.name)},"trade_date":"`;
    this.groupItems[key] = text;
    return text;
  }

  private text(i: number, nowMs: number): string {
    const s = this.store;
    const seed = this.seed;
    const region = s.region[i];
    const utility = s.utility[i];
    const status = s.status[i];
    const kind = s.kind[i];
    const numbers = utilityNumbers(s, seed, i);
    const ref = referenceJson(s, i);
    let o = '{"meter_id":"' + s.meterId(i);
    o += ref === undefined ? '","partner_reference":null' : '","partner_reference":' + ref;
    o += V1_HEAD.get(region * UTILITIES + utility) + numbers.account;
    o += '","bill_customer_agreement_number":"' + numbers.customerAccount;
    o += V1_TARIFF.get((utility * 2 + (COMMERCIAL_KIND[kind] ? 1 : 0)) * TARIFFS + tariffIndex(s, seed, i)) + fullAddress(address(s, seed, i));
    o += V1_MID.get(kind * 2 + ((s.flags[i] & FLAG_ARCHIVED) !== 0 ? 1 : 0)) + createdAt(s, i);
    o += '","date_last_modified":"' + updatedAt(s, i);

    const partner = s.partnerActions[i] === 0 ? null : this.actions.partnerActions(i);
    const hasPartner = partner !== null && partner.length > 0;
    const reasons = hasPartner ? partner : s.leapActions[i] === 0 ? null : this.actions.leapActions(i);
    o += V1_STATUS_HEAD.get(hasPartner ? V1_STATUS.length : status);
    let open = false;
    if (status === ACTIVE) {
      const activeFrom = s.activeFrom[i];
      o += activeFrom > 0 ? '"' + formatSeconds(activeFrom * 1000) + '","active_to":"' : 'null,"active_to":"';
      const primary = UTILITY_PROGRAMS[utility][0];
      o += formatSeconds(nextPeriodOf(primary, region, periodOf(primary, region, s.enrollAt[i] * 1000)).endMs);
      open = true;
    } else {
      o += 'null,"active_to":null';
    }
    const eligibleFrom = s.eligibleFrom[i];
    if ((status === ELIGIBLE || status === ACTIVE) && eligibleFrom > 0) {
      const eligibleYear = Math.floor(civilFromDays(Math.floor(eligibleFrom / 86_400)) / 10000);
      o += (open ? '","eligible_from":"' : ',"eligible_from":"') + formatSeconds(eligibleFrom * 1000);
      o += '","eligible_to":"' + formatSeconds(localMidnight(region, eligibleYear + 4, 1, 2));
      open = true;
    } else {
      o += open ? '","eligible_from":null,"eligible_to":null' : ',"eligible_from":null,"eligible_to":null';
      open = false;
    }
    const pref = s.preference[i];
    if (reasons === null || reasons.length === 0) {
      o += V1_NO_REASONS.get((open ? V1_PREFERENCE.length : 0) + pref);
    } else {
      o += open ? '","status_reasons":[' : ',"status_reasons":[';
      for (let k = 0; k < reasons.length; k++) {
        o += (k > 0 ? ',{"code":"' : '{"code":"') + reasons[k].action_code + '","comment":"' + reasons[k].action_description + '"}';
      }
      o += V1_REASONS_END.get(pref);
    }
    let items = 0;
    if (status === ACTIVE) {
      const today = this.today(region, nowMs);
      for (let d = today; d <= today + 2; d++) {
        const item = this.groupItem(s.groupOn(i, d), items === 0);
        if (item === undefined) continue;
        o += item + formatDay(d);
        items++;
      }
    }
    return o + (items > 0 ? '"}]}' : ']}');
  }
}

/** v1 `service_address_full`: street, city, state and ZIP, upper case. */
function fullAddress(a: Address): string {
  const street = a.street2 ? a.street1 + ' ' + a.street2 : a.street1;
  return street.toUpperCase() + cityText(a.place).v1 + a.postalCode.toUpperCase();
}
