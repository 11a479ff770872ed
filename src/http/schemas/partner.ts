import { ENROLLMENT_STATUSES } from '../../domain/leap-types';
import { READINESS_ANSWERS, READINESS_STATES } from '../../domain/readiness';

/**
 * The JSON Schemas of the partner's requests (meters, readiness, rosters): ajv validates with these and
 * the API description publishes them. Strings are bounded, objects closed.
 */

/** Leap's meter ids are UUIDs. */
export const meterIdSchema = { type: 'string', format: 'uuid', description: "Leap's meter id (a UUID)" } as const;

export const partnerReferenceSchema = { type: 'string', minLength: 1, maxLength: 256, description: "The partner's own reference for the meter, as stored at Leap" } as const;

export const meterIdParamSchema = { type: 'object', required: ['meter_id'], properties: { meter_id: meterIdSchema } } as const;

export const meterListQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    partner_reference: { type: 'string', minLength: 1, maxLength: 256 },
    status: { type: 'string', enum: [...ENROLLMENT_STATUSES], description: 'the global enrollment status' },
    market_group_id: { type: 'string', minLength: 1, maxLength: 64 },
    trade_date: { type: 'string', format: 'date', description: 'meters assigned to a market group on this trade date (v1 assignments; v2 assigns per delivery period)' },
    transmission_region: { type: 'string', minLength: 1, maxLength: 16 },
    partner_action_required: { type: 'boolean' },
    archived: { type: 'boolean' },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
    after: { type: 'string', maxLength: 64, description: 'meters after this meter id (next_after of the previous page)' },
  },
} as const;

const answerProperties = {
  status: { type: 'string', enum: [...READINESS_ANSWERS], description: 'ready: the devices can act on a dispatch; not_ready: they cannot (say why in reason)' },
  device_ids: { type: 'array', maxItems: 100, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 128 }, description: "The partner's ids of the devices this answer is about" },
  reason: { type: 'string', maxLength: 1000 },
  effective_at: { type: 'string', format: 'date-time', description: 'When the answer takes effect (RFC 3339)' },
} as const;

export const readinessAnswerSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['status'],
  properties: answerProperties,
} as const;

export const MAX_BATCH_ITEMS = 1000;

/** One item of a batch: addressed by meter_id or by partner_reference, exactly one of them. */
export const readinessBatchItemSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['status'],
  properties: { meter_id: meterIdSchema, partner_reference: partnerReferenceSchema, ...answerProperties },
  oneOf: [{ required: ['meter_id'] }, { required: ['partner_reference'] }],
} as const;

/** The batch itself; each item is checked on its own (an invalid item is an error result, not a 400). */
export const readinessBatchSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['items'],
  properties: { items: { type: 'array', minItems: 1, maxItems: MAX_BATCH_ITEMS, items: {}, description: 'each item is checked against the item schema on its own' } },
} as const;

export const readinessListQuerySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['state'],
  properties: {
    state: { type: 'string', enum: READINESS_STATES.filter((s) => s !== 'not_required') },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
    after: { type: 'string', maxLength: 64 },
  },
} as const;

export const idempotencyKeySchema = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$', description: 'Printable ASCII, no spaces' } as const;

export const marketGroupIdSchema = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[\\x21-\\x7e]+$', description: "Leap's market group id" } as const;

export const marketGroupParamSchema = { type: 'object', required: ['id'], properties: { id: marketGroupIdSchema } } as const;

export const tradeDateQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { trade_date: { type: 'string', format: 'date', description: 'YYYY-MM-DD in the market time zone; default: the next trade date' } },
} as const;

export const MAX_ROSTER_MEMBERS = 50_000;

/** The partner's own member list of a group on a trade date: by meter id or by partner reference. */
export const partnerRosterSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    meter_ids: { type: 'array', maxItems: MAX_ROSTER_MEMBERS, items: meterIdSchema },
    partner_references: { type: 'array', maxItems: MAX_ROSTER_MEMBERS, items: partnerReferenceSchema },
  },
  oneOf: [{ required: ['meter_ids'] }, { required: ['partner_references'] }],
} as const;
