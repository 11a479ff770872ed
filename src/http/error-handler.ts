import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors';

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

/** Foreign errors are converted once, here; unknown ones become an opaque 500. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as BodyParserError;
  if (e?.type === 'entity.too.large') return new AppError(413, 'payload_too_large', `Request body is larger than the limit of ${e.limit ?? '?'} bytes`);
  if (e?.type === 'entity.parse.failed') return new AppError(400, 'invalid_json', `Request body is not valid JSON: ${e.message}`);
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return new AppError(415, 'unsupported_encoding', e.message);
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new AppError(e.status, 'bad_request', e.message);
  return new AppError(500, 'internal_error', 'Internal error');
}

/** The last middleware: every error leaves as `{code, message, details, request_id}`. */
export function errorHandler(err: unknown, req: Request, res: Response, next: NextFunction): void {
  const e = toAppError(err);
  if (e.status >= 500) (req.log ?? console).error('request failed', { err, path: req.path, request_id: req.id });
  if (res.headersSent) {
    next(err);
    return;
  }
  if (e.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  res.status(e.status).json({
    code: e.code,
    message: e.status >= 500 && !(err instanceof AppError) ? 'Internal error' : e.message,
    details: e.details ?? null,
    request_id: req.id,
  });
}

export function notFoundHandler(req: Request, _res: Response, next: NextFunction): void {
  next(new AppError(404, 'not_found', `No route for ${req.method} ${req.path}`));
}
