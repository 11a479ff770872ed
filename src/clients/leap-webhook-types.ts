/** Leap's Webhook Subscription API v1.1 (`/v1.1/webhooks`), as its OpenAPI file describes it. */

export interface LeapWebhookHeader {
  name: string;
  /** Leap echoes header values back on list: they are the subscriber's shared secret. */
  value: string;
}

export interface LeapWebhookSubscriptionInput {
  receiver_url: string;
  event_types: string[];
  headers?: LeapWebhookHeader[];
}

export interface LeapWebhookSubscription extends LeapWebhookSubscriptionInput {
  webhook_id: string;
  [field: string]: unknown;
}

export interface LeapWebhookTestResult {
  is_successful: boolean;
  error?: string;
  status_code?: number;
  response_time_ms?: number;
  [field: string]: unknown;
}

/** `POST /v1.1/webhooks/{id}/test` takes the inner event payload, keyed by `webhook_event_type`. */
export interface LeapWebhookTestPayload {
  webhook_event_type: string;
  [field: string]: unknown;
}
