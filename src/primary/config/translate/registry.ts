// Extension registries keyed by config type name (the type URL without its prefix), so new
// network filters, HTTP filters and load-balancing policies plug in without touching callers.
import type { ClusterSnap, NetworkFilterSnap } from '../../../shared/snapshot.ts';
import type { Ctx, Obj } from './context.ts';

export const ROUTER_TYPE = 'envoy.extensions.filters.http.router.v3.Router';
export const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const TCP_PROXY_TYPE = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

export interface NetworkFilterArgs {
  /** The filter's configured name. */
  name: string;
  /** The decoded typed_config body (without '@type'). */
  config: Obj;
  path: string;
  ctx: Ctx;
  /** Unique prefix for synthetic names (inline route configs), e.g. `listener_http/0/0`. */
  scope: string;
}

export interface NetworkFilterTranslator {
  /** Terminal filters (HCM, tcp_proxy) must be last in a chain; others must not be. */
  terminal: boolean;
  translate(args: NetworkFilterArgs): NetworkFilterSnap | null;
}

export interface HttpFilterTranslator {
  terminal: boolean;
  /** Returns the filter's HttpFilterSnap.config. */
  translate(config: Obj, path: string, ctx: Ctx): unknown;
}

export interface LbPolicyTranslator {
  /** Policy name the workers register load balancers under (e.g. 'round_robin'). */
  policy: string;
  translate(config: Obj, path: string, ctx: Ctx): unknown;
}

export const networkFilters = new Map<string, NetworkFilterTranslator>();
export const httpFilters = new Map<string, HttpFilterTranslator>();
export const lbPolicies = new Map<string, LbPolicyTranslator>();

export function registerNetworkFilter(typeName: string, t: NetworkFilterTranslator): void {
  networkFilters.set(typeName, t);
}

export function registerHttpFilter(typeName: string, t: HttpFilterTranslator): void {
  httpFilters.set(typeName, t);
}

export function registerLbPolicy(typeName: string, t: LbPolicyTranslator): void {
  lbPolicies.set(typeName, t);
}

/**
 * Cluster extensions carried in typed_extension_protocol_options (Orion's own, e.g. the breaker
 * state machine): each returns the ClusterSnap fields it sets.
 */
export interface ClusterExtensionTranslator {
  translate(config: Obj, path: string, ctx: Ctx): Partial<ClusterSnap>;
}

export const clusterExtensions = new Map<string, ClusterExtensionTranslator>();

export function registerClusterExtension(typeName: string, t: ClusterExtensionTranslator): void {
  clusterExtensions.set(typeName, t);
}

/** Extensions configured by well-known name without typed_config (older Envoy configs). */
export const LEGACY_NAMES: Record<string, string> = {
  'envoy.filters.http.router': ROUTER_TYPE,
  'envoy.router': ROUTER_TYPE,
  'envoy.filters.network.http_connection_manager': HCM_TYPE,
  'envoy.http_connection_manager': HCM_TYPE,
  'envoy.filters.network.tcp_proxy': TCP_PROXY_TYPE,
  'envoy.tcp_proxy': TCP_PROXY_TYPE,
};
