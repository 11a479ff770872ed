import type { LogFormat, LogLevel } from '../logger';

/**
 * The connector's configuration: `config/connector.yaml`, with `${VAR}` / `${VAR:-default}`
 * substituted and the common settings taken straight from the environment. Validated once at
 * start (ajv, every error at once); a key the schema does not know is an error, never ignored.
 */
export interface Config {
  leap: LeapConfig;
  database: DatabaseConfig;
  server: ServerConfig;
  log: { level: LogLevel; format: LogFormat };
  simulator: SimulatorDemoConfig;
  sync: SyncConfig;
  api: ApiConfig;
  leap_events: LeapEventsConfig;
  destinations: DestinationsConfig;
  delivery: DeliveryConfig;
  readiness: ReadinessConfig;
  console: ConsoleConfig;
  metrics: MetricsConfig;
  redis: RedisConfig;
}

export interface MetricsConfig {
  /** GET /metrics in Prometheus' text format. */
  enabled: boolean;
  /** Ask for an admin-scope bearer key (unauthenticated otherwise, as scrapers usually are). */
  require_key: boolean;
}

export interface ConsoleConfig {
  /** The support console under /console in `serve`. */
  enabled: boolean;
  /** How long a sign-in lasts. */
  session_ttl: string;
}

export interface ReadinessConfig {
  /** How long a meter may wait for the partner's confirmation before it is overdue. */
  overdue_after: string;
  /** How often `serve` looks for meters past their deadline (one replica at a time). */
  check_every: string;
}

export interface RedisConfig {
  /** `redis://[:password@]host:port[/db]`; empty: rate limits are kept by each process alone. */
  url: string;
  /** Prefix of the limiters' keys, so connectors sharing one Redis keep apart. */
  key_prefix: string;
}

export interface DeliveryConfig {
  /** Run delivery workers inside `serve`. */
  enabled: boolean;
  /** How often an idle worker looks for due deliveries (new work wakes it at once in-process). */
  poll_interval: string;
  /** A claimed delivery returns to the queue if its worker has not answered for this long. */
  claim_ttl: string;
}

export interface DestinationsConfig {
  /**
   * The folder of destination files (`*.yaml`, one per partner endpoint), absolute once loaded.
   * Null when none was named and there is no `destinations` folder beside the configuration file:
   * events are stored and sent nowhere.
   */
  dir: string | null;
  /** Pick up edited destination files while `serve` runs (SIGHUP reloads either way). */
  watch: boolean;
}

export interface SyncConfig {
  /** Run scheduled passes inside `serve`. */
  enabled: boolean;
  /** An incremental pass: a duration (`1h`) or a cron expression (`0 * * * *`, UTC). */
  incremental_every: string;
  /** The full reconcile: a duration (`24h`) or a cron expression. */
  full_every: string;
  /** Each incremental pass re-reads this far behind its cursor (`10m`). */
  overlap: string;
  /** How long the sync lease lives without renewal (`60s`). */
  lease_ttl: string;
  /** v2 meters seen in one part only are completed with a GET, at most this many per pass. */
  fill_missing_parts_limit: number;
}

export type ApiScope = 'admin' | 'partner';

export interface ApiKeyConfig {
  name: string;
  key: string;
  scopes: ApiScope[];
}

export interface ApiConfig {
  keys: ApiKeyConfig[];
}

export interface LeapEventsConfig {
  enabled: boolean;
  /** The static header Leap sends with each webhook (set when registering the subscription). */
  header_name: string;
  /** Its value; empty turns the endpoint off (401 to everyone). */
  secret: string;
  /** The URL Leap should call, for `leap-webhooks register` (e.g. https://connector.example.com/leap/events). */
  public_url: string;
}

export interface LeapConfig {
  /** Empty: no Leap account; `serve` then runs against the built-in simulator. */
  api_key: string;
  base_url: string;
  api_version: 'v1' | 'v2';
  account_id: string;
  page_size: number;
  timeout_ms: number;
  rate_limit: { requests_per_second: number; max_concurrent: number };
  retry: { max_attempts: number; base_delay_ms: number; max_delay_ms: number };
}

export interface DatabaseConfig {
  /** `sqlite:PATH`, `sqlite::memory:` or `mysql://user:pass@host:port/db`. */
  url: string;
  migrate_on_start: boolean;
  pool_max: number;
}

export interface ServerConfig {
  port: number;
  host: string;
  body_limit: string;
}

export interface SimulatorDemoConfig {
  meters: number;
  seed: number;
  api_key: string;
  evolve_every_seconds: number;
}

/** Where the embedded database lives when none is named: beside the configuration file, like every relative path in it. */
export const DEFAULT_SQLITE_PATH = 'data/connector.sqlite';

/** The destinations folder when none is named, beside the configuration file (used only if it exists). */
export const DEFAULT_DESTINATIONS_DIR = 'destinations';

const positiveInt = { type: 'integer', minimum: 1 } as const;
/** `90s`, `10m`, `1h`, `1.5d`; schedules also take a cron expression. */
export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?(ms|s|m|h|d)$';
const duration = { type: 'string', pattern: DURATION_PATTERN } as const;
const schedule = { type: 'string', minLength: 1, description: 'a duration such as 1h, or a cron expression (UTC)' } as const;

export const configSchema = {
  $id: 'https://leap-connector/config.json',
  type: 'object',
  additionalProperties: false,
  properties: {
    leap: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        api_key: { type: 'string', default: '', description: 'Leap API key (Partner Portal → Account → API keys).' },
        base_url: { type: 'string', format: 'uri', pattern: '^https?://', default: 'https://api.leap.energy' },
        api_version: { enum: ['v1', 'v2'], default: 'v2' },
        account_id: { type: 'string', default: '', description: 'Account ID from the Partner Portal; v1 paths need it.' },
        page_size: { type: 'integer', minimum: 1, maximum: 500, default: 500 },
        timeout_ms: { type: 'integer', minimum: 100, maximum: 600000, default: 30000 },
        rate_limit: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            requests_per_second: { type: 'number', exclusiveMinimum: 0, maximum: 1000, default: 5 },
            max_concurrent: { ...positiveInt, maximum: 64, default: 2 },
          },
        },
        retry: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            max_attempts: { ...positiveInt, maximum: 50, default: 6 },
            base_delay_ms: { type: 'integer', minimum: 0, default: 500 },
            max_delay_ms: { type: 'integer', minimum: 0, default: 30000 },
          },
        },
      },
    },
    database: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: { type: 'string', pattern: '^(sqlite:.+|mysql2?://.+)$', default: `sqlite:${DEFAULT_SQLITE_PATH}` },
        migrate_on_start: { type: 'boolean', default: true },
        pool_max: { ...positiveInt, maximum: 200, default: 10 },
      },
    },
    server: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
        host: { type: 'string', minLength: 1, default: '0.0.0.0' },
        body_limit: { type: 'string', pattern: '^[0-9]+(b|kb|mb)$', default: '1mb' },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: { enum: ['error', 'warn', 'info', 'debug'], default: 'info' },
        format: { enum: ['auto', 'json', 'pretty'], default: 'auto' },
      },
    },
    simulator: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description: 'The built-in Leap simulator `serve` runs when leap.api_key is empty.',
      properties: {
        meters: { ...positiveInt, maximum: 1000000, default: 500 },
        seed: { type: 'integer', default: 1 },
        api_key: { type: 'string', minLength: 1, default: 'demo-key' },
        evolve_every_seconds: { type: 'number', minimum: 0, default: 60 },
      },
    },
    sync: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        incremental_every: { ...schedule, default: '1h' },
        full_every: { ...schedule, default: '24h' },
        overlap: { ...duration, default: '10m' },
        lease_ttl: { ...duration, default: '60s' },
        fill_missing_parts_limit: { type: 'integer', minimum: 0, default: 1000 },
      },
    },
    api: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        keys: {
          type: 'array',
          default: [],
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'key', 'scopes'],
            properties: {
              name: { type: 'string', minLength: 1, maxLength: 64 },
              key: { type: 'string', minLength: 16, description: 'at least 16 characters' },
              scopes: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['admin', 'partner'] } },
            },
          },
        },
      },
    },
    leap_events: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        header_name: { type: 'string', pattern: '^[A-Za-z0-9-]+$', default: 'x-leap-webhook-secret' },
        secret: { type: 'string', default: '' },
        public_url: { type: 'string', default: '' },
      },
    },
    destinations: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        dir: { type: ['string', 'null'], minLength: 1, default: null },
        watch: { type: 'boolean', default: true },
      },
    },
    delivery: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        poll_interval: { ...duration, default: '500ms' },
        claim_ttl: { ...duration, default: '2m' },
      },
    },
    readiness: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        overdue_after: { ...duration, default: '24h' },
        check_every: { ...duration, default: '1m' },
      },
    },
    console: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        session_ttl: { ...duration, default: '8h' },
      },
    },
    metrics: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        require_key: { type: 'boolean', default: false },
      },
    },
    redis: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: { type: 'string', pattern: '^(rediss?://.+)?$', default: '' },
        key_prefix: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$', default: 'leap-connector' },
      },
    },
  },
} as const;

/** Environment variables read directly, and the setting each one overrides. */
export const ENV_OVERRIDES: readonly { env: string; path: readonly string[] }[] = [
  { env: 'LEAP_API_KEY', path: ['leap', 'api_key'] },
  { env: 'LEAP_BASE_URL', path: ['leap', 'base_url'] },
  { env: 'LEAP_API_VERSION', path: ['leap', 'api_version'] },
  { env: 'LEAP_ACCOUNT_ID', path: ['leap', 'account_id'] },
  { env: 'DATABASE_URL', path: ['database', 'url'] },
  { env: 'REDIS_URL', path: ['redis', 'url'] },
  { env: 'PORT', path: ['server', 'port'] },
  { env: 'LOG_LEVEL', path: ['log', 'level'] },
  { env: 'LOG_FORMAT', path: ['log', 'format'] },
  { env: 'LEAP_WEBHOOK_SECRET', path: ['leap_events', 'secret'] },
];

/** Keys given in the environment join `api.keys`: ADMIN_API_KEY (admin and partner), PARTNER_API_KEY (partner). */
export const ENV_API_KEYS: readonly { env: string; name: string; scopes: ApiScope[] }[] = [
  { env: 'ADMIN_API_KEY', name: 'env:ADMIN_API_KEY', scopes: ['admin', 'partner'] },
  { env: 'PARTNER_API_KEY', name: 'env:PARTNER_API_KEY', scopes: ['partner'] },
];
