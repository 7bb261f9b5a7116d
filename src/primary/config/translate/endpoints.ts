// ClusterLoadAssignment → localities with their endpoints (static config and, later, EDS).
import type { EndpointSnap, LocalityEndpointsSnap } from '../../../shared/snapshot.ts';
import { internalAddress, socketAddress } from './address.ts';
import { checkRest, join, list, num, obj, str, type Ctx, type Obj } from './context.ts';

const HEALTH: Record<string, EndpointSnap['healthStatus']> = {
  UNKNOWN: 'unknown',
  HEALTHY: 'healthy',
  UNHEALTHY: 'unhealthy',
  DRAINING: 'draining',
  TIMEOUT: 'timeout',
  DEGRADED: 'degraded',
};

export function loadAssignment(la: Obj, path: string, ctx: Ctx, requireIp: boolean): LocalityEndpointsSnap[] {
  // `policy` (overprovisioning) is read by cluster_resilience.ts.
  checkRest(ctx, la, path, ['cluster_name', 'endpoints', 'policy']);
  return list(la.endpoints).map((e, i) => locality(e, join(join(path, 'endpoints'), i), ctx, requireIp));
}

function locality(e: Obj, path: string, ctx: Ctx, requireIp: boolean): LocalityEndpointsSnap {
  checkRest(ctx, e, path, ['locality', 'lb_endpoints', 'load_balancing_weight', 'priority'], {
    leds_cluster_locality_config: 'LEDS is not supported',
  });
  const loc = obj(e.locality);
  const endpoints: EndpointSnap[] = [];
  list(e.lb_endpoints).forEach((lb, i) => {
    const ep = lbEndpoint(lb, join(join(path, 'lb_endpoints'), i), ctx, requireIp);
    if (ep !== null) endpoints.push(ep);
  });
  return {
    priority: num(e.priority, 0),
    loadBalancingWeight: num(e.load_balancing_weight, 1),
    locality: { region: str(loc.region), zone: str(loc.zone), subZone: str(loc.sub_zone) },
    endpoints,
  };
}

function lbEndpoint(lb: Obj, path: string, ctx: Ctx, requireIp: boolean): EndpointSnap | null {
  checkRest(ctx, lb, path, ['endpoint', 'health_status', 'load_balancing_weight', 'metadata'], {
    endpoint_name: 'named endpoints are not supported',
  });
  const ep = obj(lb.endpoint);
  const ePath = join(path, 'endpoint');
  checkRest(ctx, ep, ePath, ['address', 'hostname', 'health_check_config']);
  const hcc = obj(ep.health_check_config);
  checkRest(ctx, hcc, join(ePath, 'health_check_config'), ['port_value']);
  if (ep.address === undefined) {
    if (lb.endpoint_name === undefined) ctx.issues.error(join(ePath, 'address'), 'is required');
    return null;
  }
  const addr = obj(ep.address);
  const internal = addr.envoy_internal_address === undefined ? null : internalAddress(addr, join(ePath, 'address'), ctx);
  if (addr.envoy_internal_address !== undefined && internal === null) return null;
  // An internal endpoint has no socket address; it is reached by listener name in the worker.
  const address = internal !== null ? { host: '', port: 0 } : socketAddress(addr, join(ePath, 'address'), ctx, { requireIp });
  if (address === null) return null;
  return {
    address,
    hostname: str(ep.hostname),
    weight: num(lb.load_balancing_weight, 1),
    healthStatus: HEALTH[str(lb.health_status, 'UNKNOWN')] ?? 'unknown',
    metadata: { ...obj(obj(lb.metadata).filter_metadata) },
    ...(internal !== null ? { internal } : {}),
    ...(hcc.port_value !== undefined ? { healthCheckPort: num(hcc.port_value, 0) } : {}),
  };
}
