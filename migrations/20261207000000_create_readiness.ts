import type { Knex } from 'knex';
import { binaryText } from '../src/db/dialect';

/**
 * The partner's half: dispatch readiness per meter with its history, the stored answers of
 * requests sent with an Idempotency-Key, and the partner's last roster check per market group
 * and trade date.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('meter_readiness', (t) => {
    binaryText(knex, t);
    t.bigInteger('meter_ref').unsigned().primary().comment('meters.id');
    t.foreign('meter_ref', 'meter_readiness_meter_ref_foreign').references('meters.id').onDelete('CASCADE');
    t.string('meter_id', 36).notNullable();
    t.string('state', 16).notNullable().comment('not_required | awaiting | overdue | ready | not_ready');
    t.datetime('since', { precision: 3 }).notNullable();
    t.string('source', 140).notNullable().comment('partner:<key name> | sync | deadline');
    t.text('reason').nullable();
    t.text('device_ids_json').nullable();
    t.datetime('effective_at', { precision: 3 }).nullable();
    t.string('required_by', 16).nullable().comment('active | market_group');
    t.datetime('required_until', { precision: 3 }).nullable().comment('for a requirement from market groups alone: when the last assignment ends');
    t.string('device_key', 255).nullable().comment('the device the current activation is about');
    t.boolean('overdue_notified').notNullable().defaultTo(false);
    t.datetime('updated_at', { precision: 3 }).notNullable();
    t.index(['state', 'meter_id'], 'meter_readiness_state_meter_index');
    t.index(['state', 'since'], 'meter_readiness_state_since_index');
    t.index(['required_until'], 'meter_readiness_required_until_index');
  });
  await knex.schema.createTable('readiness_history', (t) => {
    binaryText(knex, t);
    t.bigIncrements('id').primary();
    t.bigInteger('meter_ref').unsigned().notNullable().comment('meters.id');
    t.foreign('meter_ref', 'readiness_history_meter_ref_foreign').references('meters.id').onDelete('CASCADE');
    t.datetime('at', { precision: 3 }).notNullable();
    t.string('from_state', 16).notNullable();
    t.string('to_state', 16).notNullable();
    t.string('source', 140).notNullable();
    t.text('reason').nullable();
    t.text('device_ids_json').nullable();
    t.datetime('effective_at', { precision: 3 }).nullable();
    t.index(['meter_ref', 'id'], 'readiness_history_meter_index');
  });
  await knex.schema.createTable('idempotency_keys', (t) => {
    binaryText(knex, t);
    t.string('scope', 64).notNullable().comment('the operation, e.g. readiness.batch');
    t.string('key_name', 128).notNullable().comment('the API key that sent it: keys of different callers never meet');
    t.string('idempotency_key', 255).notNullable();
    t.string('request_hash', 64).notNullable().comment('sha256 of the request body as parsed');
    t.integer('status').notNullable();
    t.text('response', 'mediumtext').notNullable();
    t.datetime('created_at', { precision: 3 }).notNullable();
    t.primary(['scope', 'key_name', 'idempotency_key'], 'idempotency_keys_pkey');
    t.index(['created_at'], 'idempotency_keys_created_index');
  });
  await knex.schema.createTable('market_group_rosters', (t) => {
    binaryText(knex, t);
    t.string('market_group_id', 64).notNullable();
    t.string('trade_date', 10).notNullable();
    t.datetime('checked_at', { precision: 3 }).notNullable();
    t.string('checked_by', 140).notNullable();
    t.string('basis', 24).notNullable().comment('meter_ids | partner_references');
    t.text('partner_json', 'mediumtext').notNullable().comment("the partner's members as sent");
    t.text('leap_json', 'mediumtext').notNullable().comment("Leap's members (meter ids) when last compared");
    t.text('missing_json', 'mediumtext').notNullable();
    t.text('extra_json', 'mediumtext').notNullable();
    t.integer('matched').notNullable();
    t.datetime('drifted_at', { precision: 3 }).nullable().comment("when the sync last changed Leap's members after the check");
    t.primary(['market_group_id', 'trade_date'], 'market_group_rosters_pkey');
    t.index(['trade_date'], 'market_group_rosters_trade_date_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('market_group_rosters');
  await knex.schema.dropTable('idempotency_keys');
  await knex.schema.dropTable('readiness_history');
  await knex.schema.dropTable('meter_readiness');
}
