// Internal listeners end to end: external TCP listener → tcp_proxy → internal cluster (with the
// internal_upstream transport socket) → internal listener with an HCM → real HTTP backend, with
// the host and cluster metadata passed through visible at the second hop (echoed in headers);
// HTTP → internal listener with keep-alive; a missing listener is a 503 UF with a log line;
// byte-exact bulk transfer through a 1 KiB internal buffer; Envoy's internal_listener_proxy.yaml
// shape; and a removed internal listener lets its open connection finish while new ones fail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort, startProxy, writeConfig, stopProcess, NODE, ROOT, type Proxy } from './lib/proxy.ts';
import { startHttpUpstream, request, type Upstream } from './lib/upstream.ts';
import { bootstrapJson, cluster, exchange, hcm, INTERNAL_LISTENER_EXT, internalCluster, listenerAt, startEcho, tcpProxy, waitStats, type TcpServer } from './lib/l4.ts';

const INTERNAL_UPSTREAM = {
  name: 'envoy.transport_sockets.internal_upstream',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport',
    passthrough_metadata: [
      { kind: { host: {} }, name: 'tunnel' },
      { kind: { cluster: {} }, name: 'meta' },
      { kind: { host: {} }, name: 'absent' },
    ],
    transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } },
  },
};

let backend: Upstream;
let echo: TcpServer;
let proxy: Proxy;
const ports: Record<string, number> = {};

function parseResponse(raw: Buffer): { status: number; headers: Record<string, string> } {
  const s = raw.toString('latin1');
  const status = Number(s.slice(9, 12));
  const body = s.slice(s.indexOf('\r\n\r\n') + 4);
  return { status, headers: status === 200 ? (JSON.parse(body) as { headers: Record<string, string> }).headers : {} };
}

before(async () => {
  backend = await startHttpUpstream('backend');
  echo = await startEcho();
  for (const n of ['tcp', 'http', 'missing', 'bulk']) ports[n] = await freePort();
  const adminPort = await freePort();
  const mdHeaders = [
    { header: { key: 'x-md-host', value: '%DYNAMIC_METADATA(tunnel:address)%' } },
    { header: { key: 'x-md-n', value: '%DYNAMIC_METADATA(tunnel:n)%' } },
    { header: { key: 'x-md-cluster', value: '%DYNAMIC_METADATA(meta:tag)%' } },
    { header: { key: 'x-md-whole', value: '%DYNAMIC_METADATA(tunnel)%' } },
  ];
  const listeners = [
    listenerAt('ext_tcp', ports.tcp, [{ filters: [tcpProxy('ext_tcp', 'to_inner_http')] }]),
    listenerAt('ext_http', ports.http, [{ filters: [hcm('ext_http', [{ match: { prefix: '/' }, route: { cluster: 'to_inner_http' } }])] }]),
    listenerAt('ext_missing', ports.missing, [{ filters: [hcm('ext_missing', [{ match: { prefix: '/' }, route: { cluster: 'to_nowhere' } }])] }]),
    listenerAt('ext_bulk', ports.bulk, [{ filters: [tcpProxy('ext_bulk', 'to_inner_tcp')] }]),
    { name: 'inner_http', internal_listener: {}, filter_chains: [{ filters: [hcm('inner_http', [{ match: { prefix: '/' }, route: { cluster: 'backend' }, request_headers_to_add: mdHeaders }])] }] },
    { name: 'inner_tcp', internal_listener: {}, filter_chains: [{ filters: [tcpProxy('inner_tcp', 'echo')] }] },
  ];
  const clusters = [
    internalCluster('to_inner_http', 'inner_http', { transport_socket: INTERNAL_UPSTREAM, metadata: { filter_metadata: { meta: { tag: 'blue' } } } }, {
      metadata: { filter_metadata: { tunnel: { address: '10.0.0.1:8080', n: 7 } } },
    }),
    internalCluster('to_nowhere', 'nope'),
    internalCluster('to_inner_tcp', 'inner_tcp'),
    cluster('backend', [backend.port]),
    cluster('echo', [echo.port]),
  ];
  const ext = { bootstrap_extensions: [{ ...INTERNAL_LISTENER_EXT, typed_config: { ...INTERNAL_LISTENER_EXT.typed_config, buffer_size_kb: 1 } }] };
  proxy = await startProxy(bootstrapJson(adminPort, listeners, clusters, ext), { adminPort, args: ['--drain-time-s', '1'] });
});

after(async () => {
  await proxy?.stop();
  await backend?.close();
  await echo?.close();
});

test('TCP → tcp_proxy → internal listener HCM → backend: host and cluster metadata reach the second hop', async () => {
  const r = await exchange(ports.tcp, ['GET /hop HTTP/1.1\r\nhost: svc\r\nconnection: close\r\n\r\n']);
  const res = parseResponse(r.data);
  assert.equal(res.status, 200, r.data.toString());
  assert.equal(res.headers['x-md-host'], '10.0.0.1:8080');
  assert.equal(res.headers['x-md-n'], '7');
  assert.equal(res.headers['x-md-cluster'], 'blue');
  assert.deepEqual(JSON.parse(res.headers['x-md-whole']), { address: '10.0.0.1:8080', n: 7 });
  const s = await waitStats(proxy, (x) => (x['cluster.to_inner_http.internal_upstream.no_metadata'] ?? 0) >= 1);
  assert.ok(s['cluster.to_inner_http.internal_upstream.no_metadata'] >= 1, 'a missing passthrough namespace is counted');
  assert.equal(s['listener.inner_http.downstream_cx_total'], 1);
});

test('HTTP → internal listener: the HTTP/1 pool keeps its internal connection alive across requests', async () => {
  const cx0 = (await waitStats(proxy, () => true))['cluster.to_inner_http.upstream_cx_total'] ?? 0;
  for (let i = 0; i < 3; i++) {
    const r = await request(ports.http, `/keep/${i}`);
    assert.equal(r.status, 200);
    assert.equal(r.json<{ headers: Record<string, string> }>().headers['x-md-cluster'], 'blue');
  }
  const s = await waitStats(proxy, (x) => (x['cluster.to_inner_http.upstream_rq_total'] ?? 0) >= 3);
  assert.equal(s['cluster.to_inner_http.upstream_rq_total'], 3);
  assert.equal(s['cluster.to_inner_http.upstream_cx_total'] - cx0, 1, 'three requests, one internal connection');
});

test('a missing internal listener is an upstream connect failure: 503 UF and a clear log line', async () => {
  const r = await request(ports.missing, '/');
  assert.equal(r.status, 503);
  assert.match(r.body, /upstream connect error or disconnect\/reset before headers\. reset reason: connection failure/);
  for (let i = 0; i < 120 && !proxy.output().includes('internal listener \\"nope\\" not found'); i++) await new Promise((res) => setTimeout(res, 25));
  assert.match(proxy.output(), /internal listener \\"nope\\" not found: connection refused/);
  const s = await waitStats(proxy, (x) => (x['cluster.to_nowhere.upstream_cx_connect_fail'] ?? 0) >= 1);
  assert.equal(s['cluster.to_nowhere.upstream_cx_connect_fail'], 1);
});

test('2 MiB through a 1 KiB internal buffer arrives byte-exact, with half-close', async () => {
  const sent = randomBytes(2 * 1024 * 1024);
  const got = await new Promise<Buffer>((resolve, reject) => {
    const c = net.connect({ port: ports.bulk, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    const t = setTimeout(() => reject(new Error('timed out')), 15000);
    c.on('data', (d) => chunks.push(d));
    c.on('end', () => c.end());
    c.on('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks));
    });
    c.on('error', reject);
    c.on('connect', () => c.end(sent));
  });
  assert.equal(got.length, sent.length);
  assert.equal(createHash('sha256').update(got).digest('hex'), createHash('sha256').update(sent).digest('hex'));
});

/** Envoy's configs/internal_listener_proxy.yaml with only the ports changed. */
function envoyInternalListenerProxy(adminPort: number, ingress: number, upstream: number): string {
  return `
admin:
  address:
    socket_address:
      protocol: TCP
      address: 127.0.0.1
      port_value: ${adminPort}
bootstrap_extensions:
  - name: envoy.bootstrap.internal_listener
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener
static_resources:
  listeners:
  - name: ingress
    address:
      socket_address:
        protocol: TCP
        address: 127.0.0.1
        port_value: ${ingress}
    filter_chains:
    - filters:
      - name: tcp
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: ingress
          cluster: encap_cluster
  - name: encap
    internal_listener: {}
    filter_chains:
    - filters:
      - name: tcp
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: encap
          cluster: cluster_0
  clusters:
  - name: encap_cluster
    load_assignment:
      cluster_name: encap_cluster
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              envoy_internal_address:
                server_listener_name: encap
  - name: cluster_0
    load_assignment:
      cluster_name: cluster_0
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address:
                address: 127.0.0.1
                port_value: ${upstream}
`;
}

test("Envoy's internal_listener_proxy.yaml runs as written", async () => {
  const [adminPort, ingress] = [await freePort(), await freePort()];
  const p = await startProxy(envoyInternalListenerProxy(adminPort, ingress, echo.port), { adminPort, args: ['--drain-time-s', '1'] });
  try {
    const r = await exchange(ingress, ['through encap and back'], { end: true });
    assert.equal(r.data.toString(), 'through encap and back');
    assert.ok(r.closed);
    const s = await waitStats(p, (x) => (x['tcp.encap.downstream_cx_total'] ?? 0) >= 1);
    assert.equal(s['tcp.ingress.downstream_cx_total'], 1);
    assert.equal(s['tcp.encap.downstream_cx_total'], 1);
  } finally {
    await p.stop();
  }
});

test('removing an internal listener lets its open connection finish; new connections fail', async () => {
  const [adminPort, port] = [await freePort(), await freePort()];
  const config = (withInner: boolean) => bootstrapJson(adminPort, [
    listenerAt('outer', port, [{ filters: [tcpProxy('outer', 'to_inner')] }]),
    ...(withInner ? [{ name: 'inner', internal_listener: {}, filter_chains: [{ filters: [tcpProxy('inner', 'echo')] }] }] : []),
  ], [internalCluster('to_inner', 'inner'), cluster('echo', [echo.port])], { bootstrap_extensions: [INTERNAL_LISTENER_EXT] });
  const file = writeConfig(config(true), 'orion.json');
  let out = '';
  const proc: ChildProcess = spawn(NODE, [path.join(ROOT, 'src/orion.js'), '-c', file], { env: { ...process.env, ORION_CPU_LIMIT: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${adminPort}/ready`).catch(() => null))?.status === 200, 15000);
    const open = net.connect({ port, host: '127.0.0.1' });
    open.setEncoding('utf8');
    let got = '';
    open.on('data', (d) => (got += d));
    open.write('one;');
    await waitFor(async () => got === 'one;', 3000);
    writeFileSync(file, config(false));
    proc.kill('SIGHUP');
    await waitFor(async () => /"version":2[^\n]*snapshot live/.test(out), 10000);
    const fresh = await exchange(port, ['hello'], { ms: 3000 });
    assert.equal(fresh.data.length, 0);
    assert.ok(fresh.closed);
    open.write('two;');
    await waitFor(async () => got === 'one;two;', 3000);
    assert.equal(got, 'one;two;');
    const closed = new Promise((r) => open.once('close', r));
    open.end();
    await closed;
    // Worker logs reach the primary's output asynchronously.
    await waitFor(async () => /internal listener \\"inner\\" not found/.test(out), 3000);
  } finally {
    await stopProcess(proc);
  }
});

async function waitFor(cond: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 30));
  }
}
