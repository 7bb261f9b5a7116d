// Histogram summaries from fixed bucket counts. Envoy's own quantiles come from a log-linear
// histogram and are approximations too, so linear interpolation inside the bucket that holds the
// wanted rank is as faithful as these coarse buckets allow.
import { HISTOGRAM_BUCKETS, type HistogramDump } from '../../shared/stats.ts';

/** Envoy's supported quantiles, as fractions. */
export const QUANTILES: readonly number[] = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1];

/** Cumulative count at each bound of HISTOGRAM_BUCKETS (values <= bound). */
export function cumulativeBuckets(h: HistogramDump): number[] {
  const out: number[] = [];
  let acc = 0;
  for (let i = 0; i < HISTOGRAM_BUCKETS.length; i++) {
    acc += h.buckets[i] ?? 0;
    out.push(acc);
  }
  return out;
}

/** Per-bound counts (the overflow slot is left out, as in Envoy's disjoint view). */
export function disjointBuckets(h: HistogramDump): number[] {
  return HISTOGRAM_BUCKETS.map((_, i) => h.buckets[i] ?? 0);
}

/** Estimated value at quantile q (0..1); NaN when nothing was recorded. */
export function quantile(h: HistogramDump, q: number): number {
  const total = totalCount(h);
  if (total === 0) return NaN;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < h.buckets.length; i++) {
    const n = h.buckets[i] ?? 0;
    if (n > 0 && below + n >= rank) return interpolate(i, (rank - below) / n);
    below += n;
  }
  return HISTOGRAM_BUCKETS[HISTOGRAM_BUCKETS.length - 1];
}

export function computedQuantiles(h: HistogramDump): number[] {
  return QUANTILES.map((q) => quantile(h, q));
}

// The bucket count sum rather than h.count: they agree for worker dumps, and the buckets are
// what the ranks are taken over.
function totalCount(h: HistogramDump): number {
  let t = 0;
  for (const n of h.buckets) t += n;
  return t;
}

// The overflow slot has no upper bound; its values are reported at the last bound.
function interpolate(bucket: number, fraction: number): number {
  const last = HISTOGRAM_BUCKETS.length - 1;
  if (bucket > last) return HISTOGRAM_BUCKETS[last];
  const lo = bucket === 0 ? 0 : HISTOGRAM_BUCKETS[bucket - 1];
  const hi = HISTOGRAM_BUCKETS[bucket];
  return lo + (hi - lo) * Math.min(1, Math.max(0, fraction));
}

/** Shortest readable form: interpolation leaves float noise like 1.0250000000000001. */
export function formatQuantileValue(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  return String(Number(v.toPrecision(6)));
}

/** Quantile label as Envoy prints it: P0 P25 ... P99.5 P99.9 P100. */
export function quantileLabel(q: number): string {
  return 'P' + String(Number((q * 100).toPrecision(6)));
}

/**
 * C printf `%.<precision>g`, which Envoy uses for Prometheus bucket bounds and sums (precision 32):
 * scientific when the exponent is below -4 or at least the precision, trailing zeros dropped.
 */
export function formatG(x: number, precision: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return '0';
  const [mantissa, expStr] = x.toExponential(precision - 1).split('e');
  const exp = Number(expStr);
  if (exp < -4 || exp >= precision) {
    const e = Math.abs(exp);
    return stripZeros(mantissa) + 'e' + (exp < 0 ? '-' : '+') + (e < 10 ? '0' : '') + e;
  }
  return stripZeros(x.toFixed(Math.min(100, precision - 1 - exp)));
}

function stripZeros(s: string): string {
  if (!s.includes('.')) return s;
  return s.replace(/0+$/, '').replace(/\.$/, '');
}
