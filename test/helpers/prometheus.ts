/**
 * A strict reader of Prometheus' text format (version 0.0.4) for tests: every line is a HELP, a
 * TYPE or a sample of a family declared before it, label values are quoted and escaped, values
 * are floats. Anything else throws, naming the line. (promtool check metrics, Prometheus' own
 * parser, is run by the tests too.)
 */
export interface PromSample {
  /** The sample's own name: the family's, or with _bucket, _sum or _count for a histogram. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: PromSample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/;

export function parsePrometheusText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  if (!text.endsWith('\n')) throw new Error('the text must end with a newline');
  text
    .slice(0, -1)
    .split('\n')
    .forEach((line, i) => {
      const where = `line ${i + 1}: ${line}`;
      if (line === '') return;
      const meta = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`).exec(line);
      if (meta) {
        const [, kind, name, rest] = meta as unknown as [string, string, string, string];
        const f = families.get(name) ?? { name, help: '', type: 'untyped' as const, samples: [] };
        if (kind === 'HELP') f.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
        else if (['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) f.type = rest as PromFamily['type'];
        else throw new Error(`${where}: unknown type`);
        families.set(name, f);
        return;
      }
      if (line.startsWith('#')) return;
      const m = SAMPLE.exec(line);
      if (!m) throw new Error(`${where}: not a sample`);
      const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
      // As Prometheus reads them (Go's ParseFloat): NaN and Inf in any case; prom-client writes `Nan`.
      const special = /^([+-]?)inf(inity)?$/i.exec(valueText);
      const value = special ? (special[1] === '-' ? -Infinity : Infinity) : /^nan$/i.test(valueText) ? NaN : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(valueText) ? Number(valueText) : undefined;
      if (value === undefined) throw new Error(`${where}: the value is not a number`);
      const labels: Record<string, string> = {};
      let rest = labelText ?? '';
      while (rest) {
        const l = LABEL.exec(rest);
        if (!l) throw new Error(`${where}: bad labels at ${rest}`);
        if (l[1]! in labels) throw new Error(`${where}: label ${l[1]} twice`);
        labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        rest = rest.slice(l[0].length);
      }
      const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''));
      if (!family) throw new Error(`${where}: no TYPE declared for it`);
      if (family.name !== name && !(family.type === 'histogram' || family.type === 'summary')) throw new Error(`${where}: a suffix on a ${family.type}`);
      if (name.endsWith('_bucket') && family.name !== name && !('le' in labels)) throw new Error(`${where}: a bucket without le`);
      family.samples.push({ name, labels, value });
    });
  return families;
}
