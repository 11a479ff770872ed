import { DURATION_PATTERN } from '../config/schema';

/**
 * A destination file (`config/destinations/NAME.yaml`) after `${VAR}` substitution and defaults.
 * `filter` and `mapping` are JSONata territory: they are never substituted (`$$` means the root there).
 */
export interface DestinationFile {
  name?: string;
  description?: string;
  url: string;
  enabled: boolean;
  events: string[];
  filter?: unknown;
  secrets: (string | { secret: string; expires_at?: string })[];
  timeout: string;
  rate_limit_per_second: number | null;
  concurrency: number;
  retry: { schedule: string[]; jitter: number };
  dead_on: number[];
  pause_after_failures: number;
  headers: Record<string, string>;
  on_missing: 'omit' | 'null' | null;
  mapping: Record<string, unknown>;
}

/** Svix's schedule after the first attempt; with jitter, each wait is ±20%. */
export const DEFAULT_RETRY_SCHEDULE = ['5s', '5m', '30m', '2h', '5h', '10h', '10h'] as const;
/** Statuses that no retry can fix: the request itself is wrong for this endpoint. */
export const DEFAULT_DEAD_ON = [400, 404, 413, 422] as const;

const duration = { type: 'string', pattern: DURATION_PATTERN } as const;

export const destinationSchema = {
  $id: 'https://leap-connector/destination.json',
  type: 'object',
  additionalProperties: false,
  required: ['url', 'events', 'secrets'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'default: the file name without .yaml' },
    description: { type: 'string' },
    url: { type: 'string', format: 'uri', pattern: '^https?://' },
    enabled: { type: 'boolean', default: true },
    events: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', minLength: 1 } },
    filter: { description: 'a JSONata expression; the meter is sent when it is true' },
    secrets: {
      type: 'array',
      minItems: 1,
      items: {
        if: { type: 'string' },
        then: { type: 'string' },
        else: {
          type: 'object',
          additionalProperties: false,
          required: ['secret'],
          properties: { secret: { type: 'string' }, expires_at: { type: 'string', format: 'date-time' } },
        },
      },
    },
    timeout: { ...duration, default: '15s' },
    rate_limit_per_second: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 10000, default: null },
    concurrency: { type: 'integer', minimum: 1, maximum: 256, default: 4 },
    retry: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        schedule: { type: 'array', maxItems: 50, items: duration, default: [...DEFAULT_RETRY_SCHEDULE] },
        jitter: { type: 'number', minimum: 0, maximum: 1, default: 0.2 },
      },
    },
    dead_on: { type: 'array', uniqueItems: true, items: { type: 'integer', minimum: 300, maximum: 599 }, default: [...DEFAULT_DEAD_ON] },
    pause_after_failures: { type: 'integer', minimum: 0, default: 20, description: '0: never pause' },
    headers: { type: 'object', default: {}, additionalProperties: { type: 'string' } },
    on_missing: { enum: ['omit', 'null', null], default: 'omit' },
    mapping: { default: {}, description: 'output field → path, or field spec' },
  },
} as const;

export const FIELD_KEYS = ['from', 'expr', 'map', 'default', 'format', 'transform', 'required', 'on_missing', 'fields'] as const;
export const TRANSFORM_NAMES = ['lowercase', 'uppercase', 'trim', 'string', 'number', 'boolean', 'join', 'first', 'last'] as const;
export type TransformName = (typeof TRANSFORM_NAMES)[number];

/**
 * A mapping: output key → a path (shorthand for `from`) or a field spec. Validated without type
 * coercion, so an expression YAML did not read as a string is reported instead of converted.
 */
export const mappingSchema = {
  $id: 'https://leap-connector/mapping.json',
  type: 'object',
  additionalProperties: { $ref: '#/$defs/field' },
  $defs: {
    field: {
      if: { type: 'object' },
      then: { $ref: '#/$defs/spec' },
      else: { type: 'string', minLength: 1 },
    },
    spec: {
      type: 'object',
      additionalProperties: false,
      properties: {
        from: { type: 'string', minLength: 1 },
        expr: { type: 'string', minLength: 1 },
        map: { type: 'object' },
        default: {},
        format: {
          if: { type: 'string' },
          then: { type: 'string', minLength: 1 },
          else: {
            type: 'object',
            additionalProperties: false,
            required: ['out'],
            properties: {
              in: { type: 'string', minLength: 1 },
              out: { type: 'string', minLength: 1 },
              timezone: { type: 'string', minLength: 1 },
            },
          },
        },
        transform: {
          if: { type: 'array' },
          then: { type: 'array', minItems: 1, items: { $ref: '#/$defs/transform' } },
          else: { $ref: '#/$defs/transform' },
        },
        required: { type: 'boolean' },
        on_missing: { enum: ['omit', 'null', null] },
        fields: { type: 'object', additionalProperties: { $ref: '#/$defs/field' } },
      },
    },
    transform: {
      if: { type: 'string' },
      then: { type: 'string', enum: [...TRANSFORM_NAMES, 'round'] },
      else: {
        type: 'object',
        minProperties: 1,
        maxProperties: 1,
        additionalProperties: false,
        properties: {
          join: { type: 'string' },
          round: { type: 'integer', minimum: 0, maximum: 10 },
        },
      },
    },
  },
} as const;
