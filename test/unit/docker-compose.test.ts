import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load';
import { parseDatabaseUrl } from '../../src/db/knex';

interface ComposeFile {
  services: Record<string, { environment?: Record<string, string>; depends_on?: Record<string, { condition: string }>; command?: string[] }>;
}

/** docker compose's own interpolation: ${VAR:-default} and ${VAR}, from the host environment. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Z_]+)(?::-([^}]*))?\}/g, (_m, name: string, def?: string) => env[name] || def || '');
}

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as ComposeFile;
  const connector = compose.services.connector!;
  const environment = (hostEnv: Record<string, string>) =>
    Object.fromEntries(Object.entries(connector.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), hostEnv)]));

  it("gives the connector an environment the connector's own config loader accepts", () => {
    const env = environment({});
    const { config } = loadConfig({ file: 'config/connector.yaml', env });
    assert.equal(config.database.url, 'mysql://connector:connector-password@mysql:3306/leap_connector');
    assert.equal(config.server.port, 8080);
    assert.equal(config.log.format, 'json');
    assert.equal(config.leap.api_key, '', 'no key: the built-in simulator runs');
    const db = parseDatabaseUrl(config.database.url);
    assert.equal(db.host, 'mysql');
    assert.equal(db.database, compose.services.mysql!.environment!.MYSQL_DATABASE);
    assert.equal(db.user, compose.services.mysql!.environment!.MYSQL_USER);
    // Replicas share Leap's and each destination's rate limit through the compose file's Redis.
    assert.equal(config.redis.url, 'redis://redis:6379');
    assert.ok(compose.services.redis, 'a redis service');
    assert.deepEqual(connector.depends_on?.redis, { condition: 'service_healthy' });
  });

  it('passes a real Leap account through', () => {
    const env = environment({ LEAP_API_KEY: 'abcdefghijklmnop:secret', LEAP_API_VERSION: 'v1', LEAP_ACCOUNT_ID: 'acct' });
    const { config } = loadConfig({ file: 'config/connector.yaml', env });
    assert.equal(config.leap.api_key, 'abcdefghijklmnop:secret');
    assert.equal(config.leap.api_version, 'v1');
    assert.equal(config.leap.account_id, 'acct');
  });

  it('starts the connector only once MySQL is healthy, with the server in UTC and binary collation', () => {
    assert.deepEqual(connector.depends_on?.mysql, { condition: 'service_healthy' });
    const cmd = compose.services.mysql!.command ?? [];
    assert.ok(cmd.includes('--default-time-zone=+00:00'));
    assert.ok(cmd.includes('--collation-server=utf8mb4_bin'));
  });
});
