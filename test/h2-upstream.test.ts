// Upstream HTTP/2 through the real CLI: explicit HttpProtocolOptions and the legacy cluster
// http2_protocol_options, multiplexing bounded by max_concurrent_streams, bodies crossing from
// HTTP/1.1 clients (chunked) to an h2c upstream, and trailers relayed to HTTP/2 clients.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { request } from './lib/upstream.ts';
import { bootstrap, staticCluster, vhost } from './lib/config.ts';
import { curl, explicitHttp2, h2connect, h2request, hcm, listener, startH2Upstream, type H2Upstream } from './lib/h2.ts';

let proxy: Proxy;
let port: number;
let echo: H2Upstream;
let slow: H2Upstream;
let legacy: H2Upstream;

before(async () => {
  echo = await startH2Upstream((stream, headers, body) => {
    stream.respond({ ':status': 200, 'content-type': 'application/json' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': String(body.length) }));
    stream.end(JSON.stringify({ path: headers[':path'], method: headers[':method'], scheme: headers[':scheme'], authority: headers[':authority'], body }));
  });
  slow = await startH2Upstream((stream) => {
    setTimeout(() => {
      stream.respond({ ':status': 200 });
      stream.end('slow');
    }, 150);
  });
  legacy = await startH2Upstream();
  port = await freePort();
  const adminPort = await freePort();
  const vhosts = [vhost('main', ['*'], [
    { match: { prefix: '/slow' }, route: { cluster: 'slow' } },
    { match: { prefix: '/legacy' }, route: { cluster: 'legacy' } },
    { match: { prefix: '/' }, route: { cluster: 'echo' } },
  ])];
  const clusters = [
    staticCluster('echo', [echo.port], explicitHttp2()),
    staticCluster('slow', [slow.port], explicitHttp2({ max_concurrent_streams: 4 })),
    staticCluster('legacy', [legacy.port], { http2_protocol_options: {} }),
  ];
  proxy = await startProxy(bootstrap(adminPort, [listener('main', port, [{ filters: [hcm(vhosts)] }])], clusters), { adminPort });
});

after(async () => {
  await proxy?.stop();
  await Promise.all([echo?.close(), slow?.close(), legacy?.close()]);
});

test('HTTP/1.1 client to an h2c upstream: head and bodies (content-length and chunked)', async () => {
  const r = await request(port, '/a/b?c=1', { method: 'POST', body: 'fixed body', headers: { 'x-custom': 'yes' } });
  assert.equal(r.status, 200);
  const got = JSON.parse(r.body);
  assert.deepEqual([got.path, got.method, got.scheme, got.authority, got.body], ['/a/b?c=1', 'POST', 'http', `127.0.0.1:${port}`, 'fixed body']);
  // curl -T - streams stdin with transfer-encoding: chunked; the upstream sees only the payload.
  const c = await curl(['--http1.1', `http://127.0.0.1:${port}/chunked`, '-T', '-'], { input: 'x'.repeat(70000) });
  assert.equal(c.status, 200, c.stderr);
  assert.equal(JSON.parse(c.body).body.length, 70000);
  assert.equal(c.headers['transfer-encoding'], 'chunked', 'an HTTP/2 body of unknown length is chunked for HTTP/1.1');
});

test('trailers from an HTTP/2 upstream reach an HTTP/2 client', async () => {
  const s = await h2connect(`http://127.0.0.1:${port}`);
  try {
    const r = await h2request(s, { ':path': '/t', ':method': 'POST' }, 'abcd');
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).body, 'abcd');
    assert.equal(r.trailers?.['x-checksum'], '4');
  } finally {
    s.close();
  }
});

test('streams are multiplexed up to max_concurrent_streams per connection', async () => {
  const before = slow.sessions;
  const rs = await Promise.all(Array.from({ length: 12 }, () => request(port, '/slow', { timeoutMs: 5000 })));
  assert.ok(rs.every((r) => r.status === 200 && r.body === 'slow'));
  assert.ok(slow.maxConcurrent <= 4, `at most 4 streams per connection, saw ${slow.maxConcurrent}`);
  assert.ok(slow.maxConcurrent >= 2, 'streams share connections');
  assert.ok(slow.sessions - before >= 3 && slow.sessions - before <= 4, `12 streams / 4 per connection, saw ${slow.sessions - before} connections`);
  const text = await (await proxy.admin('/stats?filter=^cluster\\.slow\\.upstream_cx_http2_total')).text();
  assert.match(text, /cluster\.slow\.upstream_cx_http2_total: [34]\b/);
});

test('legacy cluster http2_protocol_options selects HTTP/2', async () => {
  const r = await request(port, '/legacy/x');
  assert.equal(r.status, 200);
  assert.equal(JSON.parse(r.body).headers[':path'], '/legacy/x');
  assert.ok(legacy.sessions >= 1);
});
