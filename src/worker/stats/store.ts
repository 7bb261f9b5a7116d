// Worker-local stats. Counters are plain objects whose `value` the hot path bumps directly;
// the store only names them. A stat lives as long as the worker, so config updates that rebuild
// clusters or listeners keep counting into the same objects (as Envoy's scopes do).
import { HISTOGRAM_BUCKETS, type StatsDump } from '../../shared/stats.ts';

export class Counter {
  value = 0;
}

export class Gauge {
  value = 0;
}

const NB = HISTOGRAM_BUCKETS.length;

export class Histogram {
  readonly buckets = new Float64Array(NB + 1);
  sum = 0;
  count = 0;

  record(v: number): void {
    let i = 0;
    while (i < NB && v > HISTOGRAM_BUCKETS[i]) i++;
    this.buckets[i]++;
    this.sum += v;
    this.count++;
  }
}

export class StatsStore {
  private readonly counters = new Map<string, Counter>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly histograms = new Map<string, Histogram>();

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

  dump(): StatsDump {
    const out: StatsDump = { counters: {}, gauges: {}, histograms: {} };
    for (const [k, c] of this.counters) out.counters[k] = c.value;
    for (const [k, g] of this.gauges) out.gauges[k] = g.value;
    for (const [k, h] of this.histograms) {
      out.histograms[k] = { buckets: Array.from(h.buckets), sum: h.sum, count: h.count };
    }
    return out;
  }
}

/** The one store of this worker process. */
export const stats = new StatsStore();
