// Config updates and the admin view of a running proxy: SIGHUP reload (new routes for new
// requests, removed listeners drain, a broken file is refused), STRICT_DNS clusters, weighted
// endpoints, x-forwarded-for, and /clusters, /listeners, /config_dump, /server_info.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort, ROOT, NODE, writeConfig, stopProcess } from './lib/proxy.ts';
import { startHttpUpstream, request, type Upstream } from './lib/upstream.ts';
import { bootstrap, httpListener, staticCluster, vhost } from './lib/config.ts';

let a: Upstream;
let b: Upstream;
let slow: Upstream;
let portA: number;
let portB: number;
let adminPort: number;
let file: string;
let proc: ChildProcess;
let out = '';

function config(body: string, withB: boolean): string {
  const routes = [
    { match: { prefix: '/body' }, direct_response: { status: 200, body: { inline_string: body } } },
    { match: { prefix: '/slow' }, route: { cluster: 'slow' } },
    { match: { prefix: '/dns' }, route: { cluster: 'dns' } },
    { match: { prefix: '/ldns' }, route: { cluster: 'ldns' } },
    { match: { prefix: '/weighted' }, route: { cluster: 'weighted' } },
    { match: { prefix: '/' }, route: { cluster: 'a' } },
  ];
  const listeners = [httpListener(portA, [vhost('all', ['*'], routes)], { use_remote_address: true })];
  if (withB) listeners.push({ ...httpListener(portB, [vhost('all', ['*'], routes)]), name: 'listener_b' });
  const weighted = staticCluster('weighted', []);
  (weighted as { load_assignment: unknown }).load_assignment = {
    cluster_name: 'weighted',
    endpoints: [{
      lb_endpoints: [
        { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: a.port } } }, load_balancing_weight: 3 },
        { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: b.port } } }, load_balancing_weight: 1 },
      ],
    }],
  };
  const dns = {
    name: 'dns',
    type: 'STRICT_DNS',
    connect_timeout: '1s',
    dns_lookup_family: 'V4_ONLY',
    load_assignment: { cluster_name: 'dns', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'localhost', port_value: b.port } } } }] }] },
  };
  const ldns = { ...dns, name: 'ldns', type: 'LOGICAL_DNS', load_assignment: { ...dns.load_assignment, cluster_name: 'ldns' } };
  return bootstrap(adminPort, listeners, [staticCluster('a', [a.port]), staticCluster('slow', [slow.port]), weighted, dns, ldns]);
}

async function waitFor(cond: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

before(async () => {
  a = await startHttpUpstream('a');
  b = await startHttpUpstream('b');
  slow = await startHttpUpstream('slow', (_r, res) => setTimeout(() => res.end('slow-done'), 800));
  [portA, portB, adminPort] = [await freePort(), await freePort(), await freePort()];
  file = writeConfig(config('one', true), 'orion.json');
  proc = spawn(NODE, [path.join(ROOT, 'src/orion.js'), '-c', file, '--drain-time-s', '3'], { env: { ...process.env, ORION_CPU_LIMIT: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const live = await waitFor(async () => {
    try {
      return (await fetch(`http://127.0.0.1:${adminPort}/ready`)).status === 200;
    } catch {
      return false;
    }
  }, 15000);
  assert.ok(live, out);
});

after(async () => {
  await stopProcess(proc);
  for (const u of [a, b, slow]) await u.close();
});

const admin = (p: string) => fetch(`http://127.0.0.1:${adminPort}${p}`, { signal: AbortSignal.timeout(5000) });

test('STRICT_DNS and LOGICAL_DNS clusters resolve localhost', async () => {
  for (const p of ['/dns', '/ldns']) {
    const r = await request(portA, p);
    assert.equal(r.status, 200, p);
    assert.equal(r.json<{ upstream: string }>().upstream, 'b');
  }
});

test('listener stats carry the listener address tag', async () => {
  const prom = await (await admin('/stats/prometheus')).text();
  assert.match(prom, new RegExp(`^envoy_listener_downstream_cx_total\\{envoy_listener_address="127\\.0\\.0\\.1_${portA}"\\} [1-9]`, 'm'));
});

test('weighted endpoints: 3:1 split with smooth round robin', async () => {
  const seen: Record<string, number> = { a: 0, b: 0 };
  for (let i = 0; i < 40; i++) seen[(await request(portA, '/weighted')).json<{ upstream: string }>().upstream]++;
  assert.deepEqual(seen, { a: 30, b: 10 });
});

test('use_remote_address appends the client address to x-forwarded-for', async () => {
  const before = a.received.length;
  await request(portA, '/xff', { headers: { 'x-forwarded-for': '203.0.113.9' } });
  assert.equal(a.received[before].headers['x-forwarded-for'], '203.0.113.9,127.0.0.1');
});

test('admin: /clusters, /listeners, /config_dump, /server_info', async () => {
  const clusters = await (await admin('/clusters')).text();
  assert.match(clusters, new RegExp(`^a::127\\.0\\.0\\.1:${a.port}::health_flags::healthy$`, 'm'));
  assert.match(clusters, /^weighted::127\.0\.0\.1:\d+::weight::3$/m);
  const listeners = await (await admin('/listeners')).text();
  assert.match(listeners, new RegExp(`listener_${portA}::127\\.0\\.0\\.1:${portA}`));
  const dump = (await (await admin('/config_dump')).json()) as { configs: { '@type': string }[] };
  assert.ok(dump.configs.some((c) => c['@type'].endsWith('BootstrapConfigDump')));
  const info = (await (await admin('/server_info')).json()) as { state: string };
  assert.equal(info.state, 'LIVE');
});

test('SIGHUP reload: new routes apply, a removed listener drains its in-flight request, a broken file is refused', async () => {
  assert.equal((await request(portA, '/body')).body, 'one');
  // An in-flight request on listener B while B is removed.
  const inflight = request(portB, '/slow');
  await new Promise((r) => setTimeout(r, 150));
  writeFileSync(file, config('two', false));
  proc.kill('SIGHUP');
  assert.ok(await waitFor(async () => (await request(portA, '/body')).body === 'two'), 'new route config serves');
  const res = await inflight;
  assert.equal(res.status, 200);
  assert.equal(res.body, 'slow-done');
  const refused = await waitFor(() => new Promise((resolve) => {
    const s = net.connect(portB, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  }));
  assert.ok(refused, 'removed listener no longer accepts');
  // A broken file: rejected, the last good config keeps serving.
  writeFileSync(file, '{"static_resources": {"clusters": [{"name": "x", "type": "NOPE"}]}}');
  proc.kill('SIGHUP');
  assert.ok(await waitFor(async () => out.includes('reload rejected')), out);
  assert.equal((await request(portA, '/body')).body, 'two');
  assert.equal(proc.exitCode, null);
});

test('keep-alive connections survive a reload that keeps their listener', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () => new Promise<string>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: portA, path: '/body', agent }, (res) => {
      let d = '';
      res.on('data', (c) => (d += c));
      res.on('end', () => resolve(d));
    }).on('error', reject);
  });
  await get();
  writeFileSync(file, config('three', false));
  proc.kill('SIGHUP');
  assert.ok(await waitFor(async () => (await get()) === 'three'));
  agent.destroy();
});
