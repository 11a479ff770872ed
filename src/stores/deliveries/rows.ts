import { fromDbInt, fromDbJson, fromDbTime } from '../../db/dialect';
import type { AttemptTrigger, DeliveryStatus, ErrorClass, Outcome } from '../../domain/delivery';

/**
 * Per destination and meter the deliveries not yet delivered or dead form a line, in sequence
 * order. Only its first can be sent: it is `pending` (or `delivering` while in flight); the others
 * are stored as `waiting` (shown as pending), so claims read only what they can take, with no
 * check per row. The line moves on (`lineUp`) when its first is done, when deliveries join it, and
 * when a replay puts an earlier one back in it.
 */
export const WAITING = 'waiting';
export const IN_LINE = ['pending', WAITING, 'delivering'];

export interface Delivery {
  id: string;
  destination: string;
  eventId: number | null;
  meterId: string;
  sequence: number;
  eventType: string;
  status: DeliveryStatus;
  body: string;
  recordHash: string;
  createdAt: Date;
  nextAttemptAt: Date;
  attempts: number;
  retryIndex: number;
  lastAttemptAt: Date | null;
  lastStatus: number | null;
  lastErrorClass: string | null;
  lastError: string | null;
  deliveredAt: Date | null;
  deadAt: Date | null;
  deadReason: string | null;
  lastTrigger: AttemptTrigger;
  replays: number;
}

export interface NewDelivery {
  id: string;
  destination: string;
  eventId: number | null;
  meterId: string;
  sequence: number;
  eventType: string;
  status: 'pending' | 'dead';
  body: string;
  recordHash: string;
  createdAt: Date;
  deadReason?: string | null;
  lastError?: string | null;
}

export interface Attempt {
  id: number;
  deliveryId: string;
  attempt: number;
  trigger: AttemptTrigger;
  startedAt: Date;
  durationMs: number;
  url: string;
  requestHeaders: Record<string, string>;
  statusCode: number | null;
  responseHeaders: Record<string, string> | null;
  responseBody: string | null;
  errorClass: ErrorClass | null;
  errorMessage: string | null;
  outcome: Outcome;
}

/** The result of one attempt, written with the delivery's new state in one transaction. */
export interface AttemptRecord {
  deliveryId: string;
  /** The delivery's line: when it is done, the next delivery of its meter to its destination goes. */
  destination: string;
  meterId: string;
  claimedBy: string;
  /** 1-based: the delivery's attempts so far (as claimed) plus this one. */
  attemptNumber: number;
  trigger: AttemptTrigger;
  attempt: Omit<Attempt, 'id' | 'deliveryId' | 'attempt'>;
  next: {
    status: DeliveryStatus;
    nextAttemptAt: Date | null;
    retryIndex: number;
    /** Throttled and paused sends do not use an attempt. */
    countsAsAttempt: boolean;
    deadReason: string | null;
  };
}

export interface DeliveryFilter {
  status?: DeliveryStatus;
  destination?: string;
  meterId?: string;
  eventType?: string;
  /** Created at or after. */
  since?: Date;
  /** Created before. */
  until?: Date;
  /** Pending after at least one failed attempt (its retry is scheduled). */
  retrying?: boolean;
}

export interface DestinationQueueStats {
  destination: string;
  pending: number;
  delivering: number;
  dead: number;
  delivered: number;
  oldestPendingAt: Date | null;
}

export interface DeliveryRow {
  id: string;
  destination: string;
  event_id: number | string | null;
  meter_id: string;
  sequence: number | string;
  event_type: string;
  status: string;
  body: string;
  record_hash: string;
  created_at: string | Date;
  next_attempt_at: string | Date;
  attempts: number | string;
  retry_index: number | string;
  last_attempt_at: string | Date | null;
  last_status: number | string | null;
  last_error_class: string | null;
  last_error: string | null;
  delivered_at: string | Date | null;
  dead_at: string | Date | null;
  dead_reason: string | null;
  last_trigger: string;
  replays: number | string;
}

export function toDelivery(r: DeliveryRow): Delivery {
  return {
    id: r.id,
    destination: r.destination,
    eventId: r.event_id === null ? null : fromDbInt(r.event_id),
    meterId: r.meter_id,
    sequence: fromDbInt(r.sequence),
    eventType: r.event_type,
    // Waiting behind an earlier delivery of its meter is being pending, to everyone outside the store.
    status: (r.status === WAITING ? 'pending' : r.status) as DeliveryStatus,
    body: r.body,
    recordHash: r.record_hash,
    createdAt: fromDbTime(r.created_at)!,
    nextAttemptAt: fromDbTime(r.next_attempt_at)!,
    attempts: fromDbInt(r.attempts),
    retryIndex: fromDbInt(r.retry_index),
    lastAttemptAt: fromDbTime(r.last_attempt_at),
    lastStatus: r.last_status === null ? null : fromDbInt(r.last_status),
    lastErrorClass: r.last_error_class,
    lastError: r.last_error,
    deliveredAt: fromDbTime(r.delivered_at),
    deadAt: fromDbTime(r.dead_at),
    deadReason: r.dead_reason,
    lastTrigger: r.last_trigger as AttemptTrigger,
    replays: fromDbInt(r.replays),
  };
}

export interface AttemptRow {
  id: number | string;
  delivery_id: string;
  attempt: number | string;
  trigger: string;
  started_at: string | Date;
  duration_ms: number | string;
  url: string;
  request_headers_json: string;
  status_code: number | string | null;
  response_headers_json: string | null;
  response_body: string | null;
  error_class: string | null;
  error_message: string | null;
  outcome: string;
}

export function toAttempt(r: AttemptRow): Attempt {
  return {
    id: fromDbInt(r.id),
    deliveryId: r.delivery_id,
    attempt: fromDbInt(r.attempt),
    trigger: r.trigger as AttemptTrigger,
    startedAt: fromDbTime(r.started_at)!,
    durationMs: fromDbInt(r.duration_ms),
    url: r.url,
    requestHeaders: fromDbJson<Record<string, string>>(r.request_headers_json) ?? {},
    statusCode: r.status_code === null ? null : fromDbInt(r.status_code),
    responseHeaders: fromDbJson<Record<string, string>>(r.response_headers_json),
    responseBody: r.response_body,
    errorClass: r.error_class as ErrorClass | null,
    errorMessage: r.error_message,
    outcome: r.outcome as Outcome,
  };
}

