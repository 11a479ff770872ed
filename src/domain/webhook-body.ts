import type { Change } from './events';

/** Keys the connector adds to every `data` object; a mapping may not define them. */
export const RESERVED_DATA_KEYS = ['meter_id', 'sequence', 'changes'] as const;

export interface WebhookBodyInput {
  type: string;
  /** When the change was seen. */
  timestamp: Date | string;
  /** The destination's mapped record. */
  record: Record<string, unknown>;
  meterId: string;
  sequence: number;
  /** Present on update events. */
  changes: readonly Change[] | null;
}

/**
 * The body every destination receives (Standard Webhooks layout): `{type, timestamp, data}`, where
 * data is the mapped record plus meter_id, sequence and, for updates, changes. Serialized once:
 * these exact bytes are stored, signed and sent, on every attempt and replay.
 */
export function webhookBody(input: WebhookBodyInput): string {
  const data: Record<string, unknown> = { ...input.record, meter_id: input.meterId, sequence: input.sequence };
  if (input.changes && input.changes.length) data.changes = input.changes;
  const timestamp = typeof input.timestamp === 'string' ? input.timestamp : input.timestamp.toISOString();
  return JSON.stringify({ type: input.type, timestamp, data });
}
