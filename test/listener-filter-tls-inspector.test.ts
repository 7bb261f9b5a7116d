// tls_inspector and http_inspector pick filter chains from what they peek, without consuming it:
// real node:tls clients (certificates made by openssl here) are routed by SNI (exact before
// wildcard) and ALPN to TLS-passthrough tcp_proxy chains whose backends complete the handshake;
// HTTP/1.0, HTTP/1.1 and the h2c preface are told apart for application_protocols.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import net from 'node:net';
import { freePort, startProxy, type Proxy } from './lib/proxy.ts';
import { bootstrapJson, cluster, direct, exchange, hcm, listenerAt, startEcho, startNamed, tcpProxy, waitStats, type TcpServer } from './lib/l4.ts';

const TLS_INSPECTOR = { name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } };
const HTTP_INSPECTOR = { name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' } };

let dir: string;
let key: Buffer;
let cert: Buffer;
const tlsServers: net.Server[] = [];
let plain: TcpServer;
let echo: TcpServer;
let fallback: TcpServer;
let proxy: Proxy;
let tlsPort: number;
let sniffPort: number;

async function tlsBackend(name: string): Promise<number> {
  const s = tls.createServer({ key, cert, ALPNProtocols: ['h2', 'http/1.1'] }, (c) => {
    c.on('error', () => {});
    c.end(`${name} ${c.servername || '-'} ${c.alpnProtocol || '-'}\n`);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  tlsServers.push(s);
  return (s.address() as net.AddressInfo).port;
}

/** The first line the chosen backend says after a completed handshake, or 'closed'. */
function tlsHello(opts: { servername?: string; alpn?: string[] }): Promise<string> {
  return new Promise((resolve) => {
    const c = tls.connect({ host: '127.0.0.1', port: tlsPort, rejectUnauthorized: false, servername: opts.servername, ALPNProtocols: opts.alpn });
    let out = '';
    const t = setTimeout(() => c.destroy(), 3000);
    c.setEncoding('utf8');
    c.on('data', (d) => (out += d));
    c.on('error', () => {});
    c.on('close', () => {
      clearTimeout(t);
      resolve(out === '' ? 'closed' : out.trim());
    });
  });
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'orion-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=example.com',
    '-addext', 'subjectAltName=DNS:example.com,DNS:*.example.com', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  key = readFileSync(path.join(dir, 'key.pem'));
  cert = readFileSync(path.join(dir, 'cert.pem'));
  const [a, b, c] = [await tlsBackend('A'), await tlsBackend('B'), await tlsBackend('C')];
  plain = await startNamed('plain');
  echo = await startEcho();
  fallback = await startNamed('fallback');
  [tlsPort, sniffPort] = [await freePort(), await freePort()];
  const adminPort = await freePort();
  const listeners = [
    listenerAt('sni', tlsPort, [
      { filter_chain_match: { server_names: ['a.example.com'] }, filters: [tcpProxy('sni_a', 'a')] },
      { filter_chain_match: { server_names: ['*.example.com'] }, filters: [tcpProxy('sni_b', 'b')] },
      { filter_chain_match: { transport_protocol: 'tls', application_protocols: ['h2'] }, filters: [tcpProxy('alpn_c', 'c')] },
      { filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [tcpProxy('plain', 'plain')] },
    ], { listener_filters: [TLS_INSPECTOR] }),
    listenerAt('sniff', sniffPort, [
      { filter_chain_match: { application_protocols: ['http/1.1'] }, filters: [hcm('h11', [direct('h11')])] },
      { filter_chain_match: { application_protocols: ['http/1.0'] }, filters: [hcm('h10', [direct('h10')])] },
      { filter_chain_match: { application_protocols: ['h2c'] }, filters: [tcpProxy('h2c', 'echo')] },
    ], { listener_filters: [HTTP_INSPECTOR], default_filter_chain: { filters: [tcpProxy('fallback', 'fallback')] } }),
  ];
  const clusters = [cluster('a', [a]), cluster('b', [b]), cluster('c', [c]), cluster('plain', [plain.port]), cluster('echo', [echo.port]), cluster('fallback', [fallback.port])];
  proxy = await startProxy(bootstrapJson(adminPort, listeners, clusters), { adminPort, args: ['--drain-time-s', '1'] });
});

after(async () => {
  await proxy?.stop();
  for (const s of tlsServers) await new Promise((r) => s.close(r));
  await plain?.close();
  await echo?.close();
  await fallback?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('SNI picks the chain: exact name before the wildcard, wildcard for deeper names; the handshake passes through', async () => {
  assert.equal(await tlsHello({ servername: 'a.example.com' }), 'A a.example.com -');
  assert.equal(await tlsHello({ servername: 'b.example.com' }), 'B b.example.com -');
  assert.equal(await tlsHello({ servername: 'x.y.example.com' }), 'B x.y.example.com -');
  // The server name level comes before ALPN: a.example.com with h2 still goes to A.
  assert.equal(await tlsHello({ servername: 'a.example.com', alpn: ['h2'] }), 'A a.example.com h2');
});

test('ALPN picks the chain when there is no server name; no match closes and counts', async () => {
  assert.equal(await tlsHello({ alpn: ['http/1.1', 'h2'] }), 'C - h2');
  assert.equal(await tlsHello({}), 'closed');
  assert.equal(await tlsHello({ servername: 'other.org' }), 'closed');
  const r = await exchange(tlsPort, ['not tls at all\n'], { until: (b) => b.toString().includes('not tls') });
  assert.equal(r.data.toString(), 'plain\nnot tls at all\n');
  const s = await waitStats(proxy, (x) => (x[`listener.127.0.0.1_${tlsPort}.no_filter_chain_match`] ?? 0) >= 2);
  assert.equal(s[`listener.127.0.0.1_${tlsPort}.no_filter_chain_match`], 2);
  assert.ok(s['tls_inspector.sni_found'] >= 5);
  assert.ok(s['tls_inspector.alpn_found'] >= 2);
  assert.ok(s['tls_inspector.tls_not_found'] >= 1);
});

test('http_inspector: HTTP/1.1, HTTP/1.0 and the h2c preface match application_protocols; others take the default chain', async () => {
  const h11 = await exchange(sniffPort, ['GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n']);
  assert.match(h11.data.toString(), /\r\n\r\nh11$/);
  const h10 = await exchange(sniffPort, ['GET / HTTP/1.0\r\n\r\n']);
  assert.match(h10.data.toString(), /\r\n\r\nh10$/);
  const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
  const h2c = await exchange(sniffPort, [preface.slice(0, 10), preface.slice(10)], { gapMs: 30, until: (b) => b.length >= preface.length });
  assert.equal(h2c.data.toString(), preface);
  const other = await exchange(sniffPort, ['SSH-2.0-OpenSSH\r\n'], { until: (b) => b.toString().includes('SSH') });
  assert.equal(other.data.toString(), 'fallback\nSSH-2.0-OpenSSH\r\n');
  const s = await waitStats(proxy, (x) => (x['http_inspector.http_not_found'] ?? 0) >= 1);
  assert.equal(s['http_inspector.http11_found'], 1);
  assert.equal(s['http_inspector.http10_found'], 1);
  assert.equal(s['http_inspector.http2_found'], 1);
});
