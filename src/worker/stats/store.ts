// Worker-local stats. Counters are plain objects whose `value` the hot path bumps directly;
// the store only names them. A stat lives as long as the worker, so config updates that rebuild
// clusters or listeners keep counting into the same objects (as Envoy's scopes do).
import { HISTOGRAM_BUCKETS, type GroupDump, type StatsDump } from '../../shared/stats.ts';

export class Counter {
  value = 0;
}

export class Gauge {
  value = 0;
}

const NB = HISTOGRAM_BUCKETS.length;
const NO_BUCKETS = new Float64Array(0);

export class Histogram {
  /** Allocated on the first value: 10,000 clusters each have one, most never used. */
  buckets = NO_BUCKETS;
  sum = 0;
  count = 0;

  record(v: number): void {
    let i = 0;
    while (i < NB && v > HISTOGRAM_BUCKETS[i]) i++;
    if (this.buckets === NO_BUCKETS) this.buckets = new Float64Array(NB + 1);
    this.buckets[i]++;
    this.sum += v;
    this.count++;
  }
}

/** The stat names of a fixed-shape group, relative to its prefix (e.g. every cluster's stats). */
export interface GroupSchema {
  /** Stable name of the shape (the same in every worker: the primary sums groups by it). */
  readonly id: string;
  readonly counters: readonly string[];
  readonly gauges: readonly string[];
  readonly histograms: readonly string[];
}

/**
 * Stats that always come together under one prefix: created with one map entry instead of one per
 * stat (10,000 clusters × 35 stats made config pushes slow), named only when dumped.
 */
export class StatGroup {
  readonly prefix: string;
  readonly schema: GroupSchema;
  readonly counters: Counter[];
  readonly gauges: Gauge[];
  readonly histograms: Histogram[];

  constructor(prefix: string, schema: GroupSchema) {
    this.prefix = prefix;
    this.schema = schema;
    this.counters = schema.counters.map(() => new Counter());
    this.gauges = schema.gauges.map(() => new Gauge());
    this.histograms = schema.histograms.map(() => new Histogram());
  }

  /** Values only; the primary puts the names on (see expandGroups in src/shared/stats.ts). */
  dumpValues(): GroupDump {
    return {
      schema: this.schema.id,
      prefix: this.prefix,
      counters: this.counters.map((c) => c.value),
      gauges: this.gauges.map((g) => g.value),
      histograms: this.histograms.map(histogramDump),
    };
  }
}

function histogramDump(h: Histogram): { buckets: number[]; sum: number; count: number } {
  return { buckets: h.buckets === NO_BUCKETS ? new Array<number>(NB + 1).fill(0) : Array.from(h.buckets), sum: h.sum, count: h.count };
}

export class StatsStore {
  private readonly groups = new Map<string, StatGroup>();
  private readonly counters = new Map<string, Counter>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly histograms = new Map<string, Histogram>();
  private readonly dumpHooks: (() => void)[] = [];

  /** Runs fn before every dump (stats created on demand must exist by then). */
  beforeDump(fn: () => void): void {
    this.dumpHooks.push(fn);
  }

  counter(name: string): Counter {
    let c = this.counters.get(name);
    if (c === undefined) this.counters.set(name, (c = new Counter()));
    return c;
  }

  gauge(name: string): Gauge {
    let g = this.gauges.get(name);
    if (g === undefined) this.gauges.set(name, (g = new Gauge()));
    return g;
  }

  histogram(name: string): Histogram {
    let h = this.histograms.get(name);
    if (h === undefined) this.histograms.set(name, (h = new Histogram()));
    return h;
  }

  /** The group under `prefix` (the same one again when a cluster is rebuilt: counts go on). */
  group(prefix: string, schema: GroupSchema): StatGroup {
    let g = this.groups.get(prefix);
    if (g === undefined || g.schema !== schema) this.groups.set(prefix, (g = new StatGroup(prefix, schema)));
    return g;
  }

  dump(): StatsDump {
    for (const fn of this.dumpHooks) fn();
    const out: StatsDump = { counters: {}, gauges: {}, histograms: {}, groups: [], schemas: {} };
    for (const g of this.groups.values()) {
      out.schemas![g.schema.id] = g.schema;
      out.groups!.push(g.dumpValues());
    }
    for (const [k, c] of this.counters) out.counters[k] = c.value;
    for (const [k, g] of this.gauges) out.gauges[k] = g.value;
    for (const [k, h] of this.histograms) out.histograms[k] = histogramDump(h);
    return out;
  }
}

/** The one store of this worker process. */
export const stats = new StatsStore();
