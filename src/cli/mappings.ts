import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load';
import { deriveEvents, type MeterView } from '../domain/events';
import { AppError, ValidationError } from '../errors';
import type { Destination, EventContext } from '../domain/destination';
import { loadDestinationsDir, renderTestDelivery } from '../mapping/destinations';
import { meterViewFromJson } from '../mapping/meter-file';
import { eventType, instant, type ConfigFile } from './options';

/** `mappings check [dir]` and `mappings test`: lint destination files, and show what one would send. */
export function addMappingCommands(program: Command, configFile: ConfigFile): void {
  const mappings = program.command('mappings').description('check destination files and try their field mappings on a meter (no network, no database)');
  const dirOf = (dir: string | undefined): string => {
    if (dir !== undefined) return dir;
    const configured = loadConfig({ file: configFile() }).config.destinations.dir;
    if (configured === null) throw new ValidationError('no destinations folder: create one beside the configuration file, set destinations.dir, or name the folder here');
    return configured;
  };

  mappings
    .command('check')
    .description('report every YAML, schema and expression error in the destination files, as file:line:col: /pointer message; exit 1 on any')
    .argument('[dir]', 'the destinations folder (default: destinations.dir of the configuration)')
    .action((dir: string | undefined) => {
      const folder = dirOf(dir);
      const { destinations, problems } = loadDestinationsDir(folder, process.env);
      for (const line of problems) console.log(line);
      if (problems.length) {
        console.log(`${problems.length} problem${problems.length === 1 ? '' : 's'} in ${folder}`);
        process.exitCode = 1;
        return;
      }
      const names = destinations.map((d) => `${d.name}${d.enabled ? '' : ' (disabled)'}`);
      console.log(`ok: ${destinations.length} destination${destinations.length === 1 ? '' : 's'} in ${folder}${names.length ? `: ${names.join(', ')}` : ''}`);
    });

  mappings
    .command('test')
    .description('print the exact headers and body a destination would receive for a meter, signed with its secrets')
    .requiredOption('--destination <name>', 'the destination (its name: or file name)')
    .requiredOption('--meter <file>', 'a meter as JSON: normalized, Leap v2 {details, enrollment}, or a Leap v1 meter')
    .option('--event <type>', 'the event type (default: the first one the meter produces that the destination subscribes to)', eventType)
    .option('--previous <file>', 'the meter before the change: the events and their changes come from comparing the two')
    .option('--dir <dir>', 'the destinations folder (default: destinations.dir of the configuration)')
    .option('--at <time>', 'when the change happened, also used to sign (default: now); fixes the output for docs and tests', instant)
    .option('--json', 'print {destination, url, event, would_send, headers, body} as JSON')
    .action(async (opts: { destination: string; meter: string; event?: string; previous?: string; dir?: string; at?: string; json?: boolean }) => {
      const folder = dirOf(opts.dir);
      const { destinations, problems } = loadDestinationsDir(folder, process.env);
      const dest = destinations.find((d) => d.name === opts.destination);
      if (!dest) {
        for (const line of problems) console.error(line);
        const loaded = destinations.length ? destinations.map((d) => d.name).join(', ') : 'none';
        throw new AppError(404, 'not_found', `no destination "${opts.destination}" in ${folder} (loaded: ${loaded}${problems.length ? `; ${problems.length} problems above` : ''})`);
      }
      const meter = readMeter(opts.meter);
      const previous = opts.previous ? readMeter(opts.previous) : null;
      const at = opts.at ? new Date(opts.at) : new Date();
      const { event, notes } = chooseEvent(dest, meter, previous, opts.event, at);
      const subscribed = dest.matchesEvent(event.type);
      const passes = await dest.filter(meter, event);
      if (!subscribed) notes.push(`${dest.name} does not subscribe to ${event.type} (events: ${dest.events.join(', ')}); nothing would be sent`);
      if (!passes) notes.push(`the filter of ${dest.name} rejects this meter; nothing would be sent`);
      const { body, headers } = await renderTestDelivery(dest, meter, event, at);
      for (const note of notes) console.error(`note: ${note}`);
      if (opts.json) {
        console.log(JSON.stringify({ destination: dest.name, version: dest.version, url: dest.url, event, would_send: subscribed && passes && dest.enabled, headers, body }, null, 2));
        return;
      }
      console.log(`POST ${dest.url}`);
      for (const [name, value] of Object.entries(headers)) console.log(`${name}: ${value}`);
      console.log('');
      console.log(body);
    });
}

function readMeter(file: string): MeterView {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ValidationError(`${file}: cannot be read: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`${file}: not JSON: ${(err as Error).message}`);
  }
  try {
    return meterViewFromJson(json);
  } catch (err) {
    throw new ValidationError(`${file}: ${(err as Error).message}`);
  }
}

/**
 * The event to render: one the meter really produces (as new, or compared with --previous),
 * so `changes` and `sequence` look as they would in production.
 */
function chooseEvent(dest: Destination, meter: MeterView, previous: MeterView | null, wanted: string | undefined, at: Date): { event: EventContext; notes: string[] } {
  const notes: string[] = [];
  const derived = deriveEvents(previous, meter);
  const occurred_at = at.toISOString();
  const base = previous ? 1 : 0;
  const index = wanted ? derived.findIndex((e) => e.type === wanted) : Math.max(0, derived.findIndex((e) => dest.matchesEvent(e.type)));
  const found = index >= 0 ? derived[index] : undefined;
  if (found) return { event: { type: found.type, sequence: base + index + 1, changes: found.changes, occurred_at }, notes };
  const type = wanted ?? 'meter.details.updated';
  notes.push(previous ? `the two meters do not produce ${type}; rendering it with no changes` : `a new meter does not produce ${type}; rendering it with no changes (give --previous for real ones)`);
  return { event: { type, sequence: base + derived.length + 1, changes: null, occurred_at }, notes };
}
