// The config snapshot: the only contract between the primary and its workers.
// The primary translates Envoy protos into these plain, immutable shapes once; workers compile
// them into runtime objects and never see a proto. Everything here must survive msgpackr, so
// only plain objects, arrays, strings, numbers, booleans, null and Uint8Array.
// Durations are milliseconds; 0 means "disabled" where Envoy treats 0 as disabled.

export interface Snapshot {
  /** Monotonic per primary; workers ignore an older one. */
  version: number;
  listeners: ListenerSnap[];
  clusters: ClusterSnap[];
  /** Route configs by name: inline HCM route configs are stored here too, under a synthetic name. */
  routeConfigs: Record<string, RouteConfigSnap>;
  node: NodeSnap;
  /** Listener drain time used on removal and shutdown. */
  drainTimeMs: number;
}

export interface NodeSnap {
  id: string;
  cluster: string;
}

export interface SocketAddress {
  host: string;
  port: number;
}

// ---------------------------------------------------------------- listeners

export interface ListenerSnap {
  name: string;
  address: SocketAddress;
  /** Prefix of listener stats: `listener.<statPrefix>.` (Envoy uses the address, e.g. 0.0.0.0_8000). */
  statPrefix: string;
  filterChains: FilterChainSnap[];
  defaultFilterChain: FilterChainSnap | null;
  perConnectionBufferLimitBytes: number;
  /** Opaque change-detection key: a listener whose key is unchanged keeps its socket and connections. */
  hash: string;
}

export interface FilterChainSnap {
  name: string;
  match: FilterChainMatchSnap | null;
  filters: NetworkFilterSnap[];
}

export interface FilterChainMatchSnap {
  destinationPort: number | null;
  serverNames: string[];
  transportProtocol: string;
  applicationProtocols: string[];
  sourceType: 'any' | 'local' | 'external';
  prefixRanges: CidrSnap[];
  sourcePrefixRanges: CidrSnap[];
  sourcePorts: number[];
}

export interface CidrSnap {
  address: string;
  prefixLen: number;
}

export type NetworkFilterSnap = HcmFilterSnap | TcpProxyFilterSnap;

export interface HcmFilterSnap {
  kind: 'http_connection_manager';
  name: string;
  hcm: HcmSnap;
}

export interface TcpProxyFilterSnap {
  kind: 'tcp_proxy';
  name: string;
  statPrefix: string;
  cluster: string;
  weightedClusters: WeightedClusterSnap[];
  idleTimeoutMs: number;
}

export interface HcmSnap {
  statPrefix: string;
  codecType: 'auto' | 'http1' | 'http2';
  /** Name of the route config in `Snapshot.routeConfigs` (inline configs get a synthetic name). */
  routeConfigName: string;
  /** True when the route config comes over RDS (not yet applied configs have no entry). */
  rds: boolean;
  httpFilters: HttpFilterSnap[];
  serverName: string;
  /** 'overwrite' | 'append_if_absent' | 'pass_through' (Envoy's server_header_transformation). */
  serverHeaderTransformation: 'overwrite' | 'append_if_absent' | 'pass_through';
  useRemoteAddress: boolean;
  xffNumTrustedHops: number;
  skipXffAppend: boolean;
  generateRequestId: boolean;
  preserveExternalRequestId: boolean;
  maxRequestHeadersKb: number;
  maxHeadersCount: number;
  /** Downstream idle timeout for a connection with no active stream (common_http_protocol_options.idle_timeout, default 1h). */
  idleTimeoutMs: number;
  requestTimeoutMs: number;
  requestHeadersTimeoutMs: number;
  streamIdleTimeoutMs: number;
  maxRequestsPerConnection: number;
  /** Envoy's default upgrade types allowed (e.g. websocket) — the WebSocket issue fills this in. */
  upgradeTypes: string[];
  accessLogs: AccessLogSnap[];
}

export interface HttpFilterSnap {
  name: string;
  /** Fully-qualified config type, e.g. envoy.extensions.filters.http.router.v3.Router. */
  typeName: string;
  isOptional: boolean;
  disabled: boolean;
  /** Filter-specific translated config, shaped by the filter's own translator. */
  config: unknown;
}

export interface AccessLogSnap {
  name: string;
  path: string;
  format: string | null;
  jsonFormat: Record<string, unknown> | null;
}

// ---------------------------------------------------------------- routes

export interface RouteConfigSnap {
  name: string;
  virtualHosts: VirtualHostSnap[];
  headers: HeaderMutationSnap;
  /** Envoy's most_specific_header_mutations_wins. */
  mostSpecificHeaderMutationsWins: boolean;
  /** Envoy's response_headers_to_add etc. applies to locally generated responses only if this... kept for parity */
  internalOnlyHeaders: string[];
}

export interface HeaderMutationSnap {
  requestToAdd: HeaderValueOptionSnap[];
  requestToRemove: string[];
  responseToAdd: HeaderValueOptionSnap[];
  responseToRemove: string[];
}

export interface HeaderValueOptionSnap {
  /** Lower-cased. */
  name: string;
  value: string;
  action: 'append_if_exists_or_add' | 'add_if_absent' | 'overwrite_if_exists_or_add' | 'overwrite_if_exists';
  keepEmptyValue: boolean;
}

export interface VirtualHostSnap {
  name: string;
  /** Lower-cased domains as configured: exact, `*.suffix`, `prefix*`, `*`, with optional `:port`. */
  domains: string[];
  routes: RouteSnap[];
  headers: HeaderMutationSnap;
  requireTls: 'none' | 'external_only' | 'all';
  typedPerFilterConfig: Record<string, unknown>;
}

export interface RouteSnap {
  name: string;
  match: RouteMatchSnap;
  action: RouteActionSnap | DirectResponseSnap | RedirectSnap;
  headers: HeaderMutationSnap;
  typedPerFilterConfig: Record<string, unknown>;
}

export interface RouteMatchSnap {
  kind: 'prefix' | 'path' | 'safe_regex' | 'path_separated_prefix' | 'connect';
  /** Prefix, exact path or regex source (RE2 syntax translated to JS by the primary). */
  value: string;
  caseSensitive: boolean;
  headers: HeaderMatcherSnap[];
  queryParameters: QueryParamMatcherSnap[];
  grpc: boolean;
}

export interface StringMatchSnap {
  kind: 'exact' | 'prefix' | 'suffix' | 'contains' | 'safe_regex';
  value: string;
  ignoreCase: boolean;
}

export interface HeaderMatcherSnap {
  /** Lower-cased header name; pseudo headers `:path`, `:method`, `:authority`, `:scheme` allowed. */
  name: string;
  /** `present` matchers have match null and `present` set; range matchers use `range`. */
  match: StringMatchSnap | null;
  present: boolean | null;
  range: { start: number; end: number } | null;
  invert: boolean;
  treatMissingAsEmpty: boolean;
}

export interface QueryParamMatcherSnap {
  name: string;
  match: StringMatchSnap | null;
  present: boolean | null;
}

export interface RouteActionSnap {
  kind: 'route';
  /** Exactly one of cluster / clusterHeader / weightedClusters is set. */
  cluster: string;
  clusterHeader: string;
  weightedClusters: WeightedClusterSnap[];
  clusterNotFoundResponseCode: number;
  /** Route timeout, default 15000; 0 disables. */
  timeoutMs: number;
  idleTimeoutMs: number;
  prefixRewrite: string | null;
  regexRewrite: { pattern: string; substitution: string } | null;
  hostRewriteLiteral: string | null;
  autoHostRewrite: boolean;
  hostRewriteHeader: string | null;
  retryPolicy: RetryPolicySnap | null;
  hashPolicy: HashPolicySnap[];
  upgradeConfigs: { upgradeType: string; enabled: boolean }[];
}

export interface WeightedClusterSnap {
  name: string;
  weight: number;
  headers: HeaderMutationSnap | null;
}

export interface RetryPolicySnap {
  retryOn: string[];
  numRetries: number;
  perTryTimeoutMs: number;
  retriableStatusCodes: number[];
  baseIntervalMs: number;
  maxIntervalMs: number;
}

export interface HashPolicySnap {
  kind: 'header' | 'cookie' | 'source_ip' | 'query_parameter';
  name: string;
  terminal: boolean;
}

export interface DirectResponseSnap {
  kind: 'direct_response';
  status: number;
  body: Uint8Array | null;
}

export interface RedirectSnap {
  kind: 'redirect';
  schemeRedirect: string | null;
  hostRedirect: string | null;
  portRedirect: number;
  pathRedirect: string | null;
  prefixRewrite: string | null;
  /** HTTP status: 301 (default), 302, 303, 307, 308. */
  responseCode: number;
  stripQuery: boolean;
}

// ---------------------------------------------------------------- clusters

export type ClusterDiscoveryType = 'static' | 'strict_dns' | 'logical_dns' | 'eds' | 'original_dst';

export interface ClusterSnap {
  name: string;
  /** Name used in stats (`alt_stat_name` when given). */
  statName: string;
  type: ClusterDiscoveryType;
  connectTimeoutMs: number;
  lbPolicy: string;
  /** Policy-specific config from the LB registry's translator. */
  lbConfig: unknown;
  /** Endpoints grouped by locality and priority (for EDS: the latest assignment). */
  localities: LocalityEndpointsSnap[];
  dnsRefreshRateMs: number;
  dnsLookupFamily: 'auto' | 'v4_only' | 'v6_only' | 'v4_preferred' | 'all';
  perConnectionBufferLimitBytes: number;
  /** Upstream HTTP protocol: 'http1' (default), 'http2' or 'auto'. */
  upstreamProtocol: 'http1' | 'http2' | 'auto';
  maxRequestsPerConnection: number;
  /** Upstream connection idle timeout (common_http_protocol_options.idle_timeout, default 1h). */
  idleTimeoutMs: number;
  circuitBreakers: CircuitBreakerThresholdsSnap[];
  hash: string;
}

export interface LocalityEndpointsSnap {
  priority: number;
  loadBalancingWeight: number;
  locality: { region: string; zone: string; subZone: string };
  endpoints: EndpointSnap[];
}

export interface EndpointSnap {
  address: SocketAddress;
  hostname: string;
  weight: number;
  healthStatus: 'unknown' | 'healthy' | 'unhealthy' | 'draining' | 'timeout' | 'degraded';
  metadata: Record<string, unknown>;
}

export interface CircuitBreakerThresholdsSnap {
  priority: 'default' | 'high';
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
}
