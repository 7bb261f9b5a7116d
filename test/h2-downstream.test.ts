// Downstream HTTP/2 through the real CLI: h2c with prior knowledge on an AUTO listener that also
// serves HTTP/1.1, a codec_type HTTP2 listener with http2_protocol_options, bodies both ways
// across HTTP/1.1 upstreams, local replies, h2load, stats and GOAWAY on drain.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { startHttpUpstream, type Upstream } from './lib/upstream.ts';
import { bootstrap, staticCluster, vhost } from './lib/config.ts';
import { curl, h2connect, h2request, hcm, listener, run } from './lib/h2.ts';

let proxy: Proxy;
let autoPort: number;
let h2Port: number;
let echo: Upstream;
let chunky: Upstream;

before(async () => {
  echo = await startHttpUpstream('echo');
  // No content-length: the upstream answers chunked, which HTTP/2 must carry unframed.
  chunky = await startHttpUpstream('chunky', (req, res) => {
    res.write('part1-');
    const delay = Number(new URL(req.url, 'http://x').searchParams.get('delay') ?? 10);
    setTimeout(() => res.end(`part2:${req.body}`), delay);
  });
  autoPort = await freePort();
  h2Port = await freePort();
  const adminPort = await freePort();
  const vhosts = [
    vhost('main', ['*'], [
      { match: { prefix: '/direct' }, direct_response: { status: 200, body: { inline_string: 'meow' } } },
      { match: { prefix: '/chunky' }, route: { cluster: 'chunky' } },
      { match: { prefix: '/echo' }, route: { cluster: 'echo' } },
    ]),
  ];
  const listeners = [
    listener('auto', autoPort, [{ filters: [hcm(vhosts)] }]),
    listener('h2', h2Port, [{ filters: [hcm(vhosts, { codec_type: 'HTTP2', http2_protocol_options: { max_concurrent_streams: 50, initial_stream_window_size: 1048576 } })] }]),
  ];
  proxy = await startProxy(bootstrap(adminPort, listeners, [staticCluster('echo', [echo.port]), staticCluster('chunky', [chunky.port])]), { adminPort });
});

after(async () => {
  await proxy?.stop();
  await echo?.close();
  await chunky?.close();
});

test('h2c with prior knowledge and HTTP/1.1 on the same AUTO listener', async () => {
  const r = await curl(['--http2-prior-knowledge', `http://127.0.0.1:${autoPort}/echo/a?x=1`, '-H', 'cookie: a=1', '-H', 'cookie: b=2']);
  assert.equal(r.version, 'HTTP/2', r.stderr);
  assert.equal(r.status, 200);
  assert.equal(r.headers.server, 'envoy');
  assert.ok(Number(r.headers['x-envoy-upstream-service-time']) >= 0);
  const got = JSON.parse(r.body);
  assert.equal(got.url, '/echo/a?x=1');
  assert.equal(got.headers.host, `127.0.0.1:${autoPort}`);
  assert.equal(got.headers.cookie, 'a=1; b=2', 'cookie crumbs are joined for HTTP/1.1');
  assert.equal(got.headers['x-forwarded-proto'], 'http');
  const h1 = await curl(['--http1.1', `http://127.0.0.1:${autoPort}/echo/b`]);
  assert.equal(h1.version, 'HTTP/1.1');
  assert.equal(JSON.parse(h1.body).url, '/echo/b');
});

test('request bodies: with content-length, and streamed (chunked to the HTTP/1.1 upstream)', async () => {
  const fixed = await curl(['--http2-prior-knowledge', `http://127.0.0.1:${autoPort}/echo/post`, '-d', 'hello body']);
  const a = JSON.parse(fixed.body);
  assert.equal(a.method, 'POST');
  assert.equal(a.body, 'hello body');
  assert.equal(a.headers['content-length'], '10');
  const streamed = await curl(['--http2-prior-knowledge', `http://127.0.0.1:${autoPort}/echo/put`, '-T', '-'], { input: 'streamed from stdin\n' });
  const b = JSON.parse(streamed.body);
  assert.equal(b.body, 'streamed from stdin\n');
  assert.equal(b.headers['transfer-encoding'], 'chunked');
  // expect: 100-continue is answered at once (curl would otherwise wait a second before sending).
  const t0 = Date.now();
  const c = await curl(['--http2-prior-knowledge', `http://127.0.0.1:${autoPort}/echo/expect`, '-H', 'expect: 100-continue', '-d', 'y'.repeat(2000)]);
  assert.equal(JSON.parse(c.body).body.length, 2000);
  assert.ok(Date.now() - t0 < 900, `waited ${Date.now() - t0} ms for 100 Continue`);
});

test('a chunked HTTP/1.1 response is relayed unframed over HTTP/2', async () => {
  const r = await curl(['--http2-prior-knowledge', `http://127.0.0.1:${h2Port}/chunky`, '-d', 'x']);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'part1-part2:x');
  assert.equal(r.headers['transfer-encoding'], undefined);
});

test('codec HTTP2 listener: settings from http2_protocol_options, local replies, multiplexed streams', async () => {
  const s = await h2connect(`http://127.0.0.1:${h2Port}`);
  try {
    if (s.remoteSettings.initialWindowSize !== 1048576) await new Promise<void>((resolve) => s.once('remoteSettings', () => resolve()));
    assert.equal(s.remoteSettings.maxConcurrentStreams, 50);
    assert.equal(s.remoteSettings.initialWindowSize, 1048576);
    const direct = await h2request(s, { ':path': '/direct' });
    assert.equal(direct.status, 200);
    assert.equal(direct.body, 'meow');
    assert.equal(direct.headers['content-type'], 'text/plain');
    const none = await h2request(s, { ':path': '/nothing-here' });
    assert.equal(none.status, 404);
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => h2request(s, { ':path': `/echo/${i}` })));
    assert.deepEqual(many.map((r) => JSON.parse(r.body).url), Array.from({ length: 20 }, (_, i) => `/echo/${i}`));
  } finally {
    s.close();
  }
});

test('h2load through the proxy completes without errors', async () => {
  const r = await run('h2load', ['-n', '2000', '-c', '4', '-m', '10', `http://127.0.0.1:${h2Port}/echo/load`], 30000);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout/);
  assert.match(r.out, /status codes: 2000 2xx/);
});

test('HTTP/2 connection and request stats', async () => {
  const text = await (await proxy.admin('/stats?filter=^http\\.ingress_http\\.downstream_(cx|rq)_http2')).text();
  const v = (n: string) => Number(new RegExp(`http\\.ingress_http\\.${n}: (\\d+)`).exec(text)?.[1] ?? -1);
  assert.ok(v('downstream_cx_http2_total') >= 4, text);
  assert.ok(v('downstream_rq_http2_total') >= 2000, text);
});

test('draining listeners sends GOAWAY; the open stream still completes', async () => {
  const s = await h2connect(`http://127.0.0.1:${h2Port}`);
  try {
    // A slow request is in flight (its response has started) when the drain starts.
    const req = s.request({ ':path': '/chunky?delay=400', ':method': 'POST' });
    req.end('late');
    req.setEncoding('utf8');
    let body = '';
    req.on('data', (d) => (body += d));
    const done = new Promise<void>((resolve, reject) => {
      req.on('end', () => resolve());
      req.on('error', reject);
    });
    await new Promise((r) => req.once('response', r));
    const goaway = new Promise<number>((resolve) => s.once('goaway', (code) => resolve(code)));
    const res = await proxy.admin('/drain_listeners', { method: 'POST' });
    assert.equal(res.status, 200);
    const code = await Promise.race([goaway, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('no GOAWAY')), 3000))]);
    assert.equal(code, http2.constants.NGHTTP2_NO_ERROR);
    await done;
    assert.equal(body, 'part1-part2:late');
  } finally {
    s.destroy();
  }
});
