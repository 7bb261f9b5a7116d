// Envoy bootstrap builders for tests: plain objects written as JSON (the CLI takes JSON or YAML).

export interface RouteSpec {
  match: Record<string, unknown>;
  route?: Record<string, unknown>;
  direct_response?: Record<string, unknown>;
  redirect?: Record<string, unknown>;
  request_headers_to_add?: unknown[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: unknown[];
  response_headers_to_remove?: string[];
}

export function staticCluster(name: string, ports: number[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } } })) }],
    },
    ...extra,
  };
}

export function httpListener(port: number, virtualHosts: Record<string, unknown>[], hcmExtra: Record<string, unknown> = {}, routeConfigExtra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `listener_${port}`,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefix: 'ingress_http',
          route_config: { name: 'local_route', virtual_hosts: virtualHosts, ...routeConfigExtra },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
          ...hcmExtra,
        },
      }],
    }],
  };
}

export function vhost(name: string, domains: string[], routes: RouteSpec[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, domains, routes, ...extra };
}

export function bootstrap(adminPort: number, listeners: unknown[], clusters: unknown[]): string {
  return JSON.stringify({
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    static_resources: { listeners, clusters },
  }, null, 2);
}
