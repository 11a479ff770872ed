import type { Knex } from 'knex';
import { binaryText } from '../src/db/dialect';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('sync_runs', (t) => {
    binaryText(knex, t);
    t.string('id', 36).primary();
    t.string('kind', 16).notNullable().comment('incremental | full | refresh');
    t.string('status', 16).notNullable().index().comment('running | succeeded | failed');
    t.string('trigger', 32).notNullable().comment('schedule | cli | api | leap_event');
    t.string('owner', 128).notNullable();
    t.boolean('dry_run').notNullable().defaultTo(false);
    t.datetime('started_at', { precision: 3 }).notNullable().index();
    t.datetime('finished_at', { precision: 3 }).nullable();
    t.string('resumed_from', 36).nullable().comment('interrupted run whose page position this run continued');
    t.string('since', 32).nullable().comment('explicit start time (sync --since), instead of the cursor');
    t.string('cursor_from', 32).nullable();
    t.string('cursor_to', 32).nullable();
    t.integer('pages').notNullable().defaultTo(0);
    t.integer('meters_seen').notNullable().defaultTo(0);
    t.integer('meters_changed').notNullable().defaultTo(0);
    t.integer('events').notNullable().defaultTo(0);
    t.string('error_code', 64).nullable();
    t.text('error').nullable();
  });

  await knex.schema.createTable('sync_cursors', (t) => {
    binaryText(knex, t);
    t.string('name', 64).primary().comment('one per stream: v2:details, v2:enrollments, v1:added, v1:modified');
    t.string('cursor_value', 32).nullable().comment('largest Leap time committed by a completed run, nine fractional digits');
    t.integer('last_pass_ms').notNullable().defaultTo(0).comment('how long the run that set cursor_value took; widens the next lookback');
    t.string('run_id', 36).nullable().comment('run whose unfinished position is stored below');
    t.string('run_kind', 16).nullable();
    t.string('pending_value', 32).nullable().comment('largest time seen by the unfinished run; becomes cursor_value when it completes');
    t.boolean('stream_done').notNullable().defaultTo(false);
    t.text('page_token').nullable().comment('token of the next page, to resume after a crash');
    t.text('page_filter_json').nullable().comment('filters the page token is bound to');
    t.integer('page_number').notNullable().defaultTo(0);
    t.datetime('run_started_at', { precision: 3 }).nullable().comment('start of the unfinished run (full reconcile: meters not seen since are gone)');
    t.datetime('updated_at', { precision: 3 }).notNullable();
  });

  await knex.schema.createTable('leases', (t) => {
    binaryText(knex, t);
    t.string('name', 64).primary();
    t.string('owner', 128).notNullable();
    t.datetime('acquired_at', { precision: 3 }).notNullable();
    t.datetime('renewed_at', { precision: 3 }).notNullable();
    t.datetime('expires_at', { precision: 3 }).notNullable();
  });

  await knex.schema.createTable('leap_event_receipts', (t) => {
    binaryText(knex, t);
    t.string('webhook_event_id', 64).primary();
    t.string('event_type', 64).notNullable();
    t.datetime('received_at', { precision: 3 }).notNullable().index();
    t.text('meter_ids_json', 'mediumtext').notNullable();
    t.datetime('processed_at', { precision: 3 }).nullable();
    t.text('error').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('leap_event_receipts');
  await knex.schema.dropTable('leases');
  await knex.schema.dropTable('sync_cursors');
  await knex.schema.dropTable('sync_runs');
}
