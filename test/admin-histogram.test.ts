// Percentile estimation from bucket counts and printf-%g formatting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HISTOGRAM_BUCKETS, type HistogramDump } from '../src/shared/stats.ts';
import { computedQuantiles, cumulativeBuckets, formatG, quantile, quantileLabel, QUANTILES } from '../src/primary/admin/histogram.ts';

function hist(counts: Record<number, number>): HistogramDump {
  const buckets = new Array(HISTOGRAM_BUCKETS.length + 1).fill(0);
  let count = 0;
  for (const [i, n] of Object.entries(counts)) {
    buckets[Number(i)] = n;
    count += n;
  }
  return { buckets, sum: 0, count };
}

test('quantiles interpolate linearly inside the bucket', () => {
  // 10 samples in (1, 5]: index 2.
  const h = hist({ 2: 10 });
  assert.equal(quantile(h, 0), 1);
  assert.equal(quantile(h, 0.5), 3);
  assert.equal(quantile(h, 1), 5);
  // 4 in (0, 0.5], 4 in (5, 10]: the median lands at the top of the first bucket.
  const g = hist({ 0: 4, 3: 4 });
  assert.equal(quantile(g, 0.5), 0.5);
  assert.equal(quantile(g, 0.75), 7.5);
});

test('empty histogram gives NaN; overflow reports the last bound', () => {
  assert.ok(Number.isNaN(quantile(hist({}), 0.5)));
  const last = HISTOGRAM_BUCKETS[HISTOGRAM_BUCKETS.length - 1];
  assert.equal(quantile(hist({ [HISTOGRAM_BUCKETS.length]: 3 }), 0.99), last);
  assert.equal(computedQuantiles(hist({ 1: 1 })).length, QUANTILES.length);
});

test('cumulative buckets', () => {
  const c = cumulativeBuckets(hist({ 0: 1, 2: 2, 5: 3, [HISTOGRAM_BUCKETS.length]: 4 }));
  assert.equal(c.length, HISTOGRAM_BUCKETS.length);
  assert.deepEqual(c.slice(0, 7), [1, 1, 3, 3, 3, 6, 6]);
  assert.equal(c[c.length - 1], 6); // the overflow sample is only in +Inf
});

test('formatG matches printf %g', () => {
  assert.equal(formatG(0.5, 32), '0.5');
  assert.equal(formatG(3600000, 32), '3600000');
  assert.equal(formatG(3600000, 6), '3.6e+06');
  assert.equal(formatG(300000, 6), '300000');
  assert.equal(formatG(12.3, 32), '12.300000000000000710542735760100'.replace(/0+$/, ''));
  assert.equal(formatG(0.00001, 6), '1e-05');
  assert.equal(formatG(0, 32), '0');
  assert.equal(quantileLabel(0.995), 'P99.5');
  assert.equal(quantileLabel(0.999), 'P99.9');
});
