import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadDestinationsDir } from '../../src/mapping/destinations';
import { destinationOf, problemsOf, SECRET } from '../helpers/destinations';

const HEAD = `url: https://partner.example.com/hooks\nevents: ["*"]\nsecrets: [${SECRET}]\n`;
const lines = (...l: string[]) => l.join('\n') + '\n';
const TRAP = `YAML read this value as a mapping because it contains ": " (as in a ? b : c); quote the expression ('...') or write it as a | block`;
const COMMENT = `has no value: if it starts with #, YAML read it as a comment; quote it ('#...') or write it as a | block`;

describe('destination file errors', () => {
  describe('YAML syntax', () => {
    it('reports a syntax error at its line and column, and nothing that follows from it', () => {
      assert.deepEqual(problemsOf(lines('url: https://x.example', 'events: ["*"]', '\tsecrets: []', 'mapping:', '  a: b'), 'p.yaml'), ['p.yaml:3:1: / TAB_AS_INDENT: Tabs are not allowed as indentation']);
      assert.deepEqual(problemsOf(lines('url: https://x.example', 'events: [meter.created', 'mapping:', '  a: b'), 'p.yaml'), [
        'p.yaml:3:1: / BAD_INDENT: Flow sequence in block collection must be sufficiently indented and end with a ]',
      ]);
      assert.deepEqual(problemsOf(lines('url: https://x.example', 'url: https://y.example'), 'p.yaml'), ['p.yaml:2:1: / DUPLICATE_KEY: Map keys must be unique']);
    });

    it('flags an unquoted ternary (BLOCK_AS_IMPLICIT_KEY) with advice to quote, and still checks the rest', () => {
      const text = lines(HEAD + 'mapping:', '  a:', '    expr: customer.city ? customer.city : "X"', '    required: true', '  b: { expr: "a = = 1" }');
      assert.deepEqual(problemsOf(text, 'p.yaml'), [`p.yaml:6:11: /mapping/a/expr BLOCK_AS_IMPLICIT_KEY: ${TRAP}`, 'p.yaml:8:19: /mapping/b/expr JSONata S0211: The symbol "=" cannot be used as a unary operator']);
    });

    it('flags the ternary written as a field shorthand, in a flow mapping, and in a filter', () => {
      assert.deepEqual(problemsOf(lines(HEAD + 'mapping:', '  city: customer.city ? customer.city : "X"'), 'p.yaml'), [`p.yaml:5:9: /mapping/city BLOCK_AS_IMPLICIT_KEY: ${TRAP}`]);
      assert.deepEqual(problemsOf(lines(HEAD + 'mapping:', '  a: { expr: tags ? "t" : "none" }'), 'p.yaml'), [`p.yaml:5:14: /mapping/a/expr BLOCK_IN_FLOW: ${TRAP}`]);
      assert.deepEqual(problemsOf(lines(HEAD + 'filter: tags ? "a" : "b"'), 'p.yaml'), [`p.yaml:4:9: /filter BLOCK_AS_IMPLICIT_KEY: ${TRAP}`]);
    });

    it('flags values an unquoted # turned into null: expr, from, a shorthand field and the filter', () => {
      const text = lines(HEAD + 'filter: #tags', 'mapping:', '  a: #x', '  b: { from: #y', '     }', '  c:', '    expr: # $lowercase(x)');
      assert.deepEqual(problemsOf(text, 'p.yaml'), [
        `p.yaml:4:9: /filter ${COMMENT}`,
        `p.yaml:6:6: /mapping/a ${COMMENT}`,
        `p.yaml:7:14: /mapping/b/from ${COMMENT}`,
        `p.yaml:10:11: /mapping/c/expr ${COMMENT}`,
      ]);
    });

    it('explains an expression cut short by " #" in an unquoted value', () => {
      assert.deepEqual(problemsOf(lines(HEAD + 'mapping:', '  d:', '    expr: a & " #x"'), 'p.yaml'), [
        'p.yaml:6:16: /mapping/d/expr JSONata S0101: String literal must be terminated by a matching quote (YAML dropped everything after " #" on this line as a comment: quote the expression)',
      ]);
    });

    it('flags an expression or path YAML read as a number, a boolean, a list or empty text', () => {
      assert.deepEqual(problemsOf(lines(HEAD + 'mapping:', '  n: 42', '  b: { expr: true }', '  l: { from: [a] }', '  e: ""'), 'p.yaml'), [
        `p.yaml:5:6: /mapping/n must be a string, but YAML read 42 as a number; quote it ('42')`,
        `p.yaml:6:14: /mapping/b/expr must be a string, but YAML read true as a boolean; quote it ('true')`,
        `p.yaml:7:14: /mapping/l/from must be a string, but YAML read a list; quote the path ('[...]')`,
        'p.yaml:8:6: /mapping/e is empty: give the path',
      ]);
    });
  });

  describe('expression syntax', () => {
    it('points at the exact column inside plain, single-quoted and double-quoted scalars', () => {
      const text = lines(HEAD + 'mapping:', '  h: { expr: foo bar }', "  a: { expr: 'customer.city & ''x'' = = 1' }", '  b: { expr: "\\"q\\" & & 1" }', "filter: 'tags = \"a\" and'");
      assert.deepEqual(problemsOf(text, 'p.yaml'), [
        'p.yaml:5:18: /mapping/h/expr JSONata S0201: Syntax error: "bar"',
        // Each '' is one character of the expression but two in the file.
        'p.yaml:6:39: /mapping/a/expr JSONata S0211: The symbol "=" cannot be used as a unary operator',
        'p.yaml:7:23: /mapping/b/expr JSONata S0211: The symbol "&" cannot be used as a unary operator',
        'p.yaml:8:24: /filter JSONata S0207: Unexpected end of expression',
      ]);
    });

    it('points at the line and column inside | and > block scalars', () => {
      const text = lines(HEAD + 'mapping:', '  f:', '    expr: |', '      (', '        $a := 1;', '        $a + + ;', '      )', '  c:', '    expr: >', '      customer.city &', '      customer.state & ]');
      assert.deepEqual(problemsOf(text, 'p.yaml'), [
        'p.yaml:9:14: /mapping/f/expr JSONata S0211: The symbol "+" cannot be used as a unary operator',
        'p.yaml:14:24: /mapping/c/expr JSONata S0211: The symbol "]" cannot be used as a unary operator',
      ]);
    });
  });

  describe('schema and meaning', () => {
    it('lists every problem at once, in file order, with did-you-mean hints for unknown keys', () => {
      const text = lines(
        'name: crm',
        'url: ftp://partner.example.com/hooks',
        'events: [meter.created, "meter.enrolment.*", "*.updated"]',
        'secrets:',
        '  - secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        '    expires_at: 2020-01-01T00:00:00Z',
        'timeout: 15 seconds',
        'concurency: 3',
        'retry: { schedule: [5s, 1 minute], jitter: 2 }',
        'dead_on: [400, 200]',
        'headers:',
        '  webhook-id: mine',
        '  "bad header": x',
        'on_missing: never',
      );
      assert.deepEqual(problemsOf(text, 'p.yaml'), [
        'p.yaml:2:6: /url must match pattern "^https?://"',
        'p.yaml:3:25: /events/1 "meter.enrolment.*" matches no event type; known: meter.created, meter.partner-reference.updated, meter.enrollment.global-status.updated, meter.enrollment.activated, meter.enrollment.participation-status.updated, meter.enrollment.required-actions.updated, meter.enrollment.group.updated, meter.details.updated, meter.archived, meter.readiness.updated, meter.readiness.overdue, market_group.roster.drifted',
        'p.yaml:5:3: /secrets every secret has expired, so nothing could be signed; add the current secret',
        'p.yaml:7:10: /timeout must be a duration such as 500ms, 15s, 5m, 2h or 1d',
        'p.yaml:8:1: /concurency is not a known setting (did you mean "concurrency"?); known here: name, description, url, enabled, events, filter, secrets, timeout, rate_limit_per_second, concurrency, retry, dead_on, pause_after_failures, headers, on_missing, mapping',
        'p.yaml:9:25: /retry/schedule/1 must be a duration such as 500ms, 15s, 5m, 2h or 1d',
        'p.yaml:9:44: /retry/jitter must be <= 1',
        'p.yaml:10:16: /dead_on/1 must be >= 300',
        'p.yaml:12:3: /headers/webhook-id is set by the connector and cannot be overridden',
        'p.yaml:13:3: /headers/bad header is not a valid header name',
        'p.yaml:14:13: /on_missing must be omit or null',
      ]);
    });

    it('requires url, events and secrets, and checks each secret', () => {
      assert.deepEqual(problemsOf('mapping: {}\n', 'p.yaml'), ['p.yaml:1:1: /url is required', 'p.yaml:1:1: /events is required', 'p.yaml:1:1: /secrets is required']);
      assert.deepEqual(problemsOf(lines('url: https://x.example', 'events: ["*"]', 'secrets: [whsec_c2hvcnQ=, not-a-secret, { secret: "${S}" }]'), 'p.yaml'), [
        'p.yaml:3:11: /secrets/0 must decode to 24-64 bytes (got 5)',
        'p.yaml:3:27: /secrets/1 must start with whsec_',
        'p.yaml:3:51: /secrets/2/secret refers to ${S}, which is not set (write ${S:-default} to allow it to be missing)',
      ]);
    });

    it('substitutes ${VAR} in settings but never in filter or mapping, where $ is JSONata', () => {
      const text = lines('url: ${URL}', 'events: ["*"]', 'secrets: ["${SECRET}"]', 'rate_limit_per_second: ${RATE:-5}', 'headers: { Authorization: "Bearer ${TOKEN}" }', "filter: '$$.meter_id = meter_id'", 'mapping:', "  root: { expr: '$$.meter_id' }");
      const dest = destinationOf(text, 'p.yaml', { URL: 'https://crm.example.com/in', SECRET, TOKEN: 'tok-123' });
      assert.equal(dest.url, 'https://crm.example.com/in');
      assert.equal(dest.ratePerSecond, 5);
      assert.deepEqual(dest.headers, { Authorization: 'Bearer tok-123' });
      assert.deepEqual(dest.sensitiveValues, [SECRET, 'Bearer tok-123']);
    });

    it('reports mapping mistakes at the key or value they are about', () => {
      const text = lines(
        HEAD + 'mapping:',
        '  sequence: meter_id',
        '  a: { from: meter_id, expr: meter_id }',
        '  b: { fields: { c: meter_id }, from: meter_id }',
        '  d: { from: customer.city, required: true, default: x }',
        '  e: { from: enrollment.status.code }',
        '  f: { from: tags.first }',
        '  g: { from: device.anything.goes }',
        '  i: { from: meter_id, format: { out: "[Q]", timezone: Mars/Olympus } }',
        '  j: { from: meter_id, transform: { join: ",", round: 1 } }',
        '  k: { from: meter_id, trasnform: lowercase }',
        '  l: { required: true }',
        '  m: { from: meter_id, on_missing: sometimes }',
        '  n: { from: group_assignments.market_group }',
        '  o: { from: custmer.city }',
        '  p: { from: "a b" }',
        '  q: { street: customer.street_1 }',
        '  r: { from: meter_id, transform: [lowercase, frobnicate] }',
      );
      assert.deepEqual(problemsOf(text, 'p.yaml'), [
        'p.yaml:5:3: /mapping/sequence is reserved: the connector adds meter_id, sequence, changes to every data object itself',
        'p.yaml:6:24: /mapping/a/expr cannot be used with from: take the value from a path or from an expression, not both',
        'p.yaml:7:33: /mapping/b/from cannot be used with fields: a nested object is built from its fields only',
        'p.yaml:8:45: /mapping/d/default cannot be used with required: true (the default would always satisfy it)',
        'p.yaml:9:14: /mapping/e/from "enrollment.status" is a single value; it has no field "code"',
        'p.yaml:10:14: /mapping/f/from "tags" is a list of values; it has no field "first"',
        'p.yaml:12:39: /mapping/i/format/out is not a usable JSONata date picture: unknown component "[Q]" (components: Y M D d F W w X x H h P m s f Z z C E; e.g. [Y0001]-[M01]-[D01])',
        'p.yaml:12:56: /mapping/i/format/timezone "Mars/Olympus" is neither an IANA time zone (America/Los_Angeles) nor an offset (-0800, +0000)',
        'p.yaml:13:35: /mapping/j/transform holds one transform; list several in order, e.g. [trim, lowercase, {join: ", "}]',
        'p.yaml:14:24: /mapping/k/trasnform is not a known setting (did you mean "transform"?); known here: from, expr, map, default, format, transform, required, on_missing, fields',
        'p.yaml:15:6: /mapping/l needs from (a path), expr (a JSONata expression), fields (a nested object) or default (a constant)',
        'p.yaml:16:36: /mapping/m/on_missing must be omit or null',
        'p.yaml:17:14: /mapping/n/from "group_assignments" has no field "market_group" (did you mean "market_group_id"?); its fields: key, market_group_id, market_group_name, trade_date, program_identifier, delivery_period, starts_at, ends_at',
        'p.yaml:18:14: /mapping/o/from the meter has no field "custmer" (did you mean "customer"?); its fields: meter_id, source, partner_reference, transmission_region, meter_type, customer_classification, utility_name, load_types, tags, connection_references, customer_group, is_archived, customer, device, site, utility, caiso, isone, nyiso, enrollment, group_assignments, extra, created_at, updated_at, readiness',
        'p.yaml:19:14: /mapping/p/from "a b" is not a dotted path into the meter (names of letters, digits, _ and -, with [n] for a list item); write expr for a JSONata expression',
        'p.yaml:20:8: /mapping/q/street is not a field setting (from, expr, map, default, format, transform, required, on_missing, fields); to send a nested object, put its fields under "fields:"',
        'p.yaml:21:47: /mapping/r/transform/1 must be one of: "lowercase", "uppercase", "trim", "string", "number", "boolean", "join", "first", "last", "round"',
      ]);
    });

    it('rejects a file that is not a mapping of settings', () => {
      assert.deepEqual(problemsOf('- a\n- b\n', 'p.yaml'), ['p.yaml:1:1: / must be a mapping of settings (url, events, secrets, mapping, ...); see config/examples']);
      assert.deepEqual(problemsOf('', 'p.yaml'), ['p.yaml:1:1: / must be a mapping of settings (url, events, secrets, mapping, ...); see config/examples']);
    });
  });

  describe('a folder of destinations', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'destinations-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('names a destination after its file unless it says otherwise, and rejects duplicate names across files', () => {
      writeFileSync(path.join(dir, 'a.yaml'), HEAD);
      writeFileSync(path.join(dir, 'b.yml'), `name: a\n${HEAD}`);
      writeFileSync(path.join(dir, 'c.yaml'), `name: crm\n${HEAD}`);
      writeFileSync(path.join(dir, 'README.md'), '# not a destination\n');
      writeFileSync(path.join(dir, '.c.yaml.swp'), 'binary junk');
      const { destinations, problems } = loadDestinationsDir(dir, {});
      assert.deepEqual(destinations.map((d) => [d.name, path.basename(d.file)]), [
        ['a', 'a.yaml'],
        ['crm', 'c.yaml'],
      ]);
      assert.deepEqual(problems, [`${path.join(dir, 'b.yml')}:1:7: /name "a" is already the name of the destination in ${path.join(dir, 'a.yaml')}; names must be unique (set name: to tell them apart)`]);
    });

    it('reports every file\'s problems together, and a missing folder', () => {
      writeFileSync(path.join(dir, 'one.yaml'), 'url: https://x.example\n');
      writeFileSync(path.join(dir, 'two.yaml'), `${HEAD}mapping:\n  x: { form: meter_id }\n`);
      const { destinations, problems } = loadDestinationsDir(dir, {});
      assert.equal(destinations.length, 0);
      assert.deepEqual(problems, [
        `${path.join(dir, 'one.yaml')}:1:1: /events is required`,
        `${path.join(dir, 'one.yaml')}:1:1: /secrets is required`,
        `${path.join(dir, 'two.yaml')}:5:8: /mapping/x/form is not a known setting (did you mean "from"?); known here: from, expr, map, default, format, transform, required, on_missing, fields`,
      ]);
      assert.deepEqual(loadDestinationsDir(path.join(dir, 'nope'), {}).problems, [`${path.join(dir, 'nope')}: destinations folder not found (create it, or set destinations.dir)`]);
    });
  });
});
