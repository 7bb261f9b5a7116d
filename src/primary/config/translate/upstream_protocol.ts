// Which HTTP version a cluster speaks upstream, and its connection reuse limits: from
// typed_extension_protocol_options[HttpProtocolOptions] or the deprecated Cluster fields.
import type { ClusterSnap } from '../../../shared/snapshot.ts';
import { anyBody, anyType, checkRest, durationMs, join, num, obj, str, unsupported, type Ctx, type Obj } from './context.ts';
import { clusterExtensions } from './registry.ts';
import { http2Options } from './http2_options.ts';

const HTTP_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const HOUR_MS = 3_600_000;

export const PROTOCOL_FIELDS = [
  'typed_extension_protocol_options', 'http_protocol_options', 'http2_protocol_options', 'common_http_protocol_options',
  'max_requests_per_connection', 'protocol_selection', 'upstream_http_protocol_options',
];
const LEGACY_FIELDS = PROTOCOL_FIELDS.slice(1);

type Protocol = Pick<ClusterSnap, 'upstreamProtocol' | 'maxRequestsPerConnection' | 'idleTimeoutMs' | 'http2'>;

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
  return { ...protocolChoice(o, path, ctx), ...common(obj(o.common_http_protocol_options), join(path, 'common_http_protocol_options'), ctx) };
}

function protocolChoice(o: Obj, path: string, ctx: Ctx): Pick<Protocol, 'upstreamProtocol' | 'http2'> {
  const CODECS = ['http_protocol_options', 'http2_protocol_options'];
  const H3 = { http3_protocol_options: 'HTTP/3 upstreams are not supported' };
  if (o.explicit_http_config !== undefined) {
    const e = obj(o.explicit_http_config);
    const ep = join(path, 'explicit_http_config');
    checkRest(ctx, e, ep, CODECS, H3);
    const http2 = codecOptions(e, ep, ctx);
    return { upstreamProtocol: e.http2_protocol_options !== undefined ? 'http2' : 'http1', http2 };
  }
  if (o.use_downstream_protocol_config !== undefined) {
    const d = obj(o.use_downstream_protocol_config);
    const dp = join(path, 'use_downstream_protocol_config');
    checkRest(ctx, d, dp, CODECS, H3);
    return { upstreamProtocol: 'downstream', http2: codecOptions(d, dp, ctx) };
  }
  if (o.auto_config !== undefined) {
    const a = obj(o.auto_config);
    const ap = join(path, 'auto_config');
    checkRest(ctx, a, ap, CODECS, H3);
    return { upstreamProtocol: 'auto', http2: codecOptions(a, ap, ctx) };
  }
  return { upstreamProtocol: 'http1', http2: null };
}

/** HTTP/2 options (Envoy's defaults when the field is absent); HTTP/1 codec tuning is reported as ignored. */
function codecOptions(o: Obj, path: string, ctx: Ctx): ClusterSnap['http2'] {
  if (o.http_protocol_options !== undefined) checkRest(ctx, obj(o.http_protocol_options), join(path, 'http_protocol_options'), []);
  return http2Options(o.http2_protocol_options, join(path, 'http2_protocol_options'), ctx);
}

function common(o: Obj, path: string, ctx: Ctx): Omit<Protocol, 'upstreamProtocol' | 'http2'> {
  checkRest(ctx, o, path, ['idle_timeout', 'max_requests_per_connection']);
  return { idleTimeoutMs: durationMs(o.idle_timeout, HOUR_MS), maxRequestsPerConnection: num(o.max_requests_per_connection, 0) };
}

function legacy(c: Obj, path: string, ctx: Ctx): Protocol {
  const http2 = codecOptions(c, path, ctx);
  let upstreamProtocol: ClusterSnap['upstreamProtocol'] = c.http2_protocol_options !== undefined ? 'http2' : 'http1';
  if (str(c.protocol_selection) === 'USE_DOWNSTREAM_PROTOCOL') upstreamProtocol = 'downstream';
  if (c.upstream_http_protocol_options !== undefined) checkRest(ctx, obj(c.upstream_http_protocol_options), join(path, 'upstream_http_protocol_options'), []);
  const cm = common(obj(c.common_http_protocol_options), join(path, 'common_http_protocol_options'), ctx);
  return { upstreamProtocol, http2, idleTimeoutMs: cm.idleTimeoutMs, maxRequestsPerConnection: num(c.max_requests_per_connection, cm.maxRequestsPerConnection) };
}
