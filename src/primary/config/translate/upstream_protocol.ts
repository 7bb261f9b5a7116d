// Which HTTP version a cluster speaks upstream, and its connection reuse limits: from
// typed_extension_protocol_options[HttpProtocolOptions] or the deprecated Cluster fields.
import type { ClusterSnap } from '../../../shared/snapshot.ts';
import { anyBody, anyType, checkRest, durationMs, join, num, obj, str, unsupported, type Ctx, type Obj } from './context.ts';
import { clusterExtensions } from './registry.ts';

const HTTP_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const HOUR_MS = 3_600_000;

export const PROTOCOL_FIELDS = [
  'typed_extension_protocol_options', 'http_protocol_options', 'http2_protocol_options', 'common_http_protocol_options',
  'max_requests_per_connection', 'protocol_selection', 'upstream_http_protocol_options',
];
const LEGACY_FIELDS = PROTOCOL_FIELDS.slice(1);

type Protocol = Pick<ClusterSnap, 'upstreamProtocol' | 'maxRequestsPerConnection' | 'idleTimeoutMs'>;

export function upstreamProtocol(c: Obj, path: string, ctx: Ctx): Protocol {
  const optsPath = join(path, 'typed_extension_protocol_options');
  let typed: [string, Obj] | null = null;
  for (const [key, any] of Object.entries(obj(c.typed_extension_protocol_options))) {
    if (anyType(any) === HTTP_OPTIONS) typed = [join(optsPath, key), anyBody(any)];
    else if (!clusterExtensions.has(anyType(any))) unsupported(ctx, join(optsPath, key), `protocol options ${anyType(any) || key} are not supported and are ignored`);
  }
  if (typed === null) return legacy(c, path, ctx);
  const legacyUsed = LEGACY_FIELDS.filter((f) => c[f] !== undefined);
  if (legacyUsed.length > 0) ctx.issues.error(join(path, legacyUsed[0]), 'cannot be combined with typed_extension_protocol_options HttpProtocolOptions');
  return httpProtocolOptions(typed[1], typed[0], ctx);
}

function httpProtocolOptions(o: Obj, path: string, ctx: Ctx): Protocol {
  checkRest(ctx, o, path, ['common_http_protocol_options', 'explicit_http_config', 'use_downstream_protocol_config', 'auto_config', 'upstream_http_protocol_options'], {
    http_filters: 'upstream HTTP filters are not supported',
  });
  if (o.upstream_http_protocol_options !== undefined) checkRest(ctx, obj(o.upstream_http_protocol_options), join(path, 'upstream_http_protocol_options'), []);
  return { upstreamProtocol: protocolChoice(o, path, ctx), ...common(obj(o.common_http_protocol_options), join(path, 'common_http_protocol_options'), ctx) };
}

function protocolChoice(o: Obj, path: string, ctx: Ctx): ClusterSnap['upstreamProtocol'] {
  if (o.explicit_http_config !== undefined) {
    const e = obj(o.explicit_http_config);
    const ep = join(path, 'explicit_http_config');
    checkRest(ctx, e, ep, ['http_protocol_options', 'http2_protocol_options'], { http3_protocol_options: 'HTTP/3 upstreams are not supported' });
    codecOptions(e, ep, ctx);
    return e.http2_protocol_options !== undefined ? 'http2' : 'http1';
  }
  if (o.use_downstream_protocol_config !== undefined) {
    unsupported(ctx, join(path, 'use_downstream_protocol_config'), 'matching the downstream protocol is not supported; HTTP/1.1 is used upstream');
    return 'http1';
  }
  if (o.auto_config !== undefined) {
    const a = obj(o.auto_config);
    const ap = join(path, 'auto_config');
    checkRest(ctx, a, ap, ['http_protocol_options', 'http2_protocol_options'], { http3_protocol_options: 'HTTP/3 upstreams are not supported' });
    codecOptions(a, ap, ctx);
    return 'auto';
  }
  return 'http1';
}

/** HTTP/1 and HTTP/2 codec tuning is not applied yet; each set option is reported. */
function codecOptions(o: Obj, path: string, ctx: Ctx): void {
  for (const f of ['http_protocol_options', 'http2_protocol_options']) {
    if (o[f] !== undefined) checkRest(ctx, obj(o[f]), join(path, f), []);
  }
}

function common(o: Obj, path: string, ctx: Ctx): Omit<Protocol, 'upstreamProtocol'> {
  checkRest(ctx, o, path, ['idle_timeout', 'max_requests_per_connection']);
  return { idleTimeoutMs: durationMs(o.idle_timeout, HOUR_MS), maxRequestsPerConnection: num(o.max_requests_per_connection, 0) };
}

function legacy(c: Obj, path: string, ctx: Ctx): Protocol {
  codecOptions(c, path, ctx);
  let upstreamProtocol: ClusterSnap['upstreamProtocol'] = c.http2_protocol_options !== undefined ? 'http2' : 'http1';
  if (str(c.protocol_selection) === 'USE_DOWNSTREAM_PROTOCOL') {
    unsupported(ctx, join(path, 'protocol_selection'), 'matching the downstream protocol is not supported; HTTP/1.1 is used upstream');
    upstreamProtocol = 'http1';
  }
  if (c.upstream_http_protocol_options !== undefined) checkRest(ctx, obj(c.upstream_http_protocol_options), join(path, 'upstream_http_protocol_options'), []);
  const cm = common(obj(c.common_http_protocol_options), join(path, 'common_http_protocol_options'), ctx);
  return { upstreamProtocol, idleTimeoutMs: cm.idleTimeoutMs, maxRequestsPerConnection: num(c.max_requests_per_connection, cm.maxRequestsPerConnection) };
}
