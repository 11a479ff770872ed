import type { Knex } from 'knex';
import { binaryText } from '../src/db/dialect';

/**
 * Support console sign-ins. The cookie carries a random session id; the table keeps only its
 * sha256, so a copy of the database signs nobody in. The key is never stored: only its name,
 * checked against the configuration on every request. Attempts get an index by time, for the
 * console's "last hour" per destination; replay jobs say why they skipped what they skipped; a
 * readiness event keeps the readiness it was delivered with.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('console_sessions', (t) => {
    binaryText(knex, t);
    t.string('id_hash', 64).primary().comment('sha256 of the session id in the cookie, hex');
    t.string('key_name', 128).notNullable().comment('the admin API key that signed in');
    t.string('csrf_token', 64).notNullable().comment('the synchronizer token every form of this session carries');
    t.datetime('created_at', { precision: 3 }).notNullable();
    t.datetime('expires_at', { precision: 3 }).notNullable();
    t.index(['expires_at'], 'console_sessions_expires_index');
  });
  await knex.schema.alterTable('delivery_attempts', (t) => t.index(['started_at'], 'delivery_attempts_started_index'));
  await knex.schema.alterTable('meter_events', (t) => t.text('readiness_json').nullable().comment("a readiness event's readiness as it was delivered (the meter's snapshot holds Leap's side only)"));
  await knex.schema.alterTable('replay_jobs', (t) => t.integer('skipped_unrenderable').notNullable().defaultTo(0).comment('of skipped: bodies that still could not be rendered; the rest were in flight'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('replay_jobs', (t) => t.dropColumn('skipped_unrenderable'));
  await knex.schema.alterTable('meter_events', (t) => t.dropColumn('readiness_json'));
  await knex.schema.alterTable('delivery_attempts', (t) => t.dropIndex(['started_at'], 'delivery_attempts_started_index'));
  await knex.schema.dropTableIfExists('console_sessions');
}
