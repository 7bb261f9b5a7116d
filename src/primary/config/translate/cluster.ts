// Cluster → ClusterSnap, with Envoy's defaults and its per-discovery-type rules.
import type { ClusterDiscoveryType, ClusterSnap } from '../../../shared/snapshot.ts';
import { checkRest, durationMs, join, list, num, obj, stableHash, str, type Ctx, type Obj } from './context.ts';
import { loadAssignment } from './endpoints.ts';
import { configSource } from './config_source.ts';
import { clusterTls } from './tls.ts';
import { CLUSTER_PROVIDED, LB_CONFIG_FIELDS, lbPolicy } from './lb_policy.ts';
import { DEFAULT_BUFFER_LIMIT } from './listener.ts';
import { PROTOCOL_FIELDS, upstreamProtocol } from './upstream_protocol.ts';
import { circuitBreakers } from './circuit_breakers.ts';
import { clusterMetadata, upstreamTransportSocket } from './internal_listener.ts';
import { RESILIENCE_FIELDS, resilience } from './cluster_resilience.ts';

const HANDLED = [
  'name', 'alt_stat_name', 'type', 'eds_cluster_config', 'connect_timeout', 'per_connection_buffer_limit_bytes',
  'load_assignment', 'circuit_breakers', 'dns_refresh_rate', 'dns_lookup_family', 'transport_socket',
  'transport_socket_matches', 'metadata', ...LB_CONFIG_FIELDS, ...PROTOCOL_FIELDS, ...RESILIENCE_FIELDS,
];
const REJECTED = {
  cluster_type: 'custom cluster types are not supported',
  filters: 'upstream network filters are not supported',
  upstream_config: 'custom upstream configs are not supported',
};

const TYPES: Record<string, ClusterDiscoveryType> = {
  STATIC: 'static',
  STRICT_DNS: 'strict_dns',
  LOGICAL_DNS: 'logical_dns',
  EDS: 'eds',
  ORIGINAL_DST: 'original_dst',
};
const DNS_FAMILIES: Record<string, ClusterSnap['dnsLookupFamily']> = {
  AUTO: 'auto',
  V4_ONLY: 'v4_only',
  V6_ONLY: 'v6_only',
  V4_PREFERRED: 'v4_preferred',
  ALL: 'all',
};

/** Clusters the primary tracks for health: with active health checks or outlier detection. */
export function hasHealthConfig(c: Pick<ClusterSnap, 'healthChecks' | 'outlierDetection'>): boolean {
  return (c.healthChecks?.length ?? 0) > 0 || c.outlierDetection != null;
}

export function cluster(c: Obj, path: string, ctx: Ctx): ClusterSnap {
  checkRest(ctx, c, path, HANDLED, REJECTED);
  const type = TYPES[str(c.type, 'STATIC')] ?? 'static';
  const internalUpstream = upstreamTransportSocket(c.transport_socket, join(path, 'transport_socket'), ctx);
  const tls = clusterTls(c, path, ctx);
  const lb = lbPolicy(c, path, ctx);
  checkTypeRules(c, type, lb.typeName, path, ctx);
  const snap: Omit<ClusterSnap, 'hash'> = {
    name: str(c.name),
    statName: str(c.alt_stat_name) || str(c.name),
    type,
    connectTimeoutMs: connectTimeout(c, path, ctx),
    lbPolicy: lb.policy,
    lbConfig: lb.config,
    localities: c.load_assignment === undefined ? [] : loadAssignment(obj(c.load_assignment), join(path, 'load_assignment'), ctx, type === 'static'),
    dnsRefreshRateMs: durationMs(c.dns_refresh_rate, 5000),
    dnsLookupFamily: DNS_FAMILIES[str(c.dns_lookup_family, 'AUTO')] ?? 'auto',
    perConnectionBufferLimitBytes: num(c.per_connection_buffer_limit_bytes, DEFAULT_BUFFER_LIMIT),
    ...upstreamProtocol(c, path, ctx),
    circuitBreakers: circuitBreakers(obj(c.circuit_breakers), join(path, 'circuit_breakers'), ctx),
    ...lb.common,
    ...resilience(c, path, ctx, type),
    metadata: clusterMetadata(c),
    internalUpstream,
    ...tls,
  };
  checkEndpointCount(snap, path, ctx);
  if (snap.upstreamProtocol === 'auto' && snap.tls == null && (snap.tlsMatches ?? []).length === 0) {
    ctx.issues.error(join(path, 'typed_extension_protocol_options'), 'auto_config chooses the protocol by ALPN and needs a TLS transport_socket');
  }
  return { ...snap, hash: ctx.callerHashes === true ? '' : stableHash(snap) };
}

function connectTimeout(c: Obj, path: string, ctx: Ctx): number {
  const ms = durationMs(c.connect_timeout, 5000);
  if (c.connect_timeout !== undefined && ms <= 0) ctx.issues.error(join(path, 'connect_timeout'), 'must be greater than 0');
  return ms;
}

function checkTypeRules(c: Obj, type: ClusterDiscoveryType, lbType: string, path: string, ctx: Ctx): void {
  const providedLb = lbType === CLUSTER_PROVIDED;
  if (type === 'original_dst' && !providedLb) ctx.issues.error(join(path, 'lb_policy'), 'ORIGINAL_DST clusters must use the CLUSTER_PROVIDED lb_policy');
  if (type !== 'original_dst' && providedLb) ctx.issues.error(join(path, 'lb_policy'), 'CLUSTER_PROVIDED is only valid for ORIGINAL_DST clusters');
  if (type === 'original_dst' && c.load_assignment !== undefined) ctx.issues.error(join(path, 'load_assignment'), 'ORIGINAL_DST clusters must not have a load_assignment');
  if (type === 'eds') {
    edsConfig(c, path, ctx);
    if (c.load_assignment !== undefined) ctx.issues.warn(join(path, 'load_assignment'), 'ignored by Envoy for EDS clusters');
  } else if (c.eds_cluster_config !== undefined) {
    ctx.issues.warn(join(path, 'eds_cluster_config'), 'ignored: the cluster type is not EDS');
  }
}

/** An EDS cluster's endpoints come from its eds_config under service_name (default: the cluster name). */
function edsConfig(c: Obj, path: string, ctx: Ctx): void {
  const e = obj(c.eds_cluster_config);
  const ep = join(path, 'eds_cluster_config');
  checkRest(ctx, e, ep, ['eds_config', 'service_name']);
  if (e.eds_config === undefined) {
    ctx.issues.error(join(ep, 'eds_config'), 'an EDS cluster needs eds_cluster_config.eds_config');
    return;
  }
  const source = configSource(obj(e.eds_config), join(ep, 'eds_config'), ctx);
  if (source !== null) ctx.xds.eds.push({ cluster: str(c.name), serviceName: str(e.service_name) || str(c.name), source });
}

function checkEndpointCount(s: Omit<ClusterSnap, 'hash'>, path: string, ctx: Ctx): void {
  if (s.type === 'eds') {
    s.localities.length = 0; // EDS endpoints only ever come from EDS
    return;
  }
  const n = s.localities.reduce((a, l) => a + l.endpoints.length, 0);
  if (s.type === 'logical_dns' && (s.localities.length !== 1 || n !== 1)) {
    ctx.issues.error(join(path, 'load_assignment'), 'LOGICAL_DNS clusters need exactly one locality with exactly one endpoint');
  }
}
