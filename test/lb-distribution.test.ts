// Load balancing through the real CLI (one worker): weights honoured by smooth round robin and
// weighted least request (exactly), random within statistical bounds, least request steering
// away from a slow host, ring hash and maglev keeping keys on their hosts and moving only (or
// almost only) the keys of a host that leaves, locality weights, priority spill-over with the
// 1.4 overprovisioning factor and failover, EDS health statuses, and ORIGINAL_DST via header.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { bootstrap, httpListener, staticCluster, vhost } from './lib/config.ts';
import { startCtlUpstream, waitFor, hostField, spread, get, type CtlUpstream } from './lib/upstream_ctl.ts';

const u: Record<string, CtlUpstream> = {};
const HEALTHY8 = ['a', 'b', 'c', 'd', 'h1', 'h2', 'h3', 'p1'];
let proxy: Proxy;
let port = 0;

const ep = (p: number, extra: Record<string, unknown> = {}) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } }, ...extra });
const cluster = (name: string, endpoints: unknown[], extra: Record<string, unknown> = {}) => ({
  ...staticCluster(name, []),
  load_assignment: { cluster_name: name, endpoints },
  ...extra,
});
const hc = { health_checks: [{ timeout: '0.5s', interval: '0.1s', no_traffic_interval: '0.1s', unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: { path: '/health' } }] };

before(async () => {
  for (const n of ['a', 'b', 'c', 'd', 'slow', 'h1', 'h2', 'h3', 'h4', 'p0a', 'p0b', 'p1']) u[n] = await startCtlUpstream(n);
  u.slow.delayMs = 200;
  port = await freePort();
  const adminPort = await freePort();
  const P = (n: string) => u[n].port;
  const hashRoute = (c: string) => ({ match: { prefix: `/${c}` }, route: { cluster: c, hash_policy: [{ header: { header_name: 'x-key' } }] } });
  const routes = [
    hashRoute('ring'),
    hashRoute('maglev'),
    ...['rr', 'random', 'lr', 'wlr', 'locality', 'prio', 'eds', 'degraded', 'odst'].map((c) => ({ match: { prefix: `/${c}` }, route: { cluster: c } })),
  ];
  const clusters = [
    cluster('rr', [{ lb_endpoints: [ep(P('a'), { load_balancing_weight: 1 }), ep(P('b'), { load_balancing_weight: 2 }), ep(P('c'), { load_balancing_weight: 3 })] }]),
    staticCluster('random', [P('a'), P('b'), P('c'), P('d')], { lb_policy: 'RANDOM' }),
    staticCluster('lr', [P('a'), P('b'), P('slow')], { lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: 10 } }),
    cluster('wlr', [{ lb_endpoints: [ep(P('a'), { load_balancing_weight: 1 }), ep(P('b'), { load_balancing_weight: 3 })] }], {
      load_balancing_policy: { policies: [{ typed_extension_config: { name: 'lr', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest' } } }] },
    }),
    staticCluster('ring', ['h1', 'h2', 'h3', 'h4'].map(P), { lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: 1024 }, ...hc }),
    staticCluster('maglev', ['h1', 'h2', 'h3', 'h4'].map(P), { lb_policy: 'MAGLEV', ...hc }),
    cluster('locality', [
      { locality: { zone: 'z1' }, load_balancing_weight: 3, lb_endpoints: [ep(P('a'))] },
      { locality: { zone: 'z2' }, load_balancing_weight: 1, lb_endpoints: [ep(P('b'))] },
    ], { common_lb_config: { locality_weighted_lb_config: {} } }),
    cluster('prio', [
      { priority: 0, lb_endpoints: [ep(P('p0a')), ep(P('p0b'))] },
      { priority: 1, lb_endpoints: [ep(P('p1'))] },
    ], hc),
    // Eight healthy of eleven: 8/11 × 1.4 ≥ 100%, so the degraded host gets nothing (ports 1-3 are never dialled).
    cluster('eds', [{ lb_endpoints: [...HEALTHY8.map((n) => ep(P(n))), ep(1, { health_status: 'UNHEALTHY' }), ep(2, { health_status: 'DEGRADED' }), ep(3, { health_status: 'DRAINING' })] }]),
    cluster('degraded', [{ lb_endpoints: [ep(P('a'), { health_status: 'UNHEALTHY' }), ep(P('c'), { health_status: 'DEGRADED' })] }]),
    { name: 'odst', type: 'ORIGINAL_DST', connect_timeout: '1s', lb_policy: 'CLUSTER_PROVIDED', original_dst_lb_config: { use_http_header: true } },
  ];
  proxy = await startProxy(bootstrap(adminPort, [httpListener(port, [vhost('all', ['*'], routes)])], clusters), { adminPort, workers: 1 });
});

after(async () => {
  await proxy?.stop();
  for (const x of Object.values(u)) await x.close();
});

async function sequence(path: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await get(port, path)).upstream);
  return out;
}

test('ROUND_ROBIN: weights 1:2:3 exactly, interleaved (no run longer than 2)', async () => {
  const seq = await sequence('/rr', 60);
  const count = (n: string) => seq.filter((x) => x === n).length;
  assert.deepEqual([count('a'), count('b'), count('c')], [10, 20, 30]);
  let run = 1;
  let longest = 1;
  for (let i = 1; i < seq.length; i++) longest = Math.max(longest, (run = seq[i] === seq[i - 1] ? run + 1 : 1));
  assert.ok(longest <= 2, `burst of ${longest} in ${seq.join(',')}`);
});

test('RANDOM: four equal hosts get 100 ± 40 of 400 requests each', async () => {
  const s = await spread(port, '/random', 400);
  for (const n of ['a', 'b', 'c', 'd']) assert.ok((s[n] ?? 0) >= 60 && (s[n] ?? 0) <= 140, JSON.stringify(s));
});

test('LEAST_REQUEST: a slow host with requests in flight gets far fewer new ones', async () => {
  const seen: Record<string, number> = {};
  let next = 0;
  await Promise.all(Array.from({ length: 6 }, async () => {
    while (next < 120) {
      next++;
      const r = await get(port, '/lr');
      seen[r.upstream] = (seen[r.upstream] ?? 0) + 1;
    }
  }));
  // Round robin would send 40 of 120 to the slow host.
  assert.ok((seen.slow ?? 0) <= 18, JSON.stringify(seen));
});

test('LEAST_REQUEST (typed policy) with weights 1:3: weighted exactly when nothing is in flight', async () => {
  assert.deepEqual(await spread(port, '/wlr', 40), { a: 10, b: 30 });
});

async function keyMap(path: string, keys: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < keys; i++) out.push((await get(port, path, { 'x-key': `user-${i}` })).upstream);
  return out;
}

test('RING_HASH and MAGLEV: a key stays on its host; when a host leaves, only its keys move', async () => {
  const KEYS = 100;
  const ring1 = await keyMap('/ring', KEYS);
  const mag1 = await keyMap('/maglev', KEYS);
  assert.deepEqual(await keyMap('/ring', KEYS), ring1, 'ring hash is sticky');
  assert.deepEqual(await keyMap('/maglev', KEYS), mag1, 'maglev is sticky');
  for (const m of [ring1, mag1]) {
    for (const h of ['h1', 'h2', 'h3', 'h4']) assert.ok(m.filter((x) => x === h).length >= 8, `${h} owns too few keys: ${JSON.stringify(m)}`);
  }
  u.h4.health = 503;
  assert.ok(await waitFor(async () => (await hostField(proxy, 'ring', u.h4.port, 'health_flags')) === '/failed_active_hc' && (await hostField(proxy, 'maglev', u.h4.port, 'health_flags')) === '/failed_active_hc', 3000));
  await new Promise((r) => setTimeout(r, 100));
  const ring2 = await keyMap('/ring', KEYS);
  const mag2 = await keyMap('/maglev', KEYS);
  assert.ok(!ring2.includes('h4') && !mag2.includes('h4'));
  const movedOthers = (a: string[], b: string[]) => a.filter((h, i) => h !== 'h4' && b[i] !== h).length;
  assert.equal(movedOthers(ring1, ring2), 0, 'ring hash moves only the keys of the host that left');
  assert.ok(movedOthers(mag1, mag2) <= 5, `maglev moved ${movedOthers(mag1, mag2)} keys of remaining hosts`);
  u.h4.health = 200;
  assert.ok(await waitFor(async () => (await hostField(proxy, 'ring', u.h4.port, 'health_flags')) === 'healthy', 3000));
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await keyMap('/ring', KEYS), ring1, 'keys return when the host does');
});

test('locality weights 3:1 split exactly between the two localities', async () => {
  assert.deepEqual(await spread(port, '/locality', 40), { a: 30, b: 10 });
});

test('priorities: P0 at half health spills 30% to P1 (1.4 overprovisioning); P0 down fails over; P0 back takes everything', async () => {
  assert.deepEqual(await spread(port, '/prio', 20), { p0a: 10, p0b: 10 });
  u.p0a.health = 503;
  assert.ok(await waitFor(async () => (await hostField(proxy, 'prio', u.p0a.port, 'health_flags')) === '/failed_active_hc', 3000));
  await new Promise((r) => setTimeout(r, 100));
  const s = await spread(port, '/prio', 300);
  // P0 availability 1/2 × 1.4 = 70%: P1 takes 30% (90 of 300; ± 40 is about 5 standard deviations).
  assert.equal(s.p0a, undefined);
  assert.ok(s.p1 >= 50 && s.p1 <= 130 && s.p0b + s.p1 === 300, JSON.stringify(s));
  u.p0b.health = 503;
  assert.ok(await waitFor(async () => (await hostField(proxy, 'prio', u.p0b.port, 'health_flags')) === '/failed_active_hc', 3000));
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await spread(port, '/prio', 20), { p1: 20 });
  u.p0a.health = 200;
  u.p0b.health = 200;
  assert.ok(await waitFor(async () => (await hostField(proxy, 'prio', u.p0b.port, 'health_flags')) === 'healthy' && (await hostField(proxy, 'prio', u.p0a.port, 'health_flags')) === 'healthy', 3000));
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await spread(port, '/prio', 20), { p0a: 10, p0b: 10 });
  assert.equal(await hostField(proxy, 'prio', u.p1.port, 'priority'), '1');
});

test('EDS health status: only HEALTHY hosts serve; DEGRADED ones serve when nothing healthy is left', async () => {
  const s = await spread(port, '/eds', 40);
  assert.deepEqual(Object.keys(s).sort(), [...HEALTHY8].sort(), JSON.stringify(s));
  assert.equal(await hostField(proxy, 'eds', 1, 'health_flags'), '/failed_eds_health');
  assert.equal(await hostField(proxy, 'eds', 2, 'health_flags'), '/degraded_eds_health');
  assert.equal(await hostField(proxy, 'eds', 3, 'health_flags'), '/eds_status_draining');
  assert.deepEqual(await spread(port, '/degraded', 10), { c: 10 });
});

test('ORIGINAL_DST with use_http_header: x-envoy-original-dst-host picks the host', async () => {
  const h = (p: number) => ({ 'x-envoy-original-dst-host': `127.0.0.1:${p}` });
  assert.equal((await get(port, '/odst', h(u.a.port))).upstream, 'a');
  assert.equal((await get(port, '/odst', h(u.b.port))).upstream, 'b');
  assert.equal((await get(port, '/odst', h(u.a.port))).upstream, 'a');
  assert.equal((await get(port, '/odst', { 'x-envoy-original-dst-host': 'not-an-address' })).status, 503);
});
