import type { IncomingHttpHeaders } from 'node:http';
import type { VerifyFailure } from '../domain/signing';
import type { Logger } from '../logger';

const OUT_OF_ORDER_KEEP = 200;

export type RejectReason = VerifyFailure | 'invalid_json' | 'body_too_large';

/** One POST the receiver saw, signed or not. */
export interface ReceivedDelivery {
  /** `webhook-id`, the idempotency key (null when the header is missing). */
  id: string | null;
  /** `webhook-timestamp` as sent: Unix seconds of this attempt. */
  timestamp: number | null;
  type: string | null;
  meterId: string | null;
  sequence: number | null;
  /** The URL path it was posted to; one receiver can stand in for several destinations. */
  path: string;
  /** The raw body, exactly as received. */
  body: string;
  headers: IncomingHttpHeaders;
  /** When it arrived, ISO 8601. */
  receivedAt: string;
  valid: boolean;
  /** Why it was rejected (signature, JSON or size); null when accepted. */
  reason: RejectReason | null;
  /** A valid repeat of a `webhook-id` already accepted: answered 2xx, not counted again. */
  duplicate: boolean;
  /** A lower sequence than one already accepted for the same meter on the same path. */
  outOfOrder: boolean;
  /** The HTTP status the receiver answered. */
  status: number;
}

export interface OutOfOrderArrival {
  path: string;
  meterId: string;
  sequence: number;
  /** The highest sequence already accepted for that meter on that path. */
  afterSequence: number;
  id: string | null;
  receivedAt: string;
}

export interface ReceiverStats {
  /** Every delivery POST, whatever became of it. */
  received: number;
  valid: number;
  invalid: number;
  duplicates: number;
  /** Valid, first-seen deliveries answered 2xx: what the partner actually processed. */
  accepted: number;
  /** Valid deliveries the configured behaviour answered with a non-2xx status. */
  refused: number;
  out_of_order: number;
  /** Accepted deliveries by event type (duplicates not counted twice). */
  by_type: Record<string, number>;
  /** Invalid deliveries by reason. */
  invalid_by_reason: Partial<Record<RejectReason, number>>;
  /** The last out-of-order arrivals (at most 200). */
  out_of_order_recent: OutOfOrderArrival[];
  since: string;
}

export type DeliveryListener = (delivery: ReceivedDelivery) => void;

/** A capacity-bounded set that forgets its oldest entries first. */
class BoundedSet {
  private readonly items = new Set<string>();
  constructor(private readonly capacity: number) {}
  has(value: string): boolean {
    return this.items.has(value);
  }
  add(value: string): void {
    this.items.add(value);
    if (this.items.size > this.capacity) this.items.delete(this.items.values().next().value as string);
  }
  clear(): void {
    this.items.clear();
  }
}

export interface LedgerOptions {
  /** How many deliveries to keep for `received()` and the state page. */
  keep: number;
  /** How many accepted `webhook-id`s to remember for de-duplication. */
  seenIds: number;
  /** How many (path, meter) sequence positions to remember. */
  trackedMeters: number;
  logger?: Logger;
}

/**
 * What the receiver saw: the last deliveries, counts, the `webhook-id`s it accepted (to spot
 * repeats) and each meter's highest sequence per path (to spot arrivals out of order). Bounded
 * in memory whatever the traffic.
 */
export class DeliveryLedger {
  private readonly seenIds: BoundedSet;
  /** Highest accepted sequence per `path\0meter`; re-inserted on update so eviction drops the stalest. */
  private readonly positions = new Map<string, number>();
  private readonly listeners = new Set<DeliveryListener>();
  private recent: ReceivedDelivery[] = [];
  private counts!: Omit<ReceiverStats, 'out_of_order_recent' | 'since'>;
  private outOfOrderRecent: OutOfOrderArrival[] = [];
  private since = new Date();

  constructor(private readonly options: LedgerOptions) {
    this.seenIds = new BoundedSet(options.seenIds);
    this.resetCounts();
  }

  /** The last deliveries (up to `keep`), oldest first. */
  received(): ReceivedDelivery[] {
    return this.last(this.options.keep);
  }

  last(n: number): ReceivedDelivery[] {
    return this.recent.slice(Math.max(0, this.recent.length - Math.min(n, this.options.keep)));
  }

  stats(): ReceiverStats {
    return {
      ...this.counts,
      by_type: { ...this.counts.by_type },
      invalid_by_reason: { ...this.counts.invalid_by_reason },
      out_of_order_recent: [...this.outOfOrderRecent],
      since: this.since.toISOString(),
    };
  }

  /** Called for every delivery after it is recorded; returns an unsubscribe function. */
  onDelivery(listener: DeliveryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forgets deliveries, counters, seen ids and sequence positions. */
  reset(): void {
    this.recent = [];
    this.outOfOrderRecent = [];
    this.seenIds.clear();
    this.positions.clear();
    this.resetCounts();
    this.since = new Date();
  }

  /** A POST arrived, whatever becomes of it. */
  arrived(): void {
    this.counts.received += 1;
  }

  /** Its signature, JSON or size failed. */
  reject(d: ReceivedDelivery, reason: RejectReason): void {
    this.counts.invalid += 1;
    this.counts.invalid_by_reason[reason] = (this.counts.invalid_by_reason[reason] ?? 0) + 1;
    this.record(d);
  }

  /** Its signature held. */
  verified(): void {
    this.counts.valid += 1;
  }

  /** A `webhook-id` already accepted. */
  isRepeat(id: string | null): boolean {
    return id !== null && this.seenIds.has(id);
  }

  repeat(d: ReceivedDelivery): void {
    this.counts.duplicates += 1;
    this.record(d);
  }

  /** Answered 2xx: only now is its id seen, so a refused delivery's retry is its first acceptance. */
  accept(d: ReceivedDelivery): void {
    if (d.id !== null) this.seenIds.add(d.id);
    this.counts.accepted += 1;
    const type = d.type ?? '(none)';
    this.counts.by_type[type] = (this.counts.by_type[type] ?? 0) + 1;
    this.trackSequence(d);
    this.record(d);
  }

  /** Valid, but the configured behaviour answered it with a non-2xx status. */
  refuse(d: ReceivedDelivery): void {
    this.counts.refused += 1;
    this.record(d);
  }

  private trackSequence(d: ReceivedDelivery): void {
    if (d.meterId === null || d.sequence === null) return;
    const key = `${d.path}\u0000${d.meterId}`;
    const highest = this.positions.get(key);
    if (highest !== undefined && d.sequence < highest) {
      d.outOfOrder = true;
      this.counts.out_of_order += 1;
      this.outOfOrderRecent.push({ path: d.path, meterId: d.meterId, sequence: d.sequence, afterSequence: highest, id: d.id, receivedAt: d.receivedAt });
      if (this.outOfOrderRecent.length > OUT_OF_ORDER_KEEP) this.outOfOrderRecent.shift();
      this.options.logger?.warn('receiver saw a meter sequence out of order', { path: d.path, meter_id: d.meterId, sequence: d.sequence, after: highest });
      return;
    }
    if (highest !== undefined) this.positions.delete(key);
    this.positions.set(key, d.sequence);
    if (this.positions.size > this.options.trackedMeters) this.positions.delete(this.positions.keys().next().value as string);
  }

  private record(d: ReceivedDelivery): void {
    const keep = this.options.keep;
    this.recent.push(d);
    // Trim in batches so the list costs O(1) per delivery on average.
    if (this.recent.length > keep + Math.max(64, keep)) this.recent.splice(0, this.recent.length - keep);
    for (const l of this.listeners) {
      try {
        l(d);
      } catch (err) {
        this.options.logger?.error('receiver delivery listener failed', { err });
      }
    }
  }

  private resetCounts(): void {
    this.counts = { received: 0, valid: 0, invalid: 0, duplicates: 0, accepted: 0, refused: 0, out_of_order: 0, by_type: {}, invalid_by_reason: {} };
  }
}
