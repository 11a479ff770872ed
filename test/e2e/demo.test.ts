import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

describe('the demo console key', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'console-demo-'));
    writeFileSync(
      path.join(dir, 'connector.yaml'),
      ['database: { url: sqlite:data/demo.sqlite }', 'server: { host: 127.0.0.1, port: 0 }', 'simulator: { meters: 20, evolve_every_seconds: 0 }', 'log: { format: json }', ''].join('\n'),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

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
});
