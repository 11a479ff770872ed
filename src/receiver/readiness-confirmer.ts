import type { Logger } from '../logger';
import type { ReceivedDelivery } from './ledger';

/** Where and how the sample partner confirms readiness: the connector's partner API and a partner key. */
export interface ReadinessConfirmation {
  /** The connector's base URL, e.g. `http://127.0.0.1:8080`. */
  connectorUrl: string;
  /** A bearer key with the partner scope. */
  apiKey: string;
  /** How long after hearing of an activation the partner's devices are ready (default 2 s). */
  delayMs?: number;
  logger?: Logger;
}

export interface ConfirmerStats {
  scheduled: number;
  confirmed: number;
  /** The connector answered 409: the meter needs no readiness any more. */
  notRequired: number;
  failed: number;
}

/** Types after which a partner makes a meter's devices dispatch-ready. */
const ACTIVATION_TYPES = new Set(['meter.enrollment.activated']);
const ATTEMPTS = 4;

/**
 * What a partner's device platform does when Leap activates a meter: commission its devices, then
 * tell the connector they can act on a dispatch (`PUT /api/v1/meters/{id}/readiness`). The sample
 * receiver does it after a short delay, so the demo shows the loop closing. Network errors and
 * 5xx are retried a few times; any other answer is final.
 */
export class ReadinessConfirmer {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly counts: ConfirmerStats = { scheduled: 0, confirmed: 0, notRequired: 0, failed: 0 };
  private closed = false;

  constructor(private readonly options: ReadinessConfirmation) {}

  /** Called for each newly accepted delivery. */
  heard(d: ReceivedDelivery): void {
    if (this.closed || !d.valid || d.duplicate || !d.type || !ACTIVATION_TYPES.has(d.type) || !d.meterId) return;
    const meterId = d.meterId;
    this.counts.scheduled += 1;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const p = this.confirm(meterId).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }, this.options.delayMs ?? 2000);
    this.timers.add(timer);
  }

  stats(): ConfirmerStats {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.inFlight]);
  }

  private async confirm(meterId: string): Promise<void> {
    const url = `${this.options.connectorUrl.replace(/\/+$/, '')}/api/v1/meters/${encodeURIComponent(meterId)}/readiness`;
    const body = JSON.stringify({ status: 'ready', reason: 'sample receiver: devices commissioned' });
    for (let attempt = 1; attempt <= ATTEMPTS && !this.closed; attempt++) {
      try {
        const res = await fetch(url, { method: 'PUT', headers: { authorization: `Bearer ${this.options.apiKey}`, 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        if (res.ok) {
          this.counts.confirmed += 1;
          this.options.logger?.info('receiver confirmed readiness', { meter_id: meterId });
          return;
        }
        if (res.status === 409) {
          this.counts.notRequired += 1;
          return;
        }
        if (res.status < 500) {
          this.counts.failed += 1;
          this.options.logger?.warn('the connector refused a readiness confirmation', { meter_id: meterId, status: res.status });
          return;
        }
      } catch {
        // Network error or timeout: try again below.
      }
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    }
    this.counts.failed += 1;
    this.options.logger?.warn('could not confirm readiness', { meter_id: meterId });
  }
}
