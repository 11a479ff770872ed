import { existsSync, readdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { formatProblem, type SourceProblem } from '../config/yaml-source';
import { sha256Hex } from '../domain/canonical-json';
import type { Destination, EventContext } from '../domain/destination';
import type { MeterView } from '../domain/events';
import { webhookHeaders } from '../domain/signing';
import { webhookBody } from '../domain/webhook-body';
import type { Logger } from '../logger';
import { parseDestination, type ParsedDestination } from './load-destination';

export interface LoadOptions {
  /** For "every secret has expired"; defaults to now. */
  now?: Date;
}

/** Destination files: `*.yaml` / `*.yml`, not hidden (editor swap files) and not backups. */
export function destinationFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/i.test(f) && !f.startsWith('.'))
    .filter((f) => statSync(path.join(dir, f)).isFile())
    .sort()
    .map((f) => path.join(dir, f));
}

/**
 * Load every destination in a folder. Problems from every file come back together, formatted
 * `file:line:col: /pointer message`; a file with problems yields no destination.
 */
export function loadDestinationsDir(dir: string, env: NodeJS.ProcessEnv, opts: LoadOptions = {}): { destinations: Destination[]; problems: string[] } {
  const parsed = readDir(dir, env, opts);
  if ('missing' in parsed) return { destinations: [], problems: [parsed.missing] };
  const problems: SourceProblem[] = [];
  const destinations: Destination[] = [];
  const owners = new Map<string, string>();
  for (const [file, p] of parsed.files) {
    problems.push(...p.problems);
    const dup = duplicateProblem(file, p, owners);
    if (dup) {
      problems.push(dup);
      continue;
    }
    if (p.name) owners.set(p.name, file);
    if (p.destination) destinations.push(p.destination);
  }
  return { destinations, problems: problems.map(formatProblem) };
}

function readDir(dir: string, env: NodeJS.ProcessEnv, opts: LoadOptions): { files: Map<string, ParsedDestination> } | { missing: string } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return { missing: `${dir}: destinations folder not found (create it, or set destinations.dir)` };
  const files = new Map<string, ParsedDestination>();
  for (const file of destinationFiles(dir)) files.set(file, parseFile(file, env, opts));
  return { files };
}

function parseFile(file: string, env: NodeJS.ProcessEnv, opts: LoadOptions): ParsedDestination {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { destination: null, name: null, namePosition: null, problems: [{ source: file, position: null, pointer: '', message: `cannot be read: ${(err as Error).message}` }] };
  }
  return parseDestination(text, file, { env, now: opts.now });
}

function duplicateProblem(file: string, p: ParsedDestination, owners: Map<string, string>): SourceProblem | null {
  if (!p.name) return null;
  const owner = owners.get(p.name);
  if (!owner || owner === file) return null;
  return { source: file, position: p.namePosition, pointer: '/name', message: `"${p.name}" is already the name of the destination in ${owner}; names must be unique (set name: to tell them apart)` };
}

/** Standard Webhooks id for `mappings test`: stable for the same destination and body. */
export function testMessageId(dest: Destination, body: string): string {
  return `msg_test_${sha256Hex(`${dest.name}\n${body}`).slice(0, 24)}`;
}

/** The headers of one delivery attempt: JSON, the destination's own, then the signature headers. */
export function deliveryHeaders(dest: Destination, msgId: string, body: string, now: Date): Record<string, string> {
  return { 'Content-Type': 'application/json', ...dest.headers, ...webhookHeaders(dest.secrets, msgId, body, now) };
}

/**
 * Exactly what would be sent for one event, with no network and no database: the body (through
 * webhookBody) and the headers, signed with the destination's active secrets.
 */
export async function renderTestDelivery(dest: Destination, meter: MeterView, event: EventContext, now: Date = new Date()): Promise<{ body: string; headers: Record<string, string> }> {
  const record = await dest.render(meter, event);
  const body = webhookBody({ type: event.type, timestamp: event.occurred_at, record, meterId: meter.meter_id, sequence: event.sequence, changes: event.changes });
  return { body, headers: deliveryHeaders(dest, testMessageId(dest, body), body, now) };
}

export interface RegistryOptions {
  dir: string;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Quiet time after the last file event before reloading (editors write in bursts). */
  debounceMs?: number;
}

/** A destination file whose current text was refused. */
export interface RejectedFile {
  file: string;
  problems: string[];
  /** The destination still running on the file's last good version, if it ever loaded. */
  keeps: { name: string; version: string } | null;
}

interface FileState {
  text: string;
  /** The last good destination of this file, kept through bad edits. */
  good: Destination | null;
  problems: string[];
}

/**
 * The destinations in force, reloaded on demand (SIGHUP) or when files change. A bad edit is
 * logged with its positions and the file's last good destination keeps running; other files'
 * good edits still apply. A deleted file removes its destination.
 */
export class DestinationRegistry {
  private readonly dir: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly logger: Logger;
  private readonly debounceMs: number;
  private readonly files = new Map<string, FileState>();
  private byName = new Map<string, Destination>();
  private readonly listeners = new Set<(names: string[]) => void>();
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(opts: RegistryOptions) {
    this.dir = opts.dir;
    this.env = opts.env;
    this.logger = opts.logger;
    this.debounceMs = opts.debounceMs ?? 250;
  }

  /** The first load; the caller refuses to start when there are problems. */
  load(): { problems: string[] } {
    const { problems } = this.refresh(false);
    return { problems };
  }

  reload(): { changed: string[]; problems: string[] } {
    return this.refresh(true);
  }

  private refresh(logRejections: boolean): { changed: string[]; problems: string[] } {
    if (!existsSync(this.dir) || !statSync(this.dir).isDirectory()) {
      const problem = `${this.dir}: destinations folder not found (create it, or set destinations.dir); the destinations already loaded keep running`;
      this.logger.error('destinations folder not found', { dir: this.dir });
      return { changed: [], problems: [problem] };
    }
    const before = new Map([...this.byName].map(([n, d]) => [n, d.version]));
    const present = new Set(destinationFiles(this.dir));
    for (const file of [...this.files.keys()]) if (!present.has(file)) this.files.delete(file);

    const problems: string[] = [];
    const owners = new Map<string, string>();
    // Files that keep their destination claim their names first, so a new file cannot steal one.
    const ordered = [...present].sort((a, b) => Number(!this.files.get(a)?.good) - Number(!this.files.get(b)?.good) || a.localeCompare(b));
    for (const file of ordered) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        // A file caught mid-rename: keep what it had; the next event reloads it.
        problems.push(`${file}: cannot be read: ${(err as Error).message}`);
        continue;
      }
      const state = this.files.get(file);
      if (state && state.text === text && !state.problems.length && state.good) {
        owners.set(state.good.name, file);
        continue;
      }
      const parsed = parseDestination(text, file, { env: this.env });
      const dup = duplicateProblem(file, parsed, owners);
      const fileProblems = [...parsed.problems, ...(dup ? [dup] : [])].map(formatProblem);
      if (fileProblems.length || !parsed.destination) {
        problems.push(...fileProblems);
        const kept = state?.good ?? null;
        if (kept && !owners.has(kept.name)) owners.set(kept.name, file);
        this.files.set(file, { text, good: kept, problems: fileProblems });
        // An unchanged bad file was already reported; say it again only when it is edited.
        if (logRejections && state?.text !== text) this.logger.error(kept ? `destination file rejected; "${kept.name}" keeps its last good version ${kept.version}` : 'destination file rejected', { file, problems: fileProblems });
        continue;
      }
      owners.set(parsed.destination.name, file);
      this.files.set(file, { text, good: parsed.destination, problems: [] });
    }

    const next = new Map<string, Destination>();
    for (const state of this.files.values()) if (state.good && !next.has(state.good.name)) next.set(state.good.name, state.good);
    this.byName = next;
    const changed = [...new Set([...before.keys(), ...next.keys()])].filter((n) => before.get(n) !== next.get(n)?.version).sort();
    for (const name of changed) {
      const d = next.get(name);
      if (!d) this.logger.info('destination removed', { destination: name });
      else this.logger.info(before.has(name) ? 'destination updated' : 'destination loaded', { destination: name, version: d.version, file: d.file, enabled: d.enabled });
    }
    if (changed.length) for (const listener of this.listeners) listener(changed);
    return { changed, problems };
  }

  all(): Destination[] {
    return [...this.byName.values()];
  }

  /** Files whose current text was refused, with the destination (if any) that keeps its last good version. */
  rejected(): RejectedFile[] {
    return [...this.files]
      .filter(([, s]) => s.problems.length)
      .map(([file, s]) => ({ file, problems: s.problems, keeps: s.good ? { name: s.good.name, version: s.good.version } : null }))
      .sort((a, b) => a.file.localeCompare(b.file));
  }

  get(name: string): Destination | undefined {
    return this.byName.get(name);
  }

  /** Called with the names of destinations added, changed or removed by a reload. */
  onChange(listener: (names: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reload when files in the folder change, once things have been quiet for debounceMs. */
  watch(): void {
    if (this.watcher) return;
    this.watcher = watch(this.dir, { persistent: false }, () => this.schedule());
    this.watcher.on('error', (err) => this.logger.error('watching the destinations folder failed; SIGHUP still reloads', { dir: this.dir, error: err.message }));
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      try {
        this.reload();
      } catch (err) {
        this.logger.error('reloading destinations failed; the loaded ones keep running', { error: (err as Error).message });
      }
    }, this.debounceMs);
    this.timer.unref();
  }
}
