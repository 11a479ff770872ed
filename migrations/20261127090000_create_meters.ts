import type { Knex } from 'knex';
import { binaryText } from '../src/db/dialect';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('meters', (t) => {
    binaryText(knex, t);
    t.string('meter_id', 36).primary();
    t.string('source', 2).notNullable().comment('Leap API version the meter was read from: v1 or v2');
    t.string('partner_reference', 256).nullable().index();
    t.string('transmission_region', 16).nullable().index();
    t.string('meter_type', 32).nullable();
    t.string('customer_classification', 32).nullable();
    t.string('utility_name', 64).nullable();
    t.string('customer_group', 128).nullable();
    t.string('enrollment_status', 32).nullable().index();
    t.string('participation_preference', 16).nullable();
    t.boolean('partner_action_required').notNullable().defaultTo(false).index();
    t.boolean('is_archived').notNullable().defaultTo(false);
    t.datetime('leap_created_at', { precision: 3 }).nullable();
    t.string('leap_updated_at', 32).nullable().comment("Leap's audit.updated_at, nine fractional digits: sorts as text");
    t.text('details_json', 'mediumtext').nullable().comment('raw v2 details, or the raw v1 meter; the normalized meter is derived from the raw parts');
    t.text('enrollment_json', 'mediumtext').nullable().comment('raw v2 enrollment');
    t.string('content_hash', 64).notNullable().comment('sha256 of the normalized meter without volatile fields');
    t.string('details_hash', 40).nullable().comment('hash of the raw details as sent, without updated_at: the no-change fast path');
    t.string('enrollment_hash', 40).nullable();
    t.integer('sequence').notNullable().defaultTo(0).comment('sequence of the last event emitted for this meter');
    t.datetime('first_seen_at', { precision: 3 }).notNullable();
    t.datetime('last_seen_at', { precision: 3 }).notNullable();
    t.datetime('last_changed_at', { precision: 3 }).notNullable();
    t.datetime('missing_since', { precision: 3 }).nullable().comment('set when a full reconcile no longer finds the meter at Leap');
  });

  await knex.schema.createTable('meter_group_assignments', (t) => {
    binaryText(knex, t);
    t.string('meter_id', 36).notNullable().references('meters.meter_id').onDelete('CASCADE');
    t.string('assignment_key', 200).notNullable().comment('trade_date:YYYY-MM-DD (v1) or period:PROGRAM/DELIVERY_PERIOD (v2)');
    t.string('market_group_id', 64).notNullable().index();
    t.string('market_group_name', 128).nullable();
    t.string('trade_date', 10).nullable().index();
    t.string('program_identifier', 64).nullable();
    t.string('delivery_period', 128).nullable();
    t.datetime('starts_at', { precision: 3 }).nullable();
    t.datetime('ends_at', { precision: 3 }).nullable();
    t.primary(['meter_id', 'assignment_key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('meter_group_assignments');
  await knex.schema.dropTable('meters');
}
