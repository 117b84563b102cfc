/**
 * A strict reader of the Prometheus text exposition format, checking what `promtool check
 * metrics` checks that matters to a scraper: valid metric and label names, every sample's family
 * announced by one HELP and one TYPE, values that parse.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
  /** The value of the one sample of `name` whose labels include `labels`; undefined if none. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SAMPLE = /^([^\s{]+)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([^=,\s]+)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Exposition {
  const helps = new Set<string>();
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name = '', rest = ''] = meta;
      if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${name}`);
      if (kind === 'HELP') {
        if (helps.has(name)) throw new Error(`two HELP lines for ${name}`);
        if (rest.trim() === '') throw new Error(`empty HELP for ${name}`);
        helps.add(name);
      } else {
        if (types.has(name)) throw new Error(`two TYPE lines for ${name}`);
        if (!TYPES.has(rest)) throw new Error(`bad TYPE ${rest} for ${name}`);
        types.set(name, rest);
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    samples.push(parseSample(line));
  }
  for (const sample of samples) {
    const family = familyOf(sample.name, types);
    if (!family) throw new Error(`sample ${sample.name} has no TYPE`);
    if (!helps.has(family)) throw new Error(`sample ${sample.name} has no HELP`);
  }
  return {
    types,
    samples,
    value(name, labels = {}) {
      const found = samples.filter(
        (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      );
      if (found.length > 1) throw new Error(`${found.length} samples of ${name} match`);
      return found[0]?.value;
    },
  };
}

function parseSample(line: string): Sample {
  const match = SAMPLE.exec(line);
  if (!match) throw new Error(`unparsable sample line: ${line}`);
  const [, name = '', labelText = '', valueText = ''] = match;
  if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${name}`);
  const labels: Record<string, string> = {};
  for (const [, key = '', value = ''] of labelText.matchAll(LABEL)) {
    if (!LABEL_NAME.test(key) || key.startsWith('__')) throw new Error(`invalid label ${key}`);
    if (key in labels) throw new Error(`label ${key} twice in ${line}`);
    labels[key] = value;
  }
  const value =
    valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
  if (Number.isNaN(value) && valueText !== 'NaN') throw new Error(`bad value in ${line}`);
  return { name, labels, value };
}

function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count', '_created', '_total']) {
    const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : null;
    if (base !== null && types.has(base)) return base;
  }
  return undefined;
}
