// Local replies as Envoy sends them: malformed requests rejected (400/431/501) and never forwarded,
// upstream connect failure (503 UF), no healthy upstream (503 UH), route timeout (504 UT), and
// bodies relayed both ways (content-length, chunked, close-delimited, pipelined).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { startHttpUpstream, rawRequest, type Upstream } from './lib/upstream.ts';
import { bootstrap, httpListener, staticCluster, vhost } from './lib/config.ts';

let proxy: Proxy;
let port: number;
let echo: Upstream;
let slow: Upstream;
let raw: net.Server;
let rawPort: number;
let deadPort: number;
let timeoutPort: number;

before(async () => {
  echo = await startHttpUpstream('echo');
  slow = await startHttpUpstream('slow', (_r, res) => {
    setTimeout(() => res.end('late'), 1500);
  });
  // Replies with a close-delimited body (no content-length, no chunking).
  raw = net.createServer((s) => {
    s.once('data', () => s.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil-close-body'));
  });
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  rawPort = (raw.address() as net.AddressInfo).port;
  deadPort = await freePort();
  port = await freePort();
  const adminPort = await freePort();
  const routes = [
    { match: { prefix: '/slow' }, route: { cluster: 'slow', timeout: '0.3s' } },
    { match: { prefix: '/dead' }, route: { cluster: 'dead' } },
    { match: { prefix: '/empty' }, route: { cluster: 'empty' } },
    { match: { prefix: '/missing' }, route: { cluster: 'does-not-exist' } },
    { match: { prefix: '/raw' }, route: { cluster: 'raw' } },
    { match: { prefix: '/' }, route: { cluster: 'echo' } },
  ];
  const clusters = [
    staticCluster('echo', [echo.port]),
    staticCluster('slow', [slow.port]),
    staticCluster('dead', [deadPort]),
    staticCluster('raw', [rawPort]),
    { name: 'empty', type: 'STATIC', connect_timeout: '1s', load_assignment: { cluster_name: 'empty', endpoints: [] } },
  ];
  timeoutPort = await freePort();
  const timeouts = { ...httpListener(timeoutPort, [vhost('all', ['*'], routes)], { request_timeout: '0.4s', request_headers_timeout: '0.3s' }), name: 'timeouts' };
  proxy = await startProxy(bootstrap(adminPort, [httpListener(port, [vhost('all', ['*'], routes)]), timeouts], clusters), { adminPort });
});

after(async () => {
  await proxy?.stop();
  await echo.close();
  await slow.close();
  await new Promise<void>((r) => raw.close(() => r()));
});

function statusOf(reply: string): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(reply);
  return m === null ? 0 : Number(m[1]);
}

const malformed: [string, string, number][] = [
  ['content-length with transfer-encoding', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
  ['transfer-encoding other than chunked', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n', 501],
  ['headers over 60 KiB', `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(62 * 1024)}\r\n\r\n`, 431],
  ['more than 100 headers', `GET / HTTP/1.1\r\nHost: a\r\n${Array.from({ length: 101 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`, 431],
  ['bad request line', 'GET /\r\nHost: a\r\n\r\n', 400],
  ['space before colon', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', 400],
  ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\n\r\n', 400],
  ['control char in value', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x01b\r\n\r\n', 400],
  ['two different content-lengths', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 400],
  ['non-numeric content-length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\na', 400],
  ['HTTP/1.1 without host', 'GET / HTTP/1.1\r\nX-A: 1\r\n\r\n', 400],
  ['bad chunk size', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n', 400],
];

for (const [name, bytes, status] of malformed) {
  test(`malformed request rejected: ${name} → ${status}, not forwarded, connection closed`, async () => {
    const before = echo.received.length;
    const reply = await rawRequest(port, bytes, 3000);
    assert.equal(statusOf(reply), status, reply.slice(0, 200));
    assert.match(reply, /connection: close/i);
    assert.equal(echo.received.length, before, 'the request must not reach the upstream');
  });
}

test('upstream connection refused → 503 UF', async () => {
  const r = await fetch(`http://127.0.0.1:${port}/dead`, { signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 503);
  assert.match(await r.text(), /upstream connect error or disconnect\/reset before headers. reset reason: connection failure/);
});

test('no healthy upstream → 503', async () => {
  const r = await fetch(`http://127.0.0.1:${port}/empty`, { signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 503);
  assert.equal(await r.text(), 'no healthy upstream');
});

test('route to an unknown cluster → 503 (NC)', async () => {
  const r = await fetch(`http://127.0.0.1:${port}/missing`, { signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 503);
});

test('route timeout → 504 upstream request timeout', async () => {
  const t0 = Date.now();
  const r = await fetch(`http://127.0.0.1:${port}/slow`, { signal: AbortSignal.timeout(5000) });
  const ms = Date.now() - t0;
  assert.equal(r.status, 504);
  assert.equal(await r.text(), 'upstream request timeout');
  assert.ok(ms >= 250 && ms < 1400, `timed out after ${ms} ms`);
  const stats = await (await proxy.admin('/stats?filter=upstream_rq_timeout')).text();
  assert.match(stats, /cluster\.slow\.upstream_rq_timeout: [1-9]/);
});

test('request bodies: content-length and chunked are relayed intact', async () => {
  const body = 'x'.repeat(200_000);
  let r = await fetch(`http://127.0.0.1:${port}/post`, { method: 'POST', body, signal: AbortSignal.timeout(5000) });
  assert.equal(((await r.json()) as { body: string }).body.length, body.length);
  const reply = await rawRequest(port, 'POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
  assert.equal(statusOf(reply), 200);
  assert.match(reply, /"body":"hello world"/);
  const cont = await rawRequest(port, 'POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc');
  assert.match(cont, /^HTTP\/1.1 100 Continue\r\n\r\nHTTP\/1.1 200 OK\r\n/);
  assert.match(cont, /"body":"abc"/);
  assert.doesNotMatch(cont, /"expect"/, 'the expect header was answered here, not forwarded');
});

test('close-delimited upstream body is re-framed as chunked for a keep-alive client', async () => {
  const reply = await rawRequest(port, 'GET /raw HTTP/1.1\r\nHost: a\r\n\r\nGET /raw HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', 3000);
  const responses = reply.split('HTTP/1.1 200 OK').length - 1;
  assert.equal(responses, 2, reply);
  assert.match(reply, /transfer-encoding: chunked\r\n/);
  assert.match(reply, /10\r\nuntil-close-body\r\n0\r\n\r\n/);
});

test('pipelined requests are answered in order on one connection', async () => {
  const reqs = ['/p1', '/p2', '/p3'].map((p, i) => `GET ${p} HTTP/1.1\r\nHost: a\r\n${i === 2 ? 'Connection: close\r\n' : ''}\r\n`).join('');
  const reply = await rawRequest(port, reqs, 3000);
  const urls = [...reply.matchAll(/"url":"([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(urls, ['/p1', '/p2', '/p3']);
});

test('keep-alive: many requests reuse one downstream connection', async () => {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  let data = '';
  s.setEncoding('latin1');
  s.on('data', (d) => (data += d));
  for (let i = 0; i < 20; i++) {
    s.write(`GET /ka${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
    const want = i + 1;
    const deadline = Date.now() + 3000;
    while ((data.match(/HTTP\/1\.1 200/g) ?? []).length < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }
  s.destroy();
  assert.equal((data.match(/HTTP\/1\.1 200/g) ?? []).length, 20);
});

test('request_headers_timeout: a head that never completes gets 408 and the connection closes', async () => {
  const t0 = Date.now();
  const reply = await rawRequest(timeoutPort, 'GET / HTTP/1.1\r\nHost: a\r\n', 3000);
  assert.equal(statusOf(reply), 408, reply);
  assert.match(reply, /request header timeout/);
  assert.ok(Date.now() - t0 < 2000);
});

test('request_timeout: a body that never completes gets 408; a complete one is served', async () => {
  const before = echo.received.length;
  const reply = await rawRequest(timeoutPort, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc', 3000);
  assert.equal(statusOf(reply), 408, reply);
  assert.match(reply, /request timeout/);
  assert.equal(echo.received.length, before, 'the incomplete request was not answered by the upstream');
  const ok = await rawRequest(timeoutPort, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc', 3000);
  assert.equal(statusOf(ok), 200);
});
