import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { SyncProgress, SyncResult } from '../../src/services/sync/sync-service';
import type { LeaseStore } from '../../src/stores/lease-store';

const ROOT = path.resolve(__dirname, '../..');
const BIN = path.join(ROOT, 'bin/leap-connector.js');
const HOLD = path.join(__dirname, 'cli-hold.ts');

/** A temporary YAML config file for CLI children. */
export interface CliConfigFile {
  file: string;
  remove(): void;
}

export function writeCliConfig(yaml: string): CliConfigFile {
  const dir = mkdtempSync(path.join(tmpdir(), 'leap-connector-cli-'));
  const file = path.join(dir, 'connector.yaml');
  writeFileSync(file, yaml);
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What a child may see of the environment: PATH and HOME, plus what the test names; no TEST_* leaks in. */
export function childEnv(vars: { DATABASE_URL: string; LEAP_API_KEY: string; LEAP_BASE_URL: string }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...vars };
  if (process.env.PATH !== undefined) env.PATH = process.env.PATH;
  if (process.env.HOME !== undefined) env.HOME = process.env.HOME;
  return env;
}

export interface SyncOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** One per committed page, in order. */
  progress: SyncProgress[];
  summary: SyncResult | null;
  stderr: string;
  /** The code of an `error [code]: message` line, if the child reported one. */
  errorCode: string | null;
  /** The test sent SIGKILL while the child was still running. */
  killed: boolean;
  /** From go() to exit: how long a run takes, for choosing kill delays (never asserted on). */
  ranMs: number;
}

export interface SyncChildOptions {
  config: string;
  env: NodeJS.ProcessEnv;
  /** Arguments after `sync` (`--json` is always passed). */
  args?: string[];
  /** Decides, on each progress line as it arrives, whether to SIGKILL the child right there. */
  killWhen?: (p: SyncProgress, index: number) => boolean;
  /** Called on each progress line as it arrives (after killWhen). */
  onProgress?: (p: SyncProgress, index: number) => void;
}

/**
 * `node bin/leap-connector.js --config FILE sync --json` in a child process, loaded and held
 * until go(): `ready` resolves once the modules are loaded, so the run itself starts within
 * milliseconds of go().
 */
export class SyncChild {
  readonly ready: Promise<void>;
  readonly done: Promise<SyncOutcome>;
  private readonly child: ChildProcess;
  private readonly progress: SyncProgress[] = [];
  private killed = false;
  private startedAt: number | null = null;

  constructor(opts: SyncChildOptions) {
    this.child = spawn(process.execPath, ['-r', 'tsx/cjs', '-r', HOLD, BIN, '--config', opts.config, 'sync', '--json', ...(opts.args ?? [])], {
      cwd: ROOT,
      env: opts.env,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    // A child that died early must not take the test down with EPIPE on its pipes.
    this.child.stdin!.on('error', () => undefined);
    (this.child.stdio[3] as Readable).on('error', () => undefined);
    let summary: SyncResult | null = null;
    let stderr = '';
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let parsed: { progress?: SyncProgress; summary?: SyncResult };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        return;
      }
      if (parsed.progress) {
        this.progress.push(parsed.progress);
        if (!this.killed && opts.killWhen?.(parsed.progress, this.progress.length - 1)) this.kill();
        opts.onProgress?.(parsed.progress, this.progress.length - 1);
      }
      if (parsed.summary) summary = parsed.summary;
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('close', (code, signal) => resolve({ code, signal }));
    });
    this.ready = new Promise<void>((resolve, reject) => {
      (this.child.stdio[3] as Readable).on('data', () => resolve());
      exited.then(({ code, signal }) => reject(new Error(`the CLI child exited before it was ready (code ${code}, signal ${signal}): ${stderr}`)), reject);
    });
    this.ready.catch(() => undefined);
    this.done = exited.then(({ code, signal }) => ({
      code,
      signal,
      progress: this.progress,
      summary,
      stderr,
      errorCode: /^error \[([a-z0-9_]+)\]/m.exec(stderr)?.[1] ?? null,
      killed: this.killed,
      ranMs: this.startedAt === null ? 0 : Date.now() - this.startedAt,
    }));
  }

  /** Let the held child run; resolves when it has been told to. */
  async go(): Promise<void> {
    await this.ready;
    if (this.startedAt !== null) return;
    this.startedAt = Date.now();
    this.child.stdin!.end('go\n');
  }

  /** kill -9, now (if it is still running). */
  kill(): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.kill('SIGKILL')) this.killed = true;
  }

  /** Freeze (SIGSTOP) or thaw (SIGCONT) the child: a process that stalls without dying. */
  freeze(): void {
    this.child.kill('SIGSTOP');
  }

  thaw(): void {
    this.child.kill('SIGCONT');
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
}

/** Start a held child, let it run, wait for its end. */
export async function runSync(opts: SyncChildOptions): Promise<SyncOutcome> {
  const child = new SyncChild(opts);
  await child.go();
  return child.done;
}

/** For assertion messages: how a child ended. */
export function describeOutcome(o: SyncOutcome): string {
  return `exit ${o.code ?? o.signal}, ${o.progress.length} progress lines, summary ${o.summary ? 'yes' : 'no'}; stderr: ${o.stderr.trim().slice(-1500) || '(empty)'}`;
}

export const succeeded = (o: SyncOutcome): boolean => o.code === 0 && o.summary !== null;

export interface RestartOptions extends SyncChildOptions {
  /** To wait for a dead holder's lease to expire. */
  leases: LeaseStore;
  /** An already started (held) child for the first attempt, so it starts right away. */
  first?: SyncChild;
  maxAttempts?: number;
}

/**
 * Runs `sync` until it succeeds. An attempt refused with sync_in_progress is followed, once the
 * lease row's expiry has passed, by another (started warm while waiting); any other failure throws.
 */
export async function syncUntilDone(opts: RestartOptions): Promise<{ attempts: SyncOutcome[]; final: SyncOutcome }> {
  const attempts: SyncOutcome[] = [];
  let child = opts.first ?? new SyncChild(opts);
  for (;;) {
    await child.go();
    const outcome = await child.done;
    attempts.push(outcome);
    if (succeeded(outcome)) return { attempts, final: outcome };
    if (outcome.errorCode !== 'sync_in_progress' || attempts.length >= (opts.maxAttempts ?? 8)) {
      throw new Error(`sync attempt ${attempts.length} failed: ${describeOutcome(outcome)}`);
    }
    child = new SyncChild(opts);
    const lease = await opts.leases.get('sync');
    const wait = lease ? lease.expiresAt.getTime() - Date.now() + 50 : 0;
    await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(wait, 0), 60_000)));
  }
}
