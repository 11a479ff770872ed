import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server on port 0 that answers from a queue the test fills, and records every
 * request it received. Upstream behaviour (faults included) is scripted, never stubbed in axios.
 */

export interface ScriptedAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** Raw body text; objects are sent as JSON. */
  body?: string | object;
  /** Wait this long before answering (to provoke client timeouts or observe concurrency). */
  delayMs?: number;
  /** Destroy the connection instead of answering (a reset / socket hang up). */
  destroy?: boolean;
  /** Announce the full length but send only this many bytes, then drop the connection. */
  cutAfterBytes?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  bodyText: string;
  /** The body parsed as JSON, or undefined if it was not JSON. */
  json: unknown;
  /** performance.now() when the request arrived; for ordering and spacing only. */
  receivedAt: number;
}

export type Responder = (req: RecordedRequest, index: number) => ScriptedAnswer;

export class ScriptedServer {
  readonly requests: RecordedRequest[] = [];
  /** Most requests the server was handling at one moment. */
  maxInFlight = 0;
  private inFlight = 0;
  private readonly queue: (ScriptedAnswer | Responder)[] = [];
  private fallback: Responder | undefined;
  private server: http.Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  /** Answers consumed in order, one per request. */
  enqueue(...answers: (ScriptedAnswer | Responder)[]): this {
    this.queue.push(...answers);
    return this;
  }

  /** Used once the queue is empty; without it an unscripted request gets a 599 the test will notice. */
  otherwise(responder: Responder): this {
    this.fallback = responder;
    return this;
  }

  pending(): number {
    return this.queue.length;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const bodyText = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = bodyText ? (JSON.parse(bodyText) as unknown) : undefined;
      } catch {
        json = undefined;
      }
      const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, bodyText, json, receivedAt: performance.now() };
      const index = this.requests.length;
      this.requests.push(recorded);
      const next = this.queue.shift() ?? this.fallback ?? ((): ScriptedAnswer => ({ status: 599, body: { title: 'no scripted answer' } }));
      const answer = typeof next === 'function' ? next(recorded, index) : next;
      if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
      if (answer.destroy) {
        req.socket.destroy();
        return;
      }
      const text = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      const bytes = Buffer.from(text, 'utf8');
      const headers: Record<string, string> = { 'content-type': 'application/json', ...answer.headers, 'content-length': String(bytes.length) };
      if (res.destroyed) return;
      res.writeHead(answer.status ?? 200, headers);
      if (answer.cutAfterBytes !== undefined) {
        res.write(bytes.subarray(0, answer.cutAfterBytes));
        // Give the partial body a moment to leave before the connection drops.
        await new Promise((r) => setTimeout(r, 10));
        res.socket?.destroy();
        return;
      }
      res.end(bytes);
    } finally {
      this.inFlight -= 1;
    }
  }
}

export async function startScriptedServer(): Promise<ScriptedServer> {
  return new ScriptedServer().start();
}
