import { decide, type AttemptResult, type AttemptTrigger, type Outcome } from '../../domain/delivery';
import type { OutboundDestination } from '../../domain/destination';
import { redactHeaders } from '../../domain/headers';
import type { Delivery } from '../../stores/deliveries/rows';
import type { SettledAttempt } from './destination-health';

export interface Answered {
  destination: OutboundDestination;
  delivery: Delivery;
  trigger: AttemptTrigger;
  /** The request's headers as sent (signatures included; redacted before they are stored). */
  headers: Record<string, string>;
  result: AttemptResult;
  /** The worker that claimed the delivery: its result is written only while the claim is its own. */
  claimedBy: string;
  now: Date;
  random?: () => number;
}

/** An answered attempt, decided (delivered, retry, dead, throttled) and made ready to be written. */
export function settle(a: Answered): SettledAttempt {
  const { destination: d, delivery, trigger, result, now } = a;
  let decision = decide(result, delivery.retryIndex, { scheduleMs: d.retryScheduleMs, jitter: d.jitter, deadOn: d.deadOn }, now, a.random);
  // A failed probe is the destination's failure, not the delivery's: it keeps its place and its retries.
  if (trigger === 'probe' && decision.outcome !== 'delivered') decision = { ...decision, outcome: decision.outcome === 'dead' ? 'retry' : decision.outcome, nextAttemptAt: now, retryIndex: delivery.retryIndex, deadReason: null };
  const status = decision.outcome === 'delivered' ? 'delivered' : decision.outcome === 'dead' ? 'dead' : 'pending';
  return {
    record: {
      deliveryId: delivery.id,
      destination: d.name,
      meterId: delivery.meterId,
      claimedBy: a.claimedBy,
      attemptNumber: delivery.attempts + 1,
      trigger,
      attempt: {
        trigger,
        startedAt: result.startedAt,
        durationMs: result.durationMs,
        url: d.url,
        requestHeaders: redactHeaders(a.headers),
        statusCode: result.status,
        responseHeaders: result.responseHeaders,
        responseBody: result.responseBody,
        errorClass: result.errorClass,
        errorMessage: result.errorMessage,
        outcome: decision.outcome as Outcome,
      },
      next: { status, nextAttemptAt: decision.nextAttemptAt, retryIndex: decision.retryIndex, countsAsAttempt: decision.outcome !== 'throttled', deadReason: decision.deadReason },
    },
    destination: d.name,
    decision,
    status: result.status,
    at: now,
  };
}
