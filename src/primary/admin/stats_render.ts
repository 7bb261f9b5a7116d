// /stats in Envoy's text and JSON formats. Counters and gauges are listed together in name order,
// histograms after them. Workers only send cumulative data, so the "interval" half of Envoy's
// histogram output is always empty (nan / 0), as in an Envoy that has not flushed yet.
import { HISTOGRAM_BUCKETS, type HistogramDump, type StatsDump } from '../../shared/stats.ts';
import {
  QUANTILES,
  computedQuantiles,
  cumulativeBuckets,
  disjointBuckets,
  formatG,
  formatQuantileValue,
  quantileLabel,
} from './histogram.ts';

export type StatsType = 'All' | 'Counters' | 'Gauges' | 'Histograms' | 'TextReadouts';
export type BucketsMode = 'none' | 'cumulative' | 'disjoint';

export interface StatsQuery {
  format: 'text' | 'json' | 'prometheus';
  /** Searched anywhere in the full stat name, like RE2 partial match. */
  filter: RegExp | null;
  /**
   * Envoy tracks a "used" bit per stat; a dump has only values, so a stat counts as used when it
   * is non-zero (histograms: has samples). A gauge that went back to 0 is therefore hidden.
   */
  usedOnly: boolean;
  type: StatsType;
  histogramBuckets: BucketsMode;
  pretty: boolean;
}

const TYPES: readonly StatsType[] = ['All', 'Counters', 'Gauges', 'Histograms', 'TextReadouts'];

/** Parses /stats (and /stats/prometheus) query parameters; a string is a 400 body. */
export function parseStatsQuery(q: URLSearchParams): StatsQuery | string {
  let filter: RegExp | null = null;
  const f = q.get('filter');
  if (f !== null) {
    try {
      filter = new RegExp(f);
    } catch {
      return 'Invalid re2 regex';
    }
  }
  const type = (q.get('type') ?? 'All') as StatsType;
  if (!TYPES.includes(type)) return 'invalid &type= param';
  const hb = q.get('histogram_buckets') || 'none';
  if (hb !== 'none' && hb !== 'cumulative' && hb !== 'disjoint') {
    return 'usage: /stats?histogram_buckets=(cumulative|disjoint|none)\n';
  }
  const format = q.get('format') || 'text';
  if (format !== 'text' && format !== 'json' && format !== 'prometheus') {
    return 'usage: /stats?format=(json|prometheus|text)\n\n';
  }
  return { format, filter, usedOnly: q.has('usedonly'), type, histogramBuckets: hb, pretty: q.has('pretty') };
}

export interface SelectedStats {
  /** Counters and gauges together, sorted by name. */
  numbers: [string, number][];
  histograms: [string, HistogramDump][];
}

export function selectStats(dump: StatsDump, q: Pick<StatsQuery, 'filter' | 'usedOnly' | 'type'>): SelectedStats {
  const keep = (name: string, used: boolean): boolean =>
    (!q.usedOnly || used) && (q.filter === null || q.filter.test(name));
  const numbers: [string, number][] = [];
  const want = (t: StatsType): boolean => q.type === 'All' || q.type === t;
  if (want('Counters')) for (const [k, v] of Object.entries(dump.counters)) if (keep(k, v !== 0)) numbers.push([k, v]);
  if (want('Gauges')) for (const [k, v] of Object.entries(dump.gauges)) if (keep(k, v !== 0)) numbers.push([k, v]);
  const histograms: [string, HistogramDump][] = [];
  if (want('Histograms')) {
    for (const [k, h] of Object.entries(dump.histograms)) if (keep(k, h.count > 0)) histograms.push([k, h]);
  }
  numbers.sort(byName);
  histograms.sort(byName);
  return { numbers, histograms };
}

function byName(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

export function renderStatsText(dump: StatsDump, q: StatsQuery): string {
  const s = selectStats(dump, q);
  let out = '';
  for (const [name, v] of s.numbers) out += `${name}: ${v}\n`;
  for (const [name, h] of s.histograms) out += `${name}: ${histogramText(h, q.histogramBuckets)}\n`;
  return out;
}

function histogramText(h: HistogramDump, mode: BucketsMode): string {
  if (h.count === 0) return 'No recorded values';
  if (mode === 'none') {
    const values = computedQuantiles(h);
    return QUANTILES.map((q, i) => `${quantileLabel(q)}(nan,${formatQuantileValue(values[i])})`).join(' ');
  }
  const counts = mode === 'cumulative' ? cumulativeBuckets(h) : disjointBuckets(h);
  return HISTOGRAM_BUCKETS.map((b, i) => `B${formatG(b, 6)}(0,${counts[i]})`).join(' ');
}

export function renderStatsJson(dump: StatsDump, q: StatsQuery): string {
  const s = selectStats(dump, q);
  const stats: unknown[] = s.numbers.map(([name, value]) => ({ name, value }));
  if (s.histograms.length > 0) stats.push({ histograms: histogramsJson(s.histograms, q.histogramBuckets) });
  return JSON.stringify({ stats }, null, q.pretty ? 1 : undefined);
}

function histogramsJson(list: [string, HistogramDump][], mode: BucketsMode): unknown {
  if (mode === 'none') {
    return {
      supported_quantiles: QUANTILES.map((q) => Number((q * 100).toPrecision(6))),
      computed_quantiles: list.map(([name, h]) => ({
        name,
        // JSON has no NaN: an empty histogram's quantiles are null, as in Envoy.
        values: computedQuantiles(h).map((v) => ({ cumulative: Number.isNaN(v) ? null : Number(v.toPrecision(6)), interval: null })),
      })),
    };
  }
  return list.map(([name, h]) => {
    const counts = mode === 'cumulative' ? cumulativeBuckets(h) : disjointBuckets(h);
    return { name, buckets: HISTOGRAM_BUCKETS.map((b, i) => ({ upper_bound: b, interval: 0, cumulative: counts[i] })) };
  });
}
