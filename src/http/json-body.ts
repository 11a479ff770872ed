import type { NextFunction, Request, Response } from 'express';
import { AppError, ValidationError } from '../errors';

/** Deeper than any request of this API needs; refused before anything walks it. */
const MAX_DEPTH = 32;

/**
 * For routes that take a JSON body: anything but `application/json` is a 415 (a form, text, or
 * no body at all), and a body whose text cannot be stored as sent (lone UTF-16 surrogates, NUL)
 * or that nests deeper than any request needs is a 400 naming where. Walked with a stack, not
 * recursion, so no body can overflow it.
 */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  if (!req.is('application/json')) {
    next(new AppError(415, 'unsupported_media_type', 'Send the body as JSON with Content-Type: application/json'));
    return;
  }
  const problem = textProblem(req.body);
  next(problem ? new ValidationError('Invalid body', [problem]) : undefined);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function textProblem(body: unknown): { path: string; message: string } | null {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: body, path: '', depth: 0 }];
  while (stack.length) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return { path, message: 'must not contain NUL characters' };
      if (LONE_SURROGATE.test(value)) return { path, message: 'is not valid Unicode text (a lone surrogate)' };
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_DEPTH) return { path, message: `nests deeper than ${MAX_DEPTH} levels` };
    if (Array.isArray(value)) value.forEach((v, i) => stack.push({ value: v, path: `${path}/${i}`, depth: depth + 1 }));
    else
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const key = `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if (k.includes('\u0000') || LONE_SURROGATE.test(k)) return { path: key, message: 'is a field name that is not valid text' };
        stack.push({ value: v, path: key, depth: depth + 1 });
      }
  }
  return null;
}
