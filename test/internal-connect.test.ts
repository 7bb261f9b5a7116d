// HTTP CONNECT end to end, the HBONE shape of Envoy's encapsulate_http_in_http2_connect.yaml +
// terminate_http_in_http2_connect.yaml in one proxy: HTTP → internal listener whose tcp_proxy
// originates an HTTP/2 CONNECT (tunneling_config) → listener terminating CONNECT (connect_matcher
// route with connect_config) → internal listener HCM → real backend, with the decap cluster's
// host and cluster metadata echoed by the backend. Also a node:http2 client CONNECT, and HTTP/1.1
// CONNECT termination (200 then raw bytes, 403 when the route disables CONNECT, 503 on failure).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { freePort, startProxy, type Proxy } from './lib/proxy.ts';
import { startHttpUpstream, request, type Upstream } from './lib/upstream.ts';
import { bootstrapJson, cluster, exchange, hcm, INTERNAL_LISTENER_EXT, internalCluster, listenerAt, startEcho, tcpProxy, waitStats, type TcpServer } from './lib/l4.ts';

let backend: Upstream;
let echo: TcpServer;
let proxy: Proxy;
let httpPort: number;
let tcpPort: number;
let terminatePort: number;
let deadPort: number;

const CONNECT_UPGRADE = [{ upgrade_type: 'CONNECT', connect_config: {} }];

/** Envoy's terminate_http_in_http2_connect.yaml HCM: CONNECT terminated per authority. */
function terminator(statPrefix: string): Record<string, unknown> {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      stat_prefix: statPrefix,
      route_config: {
        name: 'local_route',
        virtual_hosts: [
          { name: 'hello', domains: ['hello.test:443'], routes: [{ match: { connect_matcher: {} }, route: { cluster: 'decap_hello', upgrade_configs: CONNECT_UPGRADE } }] },
          { name: 'echo', domains: ['echo.test:7'], routes: [{ match: { connect_matcher: {} }, route: { cluster: 'echo', upgrade_configs: CONNECT_UPGRADE } }] },
          { name: 'dead', domains: ['dead.test:7'], routes: [{ match: { connect_matcher: {} }, route: { cluster: 'dead', upgrade_configs: CONNECT_UPGRADE } }] },
          { name: 'off', domains: ['off.test:7'], routes: [{ match: { connect_matcher: {} }, route: { cluster: 'echo', upgrade_configs: [{ upgrade_type: 'CONNECT', enabled: false }] } }] },
          { name: 'local_service', domains: ['*'], routes: [{ match: { connect_matcher: {} }, route: { cluster: 'decap_cluster', upgrade_configs: CONNECT_UPGRADE } }] },
        ],
      },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
      http2_protocol_options: { allow_connect: true },
      upgrade_configs: [{ upgrade_type: 'CONNECT' }],
    },
  };
}

before(async () => {
  backend = await startHttpUpstream('backend');
  echo = await startEcho();
  [httpPort, tcpPort, terminatePort] = [await freePort(), await freePort(), await freePort()];
  deadPort = await freePort();
  const adminPort = await freePort();
  const listeners = [
    listenerAt('http', httpPort, [{ filters: [hcm('ingress_http', [{ match: { prefix: '/' }, route: { cluster: 'encap_cluster' } }])] }]),
    {
      name: 'encap',
      internal_listener: {},
      filter_chains: [{ filters: [tcpProxy('tcp_stats', 'cluster_0', { tunneling_config: { hostname: 'host.com:443', headers_to_add: [{ header: { key: 'x-tunnel-port', value: '%DOWNSTREAM_LOCAL_PORT%' } }] } })] }],
    },
    // TCP → tcp_proxy originating HTTP/2 CONNECT over an internal connection → internal terminator.
    listenerAt('tcp', tcpPort, [{ filters: [tcpProxy('tcp_in', 'term_internal', { tunneling_config: { hostname: 'svc.test:80' } })] }]),
    { name: 'term_internal', internal_listener: {}, filter_chains: [{ filters: [terminator('terminate_internal')] }] },
    listenerAt('listener_0', terminatePort, [{ filters: [terminator('terminate')] }]),
    {
      name: 'decap',
      internal_listener: {},
      filter_chains: [{
        filters: [hcm('decap_http', [{
          match: { prefix: '/' },
          route: { cluster: 'backend' },
          request_headers_to_add: [
            { header: { key: 'x-hop', value: '%DYNAMIC_METADATA(hop:name)%' } },
            { header: { key: 'x-tier', value: '%DYNAMIC_METADATA(cmeta:tier)%' } },
          ],
        }])],
      }],
    },
    { name: 'decap_hello', internal_listener: {}, filter_chains: [{ filters: [hcm('hello', [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'Hello, world!\n' } } }])] }] },
  ];
  const passthrough = {
    name: 'envoy.transport_sockets.internal_upstream',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport',
      passthrough_metadata: [{ kind: { host: {} }, name: 'hop' }, { kind: { cluster: {} }, name: 'cmeta' }],
      transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } },
    },
  };
  const h2 = {
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
  };
  const clusters = [
    internalCluster('encap_cluster', 'encap'),
    internalCluster('term_internal', 'term_internal', h2),
    cluster('cluster_0', [terminatePort], {
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          explicit_http_config: { http2_protocol_options: {} },
        },
      },
    }),
    internalCluster('decap_cluster', 'decap', { transport_socket: passthrough, metadata: { filter_metadata: { cmeta: { tier: 'gold' } } } }, {
      metadata: { filter_metadata: { hop: { name: 'decap-host' } } },
    }),
    internalCluster('decap_hello', 'decap_hello'),
    cluster('backend', [backend.port]),
    cluster('echo', [echo.port]),
    cluster('dead', [deadPort]),
  ];
  proxy = await startProxy(bootstrapJson(adminPort, listeners, clusters, { bootstrap_extensions: [INTERNAL_LISTENER_EXT] }), { adminPort, args: ['--drain-time-s', '1'] });
});

after(async () => {
  await proxy?.stop();
  await backend?.close();
  await echo?.close();
});

test('HTTP → internal → HTTP/2 CONNECT originate → terminate → internal HCM → backend, metadata at the last hop', async () => {
  for (let i = 0; i < 3; i++) {
    const r = await request(httpPort, `/through/${i}`);
    assert.equal(r.status, 200, r.body);
    const got = r.json<{ url: string; headers: Record<string, string> }>();
    assert.equal(got.url, `/through/${i}`);
    assert.equal(got.headers['x-hop'], 'decap-host');
    assert.equal(got.headers['x-tier'], 'gold');
  }
  const s = await waitStats(proxy, (x) => (x['tcp.tcp_stats.downstream_cx_total'] ?? 0) >= 1);
  assert.ok(s['tcp.tcp_stats.downstream_cx_total'] >= 1);
  assert.ok(s['listener.decap.downstream_cx_total'] >= 1);
  assert.ok(s['cluster.cluster_0.upstream_cx_total'] >= 1);
});

test('TCP → tcp_proxy HTTP/2 CONNECT over an internal connection → internal terminator → internal HCM → backend', async () => {
  const r = await exchange(tcpPort, ['GET /tcp-in HTTP/1.1\r\nhost: svc\r\nconnection: close\r\n\r\n']);
  const raw = r.data.toString('latin1');
  assert.match(raw, /^HTTP\/1\.1 200 /, raw);
  const got = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { url: string; headers: Record<string, string> };
  assert.equal(got.url, '/tcp-in');
  assert.equal(got.headers['x-hop'], 'decap-host');
  assert.equal(got.headers['x-tier'], 'gold');
  const s = await waitStats(proxy, (x) => (x['listener.term_internal.downstream_cx_total'] ?? 0) >= 1);
  assert.equal(s['listener.term_internal.downstream_cx_total'], 1);
  assert.ok(s['http.terminate_internal.downstream_cx_http2_total'] >= 1);
});

test('a node:http2 client CONNECT is terminated and carries HTTP/1.1 to the internal listener', async () => {
  const client = http2.connect(`http://127.0.0.1:${terminatePort}`);
  client.on('error', () => {});
  try {
    const stream = client.request({ ':method': 'CONNECT', ':authority': 'hello.test:443' });
    const status = await new Promise<number>((resolve) => stream.once('response', (h) => resolve(Number(h[':status']))));
    assert.equal(status, 200);
    let body = '';
    stream.setEncoding('latin1');
    stream.on('data', (d) => (body += d));
    stream.write('GET / HTTP/1.1\r\nhost: hello\r\nconnection: close\r\n\r\n');
    await new Promise((r) => stream.once('end', r));
    assert.match(body, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(body, /\r\n\r\nHello, world!\n$/);
  } finally {
    client.close();
  }
});

/** Raw HTTP/1.1 CONNECT: the response head, then whatever the tunnel returns for `payload`. */
function h1Connect(authority: string, payload: string, want: number): Promise<{ head: string; rest: string }> {
  return new Promise((resolve) => {
    const c = net.connect({ port: terminatePort, host: '127.0.0.1', allowHalfOpen: true });
    let got = '';
    c.setEncoding('latin1');
    const done = () => {
      clearTimeout(t);
      c.destroy();
      const i = got.indexOf('\r\n\r\n');
      resolve({ head: i < 0 ? got : got.slice(0, i), rest: i < 0 ? '' : got.slice(i + 4) });
    };
    const t = setTimeout(done, 3000);
    c.on('data', (d) => {
      got += d;
      const i = got.indexOf('\r\n\r\n');
      if (i >= 0 && got.length - i - 4 >= want) done();
    });
    c.on('close', done);
    c.on('error', () => {});
    // The payload rides in the same write as the CONNECT head: it must wait for the 200.
    c.write(`CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n\r\n${payload}`);
  });
}

test('HTTP/1.1 CONNECT: 200, then raw bytes both ways; 403 when the route disables CONNECT; 503 when the upstream is down', async () => {
  const ok = await h1Connect('echo.test:7', 'raw\x00bytes', 'raw\x00bytes'.length);
  assert.match(ok.head, /^HTTP\/1\.1 200 OK/);
  assert.equal(ok.rest, 'raw\x00bytes');
  // More payload than the connection buffers before the 200 (it stops reading at 64 KiB, then resumes).
  const big = 'x'.repeat(1024 * 1024);
  const bigOk = await h1Connect('echo.test:7', big, big.length);
  assert.match(bigOk.head, /^HTTP\/1\.1 200 OK/);
  assert.equal(bigOk.rest.length, big.length);
  const off = await h1Connect('off.test:7', '', 0);
  assert.match(off.head, /^HTTP\/1\.1 403 /);
  const dead = await h1Connect('dead.test:7', '', 1);
  assert.match(dead.head, /^HTTP\/1\.1 503 /);
  assert.match(dead.rest, /connection failure/);
});
