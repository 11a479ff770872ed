import type { Knex } from 'knex';
import { binaryText, dialectOf } from '../src/db/dialect';

/**
 * Leap's raw meter parts move out of `meters` into `meter_raw_parts`, one row per part. A meters
 * row stays a few hundred bytes, so touching `last_seen_at` on a re-read meter and reading the
 * hashes of a page of meters no longer rewrite or walk kilobytes of JSON, and a v2 enrollment read
 * writes the enrollment without rewriting the details.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('meter_raw_parts', (t) => {
    binaryText(knex, t);
    t.string('meter_id', 36).notNullable().references('meters.meter_id').onDelete('CASCADE');
    t.string('part', 16).notNullable().comment('details (v2 details, or the whole v1 meter) | enrollment (v2)');
    t.text('json', 'mediumtext').notNullable().comment('the part as Leap sent it; the normalized meter is derived from the parts');
    t.primary(['meter_id', 'part']);
  });
  for (const part of ['details', 'enrollment'] as const) {
    const column = `${part}_json`;
    await knex.raw(`INSERT INTO meter_raw_parts (meter_id, part, json) SELECT meter_id, ?, ${column} FROM meters WHERE ${column} IS NOT NULL`, [part]);
  }
  // Plain DROP COLUMN on both engines: SQLite (3.35+) drops in place, keeping the table and its foreign keys.
  if (dialectOf(knex) === 'mysql') await knex.raw('ALTER TABLE meters DROP COLUMN details_json, DROP COLUMN enrollment_json');
  else {
    await knex.raw('ALTER TABLE meters DROP COLUMN details_json');
    await knex.raw('ALTER TABLE meters DROP COLUMN enrollment_json');
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('meters', (t) => {
    t.text('details_json', 'mediumtext').nullable();
    t.text('enrollment_json', 'mediumtext').nullable();
  });
  for (const part of ['details', 'enrollment'] as const) {
    await knex.raw(`UPDATE meters SET ${part}_json = (SELECT p.json FROM meter_raw_parts p WHERE p.meter_id = meters.meter_id AND p.part = ?)`, [part]);
  }
  await knex.schema.dropTable('meter_raw_parts');
}
