// envoy.filters.network.http_connection_manager → HcmSnap, with Envoy's defaults.
import type { HcmSnap } from '../../../shared/snapshot.ts';
import { accessLogs } from './access_log.ts';
import { bool, checkRest, durationMs, join, list, num, obj, str, type Ctx, type Obj } from './context.ts';
import { httpFilterList } from './http_filters.ts';
import { HCM_TYPE, registerNetworkFilter } from './registry.ts';
import { routeConfig } from './route.ts';
import { configSource } from './config_source.ts';
import { upgradeConfig } from './route_action.ts';
import { http2Options, HTTP2_FLOOD_FIELDS } from './http2_options.ts';

const HOUR_MS = 3_600_000;

const HANDLED = [
  'codec_type', 'stat_prefix', 'rds', 'route_config', 'http_filters', 'common_http_protocol_options', 'server_name',
  'server_header_transformation', 'max_request_headers_kb', 'stream_idle_timeout', 'request_timeout',
  'request_headers_timeout', 'access_log', 'use_remote_address', 'xff_num_trusted_hops', 'skip_xff_append',
  'generate_request_id', 'preserve_external_request_id', 'upgrade_configs', 'http_protocol_options', 'http2_protocol_options',
];
const REJECTED = {
  scoped_routes: 'scoped routes (SRDS) are not supported',
  http3_protocol_options: 'HTTP/3 is not supported',
};

const CODECS: Record<string, HcmSnap['codecType']> = { AUTO: 'auto', HTTP1: 'http1', HTTP2: 'http2' };
const SERVER_HEADER: Record<string, HcmSnap['serverHeaderTransformation']> = {
  OVERWRITE: 'overwrite',
  APPEND_IF_ABSENT: 'append_if_absent',
  PASS_THROUGH: 'pass_through',
};

export function httpConnectionManager(c: Obj, path: string, ctx: Ctx, scope: string): HcmSnap {
  checkRest(ctx, c, path, HANDLED, REJECTED);
  const common = commonOptions(obj(c.common_http_protocol_options), join(path, 'common_http_protocol_options'), ctx);
  if (c.http_protocol_options !== undefined) checkRest(ctx, obj(c.http_protocol_options), join(path, 'http_protocol_options'), []);
  // allow_connect: HTTP/2 downstream serves CONNECT termination (docs/l4.md); the rest tunes the codec.
  const h2 = obj(c.http2_protocol_options);
  const http2 = http2Options(h2, join(path, 'http2_protocol_options'), ctx, ['allow_connect', ...HTTP2_FLOOD_FIELDS]);
  return {
    statPrefix: str(c.stat_prefix),
    codecType: codec(c, path, ctx),
    ...routeSource(c, path, ctx, scope),
    httpFilters: httpFilterList(c.http_filters, join(path, 'http_filters'), ctx),
    serverName: str(c.server_name, 'envoy') || 'envoy',
    serverHeaderTransformation: SERVER_HEADER[str(c.server_header_transformation, 'OVERWRITE')] ?? 'overwrite',
    useRemoteAddress: bool(c.use_remote_address, false),
    xffNumTrustedHops: num(c.xff_num_trusted_hops, 0),
    skipXffAppend: bool(c.skip_xff_append, false),
    generateRequestId: bool(c.generate_request_id, true),
    preserveExternalRequestId: bool(c.preserve_external_request_id, false),
    maxRequestHeadersKb: num(c.max_request_headers_kb, 60),
    ...common,
    requestTimeoutMs: durationMs(c.request_timeout, 0),
    requestHeadersTimeoutMs: durationMs(c.request_headers_timeout, 0),
    streamIdleTimeoutMs: durationMs(c.stream_idle_timeout, 300_000),
    upgradeTypes: upgradeTypes(c.upgrade_configs, join(path, 'upgrade_configs'), ctx),
    http2AllowConnect: bool(h2.allow_connect, false),
    http2,
    accessLogs: accessLogs(c.access_log, join(path, 'access_log'), ctx),
  };
}

function codec(c: Obj, path: string, ctx: Ctx): HcmSnap['codecType'] {
  const name = str(c.codec_type, 'AUTO');
  const v = CODECS[name];
  if (v === undefined) ctx.issues.error(join(path, 'codec_type'), `codec_type ${name} is not supported`);
  return v ?? 'auto';
}

function routeSource(c: Obj, path: string, ctx: Ctx, scope: string): Pick<HcmSnap, 'routeConfigName' | 'rds'> {
  if (c.rds !== undefined) {
    const rds = obj(c.rds);
    const rp = join(path, 'rds');
    checkRest(ctx, rds, rp, ['config_source', 'route_config_name']);
    const name = str(rds.route_config_name);
    const source = configSource(obj(rds.config_source), join(rp, 'config_source'), ctx);
    if (source !== null) ctx.xds.rds.push({ name, source, statPrefix: str(c.stat_prefix) });
    return { routeConfigName: name, rds: true };
  }
  // Inline route configs live in Snapshot.routeConfigs under a name no RDS config can take.
  const name = `inline/${scope}`;
  ctx.routeConfigs[name] = routeConfig(obj(c.route_config), join(path, 'route_config'), ctx, true);
  return { routeConfigName: name, rds: false };
}

function commonOptions(o: Obj, path: string, ctx: Ctx): Pick<HcmSnap, 'idleTimeoutMs' | 'maxHeadersCount' | 'maxRequestsPerConnection'> {
  checkRest(ctx, o, path, ['idle_timeout', 'max_headers_count', 'max_requests_per_connection']);
  return {
    idleTimeoutMs: durationMs(o.idle_timeout, HOUR_MS),
    maxHeadersCount: num(o.max_headers_count, 100),
    maxRequestsPerConnection: num(o.max_requests_per_connection, 0),
  };
}

/** Upgrade types (lower-cased) the HCM allows; disabled entries are left out. */
function upgradeTypes(v: unknown, path: string, ctx: Ctx): string[] {
  return list(v)
    .map((u, i) => upgradeConfig(u, join(path, i), ctx))
    .filter((u) => u.enabled)
    .map((u) => u.upgradeType);
}

registerNetworkFilter(HCM_TYPE, {
  terminal: true,
  translate: ({ name, config, path, ctx, scope }) => ({
    kind: 'http_connection_manager',
    name,
    hcm: httpConnectionManager(config, path, ctx, scope),
  }),
});
