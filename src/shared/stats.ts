// Stat dumps a worker sends to the primary, which sums them per name. Names are Envoy's full
// stat names (e.g. `cluster.backend.upstream_rq_200`); tag extraction happens in the primary.

/** Envoy's default histogram bucket upper bounds (milliseconds for *_time stats). */
export const HISTOGRAM_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
  1800000, 3600000,
];

export interface HistogramDump {
  /** Non-cumulative count per bucket; one extra trailing slot for values above the last bound. */
  buckets: number[];
  sum: number;
  count: number;
}

export interface StatsDump {
  counters: Record<string, number>;
  gauges: Record<string, number>;
  histograms: Record<string, HistogramDump>;
}

export function emptyDump(): StatsDump {
  return { counters: {}, gauges: {}, histograms: {} };
}

/** Adds `src` into `dst` (counters and gauges sum; histogram buckets sum). */
export function mergeDump(dst: StatsDump, src: StatsDump): StatsDump {
  for (const k in src.counters) dst.counters[k] = (dst.counters[k] ?? 0) + src.counters[k];
  for (const k in src.gauges) dst.gauges[k] = (dst.gauges[k] ?? 0) + src.gauges[k];
  for (const k in src.histograms) {
    const s = src.histograms[k];
    const d = dst.histograms[k];
    if (d === undefined) {
      dst.histograms[k] = { buckets: s.buckets.slice(), sum: s.sum, count: s.count };
      continue;
    }
    for (let i = 0; i < s.buckets.length; i++) d.buckets[i] = (d.buckets[i] ?? 0) + s.buckets[i];
    d.sum += s.sum;
    d.count += s.count;
  }
  return dst;
}
