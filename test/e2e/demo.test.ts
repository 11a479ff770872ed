import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { hiddenValue } from '../helpers/console';

const BIN = path.resolve(__dirname, '../../bin/leap-connector.js');

interface Serve {
  child: ChildProcess;
  output: () => string;
  url: string;
  consoleLine: string;
}

/** `serve` in the demo (no Leap key, no admin key), until it says where the console is. */
async function startServe(dir: string): Promise<Serve> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  const child = spawn(process.execPath, [BIN, '--config', path.join(dir, 'connector.yaml'), 'serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  for (let i = 0; i < 300; i++) {
    const line = out.split('\n').find((l) => l.includes('support console at'));
    if (line) {
      const message = (JSON.parse(line) as { message: string }).message;
      return { child, output: () => out, url: /at (http:\/\/[^/\s]+)\/console/.exec(message)![1]!, consoleLine: message };
    }
    assert.equal(child.exitCode, null, `serve exited early:\n${out}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`serve never named its console:\n${out}`);
}

async function stop(s: Serve): Promise<void> {
  const exited = new Promise((resolve) => s.child.once('exit', resolve));
  s.child.kill('SIGTERM');
  await exited;
}

describe('the demo (npm start without a Leap key)', function () {
  this.timeout(60_000);
  let dir: string;
  const dirs: string[] = [];
  /** A folder with a configuration of its own: its database, its console key. */
  const freshDir = (): string => {
    const d = mkdtempSync(path.join(tmpdir(), 'demo-'));
    dirs.push(d);
    writeFileSync(
      path.join(d, 'connector.yaml'),
      ['database: { url: sqlite:data/demo.sqlite }', 'server: { host: 127.0.0.1, port: 0 }', 'simulator: { meters: 40, evolve_every_seconds: 2 }', 'log: { format: json }', ''].join('\n'),
    );
    return d;
  };
  beforeEach(() => {
    dir = freshDir();
  });
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('npm start with no admin key makes one for the console, kept in a file beside the database, never printed, the same after a restart', async () => {
    const first = await startServe(dir);
    const file = path.join(dir, 'data', 'console.key');
    let key: string;
    try {
      assert.equal(first.consoleLine, `support console at ${first.url}/console (sign in with the demo's key, kept in ${file})`);
      assert.equal(statSync(file).mode & 0o777, 0o600, 'readable by its owner only');
      key = readFileSync(file, 'utf8').trim();
      assert.ok(key.length >= 32);
      const agent = request.agent(first.url);
      const login = await agent.get('/console/login').expect(200);
      await agent.post('/console/login').type('form').send({ _login: hiddenValue(login.text, '_login'), key }).expect(303);
      const overview = await agent.get('/console').expect(200);
      assert.match(overview.text, /signed in as demo:console/);
      assert.match(overview.text, /crm[\s\S]*device-platform/, 'the demo destinations');
      await request(first.url).get('/admin/v1/destinations').set('Authorization', `Bearer ${key}`).expect(200);
    } finally {
      await stop(first);
    }
    assert.ok(!first.output().includes(key), 'the key is in no log line');
    const second = await startServe(dir);
    try {
      assert.equal(readFileSync(file, 'utf8').trim(), key, 'a restart keeps the key');
    } finally {
      await stop(second);
    }
  });

  it('closes the loop: meters stored, deliveries delivered, the simulator heard, and the sample partner confirms readiness', async () => {
    const serve = await startServe(dir);
    try {
      const key = readFileSync(path.join(dir, 'data', 'console.key'), 'utf8').trim();
      const api = (url: string) => request(serve.url).get(url).set('Authorization', `Bearer ${key}`);
      const seen = { meters: 0, delivered: 0, ready: 0, leapEvents: 0 };
      for (let i = 0; i < 200 && !(seen.meters > 0 && seen.delivered > 0 && seen.ready > 0 && seen.leapEvents > 0); i++) {
        seen.meters = ((await api('/api/v1/meters?limit=500')).body as { meters: unknown[] }).meters.length;
        seen.delivered = ((await api('/admin/v1/deliveries?status=delivered&limit=500')).body as { deliveries: unknown[] }).deliveries.length;
        seen.ready = ((await api('/api/v1/readiness?state=ready')).body as { counts: { ready: number } }).counts.ready;
        seen.leapEvents = 0;
        for (let after = 0, page = 0; page < 50; page++) {
          const events = ((await api(`/admin/v1/events?limit=500&after_id=${after}`).expect(200)).body as { events: { id: number; origin: string }[] }).events;
          if (!events.length) break;
          seen.leapEvents += events.filter((e) => e.origin === 'leap_event').length;
          after = events[events.length - 1]!.id;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      assert.ok(seen.meters > 0, 'meters stored');
      assert.ok(seen.delivered > 0, 'deliveries delivered to the sample receiver');
      assert.ok(seen.ready > 0, 'the sample partner confirmed readiness for an activated meter');
      assert.ok(seen.leapEvents > 0, "the simulator's webhooks reached /leap/events");
      assert.doesNotMatch(serve.output(), /mapping failed/, 'the shipped examples dead-letter nothing');
    } finally {
      await stop(serve);
    }
  });

  it('a busy port is a one-line error naming the port and what to do, exit 1', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      writeFileSync(path.join(dir, 'connector.yaml'), ['database: { url: sqlite:data/demo.sqlite }', `server: { host: 127.0.0.1, port: ${port} }`, 'simulator: { meters: 5 }', 'log: { level: warn, format: json }', ''].join('\n'));
      const child = spawn(process.execPath, [BIN, '--config', path.join(dir, 'connector.yaml'), 'serve'], { cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 1);
      const lines = err.trim().split('\n').filter((l) => !l.startsWith('{'));
      assert.deepEqual(lines, [`error [port_in_use]: port ${port} on 127.0.0.1 is in use by another process: stop it, or choose another with PORT or server.port`]);
    } finally {
      busy.close();
    }
  });
});
