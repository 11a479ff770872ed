import type { MeterEventType } from '../../domain/events';
import { RESERVED_DATA_KEYS } from '../../domain/webhook-body';

/**
 * What a destination receives (src/domain/webhook-body.ts): the Standard Webhooks envelope
 * `{type, timestamp, data}`, where data is the destination's mapped record plus the connector's
 * own keys. A destination without a mapping (`mapping: {}`) gets only those keys: the default body.
 */

type Schema = Record<string, unknown>;

/** When each event is sent; typed by the catalogue, so a new event type needs its line here. */
export const EVENT_DESCRIPTIONS: Record<MeterEventType, string> = {
  'meter.created': 'A meter is seen for the first time (a new customer authorization); followed at once by activated, required-actions.updated, group.updated or archived if the meter already is so. Carries no changes.',
  'meter.partner-reference.updated': 'partner_reference is set or changed.',
  'meter.enrollment.global-status.updated': 'The global enrollment status changed (per-program statuses that moved with it are in its changes).',
  'meter.enrollment.activated': 'The meter became ACTIVE: the partner must make it dispatch-ready.',
  'meter.enrollment.participation-status.updated': 'The participation preference (participate, idle, disenroll) or its periods changed.',
  'meter.enrollment.required-actions.updated': 'Partner actions appeared, changed or cleared.',
  'meter.enrollment.group.updated': 'A market group assignment changed (v1: today and the next two trade dates; v2: per program delivery period).',
  'meter.details.updated': 'Any other stored field changed, including a field Leap added (extra.<name>); changes list the paths. Not sent when the mapped record equals the last one queued for the destination.',
  'meter.archived': 'Archived at Leap, or gone from Leap in a full reconcile.',
  'meter.readiness.updated': "The meter's dispatch readiness moved; changes name the readiness.* fields.",
  'meter.readiness.overdue': 'An awaiting meter passed readiness.overdue_after without a confirmation; once per activation.',
  'market_group.roster.drifted': "After the partner checked a group's roster for a trade date, a sync moved this meter into or out of it for that date (changes: one roster change, from and to {market_group_id, trade_date, member, in_partner_roster}).",
};

const connectorKeys: Record<(typeof RESERVED_DATA_KEYS)[number], Schema> = {
  meter_id: { type: 'string', description: "Leap's meter id" },
  sequence: { type: 'integer', minimum: 1, description: 'per meter, only grows: ignore an event older than one already applied' },
  changes: {
    type: 'array',
    minItems: 1,
    items: { $ref: '#/components/schemas/Change' },
    description: 'what changed, as {path, from, to}; present on update events, absent on meter.created',
  },
};

export const webhookSchemas: Record<string, Schema> = {
  WebhookData: {
    type: 'object',
    required: ['meter_id', 'sequence'],
    properties: connectorKeys,
    additionalProperties: { description: "a field of the destination's mapping" },
    description: "The destination's mapped record (its mapping's output fields) plus meter_id, sequence and changes, which are the connector's. With mapping: {} these three are the whole body.",
  },
};

/** The envelope of one event type. */
export function webhookEnvelope(type: MeterEventType): Schema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'timestamp', 'data'],
    properties: {
      type: { const: type },
      timestamp: { type: 'string', format: 'date-time', description: 'when the change was seen' },
      data: { $ref: '#/components/schemas/WebhookData' },
    },
  };
}

export const WEBHOOK_HEADERS: Record<string, Schema> = {
  'webhook-id': { type: 'string', description: 'The delivery id, stable across retries and replays: dedupe on it', examples: ['msg_01M8F4RZ4RZYNDFW49MDJMM0JY'] },
  'webhook-timestamp': { type: 'string', pattern: '^[0-9]+$', description: 'This attempt, in Unix seconds: reject one more than 5 minutes from your clock' },
  'webhook-signature': {
    type: 'string',
    pattern: '^v1,[A-Za-z0-9+/=]+( v1,[A-Za-z0-9+/=]+)*$',
    description: 'v1,<base64 HMAC-SHA256> over `${webhook-id}.${webhook-timestamp}.${raw body}`, keyed by the base64-decoded part of the whsec_ secret; one entry per active secret, separated by spaces',
  },
};
