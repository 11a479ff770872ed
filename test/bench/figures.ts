/** What the benchmarks share: reading their flags, summarizing runs, asking the sample receiver for its state. */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

/** `--name value` from the command line, or the fallback. */
export function argString(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

export function argNumber(name: string, fallback: number): number {
  return Number(argString(name, String(fallback)));
}

/**
 * The node options `npm start` runs the connector with (package.json's start script), so that a
 * benchmark measures the connector as it is started in production.
 */
export function startNodeOptions(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/);
  if (words[0] !== 'node') throw new Error(`package.json's start script does not start with node: ${pkg.scripts.start}`);
  const script = words.findIndex((w, i) => i > 0 && !w.startsWith('-'));
  return words.slice(1, script < 0 ? words.length : script);
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** The sample receiver's `/_receiver/state` (GET reads it, DELETE resets it). */
export function receiverState(port: number, method: 'GET' | 'DELETE'): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/_receiver/state?limit=0', method }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text ? (JSON.parse(text) as Record<string, unknown>) : {}));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * With `--profile FILE`, a CPU profile of `work` (the measured phase alone, not the set-up around it)
 * is written to FILE, for Chrome DevTools or `speedscope`. Without it, `work` just runs.
 */
export async function profiled<T>(work: () => Promise<T>, to?: string): Promise<T> {
  const file = to ?? argString('profile', '');
  if (!file) return work();
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}
