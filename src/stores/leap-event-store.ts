import type { Knex } from 'knex';
import { fromDbJson, fromDbTime, isUniqueViolation, toDbJson, toDbTime } from '../db/dialect';

export interface LeapEventReceipt {
  webhookEventId: string;
  eventType: string;
  receivedAt: Date;
  meterIds: string[];
  processedAt: Date | null;
  error: string | null;
}

interface ReceiptRow {
  webhook_event_id: string;
  event_type: string;
  received_at: string | Date;
  meter_ids_json: string;
  processed_at: string | Date | null;
  error: string | null;
}

const toReceipt = (r: ReceiptRow): LeapEventReceipt => ({
  webhookEventId: r.webhook_event_id,
  eventType: r.event_type,
  receivedAt: fromDbTime(r.received_at)!,
  meterIds: fromDbJson<string[]>(r.meter_ids_json) ?? [],
  processedAt: fromDbTime(r.processed_at),
  error: r.error,
});

/** Leap's webhook deliveries, one row per webhook_event_id: Leap retries, we act once. */
export class LeapEventStore {
  constructor(private readonly db: Knex) {}

  /** Records a receipt; false when this webhook_event_id was received before. */
  async record(r: { webhookEventId: string; eventType: string; meterIds: string[]; receivedAt: Date }): Promise<boolean> {
    try {
      await this.db('leap_event_receipts').insert({
        webhook_event_id: r.webhookEventId,
        event_type: r.eventType,
        received_at: toDbTime(r.receivedAt),
        meter_ids_json: toDbJson(r.meterIds),
      });
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async markProcessed(webhookEventId: string, at: Date, error: string | null = null): Promise<void> {
    await this.db('leap_event_receipts').where({ webhook_event_id: webhookEventId }).update({ processed_at: toDbTime(at), error });
  }

  /** Receipts whose refresh never finished (the process stopped first). */
  async unprocessed(limit: number): Promise<LeapEventReceipt[]> {
    const rows = (await this.db('leap_event_receipts').whereNull('processed_at').orderBy('received_at').limit(limit)) as ReceiptRow[];
    return rows.map(toReceipt);
  }

  async get(webhookEventId: string): Promise<LeapEventReceipt | undefined> {
    const row = (await this.db('leap_event_receipts').where({ webhook_event_id: webhookEventId }).first()) as ReceiptRow | undefined;
    return row && toReceipt(row);
  }
}
