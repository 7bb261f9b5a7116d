// A Setup as an Envoy bootstrap (JSON), run by orion and, when ENVOY_BIN is set, by Envoy itself.
import { routeTable, type Env, type Setup } from './setup.ts';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const DOWNSTREAM_TLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const HTTP_OPTIONS = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

function cluster(name: string, port: number, h2: boolean): Record<string, unknown> {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }],
    },
    // Large enough that no breaker trips under 10,000 connections or 400 concurrent streams.
    circuit_breakers: { thresholds: [{ max_connections: 100000, max_pending_requests: 100000, max_requests: 100000 }] },
    ...(h2 ? { typed_extension_protocol_options: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': HTTP_OPTIONS, explicit_http_config: { http2_protocol_options: {} } } } } : {}),
  };
}

function routes(s: Setup): Record<string, unknown>[] {
  const cl = s.upstream === 'grpc' ? 'grpc_origin' : 'origin';
  if (!s.routes) return [{ match: { prefix: '/' }, route: { cluster: cl } }];
  return routeTable(s.routes).map((r) => ({
    match: r.kind === 'prefix' ? { prefix: r.value } : r.kind === 'exact' ? { path: r.value } : { safe_regex: { regex: r.value } },
    route: { cluster: cl },
  }));
}

export function orionConfig(s: Setup, env: Env): string {
  const { ports } = env;
  let filter: Record<string, unknown>;
  if (s.front === 'tcp') {
    filter = { name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: 'bench_tcp', cluster: 'origin' } };
  } else {
    filter = {
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: {
        '@type': HCM,
        stat_prefix: 'bench',
        codec_type: s.front === 'h2c' ? 'HTTP2' : 'AUTO',
        route_config: { name: 'bench', virtual_hosts: [{ name: 'all', domains: ['*'], routes: routes(s) }] },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } }],
        ...(s.front === 'h2c' || s.front === 'tls' ? { http2_protocol_options: { max_concurrent_streams: 1000 } } : {}),
      },
    };
  }
  const chain: Record<string, unknown> = { filters: [filter] };
  if (s.front === 'tls') {
    chain.transport_socket = {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': DOWNSTREAM_TLS,
        common_tls_context: {
          alpn_protocols: ['h2', 'http/1.1'],
          tls_certificates: [{ certificate_chain: { filename: env.cert }, private_key: { filename: env.key } }],
        },
      },
    };
  }
  const boot = {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: ports.admin } } },
    static_resources: {
      listeners: [{ name: 'bench', address: { socket_address: { address: '127.0.0.1', port_value: ports.proxy } }, filter_chains: [chain] }],
      clusters: [cluster('origin', ports.origin, false), ...(s.upstream === 'grpc' ? [cluster('grpc_origin', ports.grpcOrigin, true)] : [])],
    },
  };
  return JSON.stringify(boot, null, 1);
}

