// TLS termination (DownstreamTlsContext) through the real CLI, with certificates made by openssl:
// ALPN h2 / http/1.1 fallback with curl, mTLS (require_client_certificate, trusted_ca, SAN
// matchers) with curl --cert and openssl s_client, tls_params, and certificate rotation over
// file-based SDS while an established HTTP/2 connection keeps working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { startHttpUpstream, type Upstream } from './lib/upstream.ts';
import { bootstrap, staticCluster, vhost } from './lib/config.ts';
import { certFiles, curl, downstreamTls, h2connect, h2request, hcm, listener, makePki, run, type Pki } from './lib/h2.ts';

let proxy: Proxy;
let pki: Pki;
let echo: Upstream;
const ports = { tls: 0, mtls: 0, tls12: 0, sds: 0 };
let sdsDir: string;
let sdsVersion = 0;

const SECRET = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

function writeSds(cert: string): void {
  const doc = { version_info: String(++sdsVersion), resources: [{ '@type': SECRET, name: 'server_cert', tls_certificate: certFiles(pki, cert) }] };
  const tmp = path.join(sdsDir, '.sds.tmp');
  writeFileSync(tmp, JSON.stringify(doc));
  renameSync(tmp, path.join(sdsDir, 'sds.json'));
}

before(async () => {
  pki = await makePki({
    server: 'DNS:localhost,IP:127.0.0.1',
    server2: 'DNS:localhost,IP:127.0.0.1',
    client: 'URI:spiffe://orion/client',
    stranger: 'URI:spiffe://elsewhere/client',
    'self-client': 'URI:spiffe://orion/self',
  });
  sdsDir = mkdtempSync(path.join(tmpdir(), 'orion-sds-'));
  writeSds('server');
  echo = await startHttpUpstream('echo');
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  const adminPort = await freePort();
  const routes = [vhost('main', ['*'], [{ match: { prefix: '/' }, route: { cluster: 'echo' } }])];
  const chain = (tls: unknown) => [{ transport_socket: tls, filters: [hcm(routes)] }];
  const alpn = ['h2', 'http/1.1'];
  const validation = { trusted_ca: { filename: pki.ca }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://orion/' } }] };
  const listeners = [
    listener('tls', ports.tls, chain(downstreamTls({ alpn_protocols: alpn, tls_certificates: [certFiles(pki, 'server')] }))),
    listener('mtls', ports.mtls, chain(downstreamTls({ alpn_protocols: alpn, tls_certificates: [certFiles(pki, 'server')], validation_context: validation }, { require_client_certificate: true }))),
    listener('tls12', ports.tls12, chain(downstreamTls({
      tls_certificates: [certFiles(pki, 'server')],
      tls_params: { tls_maximum_protocol_version: 'TLSv1_2', cipher_suites: ['ECDHE-ECDSA-AES256-GCM-SHA384'] },
    }))),
    listener('sds', ports.sds, chain(downstreamTls({
      alpn_protocols: alpn,
      tls_certificate_sds_secret_configs: [{ name: 'server_cert', sds_config: { path_config_source: { path: path.join(sdsDir, 'sds.json') } } }],
    }))),
  ];
  proxy = await startProxy(bootstrap(adminPort, listeners, [staticCluster('echo', [echo.port])]), { adminPort });
});

after(async () => {
  await proxy?.stop();
  await echo?.close();
});

const url = (port: number, p = '/') => `https://localhost:${port}${p}`;

test('ALPN: curl --http2 gets HTTP/2, --http1.1 falls back to HTTP/1.1; x-forwarded-proto is https', async () => {
  const h2 = await curl(['--http2', '--cacert', pki.ca, url(ports.tls, '/a')]);
  assert.equal(h2.version, 'HTTP/2', h2.stderr);
  assert.equal(h2.status, 200);
  assert.equal(JSON.parse(h2.body).headers['x-forwarded-proto'], 'https');
  const h1 = await curl(['--http1.1', '--cacert', pki.ca, url(ports.tls, '/b')]);
  assert.equal(h1.version, 'HTTP/1.1');
  assert.equal(JSON.parse(h1.body).url, '/b');
  // A chain without alpn_protocols negotiates none: HTTP/1.1 even when the client offers h2.
  const none = await curl(['--http2', '--cacert', pki.ca, url(ports.tls12, '/c')]);
  assert.equal(none.version, 'HTTP/1.1', none.stderr);
});

test('mTLS: a client certificate signed by trusted_ca with a matching SAN is accepted', async () => {
  for (const v of ['--http2', '--http1.1']) {
    const r = await curl([v, '--cacert', pki.ca, '--cert', pki.cert('client'), '--key', pki.key('client'), url(ports.mtls, '/m')]);
    assert.equal(r.status, 200, `${v}: ${r.stderr}`);
  }
});

test('mTLS: openssl s_client without a client certificate is refused during the handshake', async () => {
  // -ign_eof: read until the server closes (with TLS 1.3 its alert follows the client's Finished).
  const r = await run('openssl', ['s_client', '-ign_eof', '-connect', `127.0.0.1:${ports.mtls}`, '-servername', 'localhost', '-CAfile', pki.ca], 10000, 'GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  assert.match(r.out, /alert certificate required|SSL alert number 116/, r.out);
  assert.doesNotMatch(r.out, /HTTP\/1\.1 200/);
});

test('mTLS: a wrong SAN or an untrusted client certificate is refused', async () => {
  const wrongSan = await curl(['--http1.1', '--cacert', pki.ca, '--cert', pki.cert('stranger'), '--key', pki.key('stranger'), url(ports.mtls)]);
  assert.equal(wrongSan.status, 0);
  assert.notEqual(wrongSan.code, 0);
  const selfSigned = await curl(['--http1.1', '--cacert', pki.ca, '--cert', pki.cert('self-client'), '--key', pki.key('self-client'), url(ports.mtls)]);
  // Node's OpenSSL callback defers chain errors to the proxy, which closes the connection at once.
  assert.equal(selfSigned.status, 0);
  assert.notEqual(selfSigned.code, 0);
  const stats = await (await proxy.admin('/stats?filter=ssl\\.fail_verify')).text();
  assert.match(stats, /ssl\.fail_verify_san: [1-9]/, stats);
  assert.match(stats, /ssl\.fail_verify_error: [1-9]/, stats);
});

test('tls_params: maximum version TLS 1.2 and the configured cipher', async () => {
  const v13 = await run('openssl', ['s_client', '-connect', `127.0.0.1:${ports.tls12}`, '-tls1_3', '-CAfile', pki.ca], 10000, '');
  assert.doesNotMatch(v13.out, /Protocol\s*:\s*TLSv1\.3|New, TLSv1\.3/);
  const v12 = await run('openssl', ['s_client', '-connect', `127.0.0.1:${ports.tls12}`, '-tls1_2', '-CAfile', pki.ca], 10000, '');
  assert.match(v12.out, /ECDHE-ECDSA-AES256-GCM-SHA384/, v12.out);
});

test('SDS rotation: new handshakes get the new certificate, an open HTTP/2 connection keeps working', async () => {
  const ca = readFileSync(pki.ca);
  const peerSerial = (s: http2.ClientHttp2Session) => (s.socket as unknown as { getPeerCertificate(): { serialNumber: string } }).getPeerCertificate().serialNumber;
  const connect = () => h2connect(url(ports.sds), { ca });
  const serialOf = async (cert: string) => (await run('openssl', ['x509', '-noout', '-serial', '-in', pki.cert(cert)])).out.trim().split('=')[1].toUpperCase();
  const [first, second] = [await serialOf('server'), await serialOf('server2')];
  const old = await connect();
  try {
    assert.equal(peerSerial(old).toUpperCase(), first);
    assert.equal((await h2request(old, { ':path': '/before' })).status, 200);
    writeSds('server2');
    let rotated = '';
    for (let i = 0; i < 50 && rotated !== second; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const s = await connect();
      rotated = peerSerial(s).toUpperCase();
      s.close();
    }
    assert.equal(rotated, second, 'a new connection presents the rotated certificate');
    const again = await h2request(old, { ':path': '/after' });
    assert.equal(again.status, 200, 'the connection made before the rotation still serves requests');
    assert.equal(JSON.parse(again.body).url, '/after');
  } finally {
    old.close();
  }
});
