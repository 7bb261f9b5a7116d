// File-based xDS (Envoy's dynamic-config-fs example): LDS and CDS from DiscoveryResponse files;
// replacing a file (write elsewhere, then rename into place) changes routing without a restart,
// and a file with a bad resource is refused while the previous config keeps serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startProxy, type Proxy } from './lib/proxy.ts';
import { request, startHttpUpstream, type Upstream } from './lib/upstream.ts';

let a: Upstream;
let b: Upstream;
let proxy: Proxy;
let port: number;
let dir: string;
let version = 0;

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function listenerFile(routes: unknown[], extra: Record<string, unknown> = {}): unknown {
  return {
    version_info: String(++version),
    resources: [{
      '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
      name: 'listener_0',
      address: { socket_address: { address: '127.0.0.1', port_value: port } },
      filter_chains: [{
        filters: [{
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': HCM,
            stat_prefix: 'ingress_http',
            http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
            route_config: { name: 'local_route', virtual_hosts: [{ name: 'all', domains: ['*'], routes }] },
          },
        }],
      }],
      ...extra,
    }],
  };
}

function clusterFile(upstreamPort: number): unknown {
  return {
    version_info: String(++version),
    resources: [{
      '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
      name: 'example_proxy_cluster',
      type: 'STATIC',
      connect_timeout: '1s',
      load_assignment: { cluster_name: 'example_proxy_cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstreamPort } } } }] }] },
    }],
  };
}

/** Atomic replace, as the Envoy example does it (`mv` of a file written next to it). */
function replace(name: string, doc: unknown): void {
  const tmp = path.join(dir, `.${name}.tmp`);
  writeFileSync(tmp, JSON.stringify(doc, null, 1));
  renameSync(tmp, path.join(dir, name));
}

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
  port = await freePort();
  dir = mkdtempSync(path.join(tmpdir(), 'orion-xds-fs-'));
  replace('lds.yaml', listenerFile([{ match: { prefix: '/' }, route: { cluster: 'example_proxy_cluster' } }]));
  replace('cds.yaml', clusterFile(a.port));
  const adminPort = await freePort();
  const boot = [
    'node: { id: id_1, cluster: test }',
    'dynamic_resources:',
    `  cds_config: { path_config_source: { path: ${path.join(dir, 'cds.yaml')} }, resource_api_version: V3 }`,
    `  lds_config: { path_config_source: { path: ${path.join(dir, 'lds.yaml')}, watched_directory: { path: ${dir} } }, resource_api_version: V3 }`,
    'admin:',
    `  address: { socket_address: { address: 127.0.0.1, port_value: ${adminPort} } }`,
  ].join('\n');
  proxy = await startProxy(boot, { adminPort });
});

after(async () => {
  await proxy?.stop();
  await a?.close();
  await b?.close();
});

test('initial config comes from the files', async () => {
  assert.equal(await get('/'), 'a');
});

test('replacing the CDS file moves traffic without a restart', async () => {
  replace('cds.yaml', clusterFile(b.port));
  await eventually('traffic on b', async () => (await get('/')) === 'b');
});

test('replacing the LDS file changes routing', async () => {
  replace('lds.yaml', listenerFile([
    { match: { prefix: '/v2' }, direct_response: { status: 200, body: { inline_string: 'from v2' } } },
    { match: { prefix: '/' }, route: { cluster: 'example_proxy_cluster' } },
  ]));
  await eventually('new route', async () => (await get('/v2')) === 'from v2');
  assert.equal(await get('/'), 'b');
});

test('a file with a bad resource is refused; the previous config keeps serving', async () => {
  replace('lds.yaml', listenerFile([{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'bad' } } }], { listener_filters: [{ name: 'acme.sniffer', typed_config: { '@type': 'type.googleapis.com/acme.Sniffer' } }] }));
  await eventually('rejected', async () => /config file rejected/.test(proxy.output()));
  assert.equal(await get('/v2'), 'from v2');
  const stats = await (await proxy.admin('/stats?filter=listener_manager.lds.update_rejected')).text();
  assert.match(stats, /listener_manager\.lds\.update_rejected: 1/);
});
