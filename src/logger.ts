import winston from 'winston';
import { REDACTED } from './domain/redaction';

export type LogMeta = Record<string, unknown>;

export interface Logger {
  error(message: string, meta?: LogMeta): void;
  warn(message: string, meta?: LogMeta): void;
  info(message: string, meta?: LogMeta): void;
  debug(message: string, meta?: LogMeta): void;
  child(meta: LogMeta): Logger;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Values that must never be written: API keys, database passwords, webhook secrets. */
  secrets?: Iterable<string>;
  /** Where lines go; defaults to stderr so command output on stdout stays clean. */
  stream?: NodeJS.WritableStream;
}

export { REDACTED };

/** Keys whose values are secrets whatever they contain. */
const SECRET_KEY = /^(authorization|proxy-authorization|x-api-key|api[_-]?key|apikey|password|passwd|secret|secrets|token|access[_-]?token|webhook[_-]?secret|signing[_-]?secret|cookie|set-cookie)$/i;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/:=-]+/g;
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)([^@\s]+)(@)/gi;
const WHSEC = /\bwhsec_[A-Za-z0-9+/=]+/g;

/**
 * Replaces secrets wherever they appear: known secret values, secret-named keys,
 * bearer tokens, passwords inside URLs, and `whsec_` signing secrets.
 */
export class Redactor {
  private readonly values: string[] = [];

  constructor(secrets: Iterable<string> = []) {
    for (const s of secrets) this.add(s);
  }

  add(secret: string | undefined | null): void {
    // Very short values would redact ordinary words; they are not credible secrets.
    if (!secret || secret.length < 4 || this.values.includes(secret)) return;
    this.values.push(secret);
    this.values.sort((a, b) => b.length - a.length);
  }

  text(input: string): string {
    let out = input;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(REDACTED);
    return out.replace(BEARER, `$1 ${REDACTED}`).replace(URL_PASSWORD, `$1${REDACTED}$3`).replace(WHSEC, REDACTED);
  }

  value(input: unknown, depth = 0): unknown {
    if (typeof input === 'string') return this.text(input);
    if (input === null || typeof input !== 'object' || depth > 8) return input;
    if (input instanceof Error) return this.value({ name: input.name, message: input.message, stack: input.stack, ...pickOwn(input) }, depth + 1);
    if (Array.isArray(input)) return input.map((v) => this.value(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(input)) out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null && v !== '' ? REDACTED : this.value(v, depth + 1);
    return out;
  }
}

function pickOwn(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(err)) {
    // Errors from HTTP libraries carry their request config (with credentials); never log it.
    if (k === 'config' || k === 'request' || k === 'response') continue;
    out[k] = (err as unknown as Record<string, unknown>)[k];
  }
  return out;
}

const redactFormat = winston.format((info, opts: unknown) => {
  const r = (opts as { redactor?: Redactor } | undefined)?.redactor;
  if (!r) return info;
  const symbols = Object.getOwnPropertySymbols(info);
  const cleaned = r.value({ ...info }) as Record<string, unknown>;
  const out = cleaned as winston.Logform.TransformableInfo;
  for (const s of symbols) (out as unknown as Record<symbol, unknown>)[s] = (info as unknown as Record<symbol, unknown>)[s];
  return out;
});

/**
 * A winston logger whose children are made when they first write, and whose lines below the
 * level are dropped before winston builds them: a child per HTTP request costs nothing unless
 * it logs.
 */
class WinstonLogger implements Logger {
  private made: winston.Logger | undefined;

  constructor(
    private readonly root: winston.Logger,
    private readonly make: () => winston.Logger = () => root,
  ) {}

  private get w(): winston.Logger {
    return (this.made ??= this.make());
  }
  error(message: string, meta?: LogMeta): void {
    this.w.error(message, meta);
  }
  warn(message: string, meta?: LogMeta): void {
    if (this.root.isWarnEnabled()) this.w.warn(message, meta);
  }
  info(message: string, meta?: LogMeta): void {
    if (this.root.isInfoEnabled()) this.w.info(message, meta);
  }
  debug(message: string, meta?: LogMeta): void {
    if (this.root.isDebugEnabled()) this.w.debug(message, meta);
  }
  child(meta: LogMeta): Logger {
    return new WinstonLogger(this.root, () => this.w.child(meta));
  }
}

export function createLogger(opts: LoggerOptions): { logger: Logger; redactor: Redactor } {
  const redactor = new Redactor(opts.secrets);
  const stream = opts.stream ?? process.stderr;
  const pretty = opts.format === 'pretty' || (opts.format === 'auto' && process.env.NODE_ENV !== 'production' && Boolean((stream as NodeJS.WriteStream).isTTY));
  const format = pretty
    ? winston.format.combine(
        redactFormat({ redactor }),
        winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
        winston.format.colorize(),
        winston.format.printf(({ level, message, timestamp, component, ...rest }) => {
          const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
          return `${String(timestamp)} ${level} ${component ? `[${String(component)}] ` : ''}${String(message)}${extra}`;
        }),
      )
    : winston.format.combine(redactFormat({ redactor }), winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json());
  const w = winston.createLogger({
    level: opts.level,
    format,
    transports: [new winston.transports.Stream({ stream })],
  });
  return { logger: new WinstonLogger(w), redactor };
}

/** For tests and commands that must stay quiet. */
export const silentLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  child: () => silentLogger,
};
