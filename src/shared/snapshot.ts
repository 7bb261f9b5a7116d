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
  /** SDS secrets by name (static `secrets` and dynamic ones); the TLS code resolves references here. */
  secrets?: Record<string, SecretSnap>;
  /** Bootstrap extension envoy.bootstrap.internal_listener; absent/null: no internal listeners. */
  internalListener?: InternalListenerSnap | null;
}

export interface InternalListenerSnap {
  /** buffer_size_kb in bytes (default 1 MiB): each direction of an internal connection buffers at most this. */
  bufferSizeBytes: number;
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
  /** `internal_listener: {}`: no socket; reached by name from envoy_internal_address endpoints. */
  internal?: boolean;
  /** Listener filters, run in order on each accepted connection before filter-chain selection. */
  listenerFilters?: ListenerFilterSnap[];
  /** listener_filters_timeout (default 15 s; 0 disables). */
  listenerFiltersTimeoutMs?: number;
  /** continue_on_listener_filters_timeout: on timeout pick a chain with what is known instead of closing. */
  continueOnListenerFiltersTimeout?: boolean;
  /** Opaque change-detection key: a listener whose key is unchanged keeps its socket and connections. */
  hash: string;
}

export type ListenerFilterSnap =
  | ProxyProtocolFilterSnap
  | { kind: 'tls_inspector'; name: string; /** Largest ClientHello inspected (initial_read_buffer_size bounds the first read). */ maxClientHelloBytes: number }
  | { kind: 'http_inspector'; name: string }
  | { kind: 'kmesh_tlv'; name: string }
  | { kind: 'original_dst'; name: string };

export interface ProxyProtocolFilterSnap {
  kind: 'proxy_protocol';
  name: string;
  /** TLV type → dynamic metadata `namespace`.`key` (namespace defaults to envoy.filters.listener.proxy_protocol). */
  rules: { tlvType: number; namespace: string; key: string }[];
  allowRequestsWithoutProxyProtocol: boolean;
  /** TLVs kept with the connection for an upstream PROXY header; null keeps none. */
  passThroughTlvs: { all: boolean; types: number[] } | null;
  /** 1 and/or 2. */
  disallowedVersions: number[];
  /** Stats go to `proxy_proto.<statPrefix>.` ('' → `proxy_proto.`). */
  statPrefix: string;
}

export interface FilterChainSnap {
  name: string;
  match: FilterChainMatchSnap | null;
  filters: NetworkFilterSnap[];
  /** transport_socket DownstreamTlsContext: the chain terminates TLS before its filters; null/absent: raw_buffer. */
  tls?: DownstreamTlsSnap | null;
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
  /** direct_source_prefix_ranges: the peer of the socket, before PROXY protocol rewrote it. */
  directSourcePrefixRanges?: CidrSnap[];
}

export interface CidrSnap {
  address: string;
  prefixLen: number;
}

export type NetworkFilterSnap = HcmFilterSnap | TcpProxyFilterSnap | ConnectionLimitFilterSnap;

/** envoy.filters.network.connection_limit: a non-terminal filter ahead of the chain's terminal one. */
export interface ConnectionLimitFilterSnap {
  kind: 'connection_limit';
  name: string;
  statPrefix: string;
  maxConnections: number;
  /** Delay before closing a connection over the limit. */
  delayMs: number;
}

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
  /** Connect attempts before giving up (default 1). */
  maxConnectAttempts?: number;
  /** 0: unlimited. */
  maxDownstreamConnectionDurationMs?: number;
  /** tunneling_config: carry the bytes in an HTTP CONNECT (or POST) stream to the upstream. */
  tunneling?: TunnelingConfigSnap | null;
  /** Access logs written when the connection closes (the hook exists; writers come later). */
  accessLogs?: AccessLogSnap[];
}

export interface TunnelingConfigSnap {
  /** :authority of the CONNECT request; may hold %DOWNSTREAM_LOCAL_PORT% style substitutions. */
  hostname: string;
  usePost: boolean;
  /** :path for use_post (default "/"). */
  postPath: string;
  headersToAdd: HeaderValueOptionSnap[];
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
  /** http2_protocol_options.allow_connect: HTTP/2 CONNECT requests are accepted. */
  http2AllowConnect?: boolean;
  /** http2_protocol_options for downstream HTTP/2 connections (absent: Envoy's defaults). */
  http2?: Http2OptionsSnap;
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
  /** Change-detection key (set for RDS configs): a worker keeps its compiled config while it is unchanged. */
  hash?: string;
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
  upgradeConfigs: { upgradeType: string; enabled: boolean; /** CONNECT only: terminate here and send the payload as raw TCP. */ connectConfig?: { allowPost: boolean } | null }[];
  /** Routing priority: selects the cluster's circuit-breaker thresholds (Envoy's RoutingPriority). */
  priority?: 'default' | 'high';
  /** request_mirror_policies: copies sent fire-and-forget to these clusters. */
  mirrorPolicies: MirrorPolicySnap[];
  /** max_stream_duration.max_stream_duration (0 = none). */
  maxStreamDurationMs: number;
  /** max_stream_duration.grpc_timeout_header_max: -1 = grpc-timeout ignored, 0 = no cap. */
  grpcTimeoutHeaderMaxMs: number;
}

export interface MirrorPolicySnap {
  cluster: string;
  /** runtime_fraction default_value as a fraction of 1 (1 = every request). */
  fraction: number;
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
  /** retry_host_predicate envoy.retry_host_predicates.previous_hosts. */
  previousHosts: boolean;
  hostSelectionRetryMaxAttempts: number;
  /** retriable_headers: a response matching any of these is retried (with retry_on retriable-headers). */
  retriableHeaders: HeaderMatcherSnap[];
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
  /** Upstream HTTP protocol: 'http1' (default), 'http2', 'auto' (ALPN over TLS, else HTTP/1.1) or 'downstream' (the request's). */
  upstreamProtocol: 'http1' | 'http2' | 'auto' | 'downstream';
  /** HTTP/2 options for upstream connections (explicit/auto http2_protocol_options, or the legacy cluster field). */
  http2?: Http2OptionsSnap | null;
  /** transport_socket UpstreamTlsContext; null/absent: plaintext. */
  tls?: UpstreamTlsSnap | null;
  /** transport_socket_matches: the first entry whose `match` is contained in an endpoint's `envoy.transport_socket_match` metadata wins over `tls`. */
  tlsMatches?: { name: string; match: Record<string, unknown>; tls: UpstreamTlsSnap | null }[];
  maxRequestsPerConnection: number;
  /** Upstream connection idle timeout (common_http_protocol_options.idle_timeout, default 1h). */
  idleTimeoutMs: number;
  circuitBreakers: CircuitBreakerThresholdsSnap[];
  /** metadata.filter_metadata of the cluster (internal_upstream passes namespaces through). */
  metadata?: Record<string, unknown>;
  /** transport_socket envoy.transport_sockets.internal_upstream. */
  internalUpstream?: InternalUpstreamSnap | null;
  /** Active health checks; they run once, in the primary, which pushes host health to workers. */
  healthChecks?: HealthCheckSnap[];
  /** Passive health checking; workers report outcomes, the primary decides ejections. */
  outlierDetection?: OutlierDetectionSnap | null;
  /** common_lb_config.healthy_panic_threshold in percent (Envoy's default 50; 0 disables panic). */
  healthyPanicThreshold?: number;
  /** common_lb_config.locality_weighted_lb_config is set. */
  localityWeightedLb?: boolean;
  /** ClusterLoadAssignment.policy.overprovisioning_factor in percent (default 140). */
  overprovisioningFactor?: number;
  /** ORIGINAL_DST clusters: original_dst_lb_config. */
  originalDst?: OriginalDstSnap | null;
  /** Orion's breaker state machine extension (orion.extensions.upstreams.circuit_breaker.v1). */
  breaker?: BreakerSnap | null;
  hash: string;
}

export interface OriginalDstSnap {
  /** Take the destination from a request header (x-envoy-original-dst-host unless renamed). */
  useHttpHeader: boolean;
  /** Lower-cased header name. */
  httpHeaderName: string;
  /** Replaces the destination port when non-zero. */
  portOverride: number;
  /** Unused hosts are removed after this long. */
  cleanupIntervalMs: number;
}

export interface HealthCheckSnap {
  kind: 'http' | 'tcp' | 'grpc';
  timeoutMs: number;
  intervalMs: number;
  initialJitterMs: number;
  intervalJitterMs: number;
  intervalJitterPercent: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
  /** Probe this port instead of the endpoint's (0: the endpoint's own or its health_check_config port). */
  altPort: number;
  reuseConnection: boolean;
  noTrafficIntervalMs: number;
  /** 0: same as noTrafficIntervalMs. */
  noTrafficHealthyIntervalMs: number;
  /** 0: same as intervalMs. */
  unhealthyIntervalMs: number;
  unhealthyEdgeIntervalMs: number;
  healthyEdgeIntervalMs: number;
  http: HttpHealthCheckSnap | null;
  tcp: TcpHealthCheckSnap | null;
  grpc: GrpcHealthCheckSnap | null;
}

export interface HttpHealthCheckSnap {
  /** '' means the cluster name, as in Envoy. */
  host: string;
  path: string;
  method: string;
  /** Half-open [start, end) ranges; default [[200, 201]]. */
  expectedStatuses: [number, number][];
  retriableStatuses: [number, number][];
  headersToAdd: HeaderValueOptionSnap[];
  headersToRemove: string[];
  http2: boolean;
}

export interface TcpHealthCheckSnap {
  /** null: connect-only check. */
  send: Uint8Array | null;
  /** Each must appear in the reply, in order. */
  receive: Uint8Array[];
}

export interface GrpcHealthCheckSnap {
  serviceName: string;
  /** '' means the cluster name. */
  authority: string;
  initialMetadata: HeaderValueOptionSnap[];
}

/** Envoy's OutlierDetection with its defaults applied; percentages are 0..100, durations ms. */
export interface OutlierDetectionSnap {
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionTimeMs: number;
  maxEjectionTimeJitterMs: number;
  maxEjectionPercent: number;
  consecutive5xx: number;
  enforcingConsecutive5xx: number;
  consecutiveGatewayFailure: number;
  enforcingConsecutiveGatewayFailure: number;
  splitExternalLocalOriginErrors: boolean;
  consecutiveLocalOriginFailure: number;
  enforcingConsecutiveLocalOriginFailure: number;
  enforcingSuccessRate: number;
  enforcingLocalOriginSuccessRate: number;
  successRateMinimumHosts: number;
  successRateRequestVolume: number;
  successRateStdevFactor: number;
  failurePercentageThreshold: number;
  enforcingFailurePercentage: number;
  enforcingFailurePercentageLocalOrigin: number;
  failurePercentageMinimumHosts: number;
  failurePercentageRequestVolume: number;
  successfulActiveHealthCheckUnejectHost: boolean;
  /** Eject one host even when that exceeds maxEjectionPercent. */
  alwaysEjectOneHost: boolean;
}

/** closed → open (consecutive failures or failure rate) → half-open after a cooldown → closed. */
export interface BreakerSnap {
  /** 0 disables the consecutive-failure trigger. */
  consecutiveFailures: number;
  /** Percent 0..100; 0 disables the failure-rate trigger. */
  failureRateThreshold: number;
  /** Requests the window must hold before the rate counts. */
  minimumRequests: number;
  windowMs: number;
  openDurationMs: number;
  halfOpenMaxRequests: number;
  /** Probe successes needed to close. */
  successThreshold: number;
  /** Statuses counted as failures; empty means every 5xx. Local failures always count. */
  failureStatuses: number[];
  /** The `message` of the JSON 503 body. */
  message: string;
}

export interface InternalUpstreamSnap {
  /** Metadata namespaces copied into the internal connection's dynamic metadata; later entries win. */
  passthroughMetadata: { kind: 'host' | 'cluster'; name: string }[];
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
  /** envoy_internal_address: the endpoint is an internal listener of this worker, not a socket. */
  internal?: { serverListenerName: string; endpointId: string } | null;
  /** endpoint.health_check_config.port_value; 0: the endpoint's port. */
  healthCheckPort?: number;
}

export interface CircuitBreakerThresholdsSnap {
  priority: 'default' | 'high';
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
  /** retry_budget: when set, max active retries = max(minRetryConcurrency, budgetPercent% of active+pending requests). */
  retryBudget?: { budgetPercent: number; minRetryConcurrency: number } | null;
  /** track_remaining: publish circuit_breakers.<prio>.remaining_* gauges. */
  trackRemaining?: boolean;
}

// ---------------------------------------------------------------- secrets

/** A DataSource: a file the worker reads, or bytes resolved by the primary (inline or env var). */
export interface DataSourceSnap {
  filename: string | null;
  inline: Uint8Array | null;
}

/** An SDS Secret (envoy.extensions.transport_sockets.tls.v3.Secret); exactly one part is set per `kind`. */
export interface SecretSnap {
  name: string;
  kind: 'tls_certificate' | 'validation_context' | 'session_ticket_keys' | 'generic_secret';
  /** tls_certificate */
  certificateChain: DataSourceSnap | null;
  privateKey: DataSourceSnap | null;
  password: DataSourceSnap | null;
  /** validation_context */
  trustedCa: DataSourceSnap | null;
  crl: DataSourceSnap | null;
  verifyCertificateSpki: string[];
  verifyCertificateHash: string[];
  /** match_typed_subject_alt_names (and the deprecated match_subject_alt_names as kind 'any'). */
  matchSubjectAltNames: { sanType: 'dns' | 'uri' | 'email' | 'ip_address' | 'other' | 'any'; match: StringMatchSnap }[];
  allowExpiredCertificate: boolean;
  trustChainVerification: 'verify_trust_chain' | 'accept_untrusted';
  /** session_ticket_keys */
  sessionTicketKeys: DataSourceSnap[];
  /** generic_secret */
  genericSecret: DataSourceSnap | null;
  hash: string;
}

// ---------------------------------------------------------------- TLS and HTTP/2

/** http2_protocol_options, with Envoy's defaults applied. */
export interface Http2OptionsSnap {
  /** SETTINGS_MAX_CONCURRENT_STREAMS we advertise (downstream) / the most streams we open per connection (upstream). */
  maxConcurrentStreams: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE. */
  initialStreamWindowSize: number;
  initialConnectionWindowSize: number;
  /** hpack_table_size (SETTINGS_HEADER_TABLE_SIZE). */
  hpackTableSize: number;
  /** Envoy's flood limits (downstream codec; absent: Envoy's defaults 10000, 1000, 1, 100, 10). */
  maxOutboundFrames?: number;
  maxOutboundControlFrames?: number;
  maxConsecutiveInboundFramesWithEmptyPayload?: number;
  maxInboundPriorityFramesPerStream?: number;
  maxInboundWindowUpdateFramesPerDataFrameSent?: number;
}

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/**
 * CommonTlsContext. Inline (or file) certificates and validation contexts use the SecretSnap shape
 * so that they and SDS secrets (names resolved in Snapshot.secrets) go through one code path.
 */
export interface TlsContextSnap {
  /** tls_certificates (kind 'tls_certificate'). */
  certificates: SecretSnap[];
  /** tls_certificate_sds_secret_configs: secret names. */
  certificateSecrets: string[];
  /** validation_context, or combined_validation_context.default_validation_context (kind 'validation_context'). */
  validation: SecretSnap | null;
  /** validation_context_sds_secret_config (also the combined one's); '' when none. Merged over `validation`. */
  validationSecret: string;
  /** alpn_protocols in preference order. */
  alpn: string[];
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  /** OpenSSL cipher names (TLS 1.0–1.2); empty: Node's defaults. */
  cipherSuites: string[];
  ecdhCurves: string[];
  signatureAlgorithms: string[];
}

/** DownstreamTlsContext. */
export interface DownstreamTlsSnap extends TlsContextSnap {
  requireClientCertificate: boolean;
  requireSni: boolean;
  /** session_timeout in seconds' worth of ms (0: OpenSSL default). */
  sessionTimeoutMs: number;
  disableStatelessSessionResumption: boolean;
}

/** UpstreamTlsContext. */
export interface UpstreamTlsSnap extends TlsContextSnap {
  /** SNI sent to the upstream ('' none). */
  sni: string;
  /** upstream_http_protocol_options.auto_sni: SNI from the request's host (Envoy); applied per connection pool. */
  autoSni: boolean;
  /** upstream_http_protocol_options.auto_san_validation: the server certificate must match the SNI. */
  autoSanValidation: boolean;
}

