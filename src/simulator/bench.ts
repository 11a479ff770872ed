/**
 * Measures the simulator as the connector's benchmark uses it: portfolio generation time, memory,
 * and v2 search pages per second at page_size 500 over HTTP (client-side JSON.parse included).
 *
 *   node --expose-gc -r tsx/cjs src/simulator/bench.ts --meters 300000 --runs 5 --pages 60
 */
import { startSimulator } from './index';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

async function main(): Promise<void> {
  const meters = arg('meters', 100_000);
  const runs = arg('runs', 5);
  const pagesPerRun = arg('pages', 60);
  gc();
  const base = process.memoryUsage();
  const t0 = performance.now();
  const running = await startSimulator({ meters, seed: 1, apiKey: 'bench', start: new Date('2026-06-10T12:00:00Z') });
  const genMs = performance.now() - t0;
  gc();
  const after = process.memoryUsage();
  console.log(`meters ${meters}: generated in ${genMs.toFixed(0)} ms`);
  console.log(`heap +${mb(after.heapUsed - base.heapUsed)}, typed arrays +${mb(after.arrayBuffers - base.arrayBuffers)}, rss ${mb(after.rss)} (typed-array state ${mb(running.simulator.state().meters.stateBytes)})`);

  for (const path of ['/v2/meters/search', '/v2/meters/enrollments/search']) {
    const rates: number[] = [];
    const cpuPerPage: number[] = [];
    for (let r = 0; r < runs; r++) {
      const cpuStart = process.cpuUsage();
      let token: string | undefined;
      let pages = 0;
      let count = 0;
      const start = performance.now();
      while (pages < pagesPerRun) {
        const res = await fetch(`${running.url}${path}`, {
          method: 'POST',
          headers: { authorization: 'Bearer bench', 'content-type': 'application/json' },
          body: JSON.stringify({ page_size: 500, ...(token ? { page_token: token } : {}) }),
        });
        const body = (await res.json()) as { meters: unknown[]; next_page_token?: string };
        count += body.meters.length;
        pages++;
        token = body.next_page_token;
        if (!token) break;
      }
      const seconds = (performance.now() - start) / 1000;
      const cpu = process.cpuUsage(cpuStart);
      rates.push(pages / seconds);
      // CPU time (server render + client parse, one process) per page: steadier than wall time on a busy machine.
      cpuPerPage.push((cpu.user + cpu.system) / 1000 / pages);
      if (count !== pages * 500 && token) throw new Error('short page');
    }
    const m = median(rates);
    console.log(`${path}: median ${m.toFixed(1)} pages/s = ${Math.round(m * 500)} meters/s over ${runs} runs of ${pagesPerRun} pages (runs: ${rates.map((x) => x.toFixed(1)).join(', ')}); median CPU ${median(cpuPerPage).toFixed(1)} ms/page`);
  }
  gc();
  console.log(`rss after serving ${mb(process.memoryUsage().rss)}`);
  await running.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
