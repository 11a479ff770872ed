/**
 * Public API of the Leap simulator: `startSimulator` for a real HTTP server (tests, the CLI, the
 * demo), `Simulator` for in-process use (supertest against `.app`, scenario helpers).
 */
import type { AddressInfo } from 'node:net';
import { Simulator, type SimulatorOptions } from './simulator';

export { Simulator } from './simulator';
export type {
  AdvanceSummary,
  AuthorizeOptions,
  ChangeCounts,
  LeapActionCode,
  LeapEnvelope,
  LeapEventPayload,
  MeterViews,
  PartnerActionCode,
  SimulatorOptions,
  SimulatorStateReport,
} from './simulator';
export type { FaultConfig } from './faults';
export type { WebhookStats, DeliveryRecord, WebhookSubscription } from './webhooks';
export { RETRY_SCHEDULE_MINUTES } from './webhooks';

export interface RunningSimulator {
  url: string;
  port: number;
  simulator: Simulator;
  /** Closes the server, the demo timer and in-flight webhook deliveries and retries. */
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions, listen: { port?: number; host?: string } = {}): Promise<RunningSimulator> {
  const simulator = new Simulator(options);
  const host = listen.host ?? '127.0.0.1';
  const server = simulator.app.listen(listen.port ?? 0, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    simulator,
    close: () => {
      closed ??= (async () => {
        await simulator.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Keep-alive sockets and requests held by injected latency would otherwise delay the close.
          server.closeAllConnections();
        });
      })();
      return closed;
    },
  };
}
