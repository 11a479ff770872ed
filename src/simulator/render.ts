/**
 * Builds Leap's JSON for a meter from its compact state: v2 MeterDetailsResponse
 * (render-details.ts), v2 MeterEnrollmentResponse (render-enrollment.ts), the v1 meter object
 * (render-v1.ts) and the webhook payloads (render-events.ts). Field names, order and enums follow
 * Leap's OpenAPI files; v1 follows leap-api.md §3.5–3.7.
 *
 * The three meter views are written as JSON text directly, in the field order of the objects
 * Leap's schemas describe (what `JSON.stringify` of those objects gives, byte for byte): a search
 * page is its meters' texts joined, with no object built or stringified per meter. Constant text
 * and catalog values are joined into fragments once (see text.ts); per meter, only its own values
 * are concatenated. The object views (`object()`) parse the text. Catalog strings are written as
 * they are (checked at load to need no escaping); free text (hand-set partner references, unknown
 * fields) goes through `JSON.stringify`.
 */
import type { MarketGroups } from './markets';
import { RequiredActions } from './render-actions';
import { DetailsView } from './render-details';
import { EnrollmentView } from './render-enrollment';
import { EventPayloads } from './render-events';
import { V1View } from './render-v1';
import type { MeterStore } from './state';

/** A snapshot of one meter in every view Leap offers. */
export interface MeterViews {
  details: Record<string, unknown>;
  enrollment: Record<string, unknown>;
  v1: Record<string, unknown>;
}

export class Renderer {
  readonly actions: RequiredActions;
  readonly details: DetailsView;
  readonly enrollment: EnrollmentView;
  readonly v1: V1View;
  readonly events: EventPayloads;

  constructor(store: MeterStore, groups: MarketGroups, seed: number) {
    this.actions = new RequiredActions(store, seed);
    this.details = new DetailsView(store, seed);
    this.enrollment = new EnrollmentView(store, groups, seed, this.actions);
    this.v1 = new V1View(store, groups, seed, this.actions);
    this.events = new EventPayloads(store, groups, this.actions, this.enrollment);
  }

  /** The meter in every view as fresh objects, parsed from the text served; v1 trade dates from `nowMs`. */
  views(i: number, nowMs: number): MeterViews {
    return { details: this.details.object(i), enrollment: this.enrollment.object(i), v1: this.v1.object(i, nowMs) };
  }
}
