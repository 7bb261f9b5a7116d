// Prometheus text exposition with Envoy's naming: tag-extracted name, `envoy_` prefix, every
// character outside [a-zA-Z0-9_] turned into `_`, tags as labels in extraction order. Families
// are sorted by tag-extracted name, counters first, then gauges, then histograms; each family is
// a `# TYPE` line, its series sorted by full stat name, and a blank line (Envoy emits no HELP).
//
// Rendered by hand rather than with prom-client: its registry wants metrics declared up front with
// fixed label names and owns their values, whereas here every scrape is a fresh pre-summed dump
// whose label sets differ per name; all it would contribute is label escaping, which is one line.
import { HISTOGRAM_BUCKETS, type HistogramDump, type StatsDump } from '../../shared/stats.ts';
import { cumulativeBuckets, formatG } from './histogram.ts';
import type { StatsQuery } from './stats_render.ts';
import type { Tag, TagExtractor } from './tag_extraction.ts';

interface Series<V> {
  full: string;
  tags: Tag[];
  value: V;
}

type Families<V> = Map<string, Series<V>[]>;

export function renderPrometheus(
  dump: StatsDump,
  tagger: TagExtractor,
  q: Pick<StatsQuery, 'filter' | 'usedOnly'>,
): string {
  const keep = (name: string, used: boolean): boolean =>
    (!q.usedOnly || used) && (q.filter === null || q.filter.test(name));
  let out = '';
  out += families(group(dump.counters, tagger, (v) => keep(v[0], v[1] !== 0)), 'counter', numberLine);
  out += families(group(dump.gauges, tagger, (v) => keep(v[0], v[1] !== 0)), 'gauge', numberLine);
  out += families(group(dump.histograms, tagger, (v) => keep(v[0], v[1].count > 0)), 'histogram', histogramLines);
  return out;
}

function group<V>(src: Record<string, V>, tagger: TagExtractor, keep: (e: [string, V]) => boolean): Families<V> {
  const fams: Families<V> = new Map();
  for (const entry of Object.entries(src)) {
    if (!keep(entry)) continue;
    const x = tagger.extract(entry[0]);
    let list = fams.get(x.name);
    if (list === undefined) fams.set(x.name, (list = []));
    list.push({ full: entry[0], tags: x.tags, value: entry[1] });
  }
  return fams;
}

function families<V>(fams: Families<V>, type: string, render: (name: string, s: Series<V>) => string): string {
  let out = '';
  for (const extracted of [...fams.keys()].sort()) {
    const name = metricName(extracted);
    out += `# TYPE ${name} ${type}\n`;
    const list = fams.get(extracted)!.sort((a, b) => (a.full < b.full ? -1 : a.full > b.full ? 1 : 0));
    for (const s of list) out += render(name, s);
    out += '\n';
  }
  return out;
}

function numberLine(name: string, s: Series<number>): string {
  return `${name}{${labels(s.tags)}} ${s.value}\n`;
}

function histogramLines(name: string, s: Series<HistogramDump>): string {
  const tags = labels(s.tags);
  const lead = tags === '' ? '' : tags + ',';
  const cum = cumulativeBuckets(s.value);
  let out = '';
  for (let i = 0; i < HISTOGRAM_BUCKETS.length; i++) {
    out += `${name}_bucket{${lead}le="${formatG(HISTOGRAM_BUCKETS[i], 32)}"} ${cum[i]}\n`;
  }
  out += `${name}_bucket{${lead}le="+Inf"} ${s.value.count}\n`;
  out += `${name}_sum{${tags}} ${formatG(s.value.sum, 32)}\n`;
  out += `${name}_count{${tags}} ${s.value.count}\n`;
  return out;
}

export function metricName(extracted: string): string {
  return 'envoy_' + sanitize(extracted);
}

export function sanitize(s: string): string {
  return s.replace(/[^a-zA-Z0-9_]/g, '_');
}

function labels(tags: Tag[]): string {
  return tags.map((t) => `${sanitize(t.name)}="${escapeValue(t.value)}"`).join(',');
}

// Exposition-format escaping keeps values with quotes or backslashes (odd cluster names) parseable.
function escapeValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c));
}
