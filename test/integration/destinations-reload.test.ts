import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LogMeta, Logger } from '../../src/logger';
import { DestinationRegistry } from '../../src/mapping/destinations';
import { eventOf, SECRET, siteMeter } from '../helpers/destinations';

interface LogLine {
  level: string;
  message: string;
  meta?: LogMeta;
}

function memoryLogger(lines: LogLine[]): Logger {
  const logger: Logger = {
    error: (message, meta) => lines.push({ level: 'error', message, meta }),
    warn: (message, meta) => lines.push({ level: 'warn', message, meta }),
    info: (message, meta) => lines.push({ level: 'info', message, meta }),
    debug: (message, meta) => lines.push({ level: 'debug', message, meta }),
    child: () => logger,
  };
  return logger;
}

const file = (mapping: string, extra = '') => `url: https://partner.example.com/hooks\nevents: ["*"]\nsecrets: [${SECRET}]\n${extra}mapping:\n${mapping}`;

describe('destination registry: hot reload with keep-last-good', () => {
  let dir: string;
  let logs: LogLine[];
  let registry: DestinationRegistry;
  const write = (name: string, text: string) => writeFileSync(path.join(dir, name), text);
  const rendered = async (name: string) => registry.get(name)!.render(siteMeter(), eventOf());

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'registry-'));
    logs = [];
    registry = new DestinationRegistry({ dir, env: {}, logger: memoryLogger(logs), debounceMs: 20 });
  });
  afterEach(() => {
    registry.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads every good file, and reports the bad ones for the caller to refuse to start', () => {
    write('crm.yaml', file('  id: partner_reference\n'));
    write('broken.yaml', file('  id: { form: partner_reference }\n'));
    const { problems } = registry.load();
    assert.deepEqual(problems, [`${path.join(dir, 'broken.yaml')}:5:9: /mapping/id/form is not a known setting (did you mean "from"?); known here: from, expr, map, default, format, transform, required, on_missing, fields`]);
    assert.deepEqual(registry.all().map((d) => d.name), ['crm']);
  });

  it('keeps serving the last good version through a bad edit, applies other files\' good edits, and takes the fix', async () => {
    write('crm.yaml', file('  id: partner_reference\n'));
    write('devices.yaml', file('  serial: device.device_serial_number\n'));
    assert.deepEqual(registry.load(), { problems: [] });
    const good = registry.get('crm')!;
    const notified: string[][] = [];
    registry.onChange((names) => notified.push(names));

    write('crm.yaml', file("  id: { expr: 'partner_reference &' }\n"));
    write('devices.yaml', file('  serial: device.device_serial_number\n  model: device.device_model\n'));
    const bad = registry.reload();
    assert.deepEqual(bad.changed, ['devices']);
    assert.deepEqual(bad.problems, [`${path.join(dir, 'crm.yaml')}:5:35: /mapping/id/expr JSONata S0207: Unexpected end of expression`]);
    assert.equal(registry.get('crm'), good, 'the last good crm is still served');
    assert.deepEqual(await rendered('crm'), { id: 'site-000123' });
    assert.deepEqual(await rendered('devices'), { serial: 'PC13-00042', model: 'PowerCell 13' });
    const rejection = logs.find((l) => l.level === 'error')!;
    assert.equal(rejection.message, `destination file rejected; "crm" keeps its last good version ${good.version}`);
    assert.deepEqual(rejection.meta, { file: path.join(dir, 'crm.yaml'), problems: bad.problems });

    write('crm.yaml', file("  id: { expr: 'partner_reference & \"!\"' }\n"));
    const fixed = registry.reload();
    assert.deepEqual(fixed, { changed: ['crm'], problems: [] });
    assert.notEqual(registry.get('crm')!.version, good.version);
    assert.deepEqual(await rendered('crm'), { id: 'site-000123!' });
    assert.deepEqual(notified, [['devices'], ['crm']]);
  });

  it('says nothing changed when nothing did, and drops the destination of a deleted file', () => {
    write('crm.yaml', file('  id: partner_reference\n'));
    write('devices.yaml', file('  serial: device.device_serial_number\n'));
    registry.load();
    assert.deepEqual(registry.reload(), { changed: [], problems: [] });
    unlinkSync(path.join(dir, 'devices.yaml'));
    assert.deepEqual(registry.reload(), { changed: ['devices'], problems: [] });
    assert.deepEqual(registry.all().map((d) => d.name), ['crm']);
    assert.equal(registry.get('devices'), undefined);
    assert.ok(logs.some((l) => l.message === 'destination removed' && l.meta?.destination === 'devices'));
  });

  it('follows a rename of the file that holds a destination', () => {
    write('a.yaml', file('  id: partner_reference\n', 'name: crm\n'));
    registry.load();
    const before = registry.get('crm')!;
    renameSync(path.join(dir, 'a.yaml'), path.join(dir, 'b.yaml'));
    assert.deepEqual(registry.reload(), { changed: [], problems: [] });
    assert.equal(registry.get('crm')!.file, path.join(dir, 'b.yaml'));
    assert.equal(registry.get('crm')!.version, before.version);
  });

  it('does not let a new file take a name an existing destination holds', () => {
    write('b.yaml', file('  id: partner_reference\n', 'name: crm\n'));
    registry.load();
    write('a.yaml', file('  other: meter_type\n', 'name: crm\n'));
    const { changed, problems } = registry.reload();
    assert.deepEqual(changed, []);
    assert.deepEqual(problems, [`${path.join(dir, 'a.yaml')}:4:7: /name "crm" is already the name of the destination in ${path.join(dir, 'b.yaml')}; names must be unique (set name: to tell them apart)`]);
    assert.equal(registry.get('crm')!.file, path.join(dir, 'b.yaml'));
  });

  it('keeps everything when the folder disappears', () => {
    write('crm.yaml', file('  id: partner_reference\n'));
    registry.load();
    const gone = `${dir}-gone`;
    renameSync(dir, gone);
    try {
      const { changed, problems } = registry.reload();
      assert.deepEqual(changed, []);
      assert.match(problems[0]!, /destinations folder not found/);
      assert.deepEqual(registry.all().map((d) => d.name), ['crm']);
    } finally {
      renameSync(gone, dir);
    }
  });

  it('picks up edits by itself once watching, after a burst of writes settles', async () => {
    write('crm.yaml', file('  id: partner_reference\n'));
    registry.load();
    registry.watch();
    const changed = new Promise<string[]>((resolve) => registry.onChange(resolve));
    write('crm.yaml', file('  id: meter_id\n'));
    write('crm.yaml', file('  id: meter_type\n'));
    write('crm.yaml', file('  ref: partner_reference\n'));
    assert.deepEqual(await changed, ['crm']);
    assert.deepEqual(await rendered('crm'), { ref: 'site-000123' });
  });

  it('logs a bad edit picked up by the watcher and keeps the last good version', async () => {
    write('crm.yaml', file('  id: partner_reference\n'));
    registry.load();
    const good = registry.get('crm')!;
    registry.watch();
    const logged = new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (logs.some((l) => l.level === 'error')) {
          clearInterval(poll);
          resolve();
        }
      }, 5);
    });
    write('crm.yaml', 'url: https://partner.example.com/hooks\nevents: ["*"\n');
    await logged;
    const error = logs.find((l) => l.level === 'error')!;
    assert.match(String((error.meta?.problems as string[])[0]), /crm\.yaml:\d+:\d+: \/ /);
    assert.equal(registry.get('crm'), good);
  });
});
