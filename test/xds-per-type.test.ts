// Per-type xDS streams (no ADS): CDS over SotW gRPC with EDS following it (`self`), LDS over
// delta gRPC, RDS over its own SotW stream; NACKs on a per-type stream; and --strict, where an
// unknown field is a NACK instead of a warning.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startProxy, type Proxy } from './lib/proxy.ts';
import { request, startHttpUpstream, type Upstream } from './lib/upstream.ts';
import { ControlPlane, T, apiSource, assignment, edsCluster, encodeResource, rdsListener, routeConfig, toCluster, withUnknownField, xdsCluster } from './lib/xds_server.ts';

let a: Upstream;
let b: Upstream;
let cp: ControlPlane;
let proxy: Proxy;
let port: number;
const rds = { api_config_source: apiSource('GRPC', true) };

async function eventually(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      if (await cond()) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 40));
  }
  assert.fail(`timed out: ${what}\n${proxy.output().slice(-2000)}`);
}

async function get(p: string): Promise<string> {
  const r = await request(port, p, { timeoutMs: 1500 });
  return r.status === 200 ? String(r.headers['x-upstream'] ?? r.body) : `status ${r.status}`;
}

before(async () => {
  a = await startHttpUpstream('a');
  b = await startHttpUpstream('b');
  cp = new ControlPlane();
  await cp.start();
  port = await freePort();
  cp.set(T.cluster, [edsCluster('svc', { self: {} })]);
  cp.set(T.endpoint, [assignment('svc', [a.port])]);
  cp.set(T.listener, [rdsListener('http', port, 'routes', rds)]);
  cp.set(T.route, [routeConfig('routes', [toCluster('/', 'svc')])]);
  const adminPort = await freePort();
  const boot = {
    node: { id: 'per-type' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    dynamic_resources: {
      cds_config: { api_config_source: apiSource('GRPC'), resource_api_version: 'V3' },
      lds_config: { api_config_source: apiSource('DELTA_GRPC'), resource_api_version: 'V3' },
    },
    static_resources: { clusters: [xdsCluster(cp.port)] },
  };
  proxy = await startProxy(JSON.stringify(boot), { adminPort, args: ['--strict'] });
});

after(async () => {
  await proxy?.stop();
  await cp?.stop();
  await a?.close();
  await b?.close();
});

test('each type on its own stream: CDS and EDS (self) SotW, LDS delta, RDS SotW; traffic flows', async () => {
  assert.equal(await get('/'), 'a');
  const streams = new Map(cp.requests.map((r) => [r.type_url, [r.method, r.delta]]));
  assert.deepEqual(streams.get(T.cluster), [T.cluster, false]);
  assert.deepEqual(streams.get(T.endpoint), [T.endpoint, false]);
  assert.deepEqual(streams.get(T.listener), [T.listener, true]);
  assert.deepEqual(streams.get(T.route), [T.route, false]);
  assert.ok(!cp.requests.some((r) => r.method === 'ads'));
});

test('routes and endpoints change over their streams', async () => {
  cp.set(T.endpoint, [assignment('svc', [b.port])]);
  cp.set(T.route, [routeConfig('routes', [{ match: { prefix: '/hi' }, direct_response: { status: 200, body: { inline_string: 'hello' } } }, toCluster('/', 'svc')])]);
  await eventually('new routes and endpoints', async () => (await get('/hi')) === 'hello' && (await get('/')) === 'b');
});

test('a listener that cannot be served is NACKed on the delta stream; the old one keeps serving', async () => {
  const bad = rdsListener('http', port, 'routes', rds);
  const hcm = ((bad.filter_chains as Record<string, unknown>[])[0].filters as Record<string, Record<string, unknown>>[])[0].typed_config;
  hcm.http_filters = [{ name: 'custom.auth', typed_config: { type_url: 'type.googleapis.com/acme.Auth', value: Buffer.from([]) } }, ...(hcm.http_filters as unknown[])];
  cp.set(T.listener, [bad]);
  const nack = await cp.answered(T.listener);
  assert.match(nack.error_detail?.message ?? '', /Listener http: .*http_filters\[0\]: HTTP filter "custom\.auth".* is not supported/);
  assert.equal(await get('/'), 'b');
});

test('--strict: an unknown field is a NACK', async () => {
  cp.set(T.listener, [{ name: 'http', bytes: withUnknownField(encodeResource(T.listener, rdsListener('http', port, 'routes', rds))) }]);
  const nack = await cp.answered(T.listener);
  assert.match(nack.error_detail?.message ?? '', /unknown field number\(s\) 9999/);
  cp.set(T.listener, [rdsListener('http', port, 'routes', rds)]);
  assert.equal((await cp.answered(T.listener)).error_detail ?? null, null);
  assert.equal(await get('/'), 'b');
});
