// Active health checks through the real CLI: they run once in the primary (two workers do not
// double the probes), a failing /health flips a host within interval × threshold and a passing
// one flips it back, traffic avoids the failed host, /clusters shows /failed_active_hc and the
// health_check.* stats count; TCP (send/receive) and gRPC (grpc.health.v1) checks too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { bootstrap, httpListener, staticCluster, vhost } from './lib/config.ts';
import { startCtlUpstream, waitFor, hostField, stats, spread, type CtlUpstream } from './lib/upstream_ctl.ts';

const INTERVAL_MS = 200;
let a: CtlUpstream;
let b: CtlUpstream;
let tcpServer: net.Server;
let tcpPort = 0;
let tcpReplies = true;
let grpcServer: grpc.Server;
let grpcPort = 0;
let grpcServing = true;
let proxy: Proxy;
let port = 0;

const hc = (extra: Record<string, unknown>) => ({
  timeout: '0.5s',
  interval: `${INTERVAL_MS / 1000}s`,
  no_traffic_interval: `${INTERVAL_MS / 1000}s`,
  unhealthy_threshold: 3,
  healthy_threshold: 2,
  ...extra,
});

/** grpc.health.v1.Health/Check by hand: HealthCheckResponse { status = 1 (SERVING) | 2 (NOT_SERVING) }. */
async function startGrpcHealth(): Promise<void> {
  grpcServer = new grpc.Server();
  grpcServer.addService({
    Check: {
      path: '/grpc.health.v1.Health/Check',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  }, {
    Check: (_call: unknown, cb: (err: null, res: Buffer) => void) => cb(null, Buffer.from([0x08, grpcServing ? 1 : 2])),
  });
  grpcPort = await new Promise<number>((resolve, reject) => {
    grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
}

before(async () => {
  a = await startCtlUpstream('a');
  b = await startCtlUpstream('b');
  tcpServer = net.createServer((s) => {
    s.on('data', (d) => {
      if (d.toString() === 'PING' && tcpReplies) s.write('PONG');
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => tcpServer.listen(0, '127.0.0.1', r));
  tcpPort = (tcpServer.address() as net.AddressInfo).port;
  await startGrpcHealth();
  port = await freePort();
  const adminPort = await freePort();
  const routes = [{ match: { prefix: '/' }, route: { cluster: 'web' } }];
  const noPanic = { common_lb_config: { healthy_panic_threshold: { value: 0 } } };
  const clusters = [
    staticCluster('web', [a.port, b.port], { ...noPanic, health_checks: [hc({ http_health_check: { path: '/health', request_headers_to_add: [{ header: { key: 'x-probe', value: 'orion' } }] } })] }),
    staticCluster('tcp', [tcpPort], { health_checks: [hc({ timeout: '0.2s', tcp_health_check: { send: { text: '50494e47' }, receive: [{ text: '504f4e47' }] } })] }),
    staticCluster('grpc', [grpcPort], { health_checks: [hc({ grpc_health_check: { service_name: 'svc' } })] }),
  ];
  proxy = await startProxy(bootstrap(adminPort, [httpListener(port, [vhost('all', ['*'], routes)])], clusters), { adminPort, workers: 2 });
});

after(async () => {
  await proxy?.stop();
  await a?.close();
  await b?.close();
  tcpServer?.close();
  grpcServer?.forceShutdown();
});

const flags = (cluster: string, p: number) => hostField(proxy, cluster, p, 'health_flags');
/** /clusters shows the primary's verdict as soon as it is made; workers get it a moment later. */
const settle = () => new Promise((r) => setTimeout(r, 100));

test('the server is LIVE only after the first round: both hosts are already healthy', async () => {
  assert.equal(await flags('web', a.port), 'healthy');
  assert.equal(await flags('web', b.port), 'healthy');
  const s = await spread(port, '/', 20);
  assert.deepEqual(Object.keys(s).sort(), ['a', 'b'], JSON.stringify(s));
});

test('probes run once (in the primary), not once per worker; with the configured request headers', async () => {
  const before = a.hits.get('/health') ?? 0;
  await new Promise((r) => setTimeout(r, 10 * INTERVAL_MS));
  const probes = (a.hits.get('/health') ?? 0) - before;
  // One checker: about 10 probes in 10 intervals; two (one per worker) would make about 20.
  assert.ok(probes >= 7 && probes <= 12, `probes in 10 intervals: ${probes}`);
  const h = a.lastHeaders.get('/health')!;
  assert.deepEqual([h.host, h['user-agent'], h['x-probe']], ['web', 'Envoy/HC', 'orion']);
});

test('an unexpected status flips the host at the next check; passing checks bring it back after healthy_threshold', async () => {
  b.health = 503;
  const t0 = Date.now();
  assert.ok(await waitFor(async () => (await flags('web', b.port)) === '/failed_active_hc', 3000), 'b never failed');
  const down = Date.now() - t0;
  // An unexpected HTTP status is immediate (Envoy): one interval plus probe time.
  assert.ok(down <= INTERVAL_MS + 400, `flip took ${down} ms`);
  await settle();
  const s = await spread(port, '/', 20);
  assert.deepEqual(s, { a: 20 }, 'traffic avoids the failed host');
  b.health = 200;
  const t1 = Date.now();
  assert.ok(await waitFor(async () => (await flags('web', b.port)) === 'healthy', 3000), 'b never recovered');
  const up = Date.now() - t1;
  // healthy_threshold 2: at least one full interval, at most about two.
  assert.ok(up >= INTERVAL_MS * 0.8 && up <= 2 * INTERVAL_MS + 500, `recovery took ${up} ms`);
});

test('network failures need unhealthy_threshold checks in a row', async () => {
  const bPort = b.port;
  await b.close();
  const t0 = Date.now();
  assert.ok(await waitFor(async () => (await flags('web', bPort)) === '/failed_active_hc', 4000), 'b never failed');
  const down = Date.now() - t0;
  // Three failures in a row: at least two intervals, at most about three.
  assert.ok(down >= 2 * INTERVAL_MS * 0.8 && down <= 3 * INTERVAL_MS + 600, `flip took ${down} ms`);
  await settle();
  const s = await spread(port, '/', 10);
  assert.deepEqual(s, { a: 10 });
  // Both hosts down with panic disabled: no healthy upstream.
  a.health = 500;
  assert.ok(await waitFor(async () => (await flags('web', a.port)) === '/failed_active_hc', 3000));
  await settle();
  const r = await spread(port, '/', 3);
  assert.deepEqual(r, { status_503: 3 });
  a.health = 200;
  b = await startCtlUpstream('b', bPort);
  assert.ok(await waitFor(async () => (await flags('web', bPort)) === 'healthy' && (await flags('web', a.port)) === 'healthy', 4000));
});

test('health_check.* stats are Envoy\'s', async () => {
  const st = await stats(proxy, 'cluster\\.web\\.health_check\\.');
  for (const n of ['attempt', 'success', 'failure', 'network_failure', 'passive_failure', 'verify_cluster', 'healthy', 'degraded']) {
    assert.ok(`cluster.web.health_check.${n}` in st, `missing ${n}: ${JSON.stringify(st)}`);
  }
  assert.ok(st['cluster.web.health_check.attempt'] >= st['cluster.web.health_check.success'] + st['cluster.web.health_check.failure'] - 2);
  assert.ok(st['cluster.web.health_check.failure'] >= 4);
  assert.ok(st['cluster.web.health_check.network_failure'] >= 3);
  assert.equal(st['cluster.web.health_check.healthy'], 2);
});

test('TCP check: send PING, expect PONG; a silent host fails', async () => {
  assert.equal(await flags('tcp', tcpPort), 'healthy');
  tcpReplies = false;
  // No reply: each probe times out (0.5 s); three in a row.
  assert.ok(await waitFor(async () => ((await flags('tcp', tcpPort)) ?? '').includes('/failed_active_hc'), 4000), 'tcp host never failed');
  assert.match((await flags('tcp', tcpPort)) ?? '', /active_hc_timeout/);
  tcpReplies = true;
  assert.ok(await waitFor(async () => (await flags('tcp', tcpPort)) === 'healthy', 3000), 'tcp host never recovered');
});

test('gRPC check: SERVING passes, NOT_SERVING fails', async () => {
  assert.equal(await flags('grpc', grpcPort), 'healthy');
  grpcServing = false;
  assert.ok(await waitFor(async () => (await flags('grpc', grpcPort)) === '/failed_active_hc', 3000), 'grpc host never failed');
  grpcServing = true;
  assert.ok(await waitFor(async () => (await flags('grpc', grpcPort)) === 'healthy', 3000), 'grpc host never recovered');
});
