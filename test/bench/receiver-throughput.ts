/**
 * How many signed deliveries per second the sample receiver absorbs.
 *
 *   npx tsx test/bench/receiver-throughput.ts [--deliveries 20000] [--concurrency 32] [--runs 3]
 *
 * The receiver runs in a child process so the load loop does not share its CPU. Deliveries are
 * signed before the clock starts; each run is a keep-alive POST loop with N workers, checked
 * against the receiver's own counts (every delivery accepted, none invalid).
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { generateSecret, webhookHeaders } from '../../src/domain/signing';
import { webhookBody } from '../../src/domain/webhook-body';
import { startReceiver } from '../../src/receiver/receiver';
import { argNumber, receiverState } from './figures';


interface Prepared {
  body: Buffer;
  headers: Record<string, string>;
}

function request(agent: http.Agent, port: number, d: Prepared): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/webhooks', method: 'POST', agent, headers: { ...d.headers, 'content-type': 'application/json', 'content-length': String(d.body.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(d.body);
  });
}


async function serve(secret: string): Promise<void> {
  const running = await startReceiver({ secrets: [secret] });
  process.send?.({ port: running.port });
  // CPU time is the figure a loaded machine does not distort: the parent asks for it around each run.
  process.on('message', () => process.send?.({ cpu: process.cpuUsage() }));
  process.on('disconnect', () => void running.close().then(() => process.exit(0)));
}

async function main(): Promise<void> {
  const deliveries = argNumber('deliveries', 20_000);
  const concurrency = argNumber('concurrency', 32);
  const runs = argNumber('runs', 3);
  const secret = generateSecret();
  const child = fork(__filename, ['--serve', secret], { execArgv: ['--require', 'tsx/cjs'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  const cpu = (): Promise<number> =>
    new Promise((resolve) => {
      child.once('message', (m: { cpu: NodeJS.CpuUsage }) => resolve(m.cpu.user + m.cpu.system));
      child.send('cpu');
    });
  const rates: number[] = [];
  const cpuPer: number[] = [];
  try {
    for (let run = 1; run <= runs; run++) {
      const now = new Date();
      const prepared: Prepared[] = Array.from({ length: deliveries }, (_, i) => {
        const body = webhookBody({
          type: 'meter.enrollment.global-status.updated',
          timestamp: now,
          record: { crm_id: `crm-${i}`, status: 'active', site: { postal_code: '94103', utility: 'PG&E' } },
          meterId: `meter-${i % 2000}`,
          sequence: Math.floor(i / 2000) + 1,
          changes: [{ path: 'enrollment.status', from: 'PENDING', to: 'ACTIVE' }],
        });
        return { body: Buffer.from(body), headers: webhookHeaders([{ secret }], `msg_${run}_${i}`, body, now) };
      });
      await receiverState(port, 'DELETE');
      const cpuBefore = await cpu();
      const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
      let next = 0;
      let failed = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < prepared.length) {
            const status = await request(agent, port, prepared[next++]!);
            if (status !== 200) failed += 1;
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const cpuMicros = (await cpu()) - cpuBefore;
      agent.destroy();
      const state = await receiverState(port, 'GET');
      const rate = deliveries / seconds;
      rates.push(rate);
      cpuPer.push(cpuMicros / deliveries);
      console.log(
        `run ${run}: ${deliveries} deliveries in ${seconds.toFixed(2)} s = ${Math.round(rate)}/s at concurrency ${concurrency}; ` +
          `receiver CPU ${(cpuMicros / deliveries).toFixed(1)} µs/delivery; ` +
          `receiver counted accepted ${String(state.accepted)}, invalid ${String(state.invalid)}, out of order ${String(state.out_of_order)}; non-200 ${failed}`,
      );
      if (state.accepted !== deliveries || failed) throw new Error('the receiver did not accept every delivery');
    }
  } finally {
    child.disconnect();
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`median ${Math.round(median(rates))} deliveries/s over ${runs} runs; receiver CPU ${median(cpuPer).toFixed(1)} µs/delivery (${Math.round(1e6 / median(cpuPer))}/s per core)`);
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt > 0) void serve(process.argv[serveAt + 1]!);
else
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
