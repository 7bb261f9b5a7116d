import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSnapshot, type BuildResult } from '../src/primary/config/build.ts';
import { loadConfigFile } from '../src/primary/config/runtime_file.ts';
import type { ConfigIssue } from '../src/shared/errors.ts';
import type { DirectResponseSnap, HcmFilterSnap, RedirectSnap, RouteActionSnap, RouteConfigSnap, TcpProxyFilterSnap } from '../src/shared/snapshot.ts';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const TC = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';
const RC = `${TC}.route_config`;

type O = Record<string, any>;

function build(b: unknown, strict = false): BuildResult {
  return buildSnapshot(b, { version: 1, drainTimeMs: 1000, strict });
}

function staticCluster(name: string, port = 4001): O {
  return { name, load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] } };
}

/** A bootstrap with one HCM listener; `routes` go into one catch-all virtual host. */
function boot(opts: { hcm?: O; routes?: O[]; vhost?: O; listener?: O; clusters?: O[] } = {}): O {
  return {
    static_resources: {
      listeners: [{
        name: 'l0',
        address: { socket_address: { address: '127.0.0.1', port_value: 8000 } },
        filter_chains: [{
          filters: [{
            name: 'hcm',
            typed_config: {
              '@type': HCM,
              stat_prefix: 'ingress',
              route_config: { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: opts.routes ?? [{ match: { prefix: '/' }, route: { cluster: 'c' } }], ...opts.vhost }] },
              http_filters: [ROUTER],
              ...opts.hcm,
            },
          }],
        }],
        ...opts.listener,
      }],
      clusters: opts.clusters ?? [staticCluster('c')],
    },
  };
}

function errors(r: BuildResult): ConfigIssue[] {
  return r.issues.filter((i) => i.severity === 'error');
}

function at(r: BuildResult, path: string, severity: 'error' | 'warning' = 'error'): ConfigIssue {
  const hit = r.issues.find((i) => i.path === path && i.severity === severity);
  assert.ok(hit, `no ${severity} at ${path}; got:\n${r.issues.map((i) => `${i.severity} ${i.path}: ${i.message}`).join('\n')}`);
  return hit;
}

function hcmOf(r: BuildResult): HcmFilterSnap['hcm'] {
  return (r.snapshot.listeners[0].filterChains[0].filters[0] as HcmFilterSnap).hcm;
}

function routeConfigOf(r: BuildResult): RouteConfigSnap {
  return r.snapshot.routeConfigs[hcmOf(r).routeConfigName];
}

function actionOf(r: BuildResult, i = 0): RouteActionSnap | DirectResponseSnap | RedirectSnap {
  return routeConfigOf(r).virtualHosts[0].routes[i].action;
}

test('conf/orion-runtime.yaml translates to the documented snapshot', () => {
  const f = loadConfigFile(new URL('../conf/orion-runtime.yaml', import.meta.url).pathname);
  assert.deepEqual(f.issues, []);
  assert.equal(f.kind, 'orion');
  assert.equal(f.runtime.numCpus, undefined);
  assert.equal(f.logging.logLevel, 'info');
  const r = build(f.bootstrap);
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.admin, { host: '127.0.0.1', port: 9901 });
  const l = r.snapshot.listeners[0];
  assert.equal(l.name, 'listener_http');
  assert.deepEqual(l.address, { host: '127.0.0.1', port: 8000 });
  assert.equal(l.statPrefix, '127.0.0.1_8000');
  assert.equal(r.snapshot.listeners.length, 1);
  assert.equal(hcmOf(r).statPrefix, 'ingress_http');
  const vh = routeConfigOf(r).virtualHosts[0];
  assert.deepEqual(vh.domains, ['*']);
  const [direct, fwd] = vh.routes;
  assert.deepEqual(direct.match.kind, 'path');
  assert.equal(direct.match.value, '/direct-response');
  assert.deepEqual(direct.match.headers[0].name, ':method');
  assert.deepEqual(direct.match.headers[0].match, { kind: 'exact', value: 'GET', ignoreCase: false });
  const d = direct.action as DirectResponseSnap;
  assert.equal(d.status, 200);
  assert.equal(Buffer.from(d.body!).toString('utf8'), 'meow! 🐱');
  assert.equal(fwd.match.kind, 'prefix');
  assert.equal((fwd.action as RouteActionSnap).cluster, 'cluster_http');
  const c = r.snapshot.clusters[0];
  assert.equal(c.name, 'cluster_http');
  assert.equal(c.type, 'static');
  assert.equal(c.lbPolicy, 'round_robin');
  assert.deepEqual(c.localities[0].endpoints.map((e) => e.address), [{ host: '127.0.0.1', port: 4001 }, { host: '127.0.0.1', port: 4002 }]);
});

test('the example configs translate without errors', () => {
  for (const name of ['envoy-bootstrap.yaml', 'headers-and-redirects.yaml']) {
    const f = loadConfigFile(new URL(`../conf/examples/${name}`, import.meta.url).pathname);
    const r = build(f.bootstrap);
    assert.deepEqual([...f.issues, ...errors(r)], [], name);
    assert.ok(r.snapshot.listeners.length > 0 && r.snapshot.clusters.length > 0, name);
  }
  const dns = build(loadConfigFile(new URL('../conf/examples/envoy-bootstrap.yaml', import.meta.url).pathname).bootstrap).snapshot.clusters[0];
  assert.equal(dns.type, 'strict_dns');
  assert.equal(dns.localities[0].endpoints[0].address.host, 'localhost');
  assert.equal(dns.dnsLookupFamily, 'v4_only');
  assert.equal(dns.idleTimeoutMs, 60_000);
});

test('Envoy defaults', () => {
  const r = build(boot());
  assert.deepEqual(errors(r), []);
  const h = hcmOf(r);
  assert.equal(h.codecType, 'auto');
  assert.equal(h.serverName, 'envoy');
  assert.equal(h.serverHeaderTransformation, 'overwrite');
  assert.equal(h.generateRequestId, true);
  assert.equal(h.maxRequestHeadersKb, 60);
  assert.equal(h.maxHeadersCount, 100);
  assert.equal(h.idleTimeoutMs, 3_600_000);
  assert.equal(h.streamIdleTimeoutMs, 300_000);
  assert.equal(h.requestTimeoutMs, 0);
  assert.equal(h.rds, false);
  assert.deepEqual(h.httpFilters.map((f) => f.typeName), ['envoy.extensions.filters.http.router.v3.Router']);
  const a = actionOf(r) as RouteActionSnap;
  assert.equal(a.timeoutMs, 15_000);
  assert.equal(a.clusterNotFoundResponseCode, 503);
  assert.equal(routeConfigOf(r).virtualHosts[0].routes[0].match.caseSensitive, true);
  const c = r.snapshot.clusters[0];
  assert.equal(c.connectTimeoutMs, 5000);
  assert.equal(c.dnsRefreshRateMs, 5000);
  assert.equal(c.perConnectionBufferLimitBytes, 1024 * 1024);
  assert.equal(c.upstreamProtocol, 'http1');
  assert.equal(c.statName, 'c');
  assert.deepEqual(c.circuitBreakers, [{ priority: 'default', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 }]);
  assert.equal(c.localities[0].endpoints[0].weight, 1);
  assert.equal(r.snapshot.listeners[0].perConnectionBufferLimitBytes, 1024 * 1024);
});

test('explicit HCM settings override the defaults', () => {
  const r = build(boot({
    hcm: {
      codec_type: 'HTTP1', server_name: 'orion', use_remote_address: true, xff_num_trusted_hops: 2, generate_request_id: false,
      max_request_headers_kb: 96, stream_idle_timeout: '0s', request_timeout: '10s', request_headers_timeout: '2.5s',
      common_http_protocol_options: { idle_timeout: '30s', max_headers_count: 50, max_requests_per_connection: 7 },
      server_header_transformation: 'PASS_THROUGH',
      upgrade_configs: [{ upgrade_type: 'WebSocket' }, { upgrade_type: 'h2c', enabled: false }],
    },
  }));
  assert.deepEqual(errors(r), []);
  const h = hcmOf(r);
  assert.deepEqual(
    [h.codecType, h.serverName, h.useRemoteAddress, h.xffNumTrustedHops, h.generateRequestId, h.maxRequestHeadersKb, h.streamIdleTimeoutMs, h.requestTimeoutMs, h.requestHeadersTimeoutMs, h.idleTimeoutMs, h.maxHeadersCount, h.maxRequestsPerConnection, h.serverHeaderTransformation],
    ['http1', 'orion', true, 2, false, 96, 0, 10_000, 2500, 30_000, 50, 7, 'pass_through'],
  );
  assert.deepEqual(h.upgradeTypes, ['websocket']);
});

test('listener stat prefixes follow Envoy: v4, v6 and explicit stat_prefix', () => {
  const v6 = build(boot({ listener: { address: { socket_address: { address: '::', port_value: 8000 } } } }));
  assert.equal(v6.snapshot.listeners[0].statPrefix, '[__]_8000');
  const named = build(boot({ listener: { stat_prefix: 'public' } }));
  assert.equal(named.snapshot.listeners[0].statPrefix, 'public');
});

test('camelCase input translates like snake_case', () => {
  const camel = {
    staticResources: {
      listeners: [{
        name: 'l0',
        address: { socketAddress: { address: '127.0.0.1', portValue: 8000 } },
        filterChains: [{ filters: [{ name: 'hcm', typedConfig: { '@type': HCM, statPrefix: 'ingress', routeConfig: { name: 'rc', virtualHosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] }, httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: ROUTER.typed_config }] } }] }],
      }],
      clusters: [{ name: 'c', loadAssignment: { clusterName: 'c', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: 4001 } } } }] }] } }],
    },
  };
  const a = build(camel);
  assert.deepEqual(a.issues, []);
  assert.deepEqual(a.snapshot, build(boot()).snapshot);
});

test('route matching: headers, query parameters, regex, case sensitivity', () => {
  const r = build(boot({
    routes: [{
      match: {
        safe_regex: { regex: '(?i)/API/v[0-9]+/(?P<rest>.*)' },
        case_sensitive: false,
        headers: [
          { name: 'X-Tenant', string_match: { prefix: 'a', ignore_case: true } },
          { name: 'x-debug', present_match: false },
          { name: 'x-range', range_match: { start: 1, end: 10 } },
          { name: 'x-legacy', exact_match: 'v', invert_match: true },
          { name: 'x-any' },
        ],
        query_parameters: [{ name: 'q', string_match: { exact: 'x' } }, { name: 'flag' }],
        grpc: {},
      },
      route: { cluster: 'c' },
    }],
  }));
  assert.deepEqual(errors(r), []);
  const m = routeConfigOf(r).virtualHosts[0].routes[0].match;
  assert.equal(m.kind, 'safe_regex');
  assert.equal(m.value, '(?i:/API/v[0-9]+/(?<rest>.*))');
  assert.equal(m.caseSensitive, false);
  assert.equal(m.grpc, true);
  assert.deepEqual(m.headers.map((h) => [h.name, h.match?.kind ?? null, h.present, h.range, h.invert]), [
    ['x-tenant', 'prefix', null, null, false],
    ['x-debug', null, false, null, false],
    ['x-range', null, null, { start: 1, end: 10 }, false],
    ['x-legacy', 'exact', null, null, true],
    ['x-any', null, true, null, false],
  ]);
  assert.deepEqual(m.queryParameters, [{ name: 'q', match: { kind: 'exact', value: 'x', ignoreCase: false }, present: null }, { name: 'flag', match: null, present: true }]);
});

test('bad regexes are errors with their path (RE2 has no lookaround or backreferences)', () => {
  const r = build(boot({
    routes: [
      { match: { safe_regex: { regex: '/(?=x)' } }, route: { cluster: 'c' } },
      { match: { prefix: '/', headers: [{ name: 'h', string_match: { safe_regex: { regex: '(a)\\1' } } }] }, route: { cluster: 'c' } },
      { match: { safe_regex: { regex: '/[unclosed' } }, route: { cluster: 'c' } },
    ],
  }));
  const vh = `${RC}.virtual_hosts[0]`;
  assert.match(at(r, `${vh}.routes[0].match.safe_regex.regex`).message, /lookahead/);
  assert.match(at(r, `${vh}.routes[1].match.headers[0].string_match.safe_regex.regex`).message, /backreference/);
  assert.match(at(r, `${vh}.routes[2].match.safe_regex.regex`).message, /missing closing \]/);
});

test('route actions: weighted clusters, rewrites, retries, hash policy', () => {
  const r = build(boot({
    clusters: [staticCluster('c'), staticCluster('d', 4002)],
    routes: [{
      match: { prefix: '/svc/' },
      route: {
        weighted_clusters: { clusters: [{ name: 'c', weight: 90 }, { name: 'd', weight: 10, request_headers_to_add: [{ header: { key: 'x-canary', value: '1' } }] }] },
        timeout: '0s',
        idle_timeout: '20s',
        prefix_rewrite: '/',
        regex_rewrite: { pattern: { regex: '^/svc/(.*)$' }, substitution: '/\\1' },
        host_rewrite_literal: 'svc.internal',
        retry_policy: { retry_on: '5xx, reset', retriable_status_codes: [503] },
        hash_policy: [{ header: { header_name: 'X-User' } }, { connection_properties: { source_ip: true }, terminal: true }],
        cluster_not_found_response_code: 'NOT_FOUND',
      },
    }],
  }));
  assert.deepEqual(errors(r), []);
  const a = actionOf(r) as RouteActionSnap;
  assert.deepEqual(a.weightedClusters.map((w) => [w.name, w.weight, w.headers?.requestToAdd[0]?.name ?? null]), [['c', 90, null], ['d', 10, 'x-canary']]);
  assert.equal(a.timeoutMs, 0);
  assert.equal(a.idleTimeoutMs, 20_000);
  assert.equal(a.prefixRewrite, '/');
  assert.deepEqual(a.regexRewrite, { pattern: '^/svc/(.*)$', substitution: '/\\1' });
  assert.equal(a.hostRewriteLiteral, 'svc.internal');
  assert.equal(a.clusterNotFoundResponseCode, 404);
  assert.deepEqual(a.retryPolicy, {
    retryOn: ['5xx', 'reset'], numRetries: 1, perTryTimeoutMs: 0, retriableStatusCodes: [503], baseIntervalMs: 25, maxIntervalMs: 250,
    previousHosts: false, hostSelectionRetryMaxAttempts: 1, retriableHeaders: [],
  });
  assert.deepEqual(a.hashPolicy, [{ kind: 'header', name: 'x-user', terminal: false }, { kind: 'source_ip', name: '', terminal: true }]);
});

test('redirects: response codes and parts', () => {
  const r = build(boot({
    routes: [
      { match: { prefix: '/a' }, redirect: { https_redirect: true, strip_query: true } },
      { match: { prefix: '/b' }, redirect: { host_redirect: 'example.org', port_redirect: 8443, path_redirect: '/x', response_code: 'TEMPORARY_REDIRECT' } },
      { match: { prefix: '/c' }, redirect: { prefix_rewrite: '/new', response_code: 'PERMANENT_REDIRECT' } },
      { match: { prefix: '/d' }, redirect: { scheme_redirect: 'HTTP', response_code: 'SEE_OTHER' } },
      { match: { prefix: '/e' }, redirect: { response_code: 'FOUND' } },
    ],
  }));
  assert.deepEqual(errors(r), []);
  const rs = routeConfigOf(r).virtualHosts[0].routes.map((x) => x.action as RedirectSnap);
  assert.deepEqual(rs.map((x) => x.responseCode), [301, 307, 308, 303, 302]);
  assert.deepEqual([rs[0].schemeRedirect, rs[0].stripQuery], ['https', true]);
  assert.deepEqual([rs[1].hostRedirect, rs[1].portRedirect, rs[1].pathRedirect], ['example.org', 8443, '/x']);
  assert.equal(rs[2].prefixRewrite, '/new');
  assert.equal(rs[3].schemeRedirect, 'http');
});

test('direct responses read files at translate time; a missing file is an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orion-dr-'));
  const body = join(dir, 'body.bin');
  writeFileSync(body, Buffer.from([0, 1, 2, 255]));
  const r = build(boot({
    routes: [
      { match: { prefix: '/f' }, direct_response: { status: 503, body: { filename: body } } },
      { match: { prefix: '/b' }, direct_response: { status: 200, body: { inline_bytes: Buffer.from('hi').toString('base64') } } },
      { match: { prefix: '/m' }, direct_response: { status: 200, body: { filename: join(dir, 'missing.txt') } } },
      { match: { prefix: '/big' }, direct_response: { status: 200, body: { inline_string: 'x'.repeat(5000) } } },
    ],
  }));
  const rs = routeConfigOf(r).virtualHosts[0].routes.map((x) => x.action as DirectResponseSnap);
  assert.deepEqual([...rs[0].body!], [0, 1, 2, 255]);
  assert.equal(rs[0].status, 503);
  assert.equal(Buffer.from(rs[1].body!).toString(), 'hi');
  assert.match(at(r, `${RC}.virtual_hosts[0].routes[2].direct_response.body.filename`).message, /ENOENT/);
  assert.match(at(r, `${RC}.virtual_hosts[0].routes[3].direct_response.body`).message, /4096/);
  assert.equal(errors(r).length, 2);
});

test('header mutations at every level', () => {
  const r = build(boot({
    vhost: { request_headers_to_add: [{ header: { key: 'X-VH', value: 'v' }, append: false }], response_headers_to_remove: ['X-Powered-By'] },
    routes: [{
      match: { prefix: '/' },
      route: { cluster: 'c' },
      request_headers_to_add: [{ header: { key: 'x-a', value: '1' }, append_action: 'ADD_IF_ABSENT', keep_empty_value: true }, { header: { key: 'x-b', value: '2' } }],
      response_headers_to_add: [{ header: { key: ':status', value: '200' } }, { header: { key: 'x-c', value: '3' }, append: true, append_action: 'OVERWRITE_IF_EXISTS' }],
      request_headers_to_remove: ['host'],
    }],
  }));
  const vh = routeConfigOf(r).virtualHosts[0];
  assert.deepEqual(vh.headers.requestToAdd, [{ name: 'x-vh', value: 'v', action: 'overwrite_if_exists_or_add', keepEmptyValue: false }]);
  assert.deepEqual(vh.headers.responseToRemove, ['x-powered-by']);
  const rt = vh.routes[0].headers;
  assert.deepEqual(rt.requestToAdd.map((h) => [h.name, h.action, h.keepEmptyValue]), [['x-a', 'add_if_absent', true], ['x-b', 'append_if_exists_or_add', false]]);
  const base = `${RC}.virtual_hosts[0].routes[0]`;
  assert.match(at(r, `${base}.response_headers_to_add[0].header.key`).message, /cannot be modified/);
  assert.match(at(r, `${base}.response_headers_to_add[1].append`).message, /both set/);
  assert.match(at(r, `${base}.request_headers_to_remove[0]`).message, /cannot be modified/);
});

test('virtual host domains are lower-cased and must be unique in a route config', () => {
  const r = build(boot({ hcm: { route_config: { name: 'rc', virtual_hosts: [{ name: 'a', domains: ['Example.COM', '*'] }, { name: 'b', domains: ['example.com'] }] } } }));
  assert.deepEqual(r.snapshot.routeConfigs[hcmOf(r).routeConfigName].virtualHosts[0].domains, ['example.com', '*']);
  assert.match(at(r, `${RC}.virtual_hosts[1].domains[0]`).message, /duplicate domain "example.com"/);
});

test('HTTP filters: unsupported required filter is an error, an optional one is dropped with a warning', () => {
  const cors = { name: 'envoy.filters.http.cors', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors' } };
  const wasm = { name: 'envoy.filters.http.wasm', is_optional: true, typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm' } };
  const r = build(boot({ hcm: { http_filters: [cors, wasm, ROUTER] } }));
  assert.match(at(r, `${TC}.http_filters[0]`).message, /HTTP filter "envoy.filters.http.cors" .* is not supported/);
  assert.match(at(r, `${TC}.http_filters[1]`, 'warning').message, /is_optional/);
  assert.equal(errors(r).length, 1);
  const ok = build(boot({ hcm: { http_filters: [wasm, ROUTER] } }));
  assert.deepEqual(errors(ok), []);
  assert.deepEqual(hcmOf(ok).httpFilters.map((f) => f.name), ['envoy.filters.http.router']);
  const misplaced = build(boot({ hcm: { http_filters: [ROUTER, { ...ROUTER, name: 'second' }] } }));
  assert.match(at(misplaced, `${TC}.http_filters[0]`).message, /must be the last/);
});

test('an Istio-style listener is accepted with warnings for what is not implemented', () => {
  const r = build({
    static_resources: {
      listeners: [{
        name: 'virtualOutbound',
        address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
        traffic_direction: 'OUTBOUND',
        use_original_dst: true,
        metadata: { filter_metadata: { istio: { config: '/apis/networking.istio.io/v1alpha3/namespaces/default' } } },
        listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }],
        istio_extra_field: 'x',
        filter_chains: [{
          filter_chain_match: { destination_port: 15001 },
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM,
              stat_prefix: 'outbound_0.0.0.0_15001',
              normalize_path: true,
              route_config: { name: 'r', virtual_hosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'BlackHoleCluster' } }] }] },
              http_filters: [
                { name: 'istio.metadata_exchange', is_optional: true, typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: 'type.googleapis.com/io.istio.http.peer_metadata.Config', value: { upstream_discovery: [] } } },
                ROUTER,
              ],
            },
          }],
        }],
      }],
      clusters: [{ ...staticCluster('BlackHoleCluster'), alt_stat_name: 'blackhole', metadata: { filter_metadata: { istio: {} } } }],
    },
  });
  assert.deepEqual(errors(r), []);
  // tls_inspector (listener_filters[0]) is served since the L4 work: no warning for it.
  for (const p of ['traffic_direction', 'use_original_dst', 'metadata']) {
    at(r, `static_resources.listeners[0].${p}`, 'warning');
    assert.ok(r.unsupported.includes(`static_resources.listeners[0].${p}`), p);
  }
  at(r, 'static_resources.listeners[0].istio_extra_field', 'warning');
  at(r, `${TC}.normalize_path`, 'warning');
  at(r, `${TC}.http_filters[0]`, 'warning');
  assert.equal(r.snapshot.clusters[0].statName, 'blackhole');
  assert.equal(r.snapshot.listeners[0].filterChains[0].match?.destinationPort, 15001);
  const strict = build(r.bootstrapDump, true);
  assert.ok(errors(strict).some((i) => i.path === 'static_resources.listeners[0].traffic_direction'));
});

test('what cannot be served correctly is refused', () => {
  const tls = { name: 'envoy.transport_sockets.tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext' } };
  const r = build(boot({
    listener: { filter_chains: [{ transport_socket: tls, filters: [] }] },
    clusters: [
      { name: 'c', type: 'ORIGINAL_DST' },
      { ...staticCluster('dup'), cluster_type: { name: 'envoy.clusters.aggregate' } },
      staticCluster('dup'),
      { name: 'byname', type: 'STATIC', load_assignment: { cluster_name: 'byname', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'backend.local', port_value: 80 } } } }] }] } },
    ],
  }));
  // TLS is translated; one without a certificate cannot be served.
  assert.match(at(r, 'static_resources.listeners[0].filter_chains[0].transport_socket.typed_config.common_tls_context').message, /needs a certificate/);
  assert.match(at(r, 'static_resources.clusters[0].lb_policy').message, /CLUSTER_PROVIDED/);
  at(r, 'static_resources.clusters[1].cluster_type');
  assert.match(at(r, 'static_resources.clusters[2].name').message, /duplicate cluster name/);
  assert.match(at(r, 'static_resources.clusters[3].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address').message, /STRICT_DNS/);
});

test('duplicate listener names and addresses are errors', () => {
  const b = boot();
  const l = b.static_resources.listeners[0];
  b.static_resources.listeners.push({ ...l }, { ...l, name: 'l1' });
  const r = build(b);
  assert.match(at(r, 'static_resources.listeners[1].name').message, /duplicate listener name/);
  assert.match(at(r, 'static_resources.listeners[2].address').message, /already used/);
});

test('unknown route clusters warn (503 at run time), and fail only in strict mode', () => {
  const r = build(boot({ routes: [{ match: { prefix: '/' }, route: { cluster: 'nope' } }] }));
  assert.deepEqual(errors(r), []);
  assert.match(at(r, `${RC}.virtual_hosts[0].routes[0].route`, 'warning').message, /unknown cluster "nope"/);
  assert.equal(errors(build(boot({ routes: [{ match: { prefix: '/' }, route: { cluster: 'nope' } }] }), true)).length, 1);
});

test('tcp_proxy with defaults and weighted clusters', () => {
  const r = build({
    static_resources: {
      listeners: [{
        name: 'tcp',
        address: { socket_address: { address: '127.0.0.1', port_value: 8001 } },
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', stat_prefix: 'tcp', weighted_clusters: { clusters: [{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }] } } }] }],
      }],
      clusters: [staticCluster('a'), staticCluster('b')],
    },
  });
  assert.deepEqual(r.issues, []);
  const f = r.snapshot.listeners[0].filterChains[0].filters[0] as TcpProxyFilterSnap;
  assert.equal(f.kind, 'tcp_proxy');
  assert.equal(f.idleTimeoutMs, 3_600_000);
  assert.equal(f.cluster, '');
  assert.deepEqual(f.weightedClusters.map((w) => [w.name, w.weight]), [['a', 1], ['b', 3]]);
});

test('clusters: upstream protocol, LB policies, circuit breakers, endpoints', () => {
  const hpo = (cfg: O): O => ({ 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', ...cfg } });
  const r = build(boot({
    clusters: [
      { ...staticCluster('c'), typed_extension_protocol_options: hpo({ explicit_http_config: { http2_protocol_options: {} }, common_http_protocol_options: { idle_timeout: '10s', max_requests_per_connection: 100 } }) },
      { ...staticCluster('legacy'), http2_protocol_options: {}, lb_policy: 'LEAST_REQUEST', least_request_lb_config: { choice_count: 3 } },
      {
        ...staticCluster('auto'), typed_extension_protocol_options: hpo({ auto_config: {} }), lb_policy: 'RING_HASH',
        // auto_config picks the protocol by ALPN, so it needs TLS.
        transport_socket: { name: 'tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext' } },
      },
      {
        ...staticCluster('typed'),
        load_balancing_policy: { policies: [
          { typed_extension_config: { name: 'x', typed_config: { '@type': 'type.googleapis.com/acme.Custom' } } },
          { typed_extension_config: { name: 'm', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.maglev.v3.Maglev', table_size: 5 } } },
        ] },
        circuit_breakers: { thresholds: [{ max_connections: 10 }, { priority: 'HIGH', max_retries: 9 }] },
        load_assignment: { cluster_name: 'typed', endpoints: [{ priority: 1, locality: { zone: 'z1' }, load_balancing_weight: 3, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '::1', port_value: 1 } }, hostname: 'h' }, load_balancing_weight: 5, health_status: 'DRAINING' }] }] },
      },
      { name: 'logical', type: 'LOGICAL_DNS', load_assignment: { cluster_name: 'logical', endpoints: [{ lb_endpoints: [] }] } },
    ],
  }));
  const [c, legacy, auto, typed] = r.snapshot.clusters;
  assert.deepEqual([c.upstreamProtocol, c.idleTimeoutMs, c.maxRequestsPerConnection], ['http2', 10_000, 100]);
  assert.deepEqual([legacy.upstreamProtocol, legacy.lbPolicy, legacy.lbConfig], ['http2', 'least_request', { choiceCount: 3, activeRequestBias: 1 }]);
  assert.deepEqual([auto.upstreamProtocol, auto.lbPolicy], ['auto', 'ring_hash']);
  assert.deepEqual([typed.lbPolicy, typed.lbConfig], ['maglev', { tableSize: 5 }]);
  assert.deepEqual(typed.circuitBreakers, [
    { priority: 'default', maxConnections: 10, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
    { priority: 'high', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 9 },
  ]);
  const loc = typed.localities[0];
  assert.deepEqual([loc.priority, loc.loadBalancingWeight, loc.locality.zone], [1, 3, 'z1']);
  assert.deepEqual(loc.endpoints[0], { address: { host: '::1', port: 1 }, hostname: 'h', weight: 5, healthStatus: 'draining', metadata: {} });
  at(r, 'static_resources.clusters[3].load_balancing_policy.policies[0].typed_extension_config', 'warning');
  assert.match(at(r, 'static_resources.clusters[4].load_assignment').message, /LOGICAL_DNS/);
  assert.equal(errors(r).length, 1);
});

test('hashes are stable and change only with the object they cover', () => {
  const a = build(boot()).snapshot;
  const b = build(boot()).snapshot;
  assert.equal(a.listeners[0].hash, b.listeners[0].hash);
  assert.equal(a.clusters[0].hash, b.clusters[0].hash);
  const c = build(boot({ clusters: [staticCluster('c', 4009)] })).snapshot;
  assert.notEqual(c.clusters[0].hash, a.clusters[0].hash);
  assert.equal(c.listeners[0].hash, a.listeners[0].hash);
  const d = build(boot({ hcm: { server_name: 'x' } })).snapshot;
  assert.notEqual(d.listeners[0].hash, a.listeners[0].hash);
});

test('RDS, EDS and dynamic_resources become xDS subscriptions; ads sources need ads_config', () => {
  const ads = { api_type: 'GRPC', grpc_services: [{ envoy_grpc: { cluster_name: 'c' } }] };
  const eds = { name: 'e', type: 'EDS', eds_cluster_config: { service_name: 'svc', eds_config: { ads: {}, initial_fetch_timeout: '2s' } } };
  const r = build({
    ...boot({ hcm: { route_config: undefined, rds: { route_config_name: 'dyn', config_source: { ads: {} } } }, clusters: [staticCluster('c'), eds] }),
    dynamic_resources: { cds_config: { ads: {} }, lds_config: { path_config_source: { path: '/tmp/lds.yaml' } }, ads_config: ads },
  });
  assert.deepEqual(errors(r), []);
  assert.deepEqual([hcmOf(r).rds, hcmOf(r).routeConfigName], [true, 'dyn']);
  assert.deepEqual(r.xds?.refs.rds.map((x) => [x.name, x.source.kind]), [['dyn', 'ads']]);
  assert.deepEqual(r.xds?.refs.eds.map((x) => [x.cluster, x.serviceName, x.source.initialFetchTimeoutMs]), [['e', 'svc', 2000]]);
  assert.equal(r.xds?.ads?.apiType, 'GRPC');
  assert.equal(r.xds?.ads?.service.clusterName, 'c');
  assert.deepEqual([r.xds?.cds?.kind, r.xds?.lds?.kind], ['ads', 'path']);

  const noAds = build({ ...boot(), dynamic_resources: { cds_config: { ads: {} } } });
  assert.deepEqual(errors(noAds).map((i) => i.path), ['dynamic_resources.ads_config']);
  const notStatic = build({ ...boot(), dynamic_resources: { ads_config: { ...ads, grpc_services: [{ envoy_grpc: { cluster_name: 'nope' } }] } } });
  assert.match(errors(notStatic)[0].message, /"nope" must be a static cluster/);
  const rest = build({ ...boot(), dynamic_resources: { ads_config: { ...ads, api_type: 'REST' } } });
  assert.deepEqual(errors(rest).map((i) => i.path), ['dynamic_resources.ads_config.api_type']);
});
