// Translation of the L4 config: listener filters (Kmesh TLV directly and in a TypedStruct),
// internal listeners and endpoints, internal_upstream, tcp_proxy options, connection_limit and
// CONNECT upgrade configs become the snapshot; what cannot be served is refused with its path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot, type BuildResult } from '../src/primary/config/build.ts';
import type { ConfigIssue } from '../src/shared/errors.ts';
import type { HcmFilterSnap, RouteActionSnap, TcpProxyFilterSnap } from '../src/shared/snapshot.ts';
import { cluster, direct, hcm, INTERNAL_LISTENER_EXT, internalCluster, listenerAt, tcpProxy } from './lib/l4.ts';

type O = Record<string, unknown>;

function build(b: unknown, strict = false): BuildResult {
  return buildSnapshot(b, { version: 1, drainTimeMs: 1000, strict });
}

function boot(listeners: unknown[], clusters: unknown[] = [], extra: O = {}): O {
  return { static_resources: { listeners, clusters }, ...extra };
}

function errors(r: BuildResult): ConfigIssue[] {
  return r.issues.filter((i) => i.severity === 'error');
}

function at(r: BuildResult, path: string, severity: 'error' | 'warning' = 'error'): ConfigIssue {
  const hit = r.issues.find((i) => i.path === path && i.severity === severity);
  assert.ok(hit, `no ${severity} at ${path}; got:\n${r.issues.map((i) => `${i.severity} ${i.path}: ${i.message}`).join('\n')}`);
  return hit;
}

const KMESH = 'type.googleapis.com/envoy.extensions.filters.listener.kmesh_tlv.v3.KmeshTlv';
const PP = 'type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol';

test('listener filters: PROXY protocol options, inspectors, Kmesh TLV direct and as TypedStruct', () => {
  const r = build(boot([listenerAt('l', 1, [{ filters: [hcm('h', [direct('x')])] }], {
    listener_filters: [
      { name: 'pp', typed_config: { '@type': PP, stat_prefix: 'p', allow_requests_without_proxy_protocol: true, rules: [{ tlv_type: 0xea, on_tlv_present: { key: 'k' } }], pass_through_tlvs: { match_type: 'INCLUDE', tlv_type: [1, 2] }, disallowed_versions: ['V1'] } },
      { name: 'envoy.filters.listener.tls_inspector' },
      { name: 'k1', typed_config: { '@type': KMESH } },
      { name: 'k2', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: KMESH, value: {} } },
      { name: 'h', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' } },
    ],
    listener_filters_timeout: '2s',
    continue_on_listener_filters_timeout: true,
  })]));
  assert.deepEqual(errors(r), []);
  const l = r.snapshot.listeners[0];
  assert.deepEqual(l.listenerFilters, [
    { kind: 'proxy_protocol', name: 'pp', rules: [{ tlvType: 0xea, namespace: 'envoy.filters.listener.proxy_protocol', key: 'k' }], allowRequestsWithoutProxyProtocol: true, passThroughTlvs: { all: false, types: [1, 2] }, disallowedVersions: [1], statPrefix: 'p' },
    { kind: 'tls_inspector', name: 'envoy.filters.listener.tls_inspector', maxClientHelloBytes: 16384 },
    { kind: 'kmesh_tlv', name: 'k1' },
    { kind: 'kmesh_tlv', name: 'k2' },
    { kind: 'http_inspector', name: 'h' },
  ]);
  assert.equal(l.listenerFiltersTimeoutMs, 2000);
  assert.equal(l.continueOnListenerFiltersTimeout, true);
});

test('refused and warned listener filters; original_dst is a warning (no SO_ORIGINAL_DST on Node)', () => {
  const r = build(boot([listenerAt('l', 1, [{ filters: [hcm('h', [direct('x')])] }], {
    listener_filters: [
      { name: 'pp', typed_config: { '@type': PP, disallowed_versions: ['V1', 'V2'] } },
      { name: 'x', typed_config: { '@type': 'type.googleapis.com/acme.Unknown' } },
      { name: 'od', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' } },
    ],
  })]));
  at(r, 'static_resources.listeners[0].listener_filters[0].typed_config.disallowed_versions');
  at(r, 'static_resources.listeners[0].listener_filters[1]');
  assert.match(at(r, 'static_resources.listeners[0].listener_filters[2]', 'warning').message, /SO_ORIGINAL_DST/);
  assert.ok(errors(build(r.bootstrapDump, true)).some((i) => i.path === 'static_resources.listeners[0].listener_filters[2]'));
});

test('filter_chain_match: direct source ranges kept, bad wildcards and overlapping chains refused', () => {
  const chain = (m: O) => ({ filter_chain_match: m, filters: [hcm('h', [direct('x')])] });
  const ok = build(boot([listenerAt('l', 1, [
    chain({ server_names: ['a.example.com', '*.example.com'], direct_source_prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: 8 }] }),
    chain({ server_names: ['b.example.com'] }),
  ])]));
  assert.deepEqual(errors(ok), []);
  assert.deepEqual(ok.snapshot.listeners[0].filterChains[0].match?.directSourcePrefixRanges, [{ address: '10.0.0.0', prefixLen: 8 }]);
  const bad = build(boot([listenerAt('l', 1, [
    chain({ server_names: ['*'] }),
    chain({ server_names: ['a.*.com'] }),
    chain({ server_names: ['x.test', 'y.test'] }),
    chain({ server_names: ['y.test'] }),
  ])]));
  at(bad, 'static_resources.listeners[0].filter_chains[0].filter_chain_match.server_names[0]');
  at(bad, 'static_resources.listeners[0].filter_chains[1].filter_chain_match.server_names[0]');
  assert.match(at(bad, 'static_resources.listeners[0].filter_chains[3]').message, /same filter_chain_match as filter_chains\[2\]/);
});

test('internal listeners, internal endpoints and internal_upstream become the snapshot', () => {
  const transport = {
    name: 'envoy.transport_sockets.internal_upstream',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport',
      passthrough_metadata: [{ kind: { host: {} }, name: 'a' }, { kind: { cluster: {} }, name: 'b' }],
      transport_socket: { name: 'envoy.transport_sockets.raw_buffer', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } },
    },
  };
  const ext = { ...INTERNAL_LISTENER_EXT, typed_config: { ...INTERNAL_LISTENER_EXT.typed_config, buffer_size_kb: 64 } };
  const r = build(boot(
    [{ name: 'inner', internal_listener: {}, filter_chains: [{ filters: [tcpProxy('inner', 'c')] }] }, listenerAt('outer', 1, [{ filters: [tcpProxy('outer', 'to_inner')] }])],
    [internalCluster('to_inner', 'inner', { transport_socket: transport, metadata: { filter_metadata: { b: { x: 1 } } } }), cluster('c', [2])],
    { bootstrap_extensions: [ext] },
  ));
  assert.deepEqual(errors(r), []);
  assert.deepEqual(r.snapshot.internalListener, { bufferSizeBytes: 64 * 1024 });
  assert.equal(r.snapshot.listeners[0].internal, true);
  assert.equal(r.snapshot.listeners[0].statPrefix, 'inner');
  const c = r.snapshot.clusters[0];
  assert.deepEqual(c.localities[0].endpoints[0].internal, { serverListenerName: 'inner', endpointId: '' });
  assert.deepEqual(c.internalUpstream, { passthroughMetadata: [{ kind: 'host', name: 'a' }, { kind: 'cluster', name: 'b' }] });
  assert.deepEqual(c.metadata, { b: { x: 1 } });
});

test('internal use without the bootstrap extension, request metadata kinds and non-raw inner sockets are refused', () => {
  const transport = (kind: O, inner: O) => ({
    name: 'iu',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport',
      passthrough_metadata: [{ kind, name: 'n' }],
      transport_socket: inner,
    },
  });
  const r = build(boot(
    [{ name: 'inner', internal_listener: {}, filter_chains: [{ filters: [tcpProxy('inner', 'c')] }] }],
    [
      internalCluster('a', 'inner', { transport_socket: transport({ request: {} }, { name: 'envoy.transport_sockets.raw_buffer' }) }),
      internalCluster('b', 'missing', { transport_socket: transport({ host: {} }, { name: 'tls', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext' } }) }),
      cluster('c', [2]),
    ],
  ));
  at(r, 'static_resources.listeners[0].internal_listener');
  at(r, 'static_resources.clusters[0].load_assignment');
  at(r, 'static_resources.clusters[0].transport_socket.typed_config.passthrough_metadata[0].kind');
  at(r, 'static_resources.clusters[1].transport_socket.typed_config.transport_socket');
  assert.match(at(r, 'static_resources.clusters[1].load_assignment', 'warning').message, /no internal listener named "missing"/);
});

test('tcp_proxy options, tunneling_config and connection_limit; CONNECT upgrade configs', () => {
  const r = build(boot([
    listenerAt('t', 1, [{
      filters: [
        { name: 'cl', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit', stat_prefix: 'cl', max_connections: 5, delay: '0.2s' } },
        tcpProxy('t', 'c', { max_connect_attempts: 3, max_downstream_connection_duration: '10s', idle_timeout: '0s', tunneling_config: { hostname: '%DOWNSTREAM_LOCAL_ADDRESS%', use_post: true, post_path: '/tunnel', headers_to_add: [{ header: { key: 'x-a', value: 'b' } }] } }),
      ],
    }]),
    listenerAt('h', 2, [{ filters: [hcm('h', [{ match: { connect_matcher: {} }, route: { cluster: 'c', upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: { allow_post: true } }] } }], { http2_protocol_options: { allow_connect: true }, upgrade_configs: [{ upgrade_type: 'CONNECT' }] })] }]),
  ], [cluster('c', [3])]));
  assert.deepEqual(errors(r), []);
  const [cl, tp] = r.snapshot.listeners[0].filterChains[0].filters;
  assert.deepEqual(cl, { kind: 'connection_limit', name: 'cl', statPrefix: 'cl', maxConnections: 5, delayMs: 200 });
  const t = tp as TcpProxyFilterSnap;
  assert.equal(t.maxConnectAttempts, 3);
  assert.equal(t.maxDownstreamConnectionDurationMs, 10_000);
  assert.equal(t.idleTimeoutMs, 0);
  assert.deepEqual(t.tunneling, { hostname: '%DOWNSTREAM_LOCAL_ADDRESS%', usePost: true, postPath: '/tunnel', headersToAdd: [{ name: 'x-a', value: 'b', action: 'append_if_exists_or_add', keepEmptyValue: false }] });
  const h = (r.snapshot.listeners[1].filterChains[0].filters[0] as HcmFilterSnap).hcm;
  assert.equal(h.http2AllowConnect, true);
  assert.deepEqual(h.upgradeTypes, ['connect']);
  const rc = r.snapshot.routeConfigs[h.routeConfigName];
  const a = rc.virtualHosts[0].routes[0].action as RouteActionSnap;
  assert.equal(rc.virtualHosts[0].routes[0].match.kind, 'connect');
  assert.deepEqual(a.upgradeConfigs, [{ upgradeType: 'connect', enabled: true, connectConfig: { allowPost: true } }]);
  const bad = build(boot([listenerAt('t', 1, [{ filters: [tcpProxy('t', '', { tunneling_config: { hostname: 'h', post_path: '/x' }, on_demand: {} })] }])]));
  at(bad, 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.tunneling_config.post_path');
  at(bad, 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.on_demand');
  at(bad, 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config');
});
