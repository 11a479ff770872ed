/**
 * Checks the API's answers against its own description (src/http/openapi.ts): an app wrapped by
 * `contract.wrap(app)` answers as before and records every answer; `contract.verify()` (in an
 * after hook) fails listing each answer whose method, path and status the description does not
 * name, or whose body does not match the schema described for that status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { apiDescription, type OpenApiDocument } from '../../src/http/openapi';

type Schema = Record<string, unknown>;
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface RecordedAnswer {
  method: string;
  url: string;
  status: number;
  contentType: string;
  body: Buffer;
}

const pointer = (parts: string[]): string => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

export class ApiContract {
  readonly document: OpenApiDocument;
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly answers: RecordedAnswer[] = [];
  private readonly templates: { template: string; segments: string[]; literals: number }[];

  constructor(document: OpenApiDocument = apiDescription({ leapEventsHeader: 'x-leap-webhook-secret' })) {
    this.document = document;
    this.ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addSchema(document as object, 'openapi');
    this.templates = Object.keys(document.paths).map((template) => {
      const segments = template.split('/');
      return { template, segments, literals: segments.filter((s) => !s.startsWith('{')).length };
    });
  }

  /** The app, answering as before, with every answer recorded for verify(). */
  wrap(app: Handler): Handler {
    return (req, res) => {
      const chunks: Buffer[] = [];
      const write = res.write.bind(res) as (...args: unknown[]) => boolean;
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      const keep = (chunk: unknown, encoding: unknown) => {
        if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
        chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
      };
      (res as { write: unknown }).write = (chunk: unknown, ...rest: unknown[]) => {
        keep(chunk, rest[0]);
        return write(chunk, ...rest);
      };
      (res as { end: unknown }).end = (chunk?: unknown, ...rest: unknown[]) => {
        keep(chunk, rest[0]);
        return end(chunk, ...rest);
      };
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      res.on('finish', () => {
        this.answers.push({ method, url, status: res.statusCode, contentType: String(res.getHeader('content-type') ?? ''), body: Buffer.concat(chunks) });
      });
      app(req, res);
    };
  }

  /** The described path template a concrete path falls under (literal segments win), or null. */
  templateOf(path: string): string | null {
    const segments = path.split('/');
    const matches = this.templates.filter((t) => t.segments.length === segments.length && t.segments.every((s, i) => s.startsWith('{') || s === segments[i]));
    return matches.sort((a, b) => b.literals - a.literals)[0]?.template ?? null;
  }

  private validatorFor(parts: string[]): ValidateFunction {
    const key = pointer(parts);
    let v = this.compiled.get(key);
    if (!v) {
      v = this.ajv.compile({ $ref: `openapi#/${key}` });
      this.compiled.set(key, v);
    }
    return v;
  }

  private resolve(obj: Schema): Schema {
    const r = obj.$ref;
    if (typeof r !== 'string') return obj;
    const target = r.replace(/^#\//, '').split('/').reduce<unknown>((o, k) => (o as Schema)[k], this.document);
    return target as Schema;
  }

  /** Why one answer does not match the description, or null when it does. */
  problem(a: RecordedAnswer): string | null {
    const path = a.url.split('?')[0]!;
    const what = `${a.method} ${a.url} → ${a.status}`;
    const template = this.templateOf(path);
    const method = a.method.toLowerCase();
    const op = template ? (this.document.paths[template]![method] as Schema | undefined) : undefined;
    if (!template || !op) {
      // No route: the app's 404, or the 401/403 of the key check guarding all of /api/v1 and
      // /admin/v1 (it runs before any route is matched), in the one error shape.
      const guarded = /^\/(api|admin)\/v1(\/|$)/.test(path) && (a.status === 401 || a.status === 403);
      if (a.status !== 404 && !guarded) return `${what}: no described operation for this method and path`;
      return this.bodyProblem(what, a, ['components', 'schemas', 'Error']);
    }
    const responses = op.responses as Record<string, Schema>;
    const described = responses[String(a.status)];
    if (!described) return `${what}: ${a.method} ${template} describes no ${a.status} answer (described: ${Object.keys(responses).join(', ')})`;
    const response = this.resolve(described);
    const content = (response.content ?? {}) as Record<string, Schema>;
    const mediaType = a.contentType.split(';')[0]!.trim();
    if (!a.body.length && !Object.keys(content).length) return null;
    if (!content[mediaType]) return `${what}: answered ${mediaType || 'no content type'}, described ${Object.keys(content).join(', ') || 'no content'}`;
    if (mediaType !== 'application/json') return null;
    const base = described === response ? ['paths', template, method, 'responses', String(a.status)] : (described.$ref as string).replace(/^#\//, '').split('/');
    return this.bodyProblem(what, a, [...base, 'content', mediaType, 'schema']);
  }

  private bodyProblem(what: string, a: RecordedAnswer, schemaAt: string[]): string | null {
    let body: unknown;
    try {
      body = JSON.parse(a.body.toString('utf8'));
    } catch {
      return `${what}: the body is not JSON`;
    }
    const validate = this.validatorFor(schemaAt);
    if (validate(body)) return null;
    const errors = (validate.errors ?? []).slice(0, 8).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
    return `${what}: the body does not match ${pointer(schemaAt)}: ${errors.join('; ')}`;
  }

  /** How many answers were recorded, and every problem among them. */
  check(): { recorded: number; problems: string[] } {
    const problems = [...new Set(this.answers.map((a) => this.problem(a)).filter((p): p is string => p !== null))];
    return { recorded: this.answers.length, problems };
  }

  /** Throws listing every recorded answer the description does not match. */
  verify(): void {
    const { recorded, problems } = this.check();
    if (!recorded) throw new Error('no answer was recorded: wrap the app with contract.wrap(app)');
    if (problems.length) throw new Error(`${problems.length} answers differ from the API description:\n  ${problems.join('\n  ')}`);
  }
}
