import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import YAML from 'yaml';
import { buildProgram } from '../../src/cli/program';
import { parseConfig } from '../../src/config/load';
import { ENV_API_KEYS, ENV_OVERRIDES } from '../../src/config/schema';
import { parseDatabaseUrl } from '../../src/db/knex';
import { loadDestinationsDir } from '../../src/mapping/destinations';

const ROOT = path.resolve(__dirname, '../..');
const read = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  volumes?: string[];
}

/** Compose's interpolation (`${VAR}`, `${VAR:-default}`, `${VAR:?error}`, nested), against `env`. */
function interpolate(text: string, env: Record<string, string>): string {
  let out = text;
  for (let i = 0; i < 5 && out.includes('${'); i++) {
    out = out.replace(/\$\{([A-Z0-9_]+)(?::([-?])((?:[^{}]|\{[^{}]*\})*))?\}/g, (_m, name: string, op?: string, arg?: string) => {
      if (env[name]) return env[name];
      if (op === '-') return arg ?? '';
      if (op === '?') throw new Error(`${name} is required: ${arg}`);
      return '';
    });
  }
  return out.replace(/\$\$/g, '$');
}

/** Every variable a compose text requires (`${VAR:?...}`). */
const required = (text: string) => [...new Set([...text.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]!))].sort();

describe('docker-compose.yml and the Dockerfile', () => {
  const text = read('docker-compose.yml');
  const secrets = Object.fromEntries(required(text).map((k) => [k, k.endsWith('_SECRET') && !k.startsWith('LEAP') ? `whsec_${Buffer.alloc(32, k.length).toString('base64')}` : `${k.toLowerCase()}-value-0123456789`]));
  const compose = YAML.parse(interpolate(text, secrets), { merge: true }) as { services: Record<string, Service> };
  const services = compose.services;
  const connectors = Object.entries(services).filter(([name]) => name.startsWith('connector-'));
  const program = buildProgram();

  it('runs two connector replicas from one image, each on its own host port, beside MySQL, Redis, the simulator and the receiver', () => {
    assert.deepEqual(Object.keys(services).sort(), ['connector-1', 'connector-2', 'mysql', 'receiver', 'redis', 'simulator']);
    assert.equal(connectors.length, 2);
    const images = new Set(Object.values(services).filter((s) => s.build).map((s) => s.image));
    assert.deepEqual([...images], ['leap-connector:local'], 'every service of ours is the one image, built from the Dockerfile');
    const hostPorts = connectors.map(([, s]) => s.ports![0]!.split(':')[0]);
    assert.equal(new Set(hostPorts).size, 2, `one host port per replica: ${hostPorts.join(', ')}`);
    for (const [, s] of connectors) assert.equal(s.ports![0]!.split(':')[1], '8080');
  });

  it('every variable a replica sets is one the configuration accepts, and the configuration it names loads with them', () => {
    const config = (s: Service) => s.environment!.CONNECTOR_CONFIG!;
    for (const [name, s] of connectors) {
      const file = config(s);
      const configText = read(file);
      const destinationsDir = path.join(ROOT, path.dirname(file), (YAML.parse(configText) as { destinations: { dir: string } }).destinations.dir);
      const referenced = new Set(
        [configText, ...['crm.yaml', 'device-platform.yaml'].map((f) => readFileSync(path.join(destinationsDir, f), 'utf8'))].flatMap((t) => [...t.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]!)),
      );
      const accepted = new Set(['CONNECTOR_CONFIG', ...ENV_OVERRIDES.map((o) => o.env), ...ENV_API_KEYS.map((k) => k.env), ...referenced]);
      for (const key of Object.keys(s.environment!)) assert.ok(accepted.has(key), `${name}: ${key} is not read by the configuration`);
      const env = { ...s.environment! };
      const parsed = parseConfig(configText, path.join(ROOT, file), env);
      assert.equal(parseDatabaseUrl(parsed.database.url).client, 'mysql');
      assert.equal(parsed.redis.url, 'redis://redis:6379');
      assert.equal(parsed.leap.base_url, 'http://simulator:4010');
      assert.deepEqual(parsed.api.keys.map((k) => k.name).sort(), ['env:ADMIN_API_KEY', 'env:PARTNER_API_KEY']);
      assert.equal(parsed.leap_events.secret, secrets.LEAP_WEBHOOK_SECRET);
      const { destinations, problems } = loadDestinationsDir(destinationsDir, env);
      assert.deepEqual(problems, []);
      assert.deepEqual(destinations.map((d) => d.url).sort(), ['http://receiver:4020/crm', 'http://receiver:4020/devices']);
    }
  });

  it("each service's command is a command of the CLI, with options it has", () => {
    const check = (args: string[], where: string) => {
      const cmd = program.commands.find((c: Command) => c.name() === args[0]);
      assert.ok(cmd, `${where}: "${args[0]}" is not a command`);
      const flags = new Set(cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))));
      for (const a of args.slice(1).filter((x) => x.startsWith('-'))) assert.ok(flags.has(a), `${where}: ${args[0]} has no option ${a}`);
    };
    for (const [name, s] of Object.entries(services)) if (s.command && s.build) check(s.command, name);
    const dockerfile = read('Dockerfile');
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    check(cmd, 'Dockerfile CMD');
    assert.match(dockerfile, /^ENTRYPOINT \["node", .*"bin\/leap-connector\.js"\]$/m);
    assert.match(dockerfile, /npm ci --omit=dev/);
    assert.match(dockerfile, /^USER node$/m, 'runs as a non-root user');
    assert.match(dockerfile, /^HEALTHCHECK [^\n]*\\\n\s+CMD \[.*\/readyz/m);
  });

  it('passes every secret from the environment, with no default, and .env.example lists each', () => {
    const secretish = /PASSWORD|SECRET|API_KEY|TOKEN/;
    for (const [name, s] of Object.entries(services)) {
      for (const [key, raw] of Object.entries((YAML.parse(text, { merge: true }) as { services: Record<string, Service> }).services[name]!.environment ?? {})) {
        if (!secretish.test(key) || key === 'LEAP_API_KEY') continue;
        assert.match(String(raw), /^\$\{[A-Z0-9_]+:\?[^}]*\}/, `${name}: ${key} must come from the environment, with no default`);
      }
      void s;
    }
    const example = read('.env.example');
    for (const v of required(text)) assert.match(example, new RegExp(`^${v}=$`, 'm'), `.env.example lists ${v}`);
  });

  it('MySQL gets binary collation and UTC, a health check and a volume; the replicas wait for it', () => {
    const mysql = services.mysql!;
    assert.ok(mysql.command!.includes('--collation-server=utf8mb4_bin') && mysql.command!.includes('--default-time-zone=+00:00'));
    assert.ok(mysql.healthcheck?.test?.join(' ').includes('mysqladmin ping'));
    assert.deepEqual(mysql.volumes, ['mysql-data:/var/lib/mysql']);
    for (const [, s] of connectors) assert.deepEqual((s as { depends_on?: Record<string, { condition: string }> }).depends_on?.mysql, { condition: 'service_healthy' });
  });
});
