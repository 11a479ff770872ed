import type { Knex } from 'knex';
import { binaryText } from '../src/db/dialect';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('deliveries', (t) => {
    binaryText(knex, t);
    t.string('id', 40).primary().comment('the webhook-id: stable across retries and replays');
    t.string('destination', 128).notNullable();
    t.bigInteger('event_id').nullable().comment('meter_events.id');
    t.string('meter_id', 36).notNullable();
    t.integer('sequence').notNullable().comment("the meter event's per-meter sequence: deliveries of one meter go out in this order");
    t.string('event_type', 64).notNullable();
    t.string('status', 16).notNullable().comment('pending | delivering | delivered | dead');
    t.text('body', 'mediumtext').notNullable().comment('exactly the bytes that are signed and sent');
    t.string('record_hash', 64).notNullable().comment('hash of the mapped record alone, to skip detail updates a destination would not see');
    t.datetime('created_at', { precision: 3 }).notNullable();
    t.datetime('next_attempt_at', { precision: 3 }).notNullable();
    t.integer('attempts').notNullable().defaultTo(0).comment('every attempt ever made, manual and replayed included');
    t.integer('retry_index').notNullable().defaultTo(0).comment('position in the retry schedule; a replay starts it again');
    t.datetime('last_attempt_at', { precision: 3 }).nullable();
    t.integer('last_status').nullable();
    t.string('last_error_class', 32).nullable();
    t.text('last_error').nullable();
    t.datetime('delivered_at', { precision: 3 }).nullable();
    t.datetime('dead_at', { precision: 3 }).nullable();
    t.string('dead_reason', 64).nullable();
    t.string('claimed_by', 128).nullable();
    t.datetime('claim_expires_at', { precision: 3 }).nullable();
    t.string('last_trigger', 16).notNullable().defaultTo('scheduled').comment('scheduled | manual | replay | probe');
    t.integer('replays').notNullable().defaultTo(0);
    t.unique(['destination', 'event_id']);
    // Few indexes: every claim and result rewrites the status in each index that holds it.
    t.index(['destination', 'status', 'next_attempt_at']);
    t.index(['destination', 'meter_id', 'sequence']);
    t.index(['meter_id']);
    t.index(['created_at']);
  });

  await knex.schema.createTable('delivery_attempts', (t) => {
    binaryText(knex, t);
    t.bigIncrements('id').primary();
    t.string('delivery_id', 40).notNullable().index();
    t.integer('attempt').notNullable();
    t.string('trigger', 16).notNullable().comment('scheduled | manual | replay | probe');
    t.datetime('started_at', { precision: 3 }).notNullable();
    t.integer('duration_ms').notNullable();
    t.string('url', 2048).notNullable();
    t.text('request_headers_json').notNullable().comment('secrets redacted');
    t.integer('status_code').nullable();
    t.text('response_headers_json').nullable();
    t.text('response_body', 'mediumtext').nullable().comment('at most 16 KB');
    t.string('error_class', 32).nullable().comment('timeout | dns | refused | tls | reset | redirect | network');
    t.text('error_message').nullable();
    t.string('outcome', 16).notNullable().comment('delivered | retry | dead | throttled | paused');
  });

  await knex.schema.createTable('destination_state', (t) => {
    binaryText(knex, t);
    t.string('name', 128).primary();
    t.boolean('paused').notNullable().defaultTo(false);
    t.string('paused_reason', 32).nullable().comment('manual | failures | gone');
    t.datetime('paused_at', { precision: 3 }).nullable();
    t.integer('consecutive_failures').notNullable().defaultTo(0);
    t.datetime('last_success_at', { precision: 3 }).nullable();
    t.datetime('last_failure_at', { precision: 3 }).nullable();
    t.integer('last_status').nullable();
    t.datetime('probe_at', { precision: 3 }).nullable().comment('when a paused destination is tried again');
    t.integer('probe_backoff_ms').notNullable().defaultTo(0);
    t.integer('pauses').notNullable().defaultTo(0);
    t.integer('resumes').notNullable().defaultTo(0);
    t.datetime('updated_at', { precision: 3 }).notNullable();
  });

  await knex.schema.createTable('replay_jobs', (t) => {
    binaryText(knex, t);
    t.string('id', 36).primary();
    t.string('status', 16).notNullable().index().comment('pending | running | succeeded | failed');
    t.text('filter_json').notNullable();
    t.boolean('dry_run').notNullable().defaultTo(false);
    t.integer('cap').notNullable();
    t.integer('matched').notNullable().defaultTo(0);
    t.integer('replayed').notNullable().defaultTo(0);
    t.integer('skipped').notNullable().defaultTo(0);
    t.string('cursor', 40).nullable().comment('last delivery id processed, to resume');
    t.string('requested_by', 128).notNullable();
    t.string('claimed_by', 128).nullable();
    t.datetime('claim_expires_at', { precision: 3 }).nullable();
    t.datetime('created_at', { precision: 3 }).notNullable();
    t.datetime('started_at', { precision: 3 }).nullable();
    t.datetime('finished_at', { precision: 3 }).nullable();
    t.text('error').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('replay_jobs');
  await knex.schema.dropTable('destination_state');
  await knex.schema.dropTable('delivery_attempts');
  await knex.schema.dropTable('deliveries');
}
