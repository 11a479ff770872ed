import type { Knex } from 'knex';
import { binaryText, fromDbJson, toDbJson } from '../src/db/dialect';
import { meterView } from '../src/domain/events';
import type { MeterRaw } from '../src/domain/meter';
import { meterFromRaw } from '../src/domain/normalize';

/**
 * Each meter gets a row number (`meters.id`, in the order meters were first seen) and the tables
 * that hold a meter's rows are keyed by it (`meter_ref`) instead of by Leap's meter id, a random
 * UUID. A first sync appends new meters' raw parts, events and market group assignments at the
 * end of those keys instead of scattering them over every page of each key: on SQLite a page of
 * 500 new meters wrote 3.5 times its own size to the log (every touched index page, whole), and
 * InnoDB, which stores a table in its key order, did the same in its own way.
 *
 * meter_events keeps `meter_id`: an event names its meter on its own. Raw parts and assignments
 * are only ever read through their meter. Both engines get the same tables, rebuilt and copied:
 * SQLite can change neither a primary key nor a column's nullability in place.
 *
 * From here on the events of a meter's latest read carry no snapshot (the stored meter is it);
 * before, the last event of every read had one. Going down writes those snapshots.
 */

type Shape = 'by_meter_id' | 'by_ref';

const METER_COLUMNS = [
  'meter_id',
  'source',
  'partner_reference',
  'transmission_region',
  'meter_type',
  'customer_classification',
  'utility_name',
  'customer_group',
  'enrollment_status',
  'participation_preference',
  'partner_action_required',
  'is_archived',
  'leap_created_at',
  'leap_updated_at',
  'content_hash',
  'details_hash',
  'enrollment_hash',
  'sequence',
  'first_seen_at',
  'last_seen_at',
  'last_changed_at',
  'missing_since',
];
const ASSIGNMENT_COLUMNS = ['assignment_key', 'market_group_id', 'market_group_name', 'trade_date', 'program_identifier', 'delivery_period', 'starts_at', 'ends_at'];
const EVENT_COLUMNS = ['id', 'meter_id', 'sequence', 'type', 'occurred_at', 'origin', 'sync_run_id', 'meter_json', 'changes_json'];

/** The secondary indexes, created once the tables have their final names. */
const INDEXES: Record<string, string[][]> = {
  meters: [['partner_reference'], ['transmission_region'], ['enrollment_status'], ['partner_action_required']],
  meter_group_assignments: [['market_group_id'], ['trade_date']],
  meter_events: [['type'], ['occurred_at'], ['sync_run_id']],
};

const next = (table: string): string => `${table}_next`;

async function createTables(knex: Knex, shape: Shape): Promise<void> {
  const byRef = shape === 'by_ref';
  await knex.schema.createTable(next('meters'), (t) => {
    binaryText(knex, t);
    if (byRef) {
      t.bigIncrements('id').primary().comment('row number, in the order meters were first seen: the key of their other rows');
      t.string('meter_id', 36).notNullable().unique({ indexName: 'meters_meter_id_unique' });
    } else t.string('meter_id', 36).primary('meters_pkey');
    t.string('source', 2).notNullable().comment('Leap API version the meter was read from: v1 or v2');
    t.string('partner_reference', 256).nullable();
    t.string('transmission_region', 16).nullable();
    t.string('meter_type', 32).nullable();
    t.string('customer_classification', 32).nullable();
    t.string('utility_name', 64).nullable();
    t.string('customer_group', 128).nullable();
    t.string('enrollment_status', 32).nullable();
    t.string('participation_preference', 16).nullable();
    t.boolean('partner_action_required').notNullable().defaultTo(false);
    t.boolean('is_archived').notNullable().defaultTo(false);
    t.datetime('leap_created_at', { precision: 3 }).nullable();
    t.string('leap_updated_at', 32).nullable().comment("Leap's audit.updated_at, nine fractional digits: sorts as text");
    t.string('content_hash', 64).notNullable().comment('sha256 of the normalized meter without volatile fields');
    t.string('details_hash', 40).nullable().comment('hash of the raw details as sent, without updated_at: the no-change fast path');
    t.string('enrollment_hash', 40).nullable();
    t.integer('sequence').notNullable().defaultTo(0).comment('sequence of the last event emitted for this meter');
    t.datetime('first_seen_at', { precision: 3 }).notNullable();
    t.datetime('last_seen_at', { precision: 3 }).notNullable();
    t.datetime('last_changed_at', { precision: 3 }).notNullable();
    t.datetime('missing_since', { precision: 3 }).nullable().comment('set when a full reconcile no longer finds the meter at Leap');
  });
  const meterKey = (t: Knex.CreateTableBuilder, table: string): string => {
    if (byRef) {
      t.bigInteger('meter_ref').unsigned().notNullable().comment('meters.id');
      t.foreign('meter_ref', `${table}_meter_ref_foreign`).references(`${next('meters')}.id`).onDelete('CASCADE');
      return 'meter_ref';
    }
    t.string('meter_id', 36).notNullable();
    t.foreign('meter_id', `${table}_meter_id_foreign`).references(`${next('meters')}.meter_id`).onDelete('CASCADE');
    return 'meter_id';
  };
  await knex.schema.createTable(next('meter_raw_parts'), (t) => {
    binaryText(knex, t);
    const key = meterKey(t, 'meter_raw_parts');
    t.string('part', 16).notNullable().comment('details (v2 details, or the whole v1 meter) | enrollment (v2)');
    t.text('json', 'mediumtext').notNullable().comment('the part as Leap sent it; the normalized meter is derived from the parts');
    t.primary([key, 'part'], 'meter_raw_parts_pkey');
  });
  await knex.schema.createTable(next('meter_group_assignments'), (t) => {
    binaryText(knex, t);
    const key = meterKey(t, 'meter_group_assignments');
    t.string('assignment_key', 200).notNullable().comment('trade_date:YYYY-MM-DD (v1) or period:PROGRAM/DELIVERY_PERIOD (v2)');
    t.string('market_group_id', 64).notNullable();
    t.string('market_group_name', 128).nullable();
    t.string('trade_date', 10).nullable();
    t.string('program_identifier', 64).nullable();
    t.string('delivery_period', 128).nullable();
    t.datetime('starts_at', { precision: 3 }).nullable();
    t.datetime('ends_at', { precision: 3 }).nullable();
    t.primary([key, 'assignment_key'], 'meter_group_assignments_pkey');
  });
  await knex.schema.createTable(next('meter_events'), (t) => {
    binaryText(knex, t);
    t.bigIncrements('id').primary();
    if (byRef) t.bigInteger('meter_ref').unsigned().notNullable().comment('meters.id');
    t.string('meter_id', 36).notNullable();
    t.integer('sequence').notNullable().comment('per-meter, only grows');
    t.string('type', 64).notNullable();
    t.datetime('occurred_at', { precision: 3 }).notNullable();
    t.string('origin', 16).notNullable().comment('poll | reconcile | leap_event | readiness');
    t.string('sync_run_id', 36).nullable();
    t.text('meter_json', 'mediumtext')
      .nullable()
      .comment(byRef ? 'the normalized meter after the change; null: as the next event of this meter that has one, else the meter as stored' : 'the normalized meter after the change; null: the same as the next event of this meter (one read, several events)');
    t.text('changes_json', 'mediumtext').nullable().comment('[{path, from, to}] for updates');
    t.unique([byRef ? 'meter_ref' : 'meter_id', 'sequence'], { indexName: byRef ? 'meter_events_meter_ref_sequence_unique' : 'meter_events_meter_id_sequence_unique' });
  });
}

const list = (columns: string[], prefix = ''): string => columns.map((c) => `${prefix}${c}`).join(', ');

/** Copy every row into the new tables, each meter's rows following its meter to its new key. */
async function copyRows(knex: Knex, shape: Shape): Promise<void> {
  const byRef = shape === 'by_ref';
  await knex.raw(`INSERT INTO ${next('meters')} (${list(METER_COLUMNS)}) SELECT ${list(METER_COLUMNS)} FROM meters ORDER BY first_seen_at, meter_id`);
  // Old key → new key, through the meter: the new meters table is joined by meter_id going up, the old one by id going down.
  const [key, joinOn] = byRef ? ['m.id', 'm.meter_id = c.meter_id'] : ['m.meter_id', 'm.id = c.meter_ref'];
  const source = byRef ? next('meters') : 'meters';
  await knex.raw(`INSERT INTO ${next('meter_raw_parts')} (${byRef ? 'meter_ref' : 'meter_id'}, part, json) SELECT ${key}, c.part, c.json FROM meter_raw_parts c JOIN ${source} m ON ${joinOn}`);
  await knex.raw(
    `INSERT INTO ${next('meter_group_assignments')} (${byRef ? 'meter_ref' : 'meter_id'}, ${list(ASSIGNMENT_COLUMNS)}) SELECT ${key}, ${list(ASSIGNMENT_COLUMNS, 'c.')} FROM meter_group_assignments c JOIN ${source} m ON ${joinOn}`,
  );
  if (byRef) await knex.raw(`INSERT INTO ${next('meter_events')} (meter_ref, ${list(EVENT_COLUMNS)}) SELECT m.id, ${list(EVENT_COLUMNS, 'c.')} FROM meter_events c JOIN ${next('meters')} m ON m.meter_id = c.meter_id ORDER BY c.id`);
  else await knex.raw(`INSERT INTO ${next('meter_events')} (${list(EVENT_COLUMNS)}) SELECT ${list(EVENT_COLUMNS)} FROM meter_events ORDER BY id`);
}

/**
 * A row whose meter is not stored (an event of a meter deleted by hand) has no key in the new
 * tables: refuse before changing anything (MySQL cannot undo DDL) rather than lose it.
 */
async function refuseOrphans(knex: Knex, shape: Shape): Promise<void> {
  const tables = shape === 'by_ref' ? ['meter_raw_parts', 'meter_group_assignments', 'meter_events'] : ['meter_events'];
  for (const table of tables) {
    const [{ n }] = (await knex(`${table} as c`)
      .whereNotExists((q) => q.select(knex.raw('1')).from('meters as m').whereRaw(shape === 'by_ref' ? 'm.meter_id = c.meter_id' : 'm.id = c.meter_ref'))
      .count({ n: '*' })) as [{ n: number | string }];
    if (Number(n) > 0) throw new Error(`${table}: ${n} rows belong to meters that are not stored; delete them or store their meters, then migrate again (nothing was changed)`);
  }
}

async function rebuild(knex: Knex, shape: Shape): Promise<void> {
  await refuseOrphans(knex, shape);
  // Left behind by a rebuild that stopped half way on MySQL, whose DDL commits as it goes.
  for (const table of ['meter_group_assignments', 'meter_raw_parts', 'meter_events', 'meters']) await knex.schema.dropTableIfExists(next(table));
  await createTables(knex, shape);
  await copyRows(knex, shape);
  // Children first: dropping meters while they still point at it would cascade into them.
  for (const table of ['meter_group_assignments', 'meter_raw_parts', 'meter_events', 'meters']) await knex.schema.dropTable(table);
  for (const table of ['meters', 'meter_raw_parts', 'meter_group_assignments', 'meter_events']) await knex.schema.renameTable(next(table), table);
  for (const [table, indexes] of Object.entries(INDEXES)) {
    await knex.schema.alterTable(table, (t) => {
      for (const columns of indexes) t.index(columns, `${table}_${columns.join('_')}_index`);
    });
  }
}

export async function up(knex: Knex): Promise<void> {
  await rebuild(knex, 'by_ref');
}

/** Each meter's last event without a snapshot gets the meter as stored, as the earlier schema expects. */
async function writeLatestSnapshots(knex: Knex): Promise<void> {
  for (let after = 0; ; ) {
    const rows = (await knex('meters as m')
      .join('meter_events as e', (j) => j.on('e.meter_ref', 'm.id').andOn('e.sequence', 'm.sequence'))
      .whereNull('e.meter_json')
      .where('m.id', '>', after)
      .orderBy('m.id')
      .limit(500)
      .select('m.id', 'm.source', 'm.missing_since', 'e.id as event_id')) as { id: number | string; source: string; missing_since: unknown; event_id: number | string }[];
    if (!rows.length) return;
    const parts = (await knex('meter_raw_parts').whereIn('meter_ref', rows.map((r) => r.id)).select('meter_ref', 'part', 'json')) as { meter_ref: number | string; part: string; json: unknown }[];
    for (const r of rows) {
      const part = (name: string) => fromDbJson<Record<string, unknown>>(parts.find((p) => Number(p.meter_ref) === Number(r.id) && p.part === name)?.json ?? null);
      const raw: MeterRaw = r.source === 'v1' ? { details: null, enrollment: null, v1: part('details') } : { details: part('details'), enrollment: part('enrollment'), v1: null };
      await knex('meter_events').where({ id: r.event_id }).update({ meter_json: toDbJson(meterView(meterFromRaw(raw, r.missing_since !== null))) });
    }
    after = Number(rows.at(-1)!.id);
  }
}

export async function down(knex: Knex): Promise<void> {
  await writeLatestSnapshots(knex);
  await rebuild(knex, 'by_meter_id');
}
