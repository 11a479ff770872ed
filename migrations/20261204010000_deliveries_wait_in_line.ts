import type { Knex } from 'knex';
import { dialectOf } from '../src/db/dialect';

/**
 * Per destination and meter, the deliveries not yet delivered or dead form a line; only its first
 * can be sent. The others are now stored as `waiting`, so a claim reads pending deliveries only,
 * with no check per row for an earlier one of the same meter. The line is found through:
 * - SQLite: one partial index on the deliveries in line, defined by what stays fixed while a
 *   delivery is in line (not delivered, not dead), so that a claim, which changes the status,
 *   does not rewrite it (the two per-status indexes it replaces were rewritten by every claim);
 * - MySQL: the (destination, meter_id, status, sequence) index it already has.
 * A replayed delivery now leaves `delivered_at` empty until it is delivered again.
 */
const SQLITE_LINE_INDEX = 'deliveries_in_line_by_meter_index';
const SQLITE_STATUS_INDEXES = { pending: 'deliveries_pending_by_meter_index', delivering: 'deliveries_delivering_by_meter_index' };

export async function up(knex: Knex): Promise<void> {
  await knex('deliveries').whereIn('status', ['pending', 'delivering']).whereNotNull('delivered_at').update({ delivered_at: null });
  // Pending deliveries behind an earlier pending or in-flight one of their meter now wait.
  const behind = (await knex('deliveries as d')
    .select('d.id')
    .where('d.status', 'pending')
    .whereExists((q) =>
      q
        .select(knex.raw('1'))
        .from('deliveries as p')
        .whereRaw('p.destination = d.destination and p.meter_id = d.meter_id and p.sequence < d.sequence')
        .whereIn('p.status', ['pending', 'delivering']),
    )) as { id: string }[];
  for (let i = 0; i < behind.length; i += 500) await knex('deliveries').whereIn('id', behind.slice(i, i + 500).map((r) => r.id)).update({ status: 'waiting' });
  if (dialectOf(knex) === 'mysql') return;
  for (const name of Object.values(SQLITE_STATUS_INDEXES)) await knex.raw(`DROP INDEX ${name}`);
  await knex.raw(`CREATE INDEX ${SQLITE_LINE_INDEX} ON deliveries (destination, meter_id, sequence) WHERE delivered_at IS NULL AND dead_at IS NULL`);
}

export async function down(knex: Knex): Promise<void> {
  await knex('deliveries').where('status', 'waiting').update({ status: 'pending' });
  if (dialectOf(knex) === 'mysql') return;
  await knex.raw(`DROP INDEX ${SQLITE_LINE_INDEX}`);
  for (const [status, name] of Object.entries(SQLITE_STATUS_INDEXES)) await knex.raw(`CREATE INDEX ${name} ON deliveries (destination, meter_id, sequence) WHERE status = '${status}'`);
}
