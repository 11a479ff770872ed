/**
 * Measures the simulator as the connector's benchmark uses it: portfolio generation time and
 * memory, the CPU cost of rendering search pages in-process (what the simulator takes from a
 * connector running in the same process), and search pages per second at page_size 500 over HTTP
 * (client-side JSON.parse included).
 *
 *   npm run bench:simulator -- --meters 300000 --runs 5 --pages 60
 *   node --expose-gc --require tsx/cjs test/bench/simulator.ts --meters 300000 --runs 5 --pages 60
 *
 * The machine may be shared: medians of several runs are printed, and CPU time (process.cpuUsage)
 * beside wall-clock rates.
 */
import { startSimulator } from '../../src/simulator';
import type { SearchKind, Simulator } from '../../src/simulator/simulator';
import { argNumber, median } from './figures';

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

/**
 * In-process: search pages of 500 meters as the HTTP handler builds them (filter scan, page
 * token, every meter's JSON text, the page's UTF-8 body), without HTTP. CPU µs per meter.
 */
function renderRuns(sim: Simulator, kind: SearchKind, runs: number, pagesPerRun: number): { usPerMeter: number[]; pagesPerSecond: number[] } {
  const usPerMeter: number[] = [];
  const pagesPerSecond: number[] = [];
  let token: string | undefined;
  for (let r = 0; r < runs; r++) {
    let meters = 0;
    let pages = 0;
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    while (pages < pagesPerRun) {
      const out = sim.search(kind, { filter: {}, hasFilters: false, pageSize: 500, pageToken: token });
      if (!out.ok) throw new Error(out.title);
      const body = sim.pageBody(kind, out.indices, out.nextPageToken);
      if (body.length < out.indices.length) throw new Error('short page');
      meters += out.indices.length;
      pages++;
      token = out.nextPageToken;
    }
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    usPerMeter.push((cpu.user + cpu.system) / meters);
    pagesPerSecond.push(pages / seconds);
  }
  return { usPerMeter, pagesPerSecond };
}

async function main(): Promise<void> {
  const meters = argNumber('meters', 100_000);
  const runs = argNumber('runs', 5);
  const pagesPerRun = argNumber('pages', 60);
  gc();
  const base = process.memoryUsage();
  const t0 = performance.now();
  const running = await startSimulator({ meters, seed: 1, apiKey: 'bench', start: new Date('2026-06-10T12:00:00Z') });
  const genMs = performance.now() - t0;
  gc();
  const after = process.memoryUsage();
  const sim = running.simulator;
  console.log(`meters ${meters}: generated in ${genMs.toFixed(0)} ms`);
  console.log(`heap +${mb(after.heapUsed - base.heapUsed)}, typed arrays +${mb(after.arrayBuffers - base.arrayBuffers)}, rss ${mb(after.rss)} (typed-array state ${mb(sim.state().meters.stateBytes)})`);

  for (const [kind, label] of [
    ['d', 'details'],
    ['e', 'enrollment'],
    ['1', 'v1'],
  ] as const) {
    renderRuns(sim, kind, 1, 4); // warm-up
    const r = renderRuns(sim, kind, runs, pagesPerRun);
    const us = median(r.usPerMeter);
    console.log(
      `in-process ${label} pages: median ${us.toFixed(2)} µs CPU per meter = ${((us * 500) / 1000).toFixed(2)} ms per 500-meter page; ${median(r.pagesPerSecond).toFixed(0)} pages/s wall (runs: ${r.usPerMeter.map((x) => x.toFixed(2)).join(', ')} µs)`,
    );
  }
  gc();
  console.log(`heap after rendering +${mb(process.memoryUsage().heapUsed - base.heapUsed)}`);

  for (const path of ['/v2/meters/search', '/v2/meters/enrollments/search', `/v1.1/account/${sim.accountId}/meters/search`]) {
    const listKey = path.startsWith('/v1.1/') ? 'results' : 'meters';
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
        const body = (await res.json()) as Record<string, unknown>;
        count += (body[listKey] as unknown[]).length;
        pages++;
        token = typeof body.next_page_token === 'string' ? body.next_page_token : undefined;
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
    const label = path.startsWith('/v1.1/') ? '/v1.1/account/{account_id}/meters/search' : path;
    console.log(
      `HTTP ${label}: median ${m.toFixed(1)} pages/s = ${Math.round(m * 500)} meters/s over ${runs} runs of ${pagesPerRun} pages (runs: ${rates.map((x) => x.toFixed(1)).join(', ')}); median CPU ${median(cpuPerPage).toFixed(1)} ms/page`,
    );
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
