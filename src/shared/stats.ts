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
  /**
   * Fixed-shape stat groups (e.g. every cluster's stats) as values only: a worker with 10,000
   * clusters would otherwise build and send 350,000 names per scrape, stalling its event loop.
   * The primary names them once, after summing (expandGroups).
   */
  groups?: GroupDump[];
  /** Name lists of the schemas the groups refer to, by schema id. */
  schemas?: Record<string, GroupNames>;
}

export interface GroupNames {
  counters: readonly string[];
  gauges: readonly string[];
  histograms: readonly string[];
}

export interface GroupDump {
  schema: string;
  prefix: string;
  counters: number[];
  gauges: number[];
  histograms: HistogramDump[];
}

export function emptyDump(): StatsDump {
  return { counters: {}, gauges: {}, histograms: {} };
}

/**
 * Gauges every worker sets to the same cluster-wide value (host membership, weights, versions) or
 * to a 0/1 flag (a circuit breaker open in some worker): Envoy keeps one per process, so the
 * workers' copies merge by maximum, not by sum.
 */
const SAME_IN_EVERY_WORKER = /(?:^|\.)(?:membership_(?:total|healthy|degraded|excluded)|max_host_weight|[a-z_]+_open|version)$/;

export function mergesByMax(gaugeName: string): boolean {
  return SAME_IN_EVERY_WORKER.test(gaugeName);
}

/** Adds `src` into `dst` (counters and most gauges sum, worker-invariant gauges take the maximum; histogram buckets sum). */
export function mergeDump(dst: StatsDump, src: StatsDump): StatsDump {
  if (src.groups !== undefined && src.groups.length > 0) mergeGroups(dst, src);
  for (const k in src.counters) dst.counters[k] = (dst.counters[k] ?? 0) + src.counters[k];
  for (const k in src.gauges) {
    const cur = dst.gauges[k];
    if (cur === undefined) dst.gauges[k] = src.gauges[k];
    else dst.gauges[k] = mergesByMax(k) ? Math.max(cur, src.gauges[k]) : cur + src.gauges[k];
  }
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

/** Names the values of `d.groups` into its counters/gauges/histograms (summing with what is there). */
export function expandGroups(d: StatsDump): StatsDump {
  const groups = d.groups ?? [];
  const schemas = d.schemas ?? {};
  d.groups = undefined;
  d.schemas = undefined;
  for (const g of groups) {
    const s = schemas[g.schema];
    if (s === undefined) continue;
    const p = g.prefix;
    for (let i = 0; i < s.counters.length; i++) d.counters[p + s.counters[i]] = (d.counters[p + s.counters[i]] ?? 0) + g.counters[i];
    for (let i = 0; i < s.gauges.length; i++) d.gauges[p + s.gauges[i]] = (d.gauges[p + s.gauges[i]] ?? 0) + g.gauges[i];
    for (let i = 0; i < s.histograms.length; i++) addHistogram(d, p + s.histograms[i], g.histograms[i]);
  }
  return d;
}

function addHistogram(d: StatsDump, name: string, h: HistogramDump): void {
  const cur = d.histograms[name];
  if (cur === undefined) d.histograms[name] = copyHistogram(h);
  else sumInto(cur, h);
}

/** Sums groups by prefix (schema ids are stable names, the same in every worker). */
function mergeGroups(dst: StatsDump, src: StatsDump): void {
  const schemas = (dst.schemas ??= {});
  Object.assign(schemas, src.schemas);
  const groups = (dst.groups ??= []);
  const byPrefix = new Map<string, GroupDump>();
  for (const g of groups) byPrefix.set(g.prefix, g);
  for (const g of src.groups!) {
    const d = byPrefix.get(g.prefix);
    if (d === undefined || d.schema !== g.schema) {
      groups.push({ schema: g.schema, prefix: g.prefix, counters: g.counters.slice(), gauges: g.gauges.slice(), histograms: g.histograms.map(copyHistogram) });
      continue;
    }
    for (let i = 0; i < g.counters.length; i++) d.counters[i] += g.counters[i];
    const byMax = maxMask(schemas, g.schema);
    for (let i = 0; i < g.gauges.length; i++) d.gauges[i] = byMax[i] ? Math.max(d.gauges[i], g.gauges[i]) : d.gauges[i] + g.gauges[i];
    for (let i = 0; i < g.histograms.length; i++) sumInto(d.histograms[i], g.histograms[i]);
  }
}

/** Per schema: which of its gauges merge by maximum (worked out once per schema). */
const maxMasks = new Map<string, boolean[]>();

function maxMask(schemas: Record<string, GroupNames>, id: string): boolean[] {
  let m = maxMasks.get(id);
  if (m === undefined) {
    m = (schemas[id]?.gauges ?? []).map((n) => mergesByMax(n));
    maxMasks.set(id, m);
  }
  return m;
}

function copyHistogram(h: HistogramDump): HistogramDump {
  return { buckets: h.buckets.slice(), sum: h.sum, count: h.count };
}

function sumInto(d: HistogramDump, h: HistogramDump): void {
  for (let i = 0; i < h.buckets.length; i++) d.buckets[i] = (d.buckets[i] ?? 0) + h.buckets[i];
  d.sum += h.sum;
  d.count += h.count;
}
