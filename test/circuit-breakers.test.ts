// Circuit breaking through the real CLI (one worker, so limits are exact): Envoy's thresholds per
// routing priority turn excess requests into local 503s with x-envoy-overloaded (flag UO) and
// count circuit_breakers.<prio>.* and upstream_rq_pending_overflow; Orion's breaker state machine
// opens after consecutive failures or a failure rate, fails fast with a JSON 503 and Retry-After,
// admits a probe after the cooldown and closes again on success.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { bootstrap, httpListener, staticCluster, vhost } from './lib/config.ts';
import { startCtlUpstream, stats, get, type CtlUpstream } from './lib/upstream_ctl.ts';

const BREAKER = 'type.googleapis.com/orion.extensions.upstreams.circuit_breaker.v1.CircuitBreaker';
let slow: CtlUpstream;
let flaky: CtlUpstream;
let rate: CtlUpstream;
let proxy: Proxy;
let port = 0;

before(async () => {
  slow = await startCtlUpstream('slow');
  slow.delayMs = 400;
  flaky = await startCtlUpstream('flaky');
  rate = await startCtlUpstream('rate');
  port = await freePort();
  const adminPort = await freePort();
  const routes = [
    { match: { prefix: '/cx' }, route: { cluster: 'cx' } },
    { match: { prefix: '/rq-high' }, route: { cluster: 'rq', priority: 'HIGH' } },
    { match: { prefix: '/rq' }, route: { cluster: 'rq' } },
    { match: { prefix: '/fsm' }, route: { cluster: 'fsm' } },
    { match: { prefix: '/rate' }, route: { cluster: 'rate' } },
  ];
  const breaker = (cfg: Record<string, unknown>) => ({
    typed_extension_protocol_options: { 'orion.upstreams.circuit_breaker': { '@type': BREAKER, ...cfg } },
  });
  const clusters = [
    staticCluster('cx', [slow.port], { circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1, track_remaining: true }] } }),
    staticCluster('rq', [slow.port], {
      circuit_breakers: { thresholds: [{ max_requests: 2 }, { priority: 'HIGH', max_requests: 4 }] },
    }),
    staticCluster('fsm', [flaky.port], breaker({ consecutive_failures: 3, open_duration: '1s', half_open_max_requests: 1, success_threshold: 2, message: 'flaky is resting' })),
    staticCluster('rate', [rate.port], breaker({ consecutive_failures: 0, failure_rate: { threshold: 50, minimum_requests: 10, window: '10s' }, open_duration: '30s' })),
  ];
  proxy = await startProxy(bootstrap(adminPort, [httpListener(port, [vhost('all', ['*'], routes)])], clusters), { adminPort, workers: 1 });
});

after(async () => {
  await proxy?.stop();
  for (const u of [slow, flaky, rate]) await u?.close();
});

function overflowed(r: { status: number; headers: Record<string, unknown>; body: string }): boolean {
  return r.status === 503 && r.headers['x-envoy-overloaded'] === 'true' && r.body.endsWith('reset reason: overflow');
}

test('max_connections 1 + max_pending_requests 1: the third concurrent request overflows (503, x-envoy-overloaded)', async () => {
  // The first request holds the only connection; the second waits for it; the third finds the queue full.
  const first = get(port, '/cx/1');
  await new Promise((r) => setTimeout(r, 150));
  const inflight = [first, get(port, '/cx/2'), get(port, '/cx/3')];
  await new Promise((r) => setTimeout(r, 100));
  const mid = await stats(proxy, 'cluster\\.cx\\.circuit_breakers\\.default\\.');
  const rs = await Promise.all(inflight);
  assert.deepEqual(rs.map((r) => r.status).sort(), [200, 200, 503]);
  assert.ok(overflowed(rs.find((r) => r.status === 503)!));
  // While saturated: the connection and pending breakers were open, nothing remained.
  assert.equal(mid['cluster.cx.circuit_breakers.default.cx_open'], 1);
  assert.equal(mid['cluster.cx.circuit_breakers.default.rq_pending_open'], 1);
  assert.equal(mid['cluster.cx.circuit_breakers.default.remaining_cx'], 0);
  assert.equal(mid['cluster.cx.circuit_breakers.default.remaining_pending'], 0);
  const after = await stats(proxy, 'cluster\\.cx\\.');
  assert.equal(after['cluster.cx.upstream_rq_pending_overflow'], 1);
  assert.ok(after['cluster.cx.upstream_cx_overflow'] >= 1);
  // The kept-alive connection still counts against max_connections (as in Envoy); nothing is pending.
  assert.equal(after['cluster.cx.circuit_breakers.default.cx_open'], 1);
  assert.equal(after['cluster.cx.circuit_breakers.default.rq_pending_open'], 0);
  assert.equal(after['cluster.cx.circuit_breakers.default.remaining_pending'], 1);
});

test('max_requests per priority: DEFAULT 2 overflows the 3rd and 4th; HIGH 4 takes all four', async () => {
  const rs = await Promise.all([1, 2, 3, 4].map((i) => get(port, `/rq/${i}`)));
  assert.deepEqual(rs.map((r) => r.status).sort(), [200, 200, 503, 503]);
  assert.ok(rs.filter((r) => r.status === 503).every(overflowed));
  const high = await Promise.all([1, 2, 3, 4].map((i) => get(port, `/rq-high/${i}`)));
  assert.deepEqual(high.map((r) => r.status), [200, 200, 200, 200]);
  const st = await stats(proxy, 'cluster\\.rq\\.');
  assert.equal(st['cluster.rq.upstream_rq_pending_overflow'], 2);
  for (const p of ['default', 'high']) {
    for (const g of ['cx_open', 'cx_pool_open', 'rq_pending_open', 'rq_open', 'rq_retry_open']) {
      assert.ok(`cluster.rq.circuit_breakers.${p}.${g}` in st, `missing circuit_breakers.${p}.${g}`);
    }
  }
});

test('breaker state machine: opens after 3 failures, fails fast with JSON + Retry-After, probes after the cooldown, closes', async () => {
  flaky.status = 500;
  for (let i = 0; i < 3; i++) assert.equal((await get(port, '/fsm')).status, 500);
  const hitsBefore = flaky.hits.get('/fsm') ?? 0;
  const r = await get(port, '/fsm');
  assert.equal(r.status, 503);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers['retry-after'], '1');
  assert.deepEqual(JSON.parse(r.body), { error: 'Service Unavailable', message: 'flaky is resting' });
  assert.equal(flaky.hits.get('/fsm') ?? 0, hitsBefore, 'an open breaker does not reach the upstream');
  // Cooldown over: a failing probe opens it again.
  await new Promise((res) => setTimeout(res, 1050));
  assert.equal((await get(port, '/fsm')).status, 500, 'the probe goes through');
  assert.equal((await get(port, '/fsm')).status, 503, 'a failed probe reopens the breaker');
  // Next cooldown: two successful probes close it.
  flaky.status = 200;
  await new Promise((res) => setTimeout(res, 1050));
  assert.equal((await get(port, '/fsm')).status, 200);
  assert.equal((await get(port, '/fsm')).status, 200);
  for (let i = 0; i < 5; i++) assert.equal((await get(port, '/fsm')).status, 200, 'closed again');
  const st = await stats(proxy, 'cluster\\.fsm\\.breaker\\.');
  assert.equal(st['cluster.fsm.breaker.opened'], 2);
  assert.equal(st['cluster.fsm.breaker.half_opened'], 2);
  assert.equal(st['cluster.fsm.breaker.closed'], 1);
  assert.equal(st['cluster.fsm.breaker.rq_rejected'], 2);
  assert.equal(st['cluster.fsm.breaker.state'], 0);
});

test('breaker state machine: a 50% failure rate over 10 requests opens it', async () => {
  rate.script = [200, 500, 200, 500, 200, 500, 200, 500, 200, 500];
  for (let i = 0; i < 9; i++) await get(port, '/rate');
  assert.equal((await get(port, '/rate')).status, 500, 'the tenth request still goes through (and fails)');
  const r = await get(port, '/rate');
  assert.equal(r.status, 503);
  assert.ok(Number(r.headers['retry-after']) >= 29, `retry-after ${r.headers['retry-after']}`);
});
