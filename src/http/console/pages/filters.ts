import { METER_EVENT_TYPES } from '../../../domain/events';
import type { DeliveryFilter } from '../../../services/delivery/admin-service';

/** The statuses the console filters by: the API's, and retrying (pending after a failed attempt). */
export const CONSOLE_STATUSES = ['pending', 'retrying', 'delivering', 'delivered', 'dead'] as const;
export type ConsoleStatus = (typeof CONSOLE_STATUSES)[number];

/** A delivery filter as the list's form sends it: every field as typed, for the form to show again. */
export interface FilterForm {
  status: string;
  destination: string;
  meter_id: string;
  event_type: string;
  since: string;
  until: string;
}

export const FILTER_FIELDS: readonly (keyof FilterForm)[] = ['status', 'destination', 'meter_id', 'event_type', 'since', 'until'];

/** A form's time: RFC 3339, or the browser's `datetime-local` (no zone: UTC, as every time here). */
export function formTime(text: string): Date | null {
  const t = text.trim();
  if (!t) return null;
  const withZone = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(t) ? `${t}Z` : t;
  const d = new Date(withZone);
  return Number.isNaN(d.getTime()) || !/^\d{4}-\d\d-\d\d/.test(t) ? null : d;
}

/** The `datetime-local` value for a time (UTC, to the minute). */
export function formValue(d: Date | null): string {
  return d ? d.toISOString().slice(0, 16) : '';
}

/** Read the filter form; each problem names its field. */
export function readFilter(query: Record<string, unknown>): { form: FilterForm; filter: DeliveryFilter; problems: string[] } {
  const text = (k: string) => (typeof query[k] === 'string' ? (query[k] as string).trim() : '');
  const form: FilterForm = { status: text('status'), destination: text('destination'), meter_id: text('meter_id'), event_type: text('event_type'), since: text('since'), until: text('until') };
  const problems: string[] = [];
  const filter: DeliveryFilter = {};
  if (form.status) {
    if (!(CONSOLE_STATUSES as readonly string[]).includes(form.status)) problems.push(`status must be one of ${CONSOLE_STATUSES.join(', ')}`);
    else if (form.status === 'retrying') filter.retrying = true;
    else filter.status = form.status as DeliveryFilter['status'];
  }
  if (form.destination) filter.destination = form.destination.slice(0, 128);
  if (form.meter_id) filter.meterId = form.meter_id.slice(0, 64);
  if (form.event_type) {
    if (!(METER_EVENT_TYPES as readonly string[]).includes(form.event_type)) problems.push(`event type "${form.event_type}" is not one the connector emits`);
    else filter.eventType = form.event_type;
  }
  for (const k of ['since', 'until'] as const) {
    if (!form[k]) continue;
    const d = formTime(form[k]);
    if (!d) problems.push(`${k} must be a date and time, such as 2026-12-07T09:30`);
    else filter[k] = d;
  }
  if (filter.since && filter.until && filter.since >= filter.until) problems.push('since must be before until');
  return { form, filter, problems };
}

/** The query string of a filter form (for links that keep it). */
export function filterQuery(form: Partial<FilterForm>, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams();
  for (const k of FILTER_FIELDS) if (form[k]) p.set(k, form[k]);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}
