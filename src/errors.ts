/**
 * Every failure the product reports has a stable snake_case code, an HTTP status and
 * optional details. http/error-handler.ts maps these to responses; the CLI prints them.
 */
export interface ErrorDetail {
  /** JSON pointer, header name or field the detail is about */
  path?: string;
  message: string;
  [key: string]: unknown;
}

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[] | Record<string, unknown> | undefined;

  constructor(status: number, code: string, message: string, details?: ErrorDetail[] | Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: ErrorDetail[]) {
    super(400, 'validation_failed', message, details);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'A valid API key is required') {
    super(401, 'unauthorized', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'This key may not perform this operation') {
    super(403, 'forbidden', message);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, id?: string) {
    super(404, 'not_found', id === undefined ? `${what} not found` : `${what} ${id} not found`, id === undefined ? undefined : { id });
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(409, 'conflict', message, details);
  }
}

/** Configuration that cannot be used: every problem is listed, each as `source:line:col: /pointer message`. */
export class ConfigError extends AppError {
  readonly problems: string[];
  constructor(problems: string[], message = 'Invalid configuration') {
    super(500, 'config_invalid', `${message}:\n  ${problems.join('\n  ')}`, problems.map((p) => ({ message: p })));
    this.problems = problems;
  }
}

/**
 * A destination's field mapping could not produce a record for a meter: a required field is
 * missing or an expression failed. Names the destination, the field and the meter.
 */
export class MappingError extends AppError {
  readonly destination: string;
  readonly field: string;
  readonly meterId: string;
  constructor(message: string, details: { destination: string; field: string; meter_id: string; position?: string; cause_code?: string }) {
    super(422, 'mapping_failed', message, details);
    this.destination = details.destination;
    this.field = details.field;
    this.meterId = details.meter_id;
  }
}

/** Thrown by clients when an upstream system (Leap, a partner endpoint) fails. */
export class UpstreamError extends AppError {
  readonly upstream: string;
  readonly upstreamStatus: number | undefined;
  readonly bodyExcerpt: string | undefined;
  constructor(code: string, upstream: string, message: string, opts: { status?: number; body?: string; details?: Record<string, unknown> } = {}) {
    super(502, code, message, { upstream, status: opts.status, ...opts.details });
    this.upstream = upstream;
    this.upstreamStatus = opts.status;
    this.bodyExcerpt = opts.body;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
