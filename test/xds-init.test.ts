// Initialization and warming with a real gRPC control plane: /ready stays INITIALIZING until the
// initial fetch completes or initial_fetch_timeout passes; a cluster is used only once its
// endpoints arrive and a listener once its routes do, while the previous version keeps serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort, NODE, ROOT, stopProcess, writeConfig } from './lib/proxy.ts';
import { request, startHttpUpstream, type Upstream } from './lib/upstream.ts';
import { ControlPlane, T, apiSource, assignment, edsCluster, rdsListener, routeConfig, toCluster, xdsCluster } from './lib/xds_server.ts';

let up: Upstream;
let cp: ControlPlane;
let proc: ChildProcess;
let out = '';
let adminPort: number;
let port: number;

const admin = (p: string) => fetch(`http://127.0.0.1:${adminPort}${p}`, { signal: AbortSignal.timeout(3000) });

async function eventually(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      if (await cond()) return;
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 40));
  }
  assert.fail(`timed out: ${what}\n${out.slice(-3000)}`);
}

async function stat(name: string): Promise<number> {
  const text = await (await admin(`/stats?filter=^${name.replace(/\./g, '\\.')}$`)).text();
  return Number(/: (\d+)/.exec(text)?.[1] ?? NaN);
}

async function get(p: string): Promise<string> {
  const r = await request(port, p, { timeoutMs: 1500 });
  return r.status === 200 ? r.body : `status ${r.status}`;
}

before(async () => {
  up = await startHttpUpstream('up', (_r, res) => res.end('up'));
  cp = new ControlPlane();
  cp.answering = false;
  await cp.start();
  [adminPort, port] = [await freePort(), await freePort()];
  const timeout = { initial_fetch_timeout: '1s' };
  const boot = {
    node: { id: 'init-node' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    dynamic_resources: { ads_config: apiSource('GRPC'), cds_config: { ads: {}, ...timeout }, lds_config: { ads: {}, ...timeout } },
    static_resources: { clusters: [xdsCluster(cp.port)] },
  };
  const file = writeConfig(JSON.stringify(boot));
  proc = spawn(NODE, [path.join(ROOT, 'src/orion.js'), '-c', file], { env: { ...process.env, ORION_CPU_LIMIT: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
});

after(async () => {
  if (proc) await stopProcess(proc);
  await cp?.stop();
  await up?.close();
});

test('/ready says LIVE only after the initial fetch times out (CDS, then LDS)', async () => {
  const t0 = Date.now();
  let first = '';
  await eventually('admin up', async () => {
    const r = await admin('/ready');
    first = (await r.text()).trim();
    return r.status === 503;
  });
  assert.equal(first, 'INITIALIZING');
  await cp.waitFor(() => cp.requests.some((r) => r.type_url === T.cluster), 5000, 'CDS request');
  await eventually('LIVE', async () => (await admin('/ready')).status === 200);
  assert.ok(Date.now() - t0 >= 1900, 'waited for both initial fetch timeouts');
  // LDS is only requested once clusters are initialized (Envoy's order).
  const cds = cp.requests.findIndex((r) => r.type_url === T.cluster);
  const lds = cp.requests.findIndex((r) => r.type_url === T.listener);
  assert.ok(lds > cds, 'LDS after CDS');
  assert.equal(await stat('cluster_manager.cds.init_fetch_timeout'), 1);
  assert.equal(await stat('listener_manager.lds.init_fetch_timeout'), 1);
});

test('a listener warms until its routes arrive; a cluster until its endpoints arrive', async () => {
  cp.answering = true;
  cp.set(T.cluster, [edsCluster('svc', { ads: {}, initial_fetch_timeout: { seconds: 30 } })]);
  cp.set(T.listener, [rdsListener('http', port, 'r1', { ads: {}, initial_fetch_timeout: { seconds: 30 } })]);
  await cp.answered(T.listener);
  // Neither the endpoints nor the routes exist yet: nothing listens, the cluster is warming.
  await assert.rejects(request(port, '/', { timeoutMs: 500 }));
  const dump = (await (await admin('/config_dump')).json()) as { configs: Record<string, unknown>[] };
  const clusters = dump.configs.find((c) => String(c['@type']).endsWith('ClustersConfigDump'))!;
  assert.equal((clusters.dynamic_warming_clusters as unknown[]).length, 1);
  const listeners = dump.configs.find((c) => String(c['@type']).endsWith('ListenersConfigDump'))!;
  assert.ok((listeners.dynamic_listeners as Record<string, unknown>[])[0].warming_state);
  assert.equal(await stat('cluster_manager.warming_clusters'), 1);
  assert.equal(await stat('listener_manager.total_listeners_warming'), 1);

  cp.set(T.route, [routeConfig('r1', [toCluster('/', 'svc')])]);
  await eventually('listener active with its routes; cluster still warming → 503', async () => (await get('/')) === 'status 503');
  assert.doesNotMatch(await (await admin('/clusters')).text(), /^svc::/m);
  cp.set(T.endpoint, [assignment('svc', [up.port])]);
  await eventually('cluster warm', async () => (await get('/')) === 'up');
  assert.equal(await stat('cluster_manager.warming_clusters'), 0);
});

test('make-before-break: the old listener serves while its replacement waits for new routes', async () => {
  const direct = (body: string) => routeConfig('r2', [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: body } } }]);
  cp.set(T.listener, [rdsListener('http', port, 'r2', { ads: {}, initial_fetch_timeout: { seconds: 30 } }, { per_connection_buffer_limit_bytes: { value: 65536 } })]);
  await cp.answered(T.listener);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await get('/'), 'up', 'the previous listener version still serves');
  cp.set(T.route, [routeConfig('r1', [toCluster('/', 'svc')]), direct('r2 served')]);
  await eventually('new listener version active', async () => (await get('/')) === 'r2 served');
});

test('a cluster whose endpoints never come is used without them after its initial_fetch_timeout', async () => {
  cp.set(T.cluster, [edsCluster('svc', { ads: {}, initial_fetch_timeout: { seconds: 30 } }), edsCluster('lonely', { ads: {}, initial_fetch_timeout: { nanos: 300_000_000 } })]);
  await cp.answered(T.cluster);
  assert.equal(await stat('cluster_manager.warming_clusters'), 1);
  await eventually('warming timed out', async () => (await stat('cluster_manager.warming_clusters')) === 0);
  assert.equal(await stat('cluster.lonely.init_fetch_timeout'), 1);
  const clusters = (await (await admin('/clusters?format=json')).json()) as { cluster_statuses: { name: string }[] };
  assert.ok(clusters.cluster_statuses.some((c) => c.name === 'lonely'));
  assert.equal(await get('/'), 'r2 served');
});
