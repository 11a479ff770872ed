import type { LeapTransport, RequestSpec } from './leap-transport';
import type { LeapWebhookSubscription, LeapWebhookSubscriptionInput, LeapWebhookTestPayload, LeapWebhookTestResult } from './leap-webhook-types';

/** Leap's Webhook Subscription API (`/v1.1/webhooks`): the subscriptions through which Leap calls the connector. */

const WEBHOOKS = '/v1.1/webhooks';

export async function list(leap: LeapTransport): Promise<LeapWebhookSubscription[]> {
  const spec: RequestSpec = { method: 'GET', path: WEBHOOKS, idempotent: true };
  const body = await leap.send(spec);
  const subscriptions = isObject(body) ? body.webhooks : undefined;
  if (!Array.isArray(subscriptions)) throw leap.malformed(spec, [{ pointer: '/webhooks', message: 'must be an array' }]);
  const bad = subscriptions.findIndex((w) => !isObject(w) || typeof w.webhook_id !== 'string');
  if (bad >= 0) throw leap.malformed(spec, [{ index: bad, pointer: `/webhooks/${bad}/webhook_id`, message: 'must be a string' }]);
  return subscriptions as LeapWebhookSubscription[];
}

/** Leap has no idempotency key: a create is retried only when Leap surely never saw it. */
export async function create(leap: LeapTransport, input: LeapWebhookSubscriptionInput): Promise<{ webhook_id: string }> {
  return webhookIdAnswer(leap, { method: 'POST', path: WEBHOOKS, body: input, idempotent: false });
}

/** PUT replaces every setting of the subscription; nothing is merged. */
export async function update(leap: LeapTransport, webhookId: string, input: LeapWebhookSubscriptionInput): Promise<{ webhook_id: string }> {
  return webhookIdAnswer(leap, { method: 'PUT', path: subscriptionPath(webhookId), body: input, idempotent: true, notFound: { webhookId } });
}

export async function remove(leap: LeapTransport, webhookId: string): Promise<void> {
  await leap.send({ method: 'DELETE', path: subscriptionPath(webhookId), idempotent: true, notFound: { webhookId } });
}

/** Asks Leap to send a test event to the subscription's receiver and reports how it went. */
export async function test(leap: LeapTransport, webhookId: string, payload: LeapWebhookTestPayload): Promise<LeapWebhookTestResult> {
  const spec: RequestSpec = { method: 'POST', path: `${subscriptionPath(webhookId)}/test`, body: payload, idempotent: false, notFound: { webhookId } };
  const body = await leap.send(spec);
  if (!isObject(body) || typeof body.is_successful !== 'boolean') throw leap.malformed(spec, [{ pointer: '/is_successful', message: 'must be a boolean' }]);
  return body as LeapWebhookTestResult;
}

async function webhookIdAnswer(leap: LeapTransport, spec: RequestSpec): Promise<{ webhook_id: string }> {
  const body = await leap.send(spec);
  if (!isObject(body) || typeof body.webhook_id !== 'string') throw leap.malformed(spec, [{ pointer: '/webhook_id', message: 'must be a string' }]);
  return { webhook_id: body.webhook_id };
}

function subscriptionPath(webhookId: string): string {
  return `${WEBHOOKS}/${encodeURIComponent(webhookId)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
