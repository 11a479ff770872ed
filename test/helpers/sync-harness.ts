import { compose, type Composed } from '../../src/compose/compose';
import type { Config } from '../../src/config/schema';
import type { MeterEvent } from '../../src/domain/events';
import { silentLogger } from '../../src/logger';
import type { PageSource } from '../../src/services/sync/page-source';
import type { SyncOptions, SyncResult } from '../../src/services/sync/sync-service';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { testConfig } from './config';
import { createTestDb, type Engine, type TestDb } from './db';

export interface SyncHarness {
  db: TestDb;
  sim: RunningSimulator;
  config: Readonly<Config>;
  composed: Composed;
  /** One sync pass; returns its summary and the events it wrote. */
  pass(opts?: Partial<SyncOptions>): Promise<{ result: SyncResult; events: MeterEvent[] }>;
  eventsOf(meterId: string, runId: string | null): Promise<MeterEvent[]>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  apiVersion: 'v1' | 'v2';
  meters?: number;
  seed?: number;
  /** Extra YAML merged into the test configuration (leap base url and key are set). */
  yaml?: string;
  pageSize?: number;
  /** Leap attempts per call (default 3). */
  maxAttempts?: number;
  /** Where whole-portfolio walks parse and pair pages (default: the page thread). */
  pages?: PageSource;
}

/** A migrated database on `engine`, a Leap simulator on port 0, and the connector composed against both. */
export async function syncHarness(engine: Engine, opts: HarnessOptions): Promise<SyncHarness> {
  const db = await createTestDb(engine);
  const sim = await startSimulator({ meters: opts.meters ?? 200, seed: opts.seed ?? 7, apiKey: 'sim-key-0123456789', webhookTimeScale: 0.001 });
  const yaml = [
    'leap:',
    `  api_version: ${opts.apiVersion}`,
    `  account_id: ${sim.simulator.accountId}`,
    `  page_size: ${opts.pageSize ?? 50}`,
    '  rate_limit: { requests_per_second: 1000, max_concurrent: 4 }',
    `  retry: { max_attempts: ${opts.maxAttempts ?? 3}, base_delay_ms: 5, max_delay_ms: 50 }`,
    opts.yaml ?? '',
  ].join('\n');
  const config = testConfig(yaml, { LEAP_API_KEY: 'sim-key-0123456789', LEAP_BASE_URL: sim.url });
  const composed = compose(config, { db: db.knex, logger: silentLogger, ...(opts.pages ? { pages: opts.pages } : {}) });
  const eventsOf = async (meterId: string, runId: string | null) => (await composed.stores.events.list({ meterId }, 1000)).filter((e) => runId === null || e.sync_run_id === runId);
  return {
    db,
    sim,
    config,
    composed,
    eventsOf,
    async pass(o = {}) {
      const result = await composed.sync.run({ kind: 'incremental', trigger: 'test', ...o });
      const events = result.runId ? await composed.stores.events.list({ syncRunId: result.runId }, 100_000) : [];
      return { result, events };
    },
    async close() {
      await composed.close();
      await sim.close();
      await db.destroy();
    },
  };
}
