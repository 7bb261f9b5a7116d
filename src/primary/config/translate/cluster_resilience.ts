// The parts of a Cluster that decide where requests may go when backends misbehave: active
// health checks, outlier detection, panic threshold and locality weighting, ORIGINAL_DST options,
// priority overprovisioning, and Orion's cluster extensions (typed_extension_protocol_options).
import type { ClusterDiscoveryType, ClusterSnap, OriginalDstSnap } from '../../../shared/snapshot.ts';
import { anyBody, anyType, bool, checkRest, durationMs, join, num, obj, str, unsupported, type Ctx, type Obj } from './context.ts';
import { healthChecks } from './health_check.ts';
import { outlierDetection } from './outlier_detection.ts';
import { clusterExtensions } from './registry.ts';

export const RESILIENCE_FIELDS = ['health_checks', 'outlier_detection', 'original_dst_lb_config', 'cleanup_interval'];

type Resilience = Pick<ClusterSnap, 'healthChecks' | 'outlierDetection' | 'originalDst' | 'overprovisioningFactor' | 'breaker'>;

export function resilience(c: Obj, path: string, ctx: Ctx, type: ClusterDiscoveryType): Resilience {
  const hcs = healthChecks(c.health_checks, join(path, 'health_checks'), ctx);
  if (hcs.length > 1) ctx.issues.warn(join(path, 'health_checks'), 'only the first health check is used');
  return {
    healthChecks: hcs.slice(0, 1),
    outlierDetection: c.outlier_detection === undefined ? null : outlierDetection(obj(c.outlier_detection), join(path, 'outlier_detection'), ctx),
    originalDst: type === 'original_dst' ? originalDst(c, path, ctx) : ignoredOriginalDst(c, path, ctx),
    overprovisioningFactor: overprovisioning(obj(c.load_assignment), join(path, 'load_assignment'), ctx),
    ...extensions(c, path, ctx),
  };
}

function originalDst(c: Obj, path: string, ctx: Ctx): OriginalDstSnap {
  const o = obj(c.original_dst_lb_config);
  const p = join(path, 'original_dst_lb_config');
  checkRest(ctx, o, p, ['use_http_header', 'http_header_name', 'upstream_port_override'], { metadata_key: 'metadata-selected original destinations are not supported' });
  return {
    useHttpHeader: bool(o.use_http_header, false),
    httpHeaderName: (str(o.http_header_name) || 'x-envoy-original-dst-host').toLowerCase(),
    portOverride: num(o.upstream_port_override, 0),
    cleanupIntervalMs: durationMs(c.cleanup_interval, 5000) || 5000,
  };
}

function ignoredOriginalDst(c: Obj, path: string, ctx: Ctx): null {
  for (const f of ['original_dst_lb_config', 'cleanup_interval']) {
    if (c[f] !== undefined) ctx.issues.warn(join(path, f), 'ignored: the cluster type is not ORIGINAL_DST');
  }
  return null;
}

/** ClusterLoadAssignment.policy (the `policy` field itself is accepted by endpoints.ts). */
function overprovisioning(la: Obj, path: string, ctx: Ctx): number {
  if (la.policy === undefined) return 140;
  const p = obj(la.policy);
  const pp = join(path, 'policy');
  checkRest(ctx, p, pp, ['overprovisioning_factor', 'weighted_priority_health']);
  if (p.weighted_priority_health !== undefined) unsupported(ctx, join(pp, 'weighted_priority_health'));
  const f = num(p.overprovisioning_factor, 140);
  if (f <= 0) ctx.issues.error(join(pp, 'overprovisioning_factor'), 'must be greater than 0');
  return f > 0 ? f : 140;
}

/** Known entries of typed_extension_protocol_options; upstream_protocol.ts skips these types. */
function extensions(c: Obj, path: string, ctx: Ctx): Partial<ClusterSnap> {
  let out: Partial<ClusterSnap> = { breaker: null };
  const base = join(path, 'typed_extension_protocol_options');
  for (const [key, any] of Object.entries(obj(c.typed_extension_protocol_options))) {
    const t = clusterExtensions.get(anyType(any));
    if (t !== undefined) out = { ...out, ...t.translate(anyBody(any), join(base, key), ctx) };
  }
  return out;
}
