import type { Knex } from 'knex';
import { binaryText } from '../src/db/dialect';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('meter_events', (t) => {
    binaryText(knex, t);
    t.bigIncrements('id').primary();
    t.string('meter_id', 36).notNullable();
    t.integer('sequence').notNullable().comment('per-meter, only grows');
    t.string('type', 64).notNullable().index();
    t.datetime('occurred_at', { precision: 3 }).notNullable().index();
    t.string('origin', 16).notNullable().comment('poll | reconcile | leap_event | readiness');
    t.string('sync_run_id', 36).nullable().index();
    t.text('meter_json', 'mediumtext').nullable().comment('the normalized meter after the change; null: the same as the next event of this meter (one read, several events)');
    t.text('changes_json', 'mediumtext').nullable().comment('[{path, from, to}] for updates');
    t.unique(['meter_id', 'sequence']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('meter_events');
}
