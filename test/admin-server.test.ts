// The admin server over a real socket on 127.0.0.1, with a plain-object AdminContext.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { HISTOGRAM_BUCKETS } from '../src/shared/stats.ts';
import type { ClusterSnap, ListenerSnap } from '../src/shared/snapshot.ts';
import { startAdmin, type AdminServer } from '../src/primary/admin/admin_server.ts';
import type { AdminContext, DrainOptions, ServerState } from '../src/primary/admin/context.ts';

const calls: string[] = [];
let state: ServerState = 'LIVE';
let hcFailed = false;
const levels: Record<string, string> = { admin: 'info', router: 'info' };
let drained: DrainOptions | null = null;

const cluster = {
  name: 'backend',
  statName: 'backend',
  circuitBreakers: [{ priority: 'default', maxConnections: 100, maxPendingRequests: 50, maxRequests: 200, maxRetries: 2 }],
  localities: [],
} as unknown as ClusterSnap;

const listener = { name: 'ingress', address: { host: '0.0.0.0', port: 8000 } } as unknown as ListenerSnap;
const listener6 = { name: 'v6', address: { host: '::', port: 8443 } } as unknown as ListenerSnap;

const ctx: AdminContext = {
  state: () => state,
  healthCheckFailed: () => hcFailed,
  setHealthCheckFailed: (b) => void (hcFailed = b),
  serverInfo: () => ({
    version: 'orion/0.1.0/Clean/RELEASE',
    uptimeCurrentEpochSeconds: 12.7,
    uptimeAllEpochsSeconds: 12.7,
    hotRestartVersion: 'disabled',
    node: { id: 'node-1', cluster: 'edge' },
    commandLineOptions: { concurrency: 2 },
  }),
  collectStats: async () => ({
    counters: {
      'cluster.backend.upstream_rq_total': 9,
      'cluster.backend.upstream_rq_200': 9,
      'http.ingress.downstream_rq_2xx': 9,
      'cluster.idle.upstream_rq_total': 0,
    },
    gauges: { 'server.live': 1 },
    histograms: {
      'cluster.backend.upstream_rq_time': {
        buckets: [0, 4, 5, ...new Array(HISTOGRAM_BUCKETS.length - 2).fill(0)],
        sum: 20,
        count: 9,
      },
    },
  }),
  listeners: () => [listener, listener6],
  clusters: () => [
    {
      snap: cluster,
      hosts: [
        { address: '10.0.0.1', port: 80, healthFlags: [], weight: 1, priority: 0, stats: { rq_total: 4, cx_active: 1 } },
        { address: '10.0.0.2', port: 80, healthFlags: ['failed_active_hc', 'failed_eds_health'], weight: 3, priority: 1 },
      ],
    },
  ],
  configDump: () => ({
    configs: [
      { '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap: { node: { id: 'node-1' } } },
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
        static_clusters: [
          { cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: 'backend', connect_timeout: '1s' } },
          { cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: 'other', connect_timeout: '2s' } },
        ],
      },
    ],
  }),
  quit: () => void calls.push('quit'),
  drainListeners: (o) => void (drained = o),
  logLevels: () => ({ ...levels }),
  setLogLevel: (level, logger) => {
    for (const k of Object.keys(levels)) if (logger === undefined || logger === k) levels[k] = level;
    return logger === undefined || logger in levels;
  },
};

let admin: AdminServer;
let base: string;

before(async () => {
  admin = await startAdmin(ctx, '127.0.0.1', 0);
  base = `http://127.0.0.1:${admin.port}`;
});

after(async () => {
  await admin.close();
});

async function get(path: string, method = 'GET'): Promise<{ status: number; type: string; body: string; headers: Headers }> {
  const r = await fetch(base + path, { method, signal: AbortSignal.timeout(5000) });
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text(), headers: r.headers };
}

test('/ready follows server state and the health check override', async () => {
  state = 'LIVE';
  hcFailed = false;
  assert.deepEqual(await get('/ready').then((r) => [r.status, r.body]), [200, 'LIVE\n']);
  state = 'INITIALIZING';
  assert.deepEqual(await get('/ready').then((r) => [r.status, r.body]), [503, 'INITIALIZING\n']);
  state = 'PRE_INITIALIZING';
  assert.deepEqual(await get('/ready').then((r) => [r.status, r.body]), [503, 'PRE_INITIALIZING\n']);
  state = 'LIVE';
  assert.equal((await get('/healthcheck/fail', 'POST')).body, 'OK\n');
  assert.equal(hcFailed, true);
  assert.deepEqual(await get('/ready').then((r) => [r.status, r.body]), [503, 'DRAINING\n']);
  assert.equal((await get('/healthcheck/ok', 'POST')).status, 200);
  assert.deepEqual(await get('/ready').then((r) => [r.status, r.body]), [200, 'LIVE\n']);
  state = 'DRAINING';
  assert.equal((await get('/ready')).status, 503);
  state = 'LIVE';
});

test('state-changing endpoints refuse GET with 405', async () => {
  for (const p of ['/quitquitquit', '/healthcheck/fail', '/healthcheck/ok', '/drain_listeners', '/logging?level=debug']) {
    const r = await get(p);
    assert.equal(r.status, 405, p);
    assert.equal(r.body, 'Method GET not allowed, POST required.');
  }
  assert.equal(hcFailed, false);
  assert.equal(levels.admin, 'info');
  assert.deepEqual(calls, []);
});

test('/server_info is admin.v3.ServerInfo shaped', async () => {
  const r = await get('/server_info');
  assert.equal(r.type, 'application/json');
  const j = JSON.parse(r.body);
  assert.deepEqual(Object.keys(j), [
    'version',
    'state',
    'hot_restart_version',
    'command_line_options',
    'node',
    'uptime_current_epoch',
    'uptime_all_epochs',
  ]);
  assert.equal(j.state, 'LIVE');
  assert.equal(j.uptime_current_epoch, '12s');
  assert.deepEqual(j.node, { id: 'node-1', cluster: 'edge' });
  assert.equal(j.command_line_options.concurrency, 2);
});

test('/stats text, filter and json; /stats/prometheus', async () => {
  const t = await get('/stats');
  assert.equal(t.status, 200);
  assert.equal(t.type, 'text/plain; charset=UTF-8');
  assert.ok(t.body.startsWith('cluster.backend.upstream_rq_200: 9\ncluster.backend.upstream_rq_total: 9\n'), t.body);
  assert.ok(t.body.includes('cluster.backend.upstream_rq_time: P0(nan,0.5) P25('), t.body);
  assert.equal((await get('/stats?filter=^http')).body, 'http.ingress.downstream_rq_2xx: 9\n');
  assert.ok(!(await get('/stats?usedonly')).body.includes('cluster.idle'));
  assert.equal((await get('/stats?filter=(')).status, 400);

  const j = await get('/stats?format=json');
  assert.equal(j.type, 'application/json');
  assert.deepEqual(JSON.parse(j.body).stats[0], { name: 'cluster.backend.upstream_rq_200', value: 9 });

  const p = await get('/stats/prometheus');
  assert.equal(p.status, 200);
  const lines = p.body.split('\n');
  assert.ok(lines.includes('envoy_cluster_upstream_rq_total{envoy_cluster_name="backend"} 9'), p.body);
  assert.ok(lines.includes('envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="backend"} 9'));
  assert.ok(lines.includes('envoy_http_downstream_rq_xx{envoy_response_code_class="2",envoy_http_conn_manager_prefix="ingress"} 9'));
  assert.ok(lines.includes('envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="1"} 4'));
  assert.ok(lines.includes('envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="5"} 9'));
  assert.ok(lines.includes('envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="backend",le="+Inf"} 9'));
  assert.equal((await get('/stats?format=prometheus')).body, p.body);
  const used = await get('/stats/prometheus?usedonly&filter=cluster');
  assert.ok(!used.body.includes('idle') && !used.body.includes('envoy_http_') && used.body.includes('backend'));
});

test('/clusters text and json', async () => {
  const t = await get('/clusters');
  assert.equal(t.type, 'text/plain; charset=UTF-8');
  const lines = t.body.trimEnd().split('\n');
  assert.deepEqual(lines.slice(0, 11), [
    'backend::observability_name::backend',
    'backend::default_priority::max_connections::100',
    'backend::default_priority::max_pending_requests::50',
    'backend::default_priority::max_requests::200',
    'backend::default_priority::max_retries::2',
    'backend::high_priority::max_connections::1024',
    'backend::high_priority::max_pending_requests::1024',
    'backend::high_priority::max_requests::1024',
    'backend::high_priority::max_retries::3',
    'backend::added_via_api::false',
    'backend::10.0.0.1:80::cx_active::1',
  ]);
  for (const want of [
    'backend::10.0.0.1:80::rq_total::4',
    'backend::10.0.0.1:80::health_flags::healthy',
    'backend::10.0.0.1:80::weight::1',
    'backend::10.0.0.1:80::region::',
    'backend::10.0.0.1:80::canary::false',
    'backend::10.0.0.1:80::priority::0',
    'backend::10.0.0.1:80::success_rate::-1',
    'backend::10.0.0.1:80::local_origin_success_rate::-1',
    'backend::10.0.0.2:80::health_flags::/failed_active_hc/failed_eds_health',
    'backend::10.0.0.2:80::weight::3',
    'backend::10.0.0.2:80::priority::1',
  ]) {
    assert.ok(lines.includes(want), want);
  }
  const j = JSON.parse((await get('/clusters?format=json')).body);
  const cs = j.cluster_statuses[0];
  assert.equal(cs.name, 'backend');
  assert.equal(cs.circuit_breakers.thresholds[1].priority, 'HIGH');
  assert.deepEqual(cs.host_statuses[0].address, { socket_address: { address: '10.0.0.1', port_value: 80 } });
  assert.deepEqual(cs.host_statuses[0].stats, [
    { type: 'GAUGE', value: '1', name: 'cx_active' },
    { value: '4', name: 'rq_total' },
  ]);
  assert.deepEqual(cs.host_statuses[1].health_status, { failed_active_health_check: true, eds_health_status: 'UNHEALTHY' });
});

test('/listeners text and json', async () => {
  assert.equal((await get('/listeners')).body, 'ingress::0.0.0.0:8000\nv6::[::]:8443\n');
  const j = JSON.parse((await get('/listeners?format=json')).body);
  assert.deepEqual(j.listener_statuses[0], { name: 'ingress', local_address: { socket_address: { address: '0.0.0.0', port_value: 8000 } } });
});

test('/config_dump with resource, mask and name_regex', async () => {
  const all = JSON.parse((await get('/config_dump')).body);
  assert.equal(all.configs.length, 2);
  const res = JSON.parse((await get('/config_dump?resource=static_clusters&mask=cluster.name')).body);
  assert.deepEqual(res.configs[0], {
    '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump.StaticCluster',
    cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: 'backend' },
  });
  const named = JSON.parse((await get('/config_dump?resource=static_clusters&name_regex=^oth')).body);
  assert.deepEqual(named.configs.map((c: { cluster: { name: string } }) => c.cluster.name), ['other']);
  const masked = JSON.parse((await get('/config_dump?mask=bootstrap')).body);
  assert.deepEqual(masked.configs, [{ '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap: { node: { id: 'node-1' } } }]);
  const missing = await get('/config_dump?resource=dynamic_listeners');
  assert.deepEqual([missing.status, missing.body], [404, 'dynamic_listeners not found in config dump']);
  assert.equal((await get('/config_dump?resource=bootstrap')).status, 400);
});

test('/logging lists on GET, changes on POST, rejects bad input', async () => {
  const g = await get('/logging');
  assert.deepEqual([g.status, g.body], [200, 'active loggers:\n  admin: info\n  router: info\n\n']);
  assert.equal((await get('/logging?level=debug', 'POST')).body, 'active loggers:\n  admin: debug\n  router: debug\n\n');
  assert.equal((await get('/logging?router=warning', 'POST')).body, 'active loggers:\n  admin: debug\n  router: warning\n\n');
  assert.equal((await get('/logging?paths=admin:error,router:trace', 'POST')).status, 200);
  assert.deepEqual(levels, { admin: 'error', router: 'trace' });
  const bad = await get('/logging?level=loud', 'POST');
  assert.equal(bad.status, 400);
  assert.ok(bad.body.startsWith('error: '), bad.body);
  assert.equal((await get('/logging?nosuch=info', 'POST')).status, 400);
  assert.deepEqual(levels, { admin: 'error', router: 'trace' });
});

test('/drain_listeners passes its flags; /quitquitquit answers then quits', async () => {
  assert.equal((await get('/drain_listeners?inboundonly&graceful', 'POST')).body, 'OK\n');
  assert.deepEqual(drained, { inboundOnly: true, graceful: true, skipExit: false });
  const q = await get('/quitquitquit', 'POST');
  assert.deepEqual([q.status, q.body], [200, 'OK\n']);
  for (let i = 0; i < 50 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(calls, ['quit']);
});

test('misc endpoints, HEAD, help, home page and unknown paths', async () => {
  const mem = JSON.parse((await get('/memory')).body);
  assert.match(mem.allocated, /^\d+$/);
  assert.match(mem.total_physical_bytes, /^\d+$/);
  assert.deepEqual(JSON.parse((await get('/runtime')).body), { layers: [], entries: {} });
  assert.deepEqual(JSON.parse((await get('/certs')).body), { certificates: [] });
  assert.equal((await get('/hot_restart_version')).body, 'disabled');

  const head = await get('/ready', 'HEAD');
  assert.deepEqual([head.status, head.body, head.headers.get('content-length')], [200, '', '5']);
  assert.equal(head.headers.get('cache-control'), 'no-cache, max-age=0');
  assert.equal(head.headers.get('x-content-type-options'), 'nosniff');

  const help = await get('/help');
  assert.ok(help.body.startsWith('admin commands are:\n  /: '), help.body);
  assert.ok(help.body.includes('  /quitquitquit (POST): '));
  assert.ok(help.body.includes('  /stats/prometheus: '));
  const home = await get('/');
  assert.equal(home.type, 'text/html; charset=UTF-8');
  assert.ok(home.body.includes('<form action="/quitquitquit" method="post">'));
  assert.ok(home.body.includes('<a href="/stats">/stats</a>'));

  const nf = await get('/nope');
  assert.equal(nf.status, 404);
  assert.ok(nf.body.startsWith('invalid path. admin commands are:\n'));
  assert.equal((await get('/stats/')).status, 404);
});
