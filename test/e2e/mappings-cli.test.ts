import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verify } from '../../src/domain/signing';
import { SECRET } from '../helpers/destinations';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'test/helpers/mappings-cli.ts');
const EXAMPLES = 'config/examples';
const CRM_EXAMPLE_SECRET = 'whsec_ZXhhbXBsZSBzZWNyZXQ6IGNybSwgcmVwbGFjZSBtZSE=';

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `leap-connector ...args` from the repository root, with only PATH, HOME and the given variables. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Exit> {
  const childEnv: NodeJS.ProcessEnv = { ...env };
  for (const k of ['PATH', 'HOME'] as const) if (process.env[k] !== undefined) childEnv[k] = process.env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', CLI, ...args], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface TestOutput {
  destination: string;
  url: string;
  event: { type: string; sequence: number; changes: unknown; occurred_at: string };
  would_send: boolean;
  headers: Record<string, string>;
  body: string;
}

const expected = (file: string) => JSON.parse(readFileSync(path.join(ROOT, EXAMPLES, 'expected', file), 'utf8')) as { cases: { event: { type: string }; body?: unknown }[] };

describe('leap-connector mappings (CLI)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'mappings-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('check', () => {
    it('passes the shipped examples with exit 0', async () => {
      const r = await cli(['mappings', 'check', EXAMPLES]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'ok: 2 destinations in config/examples: crm, device-platform\n');
    });

    it('prints every problem of every file as file:line:col: /pointer message and exits 1', async () => {
      const bad = path.join(dir, 'bad');
      mkdirSync(bad);
      writeFileSync(path.join(bad, 'crm.yaml'), `url: https://x.example\nevents: ["*"]\nsecrets: [${SECRET}]\nmapping:\n  a: { expr: 'meter_id &' }\n  b:\n    expr: #lost\n`);
      writeFileSync(path.join(bad, 'devices.yaml'), `url: https://x.example\nevents: ["meter.enrolment.*"]\nsecrets: [${SECRET}]\ntimout: 5s\n`);
      const r = await cli(['mappings', 'check', bad]);
      assert.equal(r.code, 1);
      assert.deepEqual(r.stdout.trimEnd().split('\n'), [
        `${bad}/crm.yaml:5:25: /mapping/a/expr JSONata S0207: Unexpected end of expression`,
        `${bad}/crm.yaml:7:11: /mapping/b/expr has no value: if it starts with #, YAML read it as a comment; quote it ('#...') or write it as a | block`,
        `${bad}/devices.yaml:2:10: /events/0 "meter.enrolment.*" matches no event type; known: meter.created, meter.partner-reference.updated, meter.enrollment.global-status.updated, meter.enrollment.activated, meter.enrollment.participation-status.updated, meter.enrollment.required-actions.updated, meter.enrollment.group.updated, meter.details.updated, meter.archived, meter.readiness.updated, meter.readiness.overdue, market_group.roster.drifted`,
        `${bad}/devices.yaml:4:1: /timout is not a known setting (did you mean "timeout"?); known here: name, description, url, enabled, events, filter, secrets, timeout, rate_limit_per_second, concurrency, retry, dead_on, pause_after_failures, headers, on_missing, mapping`,
        `4 problems in ${bad}`,
      ]);
    });

    it('reads the folder from the configuration when none is given, and reports an unset secret variable', async () => {
      const folder = path.join(dir, 'from-config');
      mkdirSync(folder);
      writeFileSync(path.join(folder, 'crm.yaml'), 'url: https://x.example\nevents: ["*"]\nsecrets: ["${CRM_SECRET}"]\n');
      const config = path.join(dir, 'connector.yaml');
      writeFileSync(config, `destinations:\n  dir: ${folder}\n`);
      const [missing, ok] = await Promise.all([cli(['--config', config, 'mappings', 'check']), cli(['--config', config, 'mappings', 'check'], { CRM_SECRET: SECRET })]);
      assert.equal(missing.code, 1);
      assert.match(missing.stdout, /crm\.yaml:3:11: \/secrets\/0 refers to \$\{CRM_SECRET\}, which is not set/);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.equal(ok.stdout, `ok: 1 destination in ${folder}: crm\n`);
    });
  });

  describe('test', () => {
    const meter = `${EXAMPLES}/meters/v2-site-000123.json`;

    it('prints the exact body and headers, signed so a receiver with the secret accepts it', async () => {
      const r = await cli(['mappings', 'test', '--dir', EXAMPLES, '--destination', 'crm', '--meter', meter, '--at', '2024-11-14T18:00:00Z', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const out = JSON.parse(r.stdout) as TestOutput;
      assert.equal(out.url, 'https://crm.example.com/webhooks/leap');
      assert.equal(out.would_send, true);
      assert.deepEqual(out.event, { type: 'meter.created', sequence: 1, changes: null, occurred_at: '2024-11-14T18:00:00.000Z' });
      assert.deepEqual(JSON.parse(out.body), expected('crm.v2-site-000123.json').cases[0]!.body);
      assert.deepEqual(Object.keys(out.headers), ['Content-Type', 'X-Crm-Integration', 'webhook-id', 'webhook-timestamp', 'webhook-signature']);
      assert.equal(out.headers['Content-Type'], 'application/json');
      assert.equal(out.headers['X-Crm-Integration'], 'leap-connector');
      assert.match(out.headers['webhook-id']!, /^msg_test_[0-9a-f]{24}$/);
      assert.equal(out.headers['webhook-timestamp'], String(Date.parse('2024-11-14T18:00:00Z') / 1000));
      const at = new Date('2024-11-14T18:00:00Z');
      assert.equal(verify([CRM_EXAMPLE_SECRET], out.headers, out.body, at), null);
      assert.equal(verify([SECRET], out.headers, out.body, at), 'no_matching_signature');
      assert.equal(verify([CRM_EXAMPLE_SECRET], out.headers, out.body.replace('Jordan', 'Jordon'), at), 'no_matching_signature');
    });

    it('prints the request as text: method and URL, headers, a blank line, the body; secrets come from the environment', async () => {
      const r = await cli(['mappings', 'test', '--dir', EXAMPLES, '--destination', 'crm', '--meter', meter, '--at', '2024-11-14T18:00:00Z'], { CRM_WEBHOOK_SECRET: SECRET, CRM_WEBHOOK_URL: 'https://crm.partner.test/in' });
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split('\n');
      assert.equal(lines[0], 'POST https://crm.partner.test/in');
      assert.equal(lines[1], 'Content-Type: application/json');
      assert.equal(lines[2], 'X-Crm-Integration: leap-connector');
      assert.equal(lines[6], '');
      assert.equal(lines.length, 8);
      const headers = Object.fromEntries(lines.slice(1, 6).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
      assert.equal(verify([SECRET], headers, lines[7]!, new Date('2024-11-14T18:00:00Z')), null);
      assert.deepEqual(JSON.parse(lines[7]!), expected('crm.v2-site-000123.json').cases[0]!.body);
    });

    it('takes the event and its changes from comparing with --previous', async () => {
      const before = JSON.parse(readFileSync(path.join(ROOT, EXAMPLES, 'meters/v1-site-000123.json'), 'utf8')) as { enrollment: { status: string } };
      before.enrollment.status = 'Eligible';
      const previous = path.join(dir, 'previous.json');
      writeFileSync(previous, JSON.stringify(before));
      const r = await cli(['mappings', 'test', '--dir', EXAMPLES, '--destination', 'device-platform', '--meter', `${EXAMPLES}/meters/v1-site-000123.json`, '--previous', previous, '--event', 'meter.enrollment.activated', '--at', '2025-06-14T16:00:00Z', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as TestOutput;
      assert.deepEqual(out.event, { type: 'meter.enrollment.activated', sequence: 3, changes: [{ path: 'enrollment.status', from: 'ELIGIBLE', to: 'ACTIVE' }], occurred_at: '2025-06-14T16:00:00.000Z' });
      // The expected file has the activation as the meter's second event; here it is the third, after the status change.
      const want = expected('device-platform.v1-site-000123.json').cases[0]!.body as { data: { sequence: number } };
      want.data.sequence = 3;
      assert.deepEqual(JSON.parse(out.body), want);
    });

    it('says when the destination would not receive the event, and still shows the body', async () => {
      const [notSubscribed, filtered] = await Promise.all([
        cli(['mappings', 'test', '--dir', EXAMPLES, '--destination', 'crm', '--meter', meter, '--event', 'meter.readiness.updated', '--json']),
        cli(['mappings', 'test', '--dir', EXAMPLES, '--destination', 'device-platform', '--meter', `${EXAMPLES}/meters/v2-device-33333333.json`, '--json']),
      ]);
      assert.equal(notSubscribed.code, 0, notSubscribed.stderr);
      assert.match(notSubscribed.stderr, /note: crm does not subscribe to meter\.readiness\.updated \(events: meter\.created, .*\); nothing would be sent/);
      assert.equal((JSON.parse(notSubscribed.stdout) as TestOutput).would_send, false);
      assert.equal(filtered.code, 0, filtered.stderr);
      assert.match(filtered.stderr, /note: the filter of device-platform rejects this meter; nothing would be sent/);
      assert.equal((JSON.parse(filtered.stdout) as TestOutput).would_send, false);
    });

    it('fails with the mapping error naming the field and meter, exit 1', async () => {
      const folder = path.join(dir, 'required');
      mkdirSync(folder);
      writeFileSync(path.join(folder, 'crm.yaml'), `url: https://x.example\nevents: ["*"]\nsecrets: [${SECRET}]\nmapping:\n  email: { from: customer.end_customer_email, required: true }\n`);
      const r = await cli(['mappings', 'test', '--dir', folder, '--destination', 'crm', '--meter', `${EXAMPLES}/meters/v2-device-33333333.json`]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.equal(
        r.stderr.trim(),
        `error [mapping_failed]: destination "crm": field /mapping/email is required, but meter 33333333-3333-3333-3333-333333333333 has no value at customer.end_customer_email [${folder}/crm.yaml:5:10]`,
      );
    });

    it('refuses an unknown destination, a meter file that is not a meter, and an unknown event type', async () => {
      const notMeter = path.join(dir, 'not-meter.json');
      writeFileSync(notMeter, '{"hello": "world"}');
      const [unknown, bad, event] = await Promise.all([
        cli(['mappings', 'test', '--dir', EXAMPLES, '--destination', 'nope', '--meter', meter]),
        cli(['mappings', 'test', '--dir', EXAMPLES, '--destination', 'crm', '--meter', notMeter]),
        cli(['mappings', 'test', '--dir', EXAMPLES, '--destination', 'crm', '--meter', meter, '--event', 'meter.exploded']),
      ]);
      assert.equal(unknown.code, 1);
      assert.equal(unknown.stderr.trim(), 'error [not_found]: no destination "nope" in config/examples (loaded: crm, device-platform)');
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /error \[validation_failed\]: .*not-meter\.json: not a meter: no meter_id/);
      // A value the option cannot take is a command line that cannot run: exit code 2, one line.
      assert.equal(event.code, 2);
      assert.match(event.stderr, /^mappings test: .*not an event type: meter\.exploded.*\n$/);
    });
  });
});
