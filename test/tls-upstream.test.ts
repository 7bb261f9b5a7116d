// TLS origination (UpstreamTlsContext) through the real CLI against real TLS servers: SNI, the
// client certificate (mTLS to the upstream), server validation with trusted_ca and SAN matchers
// (a mismatch is a connect failure, 503), Envoy's no-validation default, HTTP/2 by ALPN
// (explicit and auto_config with HTTP/1.1 fallback) and transport_socket_matches.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http2 from 'node:http2';
import net from 'node:net';
import type tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { startProxy, freePort, runCli, writeConfig, type Proxy } from './lib/proxy.ts';
import { request } from './lib/upstream.ts';
import { bootstrap, staticCluster, vhost } from './lib/config.ts';
import { certFiles, explicitHttp2, hcm, listener, makePki, upstreamTls, type Pki } from './lib/h2.ts';

let proxy: Proxy;
let port: number;
let pki: Pki;
const servers: { close(): void }[] = [];
let h1Port = 0;
let h2Port = 0;
let selfPort = 0;

/** Every server answers with what it saw of the TLS connection. */
function describe(sock: tls.TLSSocket, version: string): string {
  const peer = sock.getPeerX509Certificate?.();
  return JSON.stringify({ version, sni: sock.servername, alpn: sock.alpnProtocol, clientSan: peer?.subjectAltName ?? null, resumed: sock.isSessionReused() });
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return (server.address() as net.AddressInfo).port;
}

before(async () => {
  pki = await makePki({ upstream: 'DNS:upstream.test', proxy: 'URI:spiffe://orion/proxy', 'self-upstream': 'DNS:self.test' });
  const creds = (n: string) => ({ key: readFileSync(pki.key(n)), cert: readFileSync(pki.cert(n)), ca: readFileSync(pki.ca), requestCert: true, rejectUnauthorized: false });
  h1Port = await listen(https.createServer(creds('upstream'), (req, res) => res.end(describe(req.socket as tls.TLSSocket, req.httpVersion))));
  const h2 = http2.createSecureServer(creds('upstream'));
  h2.on('stream', (s) => {
    s.respond({ ':status': 200 });
    s.end(describe(s.session!.socket as tls.TLSSocket, '2.0'));
  });
  h2Port = await listen(h2);
  selfPort = await listen(https.createServer(creds('self-upstream'), (req, res) => res.end(describe(req.socket as tls.TLSSocket, req.httpVersion))));

  port = await freePort();
  const adminPort = await freePort();
  const verify = (san: string) => ({ trusted_ca: { filename: pki.ca }, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: san } }] });
  const mtls = upstreamTls({ tls_certificates: [certFiles(pki, 'proxy')], validation_context: verify('upstream.test') }, { sni: 'upstream.test' });
  const auto = (extra: Record<string, unknown> = {}) => ({
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        auto_config: { http2_protocol_options: {} },
      },
    },
    ...extra,
  });
  const clusters = [
    staticCluster('mtls', [h1Port], { transport_socket: mtls }),
    staticCluster('badsan', [h1Port], { transport_socket: upstreamTls({ validation_context: verify('other.test') }, { sni: 'upstream.test' }) }),
    staticCluster('noverify', [selfPort], { transport_socket: upstreamTls({}) }),
    staticCluster('resume', [h1Port], { transport_socket: mtls, max_requests_per_connection: 1 }),
    staticCluster('h2', [h2Port], { ...explicitHttp2(), transport_socket: upstreamTls({ validation_context: verify('upstream.test') }, { sni: 'upstream.test' }) }),
    staticCluster('auto_h2', [h2Port], auto({ transport_socket: upstreamTls({}, { sni: 'upstream.test' }) })),
    staticCluster('auto_h1', [h1Port], auto({ transport_socket: upstreamTls({}, { sni: 'upstream.test' }) })),
    {
      ...staticCluster('matched', []),
      load_assignment: {
        cluster_name: 'matched',
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: h1Port } } }, metadata: { filter_metadata: { 'envoy.transport_socket_match': { tls: 'on' } } } }] }],
      },
      transport_socket_matches: [{ name: 'tls', match: { tls: 'on' }, transport_socket: mtls }],
    },
  ];
  const routes = clusters.map((c) => ({ match: { prefix: `/${c.name as string}/` }, route: { cluster: c.name } }));
  proxy = await startProxy(bootstrap(adminPort, [listener('main', port, [{ filters: [hcm([vhost('main', ['*'], routes)])] }])], clusters), { adminPort });
});

after(async () => {
  await proxy?.stop();
  for (const s of servers) s.close();
});

test('mTLS to the upstream: SNI, client certificate, trusted_ca and SAN verified', async () => {
  const r = await request(port, '/mtls/x');
  assert.equal(r.status, 200, r.body);
  const seen = r.json<{ sni: string; clientSan: string; alpn: string; version: string }>();
  assert.equal(seen.sni, 'upstream.test');
  assert.equal(seen.clientSan, 'URI:spiffe://orion/proxy');
  assert.equal(seen.version, '1.1');
});

test('a new connection resumes the last TLS session', async () => {
  const seen: boolean[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await request(port, '/resume/x');
    assert.equal(r.status, 200, r.body);
    seen.push(r.json<{ resumed: boolean }>().resumed);
  }
  assert.equal(seen[0], false);
  assert.equal(seen[2], true, `resumed: ${seen.join(',')}`);
});

test('a server certificate failing the SAN matcher is a connect failure (503)', async () => {
  const r = await request(port, '/badsan/x');
  assert.equal(r.status, 503);
  assert.match(r.body, /connection failure/);
  const text = await (await proxy.admin('/stats?filter=^cluster\\.badsan\\.(ssl\\.connection_error|upstream_cx_connect_fail)')).text();
  assert.match(text, /cluster\.badsan\.ssl\.connection_error: [1-9]/, text);
  assert.match(text, /cluster\.badsan\.upstream_cx_connect_fail: [1-9]/, text);
});

test('without a validation context the server is not verified (Envoy default)', async () => {
  const r = await request(port, '/noverify/x');
  assert.equal(r.status, 200, r.body);
});

test('HTTP/2 over TLS: explicit, and auto_config by ALPN with HTTP/1.1 fallback', async () => {
  const h2 = await request(port, '/h2/x');
  assert.equal(h2.status, 200, h2.body);
  assert.deepEqual([h2.json().version, h2.json().alpn], ['2.0', 'h2']);
  const autoH2 = await request(port, '/auto_h2/x');
  assert.equal(autoH2.json().version, '2.0');
  // The HTTP/1.1-only server answers ALPN with http/1.1: the host moves to the HTTP/1.1 pool.
  for (let i = 0; i < 2; i++) {
    const autoH1 = await request(port, '/auto_h1/x');
    assert.equal(autoH1.status, 200, autoH1.body);
    assert.deepEqual([autoH1.json().version, autoH1.json().alpn], ['1.1', 'http/1.1']);
  }
});

test('transport_socket_matches: endpoint metadata selects the TLS socket', async () => {
  const r = await request(port, '/matched/x');
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json().clientSan, 'URI:spiffe://orion/proxy');
});

test('auto_config without a TLS transport socket is a config error', async () => {
  const cfg = bootstrap(await freePort(), [], [{
    ...staticCluster('c', [1]),
    typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', auto_config: {} } },
  }]);
  const r = await runCli(['--mode', 'validate', '-c', writeConfig(cfg, 'auto.json')]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /static_resources\.clusters\[0\]\.typed_extension_protocol_options.*TLS/);
});
