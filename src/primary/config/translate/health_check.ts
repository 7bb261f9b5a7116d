// Cluster health_checks (config.core.v3.HealthCheck) → HealthCheckSnap. The checks run in the
// primary (src/primary/health), so only what the primary's checkers implement is accepted.
import type { HealthCheckSnap, HttpHealthCheckSnap, TcpHealthCheckSnap, GrpcHealthCheckSnap } from '../../../shared/snapshot.ts';
import { bool, checkRest, durationMs, join, list, num, obj, str, type Ctx, type Obj } from './context.ts';
import { headerMutation, headerValueOption } from './headers.ts';

const HANDLED = [
  'timeout', 'interval', 'initial_jitter', 'interval_jitter', 'interval_jitter_percent', 'unhealthy_threshold',
  'healthy_threshold', 'alt_port', 'reuse_connection', 'http_health_check', 'tcp_health_check', 'grpc_health_check',
  'no_traffic_interval', 'no_traffic_healthy_interval', 'unhealthy_interval', 'unhealthy_edge_interval', 'healthy_edge_interval',
];
const REJECTED = {
  custom_health_check: 'custom health checkers are not supported',
  tls_options: 'TLS health checks are not supported',
  transport_socket_match_criteria: 'TLS health checks are not supported',
};

export function healthChecks(v: unknown, path: string, ctx: Ctx): HealthCheckSnap[] {
  const out: HealthCheckSnap[] = [];
  list(v).forEach((hc, i) => {
    const s = healthCheck(hc, join(path, i), ctx);
    if (s !== null) out.push(s);
  });
  return out;
}

function healthCheck(hc: Obj, path: string, ctx: Ctx): HealthCheckSnap | null {
  checkRest(ctx, hc, path, HANDLED, REJECTED);
  // timeout, interval and the thresholds are required by the proto's validation rules (decode).
  const intervalMs = durationMs(hc.interval, 0);
  const timeoutMs = durationMs(hc.timeout, 0);
  if (hc.interval !== undefined && intervalMs <= 0) ctx.issues.error(join(path, 'interval'), 'must be greater than 0');
  if (hc.timeout !== undefined && timeoutMs <= 0) ctx.issues.error(join(path, 'timeout'), 'must be greater than 0');
  const kinds = (['http_health_check', 'tcp_health_check', 'grpc_health_check'] as const).filter((k) => hc[k] !== undefined);
  if (kinds.length !== 1) {
    if (hc.custom_health_check === undefined) ctx.issues.error(path, 'exactly one of http_health_check, tcp_health_check or grpc_health_check is required');
    return null;
  }
  const kind = kinds[0];
  return {
    kind: kind === 'http_health_check' ? 'http' : kind === 'tcp_health_check' ? 'tcp' : 'grpc',
    timeoutMs,
    intervalMs,
    initialJitterMs: durationMs(hc.initial_jitter, 0),
    intervalJitterMs: durationMs(hc.interval_jitter, 0),
    intervalJitterPercent: num(hc.interval_jitter_percent, 0),
    unhealthyThreshold: Math.max(1, num(hc.unhealthy_threshold, 1)),
    healthyThreshold: Math.max(1, num(hc.healthy_threshold, 1)),
    altPort: num(hc.alt_port, 0),
    reuseConnection: bool(hc.reuse_connection, true),
    noTrafficIntervalMs: durationMs(hc.no_traffic_interval, 60_000),
    noTrafficHealthyIntervalMs: durationMs(hc.no_traffic_healthy_interval, 0),
    unhealthyIntervalMs: durationMs(hc.unhealthy_interval, 0),
    unhealthyEdgeIntervalMs: durationMs(hc.unhealthy_edge_interval, 0),
    healthyEdgeIntervalMs: durationMs(hc.healthy_edge_interval, 0),
    http: kind === 'http_health_check' ? http(obj(hc.http_health_check), join(path, kind), ctx) : null,
    tcp: kind === 'tcp_health_check' ? tcp(obj(hc.tcp_health_check), join(path, kind), ctx) : null,
    grpc: kind === 'grpc_health_check' ? grpc(obj(hc.grpc_health_check), join(path, kind), ctx) : null,
  };
}

function http(h: Obj, path: string, ctx: Ctx): HttpHealthCheckSnap {
  checkRest(ctx, h, path, ['host', 'path', 'request_headers_to_add', 'request_headers_to_remove', 'expected_statuses', 'retriable_statuses', 'codec_client_type', 'method'], {
    send: 'HTTP health check request bodies are not supported',
    receive: 'HTTP health check response matching is not supported',
  });
  if (str(h.path) === '') ctx.issues.error(join(path, 'path'), 'is required');
  const codec = str(h.codec_client_type, 'HTTP1');
  if (codec === 'HTTP3') ctx.issues.error(join(path, 'codec_client_type'), 'HTTP/3 health checks are not supported');
  const method = str(h.method, 'GET');
  if (method === 'CONNECT') ctx.issues.error(join(path, 'method'), 'CONNECT is not a valid health check method');
  const headers = headerMutation({ request_headers_to_add: h.request_headers_to_add, request_headers_to_remove: h.request_headers_to_remove }, path, ctx);
  const expected = ranges(h.expected_statuses, join(path, 'expected_statuses'), ctx);
  return {
    host: str(h.host),
    path: str(h.path),
    method: method === 'METHOD_UNSPECIFIED' ? 'GET' : method,
    expectedStatuses: expected.length > 0 ? expected : [[200, 201]],
    retriableStatuses: ranges(h.retriable_statuses, join(path, 'retriable_statuses'), ctx),
    headersToAdd: headers.requestToAdd,
    headersToRemove: headers.requestToRemove,
    http2: codec === 'HTTP2',
  };
}

/** Int64Range lists: half-open [start, end), only within 100..599 as Envoy requires. */
function ranges(v: unknown, path: string, ctx: Ctx): [number, number][] {
  return list(v).map((r, i): [number, number] => {
    const start = num(r.start, 0);
    const end = num(r.end, 0);
    if (start < 100 || end > 600 || start >= end) ctx.issues.error(join(path, i), `invalid status range [${start}, ${end}): must lie within [100, 600) and not be empty`);
    return [start, end];
  });
}

function tcp(t: Obj, path: string, ctx: Ctx): TcpHealthCheckSnap {
  checkRest(ctx, t, path, ['send', 'receive'], { proxy_protocol_config: 'PROXY protocol health checks are not supported' });
  return {
    send: t.send === undefined ? null : payload(obj(t.send), join(path, 'send'), ctx),
    receive: list(t.receive).map((p, i) => payload(p, join(join(path, 'receive'), i), ctx)),
  };
}

/** HealthCheck.Payload: hex `text` or raw `binary`. */
function payload(p: Obj, path: string, ctx: Ctx): Uint8Array {
  checkRest(ctx, p, path, ['text', 'binary']);
  if (p.binary instanceof Uint8Array) return new Uint8Array(p.binary);
  const text = str(p.text).replace(/\s+/g, '');
  if (text.length === 0 || text.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(text)) {
    ctx.issues.error(join(path, 'text'), 'must be a non-empty hex string');
    return new Uint8Array();
  }
  return new Uint8Array(Buffer.from(text, 'hex'));
}

function grpc(g: Obj, path: string, ctx: Ctx): GrpcHealthCheckSnap {
  checkRest(ctx, g, path, ['service_name', 'authority', 'initial_metadata']);
  const md = list(g.initial_metadata).map((h, i) => headerValueOption(h, join(join(path, 'initial_metadata'), i), ctx));
  return { serviceName: str(g.service_name), authority: str(g.authority), initialMetadata: md };
}
