import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { ConfigError } from '../errors';
import { Cron } from 'croner';
import { configSchema, DEFAULT_DESTINATIONS_DIR, ENV_API_KEYS, ENV_OVERRIDES, type Config } from './schema';
import { isDuration } from '../domain/duration';
import { substituteEnv } from './substitute';
import { formatProblem, fromPointer, toPointer, YamlSource, type SourceProblem } from './yaml-source';

export const DEFAULT_CONFIG_PATH = 'config/connector.yaml';

export interface LoadConfigOptions {
  /** `--config FILE`; wins over CONNECTOR_CONFIG and the default path. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface LoadedConfig {
  config: Readonly<Config>;
  /** The file read, or null when none existed at the default path. */
  file: string | null;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, verbose: true, strict: true, allowUnionTypes: true });
addFormats(ajv);
const validate = ajv.compile(configSchema);

/** Decide which file to read: the CLI flag, then CONNECTOR_CONFIG, then config/connector.yaml. */
export function resolveConfigFile(opts: LoadConfigOptions): { file: string; explicit: boolean } {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const chosen = opts.file ?? env.CONNECTOR_CONFIG;
  if (chosen) return { file: path.resolve(cwd, chosen), explicit: true };
  return { file: path.resolve(cwd, DEFAULT_CONFIG_PATH), explicit: false };
}

/**
 * Read, substitute, override from the environment, validate and freeze. Every problem is
 * collected and thrown together as a ConfigError; nothing falls back silently.
 */
export function loadConfig(opts: LoadConfigOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const { file, explicit } = resolveConfigFile(opts);
  const display = path.relative(opts.cwd ?? process.cwd(), file) || file;
  let text = '';
  let usedFile: string | null = file;
  if (existsSync(file)) text = readFileSync(file, 'utf8');
  else if (explicit) throw new ConfigError([`${display}: configuration file not found`]);
  else usedFile = null;
  const cwd = opts.cwd ?? process.cwd();
  // With no file, the paths it would hold are relative to where the command runs.
  return { config: parseConfig(text, display, env, { baseDir: usedFile ? path.dirname(usedFile) : cwd, cwd }), file: usedFile };
}

export interface ParseOptions {
  /** The configuration file's folder: relative paths written in it resolve against it (default: cwd). */
  baseDir?: string;
  /** Where the command runs: relative paths given in the environment resolve against it (default: process.cwd()). */
  cwd?: string;
}

/** The pure part of loadConfig, for tests and for `config check`. */
export function parseConfig(text: string, source: string, env: NodeJS.ProcessEnv, opts: ParseOptions = {}): Readonly<Config> {
  const yaml = new YamlSource(source, text);
  const problems: SourceProblem[] = [...yaml.syntaxProblems];
  if (problems.length) throw new ConfigError(problems.map(formatProblem));

  const parsed = yaml.toJS() ?? {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError([formatProblem({ source, position: { line: 1, col: 1 }, pointer: '', message: 'must be a mapping of settings' })]);
  }
  const data = substituteEnv(parsed, [], env, (p, message) => problems.push({ source, position: yaml.position(p), pointer: toPointer(p), message }));

  // Settings taken straight from the environment win over the file; remember them for error messages.
  const fromEnv = new Map<string, string>();
  for (const { env: name, path: p } of ENV_OVERRIDES) {
    const value = env[name];
    if (value === undefined) continue;
    setIn(data as Record<string, unknown>, p, value);
    fromEnv.set(toPointer(p), name);
  }

  for (const { env: name, name: keyName, scopes } of ENV_API_KEYS) {
    const value = env[name];
    if (!value) continue;
    const api = ((data as Record<string, unknown>).api ??= {}) as Record<string, unknown>;
    const keys = (api.keys ??= []) as unknown[];
    if (Array.isArray(keys)) {
      fromEnv.set(`/api/keys/${keys.length}/key`, name);
      keys.push({ name: keyName, key: value, scopes });
    }
  }

  if (!validate(data)) {
    // A value already reported as an unset variable would only repeat itself as a schema error.
    const reported = new Set(problems.map((p) => p.pointer));
    for (const err of validate.errors ?? []) {
      const problem = toProblem(err, yaml, fromEnv);
      if (!reported.has(problem.pointer) || problem.source !== source) problems.push(problem);
    }
  }
  const config = data as unknown as Config;
  if (config.leap?.api_version === 'v1' && config.leap.api_key && !config.leap.account_id) {
    const ptr = '/leap/account_id';
    problems.push({ source, position: yaml.position(['leap']), pointer: ptr, message: 'is required when api_version is v1 (set LEAP_ACCOUNT_ID)' });
  }
  for (const key of ['incremental_every', 'full_every'] as const) {
    const value = config.sync?.[key];
    if (typeof value !== 'string' || isDuration(value)) continue;
    try {
      new Cron(value, { paused: true, timezone: 'UTC' });
    } catch (err) {
      problems.push({ source, position: yaml.position(['sync', key]), pointer: `/sync/${key}`, message: `is neither a duration (30m, 1h, 1d) nor a cron expression: ${(err as Error).message}` });
    }
  }
  const names = new Set<string>();
  (config.api?.keys ?? []).forEach((k, i) => {
    if (names.has(k.name)) problems.push({ source, position: yaml.position(['api', 'keys', i, 'name']), pointer: `/api/keys/${i}/name`, message: `duplicates another key's name "${k.name}"` });
    names.add(k.name);
  });
  if (problems.length) throw new ConfigError(dedupe(problems.map(formatProblem)));
  const cwd = opts.cwd ?? process.cwd();
  resolvePaths(config, { file: opts.baseDir ?? cwd, env: cwd }, fromEnv);
  return deepFreeze(config);
}

/**
 * Relative paths become absolute: those written in the file (or its defaults) against the file's
 * folder, as docker compose and eslint do, so a file means the same folders wherever the command
 * starts; those given in the environment against the current directory, where they were typed.
 */
function resolvePaths(config: Config, base: { file: string; env: string }, fromEnv: Map<string, string>): void {
  const url = config.database.url;
  const sqlite = /^sqlite:(.+)$/.exec(url);
  if (sqlite && sqlite[1] !== ':memory:' && !path.isAbsolute(sqlite[1]!)) {
    config.database.url = `sqlite:${path.resolve(fromEnv.has('/database/url') ? base.env : base.file, sqlite[1]!)}`;
  }
  const dir = config.destinations.dir;
  if (dir !== null) config.destinations.dir = path.resolve(base.file, dir);
  else {
    // Not named: the folder beside the file, if there is one; otherwise events are sent nowhere.
    const beside = path.resolve(base.file, DEFAULT_DESTINATIONS_DIR);
    config.destinations.dir = existsSync(beside) ? beside : null;
  }
}

function setIn(target: Record<string, unknown>, p: readonly string[], value: unknown): void {
  let node = target;
  for (const key of p.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[p[p.length - 1]!] = value;
}

/** One ajv error as a positioned problem: unknown keys point at the key and suggest the closest known one. */
export function toProblem(err: ErrorObject, yaml: YamlSource, fromEnv: Map<string, string>): SourceProblem {
  let ptr = err.instancePath;
  let message = err.message ?? 'is invalid';
  let isKey = false;
  if (err.keyword === 'additionalProperties') {
    const key = String((err.params as { additionalProperty: string }).additionalProperty);
    ptr = `${ptr}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    const known = Object.keys((err.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
    const hint = closest(key, known);
    message = `is not a known setting${hint ? ` (did you mean "${hint}"?)` : ''}; known here: ${known.join(', ')}`;
    isKey = true;
  } else if (err.keyword === 'required') {
    ptr = `${ptr}/${String((err.params as { missingProperty: string }).missingProperty)}`;
    message = 'is required';
  } else if (err.keyword === 'enum') {
    message = `must be one of: ${((err.params as { allowedValues: unknown[] }).allowedValues ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
  } else if (err.keyword === 'pattern' && ptr === '/database/url') {
    message = 'must be sqlite:PATH, sqlite::memory: or mysql://user:pass@host:port/db';
  }
  const envName = fromEnv.get(ptr);
  if (envName) return { source: `environment ${envName}`, position: null, pointer: ptr, message };
  const p = fromPointer(ptr);
  return { source: yaml.source, position: isKey ? yaml.keyPosition(p) : yaml.position(err.keyword === 'required' ? p.slice(0, -1) : p), pointer: ptr, message };
}

/** Levenshtein distance ≤ 3: a typo, not a different word. */
export function closest(word: string, candidates: string[]): string | null {
  let best: string | null = null;
  let bestD = 4;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

function dedupe(lines: string[]): string[] {
  return [...new Set(lines)];
}

export function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A changed copy of a configuration, frozen like the original (which stays as it was). */
export function configWith(config: Readonly<Config>, change: (copy: Config) => void): Readonly<Config> {
  const copy = structuredClone(config as Config);
  change(copy);
  return deepFreeze(copy);
}

/** Secrets in the configuration, for the logger's redactor. */
export function configSecrets(config: Config): string[] {
  const out = [config.leap.api_key, config.leap_events.secret, ...config.api.keys.map((k) => k.key)];
  const m = /^mysql2?:\/\/[^:/@]+:([^@]+)@/.exec(config.database.url);
  if (m?.[1]) out.push(m[1], decodeURIComponent(m[1]));
  const r = /^rediss?:\/\/[^:/@]*:([^@]+)@/.exec(config.redis.url);
  if (r?.[1]) out.push(r[1], decodeURIComponent(r[1]));
  return out.filter((s) => s && s.length > 0);
}
