// /clusters in Envoy's `<cluster>::<key>::<value>` text format and as admin.v3.Clusters JSON.
import type { CircuitBreakerThresholdsSnap, ClusterSnap, EndpointSnap } from '../../shared/snapshot.ts';
import type { AdminCluster, AdminHost } from './context.ts';

// Envoy's circuit breaker defaults when a cluster sets none for a priority.
const CB_DEFAULTS = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };

// Host stats that are gauges; the rest of Envoy's per-host stats are counters.
const HOST_GAUGES = new Set(['cx_active', 'rq_active']);

export function hostAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function thresholds(snap: ClusterSnap, priority: 'default' | 'high'): typeof CB_DEFAULTS {
  const t: CircuitBreakerThresholdsSnap | undefined = snap.circuitBreakers.find((c) => c.priority === priority);
  return t === undefined ? CB_DEFAULTS : t;
}

export function renderClustersText(clusters: AdminCluster[]): string {
  let out = '';
  for (const c of clusters) out += clusterText(c);
  return out;
}

function clusterText(c: AdminCluster): string {
  const n = c.snap.name;
  let out = `${n}::observability_name::${c.snap.statName || n}\n`;
  for (const p of ['default', 'high'] as const) {
    const t = thresholds(c.snap, p);
    out += `${n}::${p}_priority::max_connections::${t.maxConnections}\n`;
    out += `${n}::${p}_priority::max_pending_requests::${t.maxPendingRequests}\n`;
    out += `${n}::${p}_priority::max_requests::${t.maxRequests}\n`;
    out += `${n}::${p}_priority::max_retries::${t.maxRetries}\n`;
  }
  out += `${n}::added_via_api::${c.addedViaApi === true}\n`;
  if (c.edsServiceName) out += `${n}::eds_service_name::${c.edsServiceName}\n`;
  for (const h of c.hosts) out += hostText(`${n}::${hostAddress(h.address, h.port)}::`, h);
  return out;
}

function hostText(p: string, h: AdminHost): string {
  let out = '';
  for (const k of Object.keys(h.stats ?? {}).sort()) out += `${p}${k}::${h.stats![k]}\n`;
  out += `${p}hostname::${h.hostname ?? ''}\n`;
  out += `${p}health_flags::${healthFlagsText(h.healthFlags)}\n`;
  out += `${p}weight::${h.weight}\n`;
  out += `${p}region::${h.locality?.region ?? ''}\n`;
  out += `${p}zone::${h.locality?.zone ?? ''}\n`;
  out += `${p}sub_zone::${h.locality?.subZone ?? ''}\n`;
  out += `${p}canary::false\n`;
  out += `${p}priority::${h.priority}\n`;
  // Envoy prints -1 when outlier detection computed no success rate for the host.
  out += `${p}success_rate::${h.successRate ?? -1}\n`;
  out += `${p}local_origin_success_rate::${h.localOriginSuccessRate ?? -1}\n`;
  return out;
}

export function healthFlagsText(flags: string[]): string {
  return flags.length === 0 ? 'healthy' : flags.map((f) => '/' + f).join('');
}

export function renderClustersJson(clusters: AdminCluster[]): string {
  return JSON.stringify({ cluster_statuses: clusters.map(clusterJson) }, null, 1);
}

function clusterJson(c: AdminCluster): Record<string, unknown> {
  const out: Record<string, unknown> = { name: c.snap.name };
  if (c.addedViaApi === true) out.added_via_api = true;
  out.host_statuses = c.hosts.map(hostJson);
  out.circuit_breakers = {
    thresholds: (['default', 'high'] as const).map((p) => {
      const t = thresholds(c.snap, p);
      return {
        ...(p === 'high' ? { priority: 'HIGH' } : {}),
        max_connections: t.maxConnections,
        max_pending_requests: t.maxPendingRequests,
        max_requests: t.maxRequests,
        max_retries: t.maxRetries,
      };
    }),
  };
  out.observability_name = c.snap.statName || c.snap.name;
  if (c.edsServiceName) out.eds_service_name = c.edsServiceName;
  return out;
}

function hostJson(h: AdminHost): Record<string, unknown> {
  const out: Record<string, unknown> = {
    address: { socket_address: { address: h.address, port_value: h.port } },
  };
  const names = Object.keys(h.stats ?? {}).sort();
  if (names.length > 0) {
    // proto3 JSON prints uint64 as strings and omits the default (COUNTER) enum value.
    out.stats = names.map((name) => ({
      ...(HOST_GAUGES.has(name) ? { type: 'GAUGE' } : {}),
      value: String(h.stats![name]),
      name,
    }));
  }
  out.health_status = healthStatusJson(h.healthFlags);
  out.weight = h.weight;
  if (h.hostname) out.hostname = h.hostname;
  if (h.priority) out.priority = h.priority;
  if (h.successRate !== undefined && h.successRate >= 0) out.success_rate = { value: h.successRate };
  if (h.localOriginSuccessRate !== undefined && h.localOriginSuccessRate >= 0) out.local_origin_success_rate = { value: h.localOriginSuccessRate };
  const l = h.locality;
  if (l && (l.region || l.zone || l.subZone)) {
    out.locality = { ...(l.region ? { region: l.region } : {}), ...(l.zone ? { zone: l.zone } : {}), ...(l.subZone ? { sub_zone: l.subZone } : {}) };
  }
  return out;
}

// Health flag -> admin.v3.HostHealthStatus boolean field.
const FLAG_FIELDS: Record<string, string> = {
  failed_active_hc: 'failed_active_health_check',
  failed_outlier_check: 'failed_outlier_check',
  degraded_active_hc: 'failed_active_degraded_check',
  pending_dynamic_removal: 'pending_dynamic_removal',
  pending_active_hc: 'pending_active_hc',
  excluded_via_immediate_hc_fail: 'excluded_via_immediate_hc_fail',
  active_hc_timeout: 'active_hc_timeout',
};

function healthStatusJson(flags: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of flags) if (FLAG_FIELDS[f]) out[FLAG_FIELDS[f]] = true;
  out.eds_health_status = flags.includes('failed_eds_health')
    ? 'UNHEALTHY'
    : flags.includes('degraded_eds_health')
      ? 'DEGRADED'
      : flags.includes('eds_status_draining')
        ? 'DRAINING'
        : 'HEALTHY';
  return out;
}

/** Convenience for the primary: /clusters hosts straight from a snapshot's endpoints. */
export function hostsFromSnap(snap: ClusterSnap, stats?: (address: string) => Record<string, number> | undefined): AdminHost[] {
  const out: AdminHost[] = [];
  for (const loc of snap.localities) {
    for (const e of loc.endpoints) {
      out.push({
        address: e.address.host,
        port: e.address.port,
        hostname: e.hostname,
        healthFlags: edsFlags(e),
        weight: e.weight,
        priority: loc.priority,
        locality: loc.locality,
        stats: stats?.(hostAddress(e.address.host, e.address.port)),
      });
    }
  }
  return out;
}

function edsFlags(e: EndpointSnap): string[] {
  switch (e.healthStatus) {
    case 'unhealthy':
    case 'timeout':
      return ['failed_eds_health'];
    case 'degraded':
      return ['degraded_eds_health'];
    case 'draining':
      return ['eds_status_draining'];
    default:
      return [];
  }
}
