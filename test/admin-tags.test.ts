// Tag extraction against Envoy's default rules, plus custom stats_tags (Istio-style).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TagExtractor, posixClasses, regexPrefix } from '../src/primary/admin/tag_extraction.ts';

type Row = [stat: string, extracted: string, tags: [string, string][]];

const DEFAULT_TABLE: Row[] = [
  ['cluster.x.upstream_rq_total', 'cluster.upstream_rq_total', [['envoy.cluster_name', 'x']]],
  ['cluster.x.upstream_rq_200', 'cluster.upstream_rq', [['envoy.response_code', '200'], ['envoy.cluster_name', 'x']]],
  ['cluster.x.upstream_rq_5xx', 'cluster.upstream_rq_xx', [['envoy.response_code_class', '5'], ['envoy.cluster_name', 'x']]],
  ['http.ingress.downstream_rq_2xx', 'http.downstream_rq_xx', [['envoy.response_code_class', '2'], ['envoy.http_conn_manager_prefix', 'ingress']]],
  // Envoy's default rule takes one token as the cluster name; the rest stays in the stat name.
  [
    'cluster.outbound|80||svc.ns.svc.cluster.local.upstream_rq_total',
    'cluster.ns.svc.cluster.local.upstream_rq_total',
    [['envoy.cluster_name', 'outbound|80||svc']],
  ],
  ['listener.0.0.0.0_8000.downstream_cx_total', 'listener.downstream_cx_total', [['envoy.listener_address', '0.0.0.0_8000']]],
  ['listener.[__]_8000.downstream_cx_total', 'listener.downstream_cx_total', [['envoy.listener_address', '[__]_8000']]],
  ['listener.[__1]_443.downstream_cx_active', 'listener.downstream_cx_active', [['envoy.listener_address', '[__1]_443']]],
  ['listener.admin.downstream_cx_total', 'listener.admin.downstream_cx_total', []],
  [
    'listener.0.0.0.0_8000.http.ingress.downstream_rq_5xx',
    'listener.http.downstream_rq_xx',
    [
      ['envoy.response_code_class', '5'],
      ['envoy.http_conn_manager_prefix', 'ingress'],
      ['envoy.listener_address', '0.0.0.0_8000'],
    ],
  ],
  [
    'listener.0.0.0.0_8000.worker_1.downstream_cx_total',
    'listener.worker_downstream_cx_total',
    [['envoy.worker_id', '1'], ['envoy.listener_address', '0.0.0.0_8000']],
  ],
  ['listener_manager.worker_3.dispatcher.loop_duration_us', 'listener_manager.worker_dispatcher.loop_duration_us', [['envoy.worker_id', '3']]],
  ['tcp.ingress_tcp.downstream_cx_total', 'tcp.downstream_cx_total', [['envoy.tcp_prefix', 'ingress_tcp']]],
  [
    'http.ingress.rds.my.route.config_reload',
    'http.rds.config_reload',
    [['envoy.rds_route_config', 'my.route'], ['envoy.http_conn_manager_prefix', 'ingress']],
  ],
  [
    'vhost.vh.vcluster.vc.upstream_rq_200',
    'vhost.vcluster.upstream_rq',
    [['envoy.response_code', '200'], ['envoy.virtual_cluster', 'vc'], ['envoy.virtual_host', 'vh']],
  ],
  ['server.uptime', 'server.uptime', []],
  ['cluster_manager.active_clusters', 'cluster_manager.active_clusters', []],
  // `tcp.$.**` needs at least one token after the prefix.
  ['tcp.only', 'tcp.only', []],
];

test('default tag extraction table', () => {
  const t = new TagExtractor();
  for (const [stat, name, tags] of DEFAULT_TABLE) {
    const x = t.extract(stat);
    assert.equal(x.name, name, stat);
    assert.deepEqual(x.tags.map((g) => [g.name, g.value]), tags, stat);
  }
});

test('extraction results are cached per name', () => {
  const t = new TagExtractor();
  const a = t.extract('cluster.x.upstream_rq_200');
  assert.equal(t.extract('cluster.x.upstream_rq_200'), a);
  assert.notEqual(t.extract('cluster.y.upstream_rq_200'), a);
});

test('Istio-style custom tags keep dotted cluster names whole', () => {
  const t = new TagExtractor({
    useAllDefaultTags: false,
    statsTags: [
      { tagName: 'cluster_name', regex: String.raw`^cluster\.((.+?(\..+?\.svc\.cluster\.local)?)\.)` },
      { tagName: 'envoy.response_code' },
      { tagName: 'listener_address', regex: String.raw`^listener\.(((?:[_.[:digit:]]*|[_\[\]aAbBcCdDeEfF[:digit:]]*))\.)` },
    ],
  });
  const c = t.extract('cluster.outbound|80||svc.ns.svc.cluster.local.upstream_rq_503');
  assert.equal(c.name, 'cluster.upstream_rq');
  assert.deepEqual(c.tags, [
    { name: 'envoy.response_code', value: '503' },
    { name: 'cluster_name', value: 'outbound|80||svc.ns.svc.cluster.local' },
  ]);
  const l = t.extract('listener.0.0.0.0_15006.downstream_cx_total');
  assert.deepEqual(l, { name: 'listener.downstream_cx_total', tags: [{ name: 'listener_address', value: '0.0.0.0_15006' }] });
  // Defaults are off: an HCM prefix is left in the name.
  assert.equal(t.extract('http.ingress.downstream_cx_total').name, 'http.ingress.downstream_cx_total');
});

test('fixed-value tags apply to every stat', () => {
  const t = new TagExtractor({ statsTags: [{ tagName: 'region', fixedValue: 'eu' }] });
  assert.deepEqual(t.extract('server.uptime').tags, [{ name: 'region', value: 'eu' }]);
});

test('bad custom tag config is rejected', () => {
  assert.throws(() => new TagExtractor({ statsTags: [{ tagName: 'nope' }] }), /no default rule/);
  assert.throws(() => new TagExtractor({ statsTags: [{ tagName: 'x', regex: '(' }] }), /invalid regex/);
});

test('regex prefix token and POSIX classes', () => {
  assert.equal(regexPrefix(String.raw`^cluster\.(x)`), 'cluster');
  assert.equal(regexPrefix(String.raw`^listener(?=\.).*`), 'listener');
  assert.equal(regexPrefix(String.raw`^(?:listener|cluster)\.`), '');
  assert.equal(regexPrefix(String.raw`_rq(_(\d{3}))$`), '');
  assert.equal(posixClasses('[_.[:digit:]]'), '[_.0-9]');
});
