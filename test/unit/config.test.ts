import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, parseConfig, resolveConfigFile } from '../../src/config/load';
import { ConfigError } from '../../src/errors';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail('expected the configuration to be rejected');
}

describe('configuration', () => {
  it('fills every default from an empty file', () => {
    const base = mkdtempSync(path.join(tmpdir(), 'cfg-defaults-'));
    const c = parseConfig('', 'c.yaml', {}, { baseDir: base });
    assert.equal(c.leap.api_version, 'v2');
    assert.equal(c.leap.page_size, 500);
    assert.equal(c.leap.rate_limit.max_concurrent, 2);
    assert.equal(c.database.url, `sqlite:${path.join(base, 'data', 'connector.sqlite')}`);
    assert.equal(c.database.migrate_on_start, true);
    assert.equal(c.server.port, 8080);
    assert.equal(c.simulator.api_key, 'demo-key');
    // No destinations folder beside the file: none, rather than a folder that is not there.
    assert.deepEqual(c.destinations, { dir: null, watch: true });
  });

  it('returns a frozen object', () => {
    const c = parseConfig('', 'c.yaml', {});
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.leap.rate_limit));
  });

  it('substitutes ${VAR} and ${VAR:-default}, and $$ as a literal dollar', () => {
    const c = parseConfig(
      'leap:\n  api_key: ${KEY}\n  base_url: ${BASE:-https://api.staging.leap.energy}\n  account_id: "a$$b"\nserver:\n  port: ${P:-9090}\n',
      'c.yaml',
      { KEY: 'k-123456' },
    );
    assert.equal(c.leap.api_key, 'k-123456');
    assert.equal(c.leap.base_url, 'https://api.staging.leap.energy');
    assert.equal(c.leap.account_id, 'a$b');
    assert.equal(c.server.port, 9090);
  });

  it('takes the common settings straight from the environment, over the file', () => {
    const c = parseConfig('leap:\n  base_url: https://api.leap.energy\nserver:\n  port: 1\n', 'c.yaml', {
      LEAP_API_KEY: 'abc:def',
      LEAP_BASE_URL: 'https://api.staging.leap.energy',
      LEAP_API_VERSION: 'v1',
      LEAP_ACCOUNT_ID: 'acct-1',
      DATABASE_URL: 'mysql://u:p@db:3306/leap',
      PORT: '7000',
      LOG_LEVEL: 'debug',
    });
    assert.equal(c.leap.api_key, 'abc:def');
    assert.equal(c.leap.base_url, 'https://api.staging.leap.energy');
    assert.equal(c.leap.api_version, 'v1');
    assert.equal(c.leap.account_id, 'acct-1');
    assert.equal(c.database.url, 'mysql://u:p@db:3306/leap');
    assert.equal(c.server.port, 7000);
    assert.equal(c.log.level, 'debug');
  });

  it('reports every problem at once, each as file:line:col: /pointer message', () => {
    const text = ['leap:', '  page_sise: 100', '  api_version: v3', '  rate_limit:', '    max_concurrent: 0', 'server:', '  port: http', 'unknown_section: 1', ''].join('\n');
    const problems = problemsOf(() => parseConfig(text, 'config/connector.yaml', {}));
    assert.deepEqual(problems.sort(), [
      'config/connector.yaml:2:3: /leap/page_sise is not a known setting (did you mean "page_size"?); known here: api_key, base_url, api_version, account_id, page_size, timeout_ms, rate_limit, retry',
      'config/connector.yaml:3:16: /leap/api_version must be one of: "v1", "v2"',
      'config/connector.yaml:5:21: /leap/rate_limit/max_concurrent must be >= 1',
      'config/connector.yaml:7:9: /server/port must be integer',
      'config/connector.yaml:8:1: /unknown_section is not a known setting; known here: leap, database, server, log, simulator, sync, api, leap_events, destinations, delivery, readiness, console, metrics, redis',
    ].sort());
  });

  it('names the environment variable when the bad value came from one', () => {
    const problems = problemsOf(() => parseConfig('', 'c.yaml', { PORT: 'eighty', LEAP_API_VERSION: 'v9' }));
    assert.deepEqual(problems.sort(), ['environment LEAP_API_VERSION: /leap/api_version must be one of: "v1", "v2"', 'environment PORT: /server/port must be integer']);
  });

  it('rejects an unset ${VAR} with its position rather than using an empty value', () => {
    const problems = problemsOf(() => parseConfig('database:\n  url: ${DB_URL}\n', 'c.yaml', {}));
    assert.deepEqual(problems, ['c.yaml:2:8: /database/url refers to ${DB_URL}, which is not set (write ${DB_URL:-default} to allow it to be missing)']);
  });

  it('reports YAML syntax errors with their position', () => {
    const problems = problemsOf(() => parseConfig('leap:\n  api_key: a\n  api_key: b\n', 'c.yaml', {}));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^c\.yaml:3:3: \/ DUPLICATE_KEY: /);
  });

  it('requires an account id for v1 with a key', () => {
    const problems = problemsOf(() => parseConfig('leap:\n  api_version: v1\n  api_key: k-1234\n', 'c.yaml', {}));
    assert.deepEqual(problems, ['c.yaml:2:3: /leap/account_id is required when api_version is v1 (set LEAP_ACCOUNT_ID)']);
  });

  it('rejects a database URL it cannot use', () => {
    const problems = problemsOf(() => parseConfig('database:\n  url: postgres://x/y\n', 'c.yaml', {}));
    assert.deepEqual(problems, ['c.yaml:2:8: /database/url must be sqlite:PATH, sqlite::memory: or mysql://user:pass@host:port/db']);
  });

  it('rejects a document that is not a mapping', () => {
    assert.deepEqual(
      problemsOf(() => parseConfig('- a\n- b\n', 'c.yaml', {})),
      ['c.yaml:1:1: / must be a mapping of settings'],
    );
  });

  it('accepts a duration or a cron expression as a schedule, and names the bad one', () => {
    const ok = parseConfig("sync:\n  incremental_every: 15m\n  full_every: '0 3 * * *'\n", 'c.yaml', {});
    assert.equal(ok.sync.incremental_every, '15m');
    assert.equal(ok.sync.full_every, '0 3 * * *');
    const problems = problemsOf(() => parseConfig('sync:\n  full_every: every day\n  overlap: 10 minutes\n', 'c.yaml', {}));
    assert.equal(problems.length, 2);
    assert.match(problems.find((p) => p.includes('/sync/full_every'))!, /^c\.yaml:2:15: \/sync\/full_every is neither a duration \(30m, 1h, 1d\) nor a cron expression/);
    assert.match(problems.find((p) => p.includes('/sync/overlap'))!, /^c\.yaml:3:12: \/sync\/overlap must match pattern/);
  });

  it('adds API keys from ADMIN_API_KEY and PARTNER_API_KEY, and rejects short or duplicate ones', () => {
    const c = parseConfig('api:\n  keys:\n    - { name: crm, key: crm-key-0123456789, scopes: [partner] }\n', 'c.yaml', {
      ADMIN_API_KEY: 'admin-key-0123456789',
      PARTNER_API_KEY: 'partner-key-0123456789',
    });
    assert.deepEqual(
      c.api.keys.map((k) => [k.name, k.scopes.join('+')]),
      [
        ['crm', 'partner'],
        ['env:ADMIN_API_KEY', 'admin+partner'],
        ['env:PARTNER_API_KEY', 'partner'],
      ],
    );
    const problems = problemsOf(() =>
      parseConfig('api:\n  keys:\n    - { name: a, key: short, scopes: [admin] }\n    - { name: a, key: long-enough-key-123, scopes: [root] }\n', 'c.yaml', { ADMIN_API_KEY: 'tiny' }),
    );
    assert.deepEqual(problems.sort(), [
      'c.yaml:3:23: /api/keys/0/key must NOT have fewer than 16 characters',
      `c.yaml:4:15: /api/keys/1/name duplicates another key's name "a"`,
      'c.yaml:4:53: /api/keys/1/scopes/0 must be one of: "admin", "partner"',
      'environment ADMIN_API_KEY: /api/keys/2/key must NOT have fewer than 16 characters',
    ]);
  });

  describe('file resolution', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cfg-'));
    it('prefers --config, then CONNECTOR_CONFIG, then config/connector.yaml', () => {
      assert.equal(resolveConfigFile({ file: 'a.yaml', cwd: dir, env: { CONNECTOR_CONFIG: 'b.yaml' } }).file, path.join(dir, 'a.yaml'));
      assert.equal(resolveConfigFile({ cwd: dir, env: { CONNECTOR_CONFIG: 'b.yaml' } }).file, path.join(dir, 'b.yaml'));
      assert.equal(resolveConfigFile({ cwd: dir, env: {} }).file, path.join(dir, 'config', 'connector.yaml'));
    });
    it('fails when an explicitly named file is missing, and uses defaults when the default file is', () => {
      assert.deepEqual(problemsOf(() => loadConfig({ file: 'missing.yaml', cwd: dir, env: {} })), ['missing.yaml: configuration file not found']);
      const loaded = loadConfig({ cwd: dir, env: {} });
      assert.equal(loaded.file, null);
      assert.equal(loaded.config.server.port, 8080);
    });
    it('reads the named file', () => {
      writeFileSync(path.join(dir, 'x.yaml'), 'server:\n  port: 4321\n');
      const loaded = loadConfig({ file: 'x.yaml', cwd: dir, env: {} });
      assert.equal(loaded.config.server.port, 4321);
      assert.equal(loaded.file, path.join(dir, 'x.yaml'));
    });
  });

  it('the shipped config/connector.yaml is valid and equals the defaults', () => {
    const shipped = loadConfig({ file: 'config/connector.yaml', env: {} }).config;
    assert.deepEqual(shipped, parseConfig('', 'c.yaml', {}, { baseDir: path.resolve('config') }));
  });

  describe('relative paths', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'cfg-paths-'));
    const elsewhere = mkdtempSync(path.join(tmpdir(), 'cfg-cwd-'));
    const folder = path.join(root, 'connector');
    mkdirSync(path.join(folder, 'partners'), { recursive: true });
    mkdirSync(path.join(folder, 'destinations'));
    writeFileSync(path.join(folder, 'named.yaml'), 'database:\n  url: sqlite:state/c.sqlite\ndestinations:\n  dir: partners\n');
    writeFileSync(path.join(folder, 'defaults.yaml'), 'server:\n  port: 9000\n');

    it('written in the file, resolve against its folder wherever the command starts', () => {
      for (const cwd of [root, elsewhere, folder]) {
        const { config } = loadConfig({ file: path.join(folder, 'named.yaml'), cwd, env: {} });
        assert.equal(config.database.url, `sqlite:${path.join(folder, 'state', 'c.sqlite')}`);
        assert.equal(config.destinations.dir, path.join(folder, 'partners'));
      }
      // A relative --config is found from the current directory; what it names, from its own folder.
      const { config } = loadConfig({ file: 'connector/named.yaml', cwd: root, env: {} });
      assert.equal(config.destinations.dir, path.join(folder, 'partners'));
    });

    it('left to their defaults, mean the database and the destinations folder beside the file', () => {
      const { config } = loadConfig({ file: path.join(folder, 'defaults.yaml'), cwd: elsewhere, env: {} });
      assert.equal(config.database.url, `sqlite:${path.join(folder, 'data', 'connector.sqlite')}`);
      assert.equal(config.destinations.dir, path.join(folder, 'destinations'));
    });

    it('substituted from ${VAR} in the file, still resolve against the file', () => {
      writeFileSync(path.join(folder, 'subst.yaml'), 'database:\n  url: sqlite:${DB_FILE}\n');
      const { config } = loadConfig({ file: path.join(folder, 'subst.yaml'), cwd: elsewhere, env: { DB_FILE: 'x/y.sqlite' } });
      assert.equal(config.database.url, `sqlite:${path.join(folder, 'x', 'y.sqlite')}`);
    });

    it('given in the environment, resolve against the current directory; absolute paths and :memory: stay', () => {
      assert.equal(loadConfig({ file: path.join(folder, 'named.yaml'), cwd: elsewhere, env: { DATABASE_URL: 'sqlite:./mine.sqlite' } }).config.database.url, `sqlite:${path.join(elsewhere, 'mine.sqlite')}`);
      assert.equal(loadConfig({ file: path.join(folder, 'named.yaml'), cwd: elsewhere, env: { DATABASE_URL: 'sqlite:/var/lib/c.sqlite' } }).config.database.url, 'sqlite:/var/lib/c.sqlite');
      assert.equal(loadConfig({ file: path.join(folder, 'named.yaml'), cwd: elsewhere, env: { DATABASE_URL: 'sqlite::memory:' } }).config.database.url, 'sqlite::memory:');
      assert.equal(loadConfig({ file: path.join(folder, 'named.yaml'), cwd: elsewhere, env: { DATABASE_URL: 'mysql://u@h:3306/d' } }).config.database.url, 'mysql://u@h:3306/d');
    });

    it('with no configuration file, resolve against the current directory', () => {
      const { config, file } = loadConfig({ cwd: folder, env: {} });
      assert.equal(file, null);
      assert.equal(config.database.url, `sqlite:${path.join(folder, 'data', 'connector.sqlite')}`);
      assert.equal(config.destinations.dir, path.join(folder, 'destinations'));
    });
  });
});
