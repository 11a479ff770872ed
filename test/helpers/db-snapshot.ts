import type { Knex } from 'knex';
import { fromDbBool, fromDbInt, fromDbTimeIso } from '../../src/db/dialect';
import { canonicalJson } from '../../src/domain/canonical-json';
import { EventStore } from '../../src/stores/event-store';
import { MeterStore } from '../../src/stores/meter-store';

/**
 * What a sync leaves behind that must not depend on how it got there (one run, or runs killed and
 * resumed): meters, their market group assignments, the events, the cursors. Times the connector
 * stamps itself (seen, changed, occurred, a readiness move's since) and run bookkeeping are left out.
 */
export interface SyncSnapshot {
  /** meter_id → "content_hash details_hash enrollment_hash sequence archived source". */
  meters: Map<string, string>;
  /** meter_id + assignment_key → the assignment. */
  groups: Map<string, string>;
  /** meter_id#sequence → type, origin, changes and the resolved meter snapshot. */
  events: Map<string, string>;
  /** Every event's sequence, per meter, in the order stored (duplicates kept). */
  sequences: Map<string, number[]>;
  /** stream → cursor_value. */
  cursors: Map<string, string | null>;
  /** Streams that still hold an unfinished run's position. */
  positions: StoredPosition[];
}

export interface StoredPosition {
  stream: string;
  runId: string;
  runKind: string | null;
  streamDone: boolean;
  pageNumber: number;
  hasPageToken: boolean;
}

export async function syncSnapshot(knex: Knex): Promise<SyncSnapshot> {
  const meterRows = (await knex('meters').select('meter_id', 'content_hash', 'details_hash', 'enrollment_hash', 'sequence', 'is_archived', 'source').orderBy('meter_id')) as Record<string, unknown>[];
  const meters = new Map(
    meterRows.map((r) => [String(r.meter_id), [r.content_hash, r.details_hash, r.enrollment_hash, fromDbInt(r.sequence), fromDbBool(r.is_archived) ? 'archived' : 'live', r.source].join(' ')]),
  );
  // By meter id: a meter's row number depends on the order meters were first stored in.
  const groupRows = (await knex('meter_group_assignments as g').join('meters as m', 'm.id', 'g.meter_ref').select('m.meter_id', 'g.*').orderBy(['m.meter_id', 'g.assignment_key'])) as Record<string, unknown>[];
  const groups = new Map(
    groupRows.map(({ meter_ref: _ref, ...r }) => [
      `${String(r.meter_id)} ${String(r.assignment_key)}`,
      canonicalJson({ ...r, starts_at: fromDbTimeIso(r.starts_at), ends_at: fromDbTimeIso(r.ends_at) }),
    ]),
  );
  // Through the store: an event without a snapshot of its own is resolved to the next one, or the stored meter.
  const stored = await new EventStore(knex, new MeterStore(knex)).list({}, 10_000_000);
  const events = new Map<string, string>();
  const sequences = new Map<string, number[]>();
  for (const e of stored) {
    events.set(`${e.meter_id}#${e.sequence}`, canonicalJson(unstamped({ type: e.type, origin: e.origin, changes: e.changes, meter: e.meter })));
    sequences.set(e.meter_id, [...(sequences.get(e.meter_id) ?? []), e.sequence]);
  }
  const cursorRows = (await knex('sync_cursors').select('name', 'cursor_value').orderBy('name')) as { name: string; cursor_value: string | null }[];
  return { meters, groups, events, sequences, cursors: new Map(cursorRows.map((r) => [r.name, r.cursor_value])), positions: await storedPositions(knex) };
}

/** The moment the connector saw a readiness move is its own stamp, like seen and changed: kept as "stamped" or null. */
function unstamped(event: { type: string; origin: string; changes: unknown; meter: unknown }): unknown {
  const stamp = (v: unknown) => (v === null || v === undefined ? v : 'stamped');
  const changes = Array.isArray(event.changes)
    ? event.changes.map((c: Record<string, unknown>) => (c.path === 'readiness.since' ? { ...c, from: stamp(c.from), to: stamp(c.to) } : c))
    : event.changes;
  const meter = event.meter as Record<string, unknown> | null;
  const readiness = meter?.readiness as Record<string, unknown> | undefined;
  return { ...event, changes, meter: readiness ? { ...meter, readiness: { ...readiness, since: stamp(readiness.since) } } : meter };
}

/** Streams holding an unfinished run's page position (sync_cursors rows with a run_id). */
export async function storedPositions(knex: Knex): Promise<StoredPosition[]> {
  const rows = (await knex('sync_cursors').whereNotNull('run_id').orderBy('name')) as Record<string, unknown>[];
  return rows.map((r) => ({
    stream: String(r.name),
    runId: String(r.run_id),
    runKind: (r.run_kind as string | null) ?? null,
    streamDone: fromDbBool(r.stream_done),
    pageNumber: fromDbInt(r.page_number),
    hasPageToken: r.page_token !== null,
  }));
}

/** The unfinished run a restart should resume: a stream with a page token or a finished stream. */
export function resumablePosition(positions: StoredPosition[], kind = 'incremental'): StoredPosition | null {
  return positions.find((p) => p.runKind === kind && (p.hasPageToken || p.streamDone)) ?? null;
}

function diffMaps<V>(what: string, expected: Map<string, V>, actual: Map<string, V>, limit: number): string[] {
  const out: string[] = [];
  for (const [k, v] of expected) {
    if (!actual.has(k)) out.push(`${what} ${k}: missing`);
    else if (actual.get(k) !== v) out.push(`${what} ${k}: expected ${String(v).slice(0, 300)}, got ${String(actual.get(k)).slice(0, 300)}`);
  }
  for (const k of actual.keys()) if (!expected.has(k)) out.push(`${what} ${k}: unexpected ${String(actual.get(k)).slice(0, 300)}`);
  return out.length > limit ? [...out.slice(0, limit), `${what}: ${out.length - limit} more differences`] : out;
}

/** Every difference between two snapshots, a few per table; empty when they are the same. */
export function snapshotDifferences(expected: SyncSnapshot, actual: SyncSnapshot, limit = 5): string[] {
  return [
    ...diffMaps('meter', expected.meters, actual.meters, limit),
    ...diffMaps('group assignment', expected.groups, actual.groups, limit),
    ...diffMaps('event', expected.events, actual.events, limit),
    ...diffMaps('cursor', expected.cursors, actual.cursors, limit),
    ...actual.positions.map((p) => `stream ${p.stream}: still holds the position of unfinished run ${p.runId}`),
  ];
}

/** Events recorded twice for one meter and sequence, gaps, and meters whose sequence is not their last event's. */
export function sequenceProblems(s: SyncSnapshot): string[] {
  const out: string[] = [];
  for (const [meterId, row] of s.meters) {
    const sequence = Number(row.split(' ')[3]);
    const seen = [...(s.sequences.get(meterId) ?? [])].sort((a, b) => a - b);
    const expected = Array.from({ length: sequence }, (_, i) => i + 1);
    if (canonicalJson(seen) !== canonicalJson(expected)) out.push(`meter ${meterId}: sequence ${sequence}, events numbered [${seen.join(', ')}]`);
  }
  for (const meterId of s.sequences.keys()) if (!s.meters.has(meterId)) out.push(`events for unknown meter ${meterId}`);
  return out;
}
