// The router's per-route policies through the real CLI: retries (status, reset, connect failure,
// per-try timeout, request headers, previous_hosts), request mirroring, weighted clusters with
// their own headers, route idle timeout, and WebSocket upgrades relayed both ways.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { startHttpUpstream, request, type Upstream } from './lib/upstream.ts';
import { bootstrap, httpListener, staticCluster, vhost } from './lib/config.ts';

let proxy: Proxy;
let port: number;
let flaky: Upstream;
let flakyFailures = 0;
let ok: Upstream;
let slowFirst: Upstream;
let slowCalls = 0;
let shadow: Upstream;
let w1: Upstream;
let w2: Upstream;
let idle: Upstream;
let resetter: net.Server;
let resetterPort: number;
let deadPort: number;
let wss: WebSocketServer;
let wsPort: number;

before(async () => {
  // Fails the first `flakyFailures` requests with 503, then answers 200.
  flaky = await startHttpUpstream('flaky', (r, res) => {
    if (flakyFailures > 0) {
      flakyFailures--;
      res.statusCode = 503;
      return res.end('try again');
    }
    res.end(`flaky-ok ${r.body}`);
  });
  ok = await startHttpUpstream('ok');
  slowFirst = await startHttpUpstream('slowfirst', (_r, res) => {
    if (slowCalls++ === 0) setTimeout(() => res.end('late'), 1500);
    else res.end('fast');
  });
  shadow = await startHttpUpstream('shadow');
  w1 = await startHttpUpstream('w1');
  w2 = await startHttpUpstream('w2');
  idle = await startHttpUpstream('idle', (_r, res) => setTimeout(() => res.end('too late'), 1500));
  // Closes every connection as soon as a request arrives (a reset before any response byte).
  resetter = net.createServer((s) => s.once('data', () => s.destroy()));
  await new Promise<void>((r) => resetter.listen(0, '127.0.0.1', r));
  resetterPort = (resetter.address() as net.AddressInfo).port;
  deadPort = await freePort();
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo:${m.toString()}`)));
  await new Promise((r) => wss.once('listening', r));
  wsPort = (wss.address() as net.AddressInfo).port;

  port = await freePort();
  const adminPort = await freePort();
  const retry5xx = { retry_on: '5xx', num_retries: 3, retry_back_off: { base_interval: '0.01s' } };
  const routes = [
    { match: { prefix: '/retry' }, route: { cluster: 'flaky', retry_policy: retry5xx } },
    { match: { prefix: '/noretry' }, route: { cluster: 'flaky' } },
    { match: { prefix: '/reset' }, route: { cluster: 'resetter', retry_policy: { retry_on: 'reset', num_retries: 2 } } },
    { match: { prefix: '/connect' }, route: { cluster: 'half_dead', retry_policy: { retry_on: 'connect-failure', num_retries: 2, retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }], host_selection_retry_max_attempts: 3 } } },
    { match: { prefix: '/pertry' }, route: { cluster: 'slowfirst', retry_policy: { retry_on: '5xx', num_retries: 1, per_try_timeout: '0.3s' } } },
    { match: { prefix: '/mirror' }, route: { cluster: 'ok', request_mirror_policies: [{ cluster: 'shadow' }] } },
    {
      match: { prefix: '/split' },
      route: {
        weighted_clusters: {
          clusters: [
            { name: 'w1', weight: 80, request_headers_to_add: [{ header: { key: 'x-split', value: 'one' } }], response_headers_to_add: [{ header: { key: 'x-picked', value: 'w1' } }] },
            { name: 'w2', weight: 20, request_headers_to_add: [{ header: { key: 'x-split', value: 'two' } }] },
          ],
        },
      },
    },
    { match: { prefix: '/idle' }, route: { cluster: 'idle', idle_timeout: '0.3s' } },
    { match: { prefix: '/duration' }, route: { cluster: 'idle', max_stream_duration: { max_stream_duration: '0.3s' } } },
    { match: { prefix: '/ws' }, route: { cluster: 'ws' } },
    { match: { prefix: '/nows' }, route: { cluster: 'ws', upgrade_configs: [{ upgrade_type: 'websocket', enabled: false }] } },
  ];
  const clusters = [
    staticCluster('flaky', [flaky.port]),
    staticCluster('ok', [ok.port]),
    staticCluster('resetter', [resetterPort]),
    staticCluster('half_dead', [deadPort, ok.port]),
    staticCluster('slowfirst', [slowFirst.port]),
    staticCluster('shadow', [shadow.port]),
    staticCluster('w1', [w1.port]),
    staticCluster('w2', [w2.port]),
    staticCluster('idle', [idle.port]),
    staticCluster('ws', [wsPort]),
  ];
  const listener = httpListener(port, [vhost('all', ['*'], routes)], { upgrade_configs: [{ upgrade_type: 'websocket' }] });
  proxy = await startProxy(bootstrap(adminPort, [listener], clusters), { adminPort });
});

after(async () => {
  await proxy?.stop();
  for (const u of [flaky, ok, slowFirst, shadow, w1, w2, idle]) await u.close();
  await new Promise<void>((r) => resetter.close(() => r()));
  await new Promise<void>((r) => wss.close(() => r()));
});

async function counter(name: string): Promise<number> {
  const text = await (await proxy.admin(`/stats?filter=${encodeURIComponent(`^${name}$`)}`)).text();
  const m = new RegExp(`^${name.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}

test('retry_on 5xx: an upstream failing twice is retried until it answers, body replayed', async () => {
  flakyFailures = 2;
  const before = flaky.received.length;
  const r = await request(port, '/retry', { method: 'POST', body: 'payload' });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'flaky-ok payload');
  assert.equal(flaky.received.length - before, 3, 'two failures and one success');
  assert.equal(await counter('cluster.flaky.upstream_rq_retry'), 2);
  assert.equal(await counter('cluster.flaky.upstream_rq_retry_success'), 1);
});

test('without a retry policy the 503 is relayed; x-envoy-retry-on turns retries on per request', async () => {
  flakyFailures = 1;
  let r = await request(port, '/noretry');
  assert.equal(r.status, 503);
  flakyFailures = 1;
  r = await request(port, '/noretry', { headers: { 'x-envoy-retry-on': '5xx', 'x-envoy-max-retries': '1' } });
  assert.equal(r.status, 200);
});

test('retries exhausted: the last upstream response is returned', async () => {
  flakyFailures = 10;
  const r = await request(port, '/retry');
  assert.equal(r.status, 503);
  assert.equal(r.body, 'try again');
  flakyFailures = 0;
});

test('retry_on reset: a reset before any response byte is retried, then 503 UC', async () => {
  const r = await request(port, '/reset');
  assert.equal(r.status, 503);
  assert.match(r.body, /connection termination/);
  assert.ok((await counter('cluster.resetter.upstream_rq_retry')) >= 2);
});

test('retry_on connect-failure with previous_hosts reaches the live host', async () => {
  for (let i = 0; i < 6; i++) {
    const r = await request(port, '/connect');
    assert.equal(r.status, 200, `attempt ${i}`);
  }
});

test('per_try_timeout: a slow first attempt is abandoned and retried', async () => {
  const t0 = Date.now();
  const r = await request(port, '/pertry');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'fast');
  assert.ok(Date.now() - t0 < 1400);
  assert.equal(await counter('cluster.slowfirst.upstream_rq_per_try_timeout'), 1);
});

test('request mirroring: the shadow cluster receives a copy with -shadow host', async () => {
  const r = await request(port, '/mirror/x', { method: 'POST', body: 'mirrored-body', headers: { host: 'api.example:8080' } });
  assert.equal(r.status, 200);
  assert.equal(r.json<{ upstream: string }>().upstream, 'ok');
  const deadline = Date.now() + 3000;
  while (shadow.received.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
  assert.equal(shadow.received.length, 1);
  assert.equal(shadow.received[0].headers.host, 'api.example-shadow:8080');
  assert.equal(shadow.received[0].body, 'mirrored-body');
  assert.equal(shadow.received[0].url, '/mirror/x');
});

test('weighted clusters: 80/20 split within tolerance, per-cluster headers applied', async () => {
  const n = 400;
  const seen: Record<string, number> = { w1: 0, w2: 0 };
  for (let i = 0; i < n; i++) {
    const r = await request(port, '/split');
    const up = r.json<{ upstream: string; headers: Record<string, string> }>();
    seen[up.upstream]++;
    assert.equal(up.headers['x-split'], up.upstream === 'w1' ? 'one' : 'two');
    assert.equal(r.headers['x-picked'], up.upstream === 'w1' ? 'w1' : undefined);
  }
  // 80% of 400 = 320; 5 standard deviations (±40) keeps this from ever flaking.
  assert.ok(Math.abs(seen.w1 - 320) <= 40, JSON.stringify(seen));
});

test('route idle_timeout: no upstream bytes for 0.3 s → 408', async () => {
  const t0 = Date.now();
  const r = await request(port, '/idle');
  assert.equal(r.status, 408);
  assert.ok(Date.now() - t0 < 1200);
});

test('max_stream_duration on HTTP/1.1: a stream outliving it gets 408', async () => {
  const t0 = Date.now();
  const r = await request(port, '/duration');
  assert.equal(r.status, 408);
  assert.equal(r.body, 'downstream duration timeout');
  assert.ok(Date.now() - t0 < 1200);
});

test('WebSocket upgrade: messages flow both ways through the proxy', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  await new Promise((res, rej) => {
    ws.once('open', res);
    ws.once('error', rej);
  });
  const got: string[] = [];
  ws.on('message', (m) => got.push(m.toString()));
  for (const m of ['one', 'two', 'x'.repeat(200_000)]) ws.send(m);
  const deadline = Date.now() + 5000;
  while (got.length < 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
  assert.deepEqual(got.slice(0, 2), ['echo:one', 'echo:two']);
  assert.equal(got[2].length, 'echo:'.length + 200_000);
  ws.close();
  await new Promise((res) => ws.once('close', res));
});

test('an upgrade the route disables is refused with 403', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/nows`);
  const status = await new Promise<number>((res) => {
    ws.once('unexpected-response', (_req, r) => res(r.statusCode ?? 0));
    ws.once('open', () => res(101));
    ws.once('error', () => res(-1));
  });
  ws.terminate();
  assert.equal(status, 403);
});
