// Stats rendering: Envoy text, JSON and Prometheus output from a summed StatsDump.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HISTOGRAM_BUCKETS, emptyDump, expandGroups, mergeDump, type StatsDump } from '../src/shared/stats.ts';
import { renderPrometheus } from '../src/primary/admin/prometheus_render.ts';
import { parseStatsQuery, renderStatsJson, renderStatsText, type StatsQuery } from '../src/primary/admin/stats_render.ts';
import { TagExtractor } from '../src/primary/admin/tag_extraction.ts';

function buckets(counts: Record<number, number>): number[] {
  const b = new Array(HISTOGRAM_BUCKETS.length + 1).fill(0);
  for (const [i, n] of Object.entries(counts)) b[Number(i)] = n;
  return b;
}

function sampleDump(): StatsDump {
  return {
    counters: {
      'cluster.x.upstream_rq_total': 7,
      'cluster.x.upstream_rq_200': 5,
      'cluster.x.upstream_rq_503': 2,
      'cluster.y.upstream_rq_total': 0,
      'http.ingress.downstream_rq_2xx': 5,
      'http.ingress.downstream_rq_5xx': 2,
      'listener.0.0.0.0_8000.downstream_cx_total': 3,
    },
    gauges: { 'cluster.x.upstream_cx_active': 1, 'server.live': 1 },
    histograms: {
      'cluster.x.upstream_rq_time': { buckets: buckets({ 1: 2, 3: 3 }), sum: 31.5, count: 5 },
      'http.ingress.downstream_rq_time': { buckets: buckets({}), sum: 0, count: 0 },
    },
  };
}

function query(s = ''): StatsQuery {
  const q = parseStatsQuery(new URLSearchParams(s));
  assert.equal(typeof q, 'object', String(q));
  return q as StatsQuery;
}

test('prometheus: Envoy names, label order, families and blank lines', () => {
  const out = renderPrometheus(sampleDump(), new TagExtractor(), query());
  const lines = out.split('\n');
  for (const want of [
    'envoy_cluster_upstream_rq_total{envoy_cluster_name="x"} 7',
    'envoy_cluster_upstream_rq_total{envoy_cluster_name="y"} 0',
    'envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress"} 5',
    'envoy_http_downstream_rq_xx{envoy_response_code_class="5",envoy_http_conn_manager_prefix="ingress"} 2',
    'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="x"} 5',
    'envoy_cluster_upstream_rq{envoy_response_code="503",envoy_cluster_name="x"} 2',
    'envoy_listener_downstream_cx_total{envoy_listener_address="0.0.0.0_8000"} 3',
    'envoy_server_live{} 1',
  ]) {
    assert.ok(lines.includes(want), `missing: ${want}\n${out}`);
  }
  // One TYPE line per family, grouped with its series, families in tag-extracted name order.
  const types = lines.filter((l) => l.startsWith('# TYPE'));
  assert.deepEqual(types, [
    '# TYPE envoy_cluster_upstream_rq counter',
    '# TYPE envoy_cluster_upstream_rq_total counter',
    '# TYPE envoy_http_downstream_rq_xx counter',
    '# TYPE envoy_listener_downstream_cx_total counter',
    '# TYPE envoy_cluster_upstream_cx_active gauge',
    '# TYPE envoy_server_live gauge',
    '# TYPE envoy_cluster_upstream_rq_time histogram',
    '# TYPE envoy_http_downstream_rq_time histogram',
  ]);
  const fam = out.indexOf('# TYPE envoy_cluster_upstream_rq_total counter\n');
  assert.equal(
    out.slice(fam, out.indexOf('# TYPE', fam + 1)),
    '# TYPE envoy_cluster_upstream_rq_total counter\n' +
      'envoy_cluster_upstream_rq_total{envoy_cluster_name="x"} 7\n' +
      'envoy_cluster_upstream_rq_total{envoy_cluster_name="y"} 0\n\n',
  );
});

test('prometheus: histogram buckets are cumulative, then +Inf, sum, count', () => {
  const out = renderPrometheus(sampleDump(), new TagExtractor(), query());
  const h = out.split('\n').filter((l) => l.startsWith('envoy_cluster_upstream_rq_time'));
  assert.equal(h.length, HISTOGRAM_BUCKETS.length + 3);
  assert.deepEqual(h.slice(0, 5), [
    'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="x",le="0.5"} 0',
    'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="x",le="1"} 2',
    'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="x",le="5"} 2',
    'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="x",le="10"} 5',
    'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="x",le="25"} 5',
  ]);
  assert.equal(h[HISTOGRAM_BUCKETS.length - 1], 'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="x",le="3600000"} 5');
  assert.deepEqual(h.slice(-3), [
    'envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="x",le="+Inf"} 5',
    'envoy_cluster_upstream_rq_time_sum{envoy_cluster_name="x"} 31.5',
    'envoy_cluster_upstream_rq_time_count{envoy_cluster_name="x"} 5',
  ]);
});

test('prometheus: usedonly and filter', () => {
  const used = renderPrometheus(sampleDump(), new TagExtractor(), query('usedonly'));
  assert.ok(!used.includes('envoy_cluster_name="y"'));
  assert.ok(!used.includes('envoy_http_downstream_rq_time'));
  const filtered = renderPrometheus(sampleDump(), new TagExtractor(), query('filter=^http\\.'));
  assert.ok(filtered.includes('envoy_http_downstream_rq_xx'));
  assert.ok(!filtered.includes('envoy_cluster'));
  assert.ok(!filtered.includes('envoy_server_live'));
});

test('prometheus: label values are escaped', () => {
  const out = renderPrometheus({ counters: { 'cluster.a"b.upstream_rq_total': 1 }, gauges: {}, histograms: {} }, new TagExtractor(), query());
  assert.ok(out.includes('envoy_cluster_upstream_rq_total{envoy_cluster_name="a\\"b"} 1'), out);
});

test('text: counters and gauges sorted together, then histograms', () => {
  const out = renderStatsText(sampleDump(), query());
  const lines = out.trimEnd().split('\n');
  assert.deepEqual(lines.slice(0, 3), [
    'cluster.x.upstream_cx_active: 1',
    'cluster.x.upstream_rq_200: 5',
    'cluster.x.upstream_rq_503: 2',
  ]);
  assert.equal(lines[lines.length - 3], 'server.live: 1');
  assert.equal(
    lines[lines.length - 2],
    'cluster.x.upstream_rq_time: P0(nan,0.5) P25(nan,0.8125) P50(nan,5.83333) P75(nan,7.91667) P90(nan,9.16667) ' +
      'P95(nan,9.58333) P99(nan,9.91667) P99.5(nan,9.95833) P99.9(nan,9.99167) P100(nan,10)',
  );
  assert.equal(lines[lines.length - 1], 'http.ingress.downstream_rq_time: No recorded values');
});

test('text: filter, usedonly, type and bucket modes', () => {
  assert.equal(renderStatsText(sampleDump(), query('filter=rq_5')), 'cluster.x.upstream_rq_503: 2\nhttp.ingress.downstream_rq_5xx: 2\n');
  assert.ok(!renderStatsText(sampleDump(), query('usedonly')).includes('cluster.y.'));
  assert.equal(renderStatsText(sampleDump(), query('type=Gauges')), 'cluster.x.upstream_cx_active: 1\nserver.live: 1\n');
  const cum = renderStatsText(sampleDump(), query('type=Histograms&histogram_buckets=cumulative&filter=cluster'));
  assert.ok(cum.startsWith('cluster.x.upstream_rq_time: B0.5(0,0) B1(0,2) B5(0,2) B10(0,5) '), cum);
  assert.ok(cum.trimEnd().endsWith('B1.8e+06(0,5) B3.6e+06(0,5)'), cum);
});

test('json: Envoy shape with a histograms element', () => {
  const j = JSON.parse(renderStatsJson(sampleDump(), query('format=json')));
  assert.deepEqual(j.stats[0], { name: 'cluster.x.upstream_cx_active', value: 1 });
  const last = j.stats[j.stats.length - 1];
  assert.deepEqual(last.histograms.supported_quantiles, [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100]);
  const [x, empty] = last.histograms.computed_quantiles;
  assert.equal(x.name, 'cluster.x.upstream_rq_time');
  assert.deepEqual(x.values[2], { cumulative: 5.83333, interval: null });
  assert.equal(empty.values[0].cumulative, null);
});

test('bad query parameters are reported', () => {
  assert.equal(parseStatsQuery(new URLSearchParams('filter=(')), 'Invalid re2 regex');
  assert.equal(parseStatsQuery(new URLSearchParams('type=Bogus')), 'invalid &type= param');
  assert.match(String(parseStatsQuery(new URLSearchParams('format=xml'))), /^usage: \/stats\?format=/);
});

test('merging worker dumps: counters and per-worker gauges add up, worker-invariant gauges take the maximum', () => {
  const worker = (cx: number, open: number): StatsDump => ({
    counters: { 'cluster.x.upstream_rq_total': 3 },
    gauges: { 'cluster.x.upstream_cx_active': cx, 'cluster.x.membership_total': 4, 'cluster.x.circuit_breakers.default.cx_open': open, 'cluster.x.max_host_weight': 2 },
    histograms: {},
    schemas: { c: { counters: ['upstream_rq_completed'], gauges: ['upstream_rq_active', 'membership_healthy'], histograms: [] } },
    groups: [{ schema: 'c', prefix: 'cluster.y.', counters: [5], gauges: [cx, 3], histograms: [] }],
  });
  const d = expandGroups(mergeDump(mergeDump(emptyDump(), worker(2, 0)), worker(5, 1)));
  assert.equal(d.counters['cluster.x.upstream_rq_total'], 6);
  assert.equal(d.gauges['cluster.x.upstream_cx_active'], 7);
  assert.equal(d.gauges['cluster.x.membership_total'], 4);
  assert.equal(d.gauges['cluster.x.max_host_weight'], 2);
  assert.equal(d.gauges['cluster.x.circuit_breakers.default.cx_open'], 1);
  assert.equal(d.counters['cluster.y.upstream_rq_completed'], 10);
  assert.equal(d.gauges['cluster.y.upstream_rq_active'], 7);
  assert.equal(d.gauges['cluster.y.membership_healthy'], 3);
});
