import { DELIVERY_STATUSES } from '../../domain/delivery';
import { METER_EVENT_TYPES } from '../../domain/events';

/**
 * The JSON Schemas of the admin API's queries and bodies: ajv validates with these and the API
 * description publishes them. Strings are bounded, objects closed.
 */

export const syncRunListQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: ['incremental', 'full', 'refresh'] },
    status: { type: 'string', enum: ['running', 'succeeded', 'failed'] },
    limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
    before: { type: 'string', format: 'date-time', description: 'runs started before this time (next_before of the previous page)' },
  },
} as const;

export const startSyncRunSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: ['incremental', 'full'], default: 'incremental', description: 'full walks the whole portfolio and archives meters gone from Leap' },
    since: { type: 'string', format: 'date-time', description: 'read changes from this time instead of the stored cursor' },
  },
} as const;

export const eventListQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    meter_id: { type: 'string', minLength: 1, maxLength: 64 },
    type: { type: 'string', enum: [...METER_EVENT_TYPES] },
    sync_run_id: { type: 'string', maxLength: 64 },
    after_id: { type: 'integer', minimum: 0, description: 'events after this id (next_after_id of the previous page)' },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
  },
} as const;

export const deliveryListQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: [...DELIVERY_STATUSES] },
    destination: { type: 'string', minLength: 1, maxLength: 128 },
    meter_id: { type: 'string', minLength: 1, maxLength: 64 },
    event_type: { type: 'string', enum: [...METER_EVENT_TYPES] },
    since: { type: 'string', format: 'date-time', description: 'created at or after' },
    until: { type: 'string', format: 'date-time', description: 'created before' },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    before: { type: 'string', maxLength: 40, description: 'deliveries older than this id (next_before of the previous page)' },
  },
} as const;

export const bulkReplaySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['since'],
  properties: {
    status: { type: 'string', enum: ['dead', 'delivered', 'pending'], default: 'dead', description: 'pending brings forward deliveries held while a destination was paused' },
    since: { type: 'string', format: 'date-time', description: 'deliveries created at or after' },
    until: { type: 'string', format: 'date-time', description: 'deliveries created before' },
    destination: { type: 'string', minLength: 1, maxLength: 128 },
    event_type: { type: 'string', enum: [...METER_EVENT_TYPES] },
    meter_id: { type: 'string', minLength: 1, maxLength: 64 },
    dry_run: { type: 'boolean', default: false, description: 'only count the deliveries that match' },
    cap: { type: 'integer', minimum: 1, maximum: 1_000_000, description: 'replay at most this many' },
  },
} as const;

export const replayListQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
} as const;
