// What a matched route does: forward (RouteAction), redirect, or answer directly.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DirectResponseSnap, HashPolicySnap, MirrorPolicySnap, RedirectSnap, RetryPolicySnap, RouteActionSnap, WeightedClusterSnap } from '../../../shared/snapshot.ts';
import { bool, checkRest, durationMs, join, list, num, obj, str, unsupported, type Ctx, type Obj } from './context.ts';
import { HEADER_FIELDS, headerMutation } from './headers.ts';
import { headerMatcher, regex } from './route_match.ts';

const NOT_FOUND_CODES: Record<string, number> = { SERVICE_UNAVAILABLE: 503, NOT_FOUND: 404, INTERNAL_SERVER_ERROR: 500 };

const ACTION_HANDLED = [
  'cluster', 'cluster_header', 'weighted_clusters', 'cluster_not_found_response_code', 'timeout', 'idle_timeout',
  'prefix_rewrite', 'regex_rewrite', 'host_rewrite_literal', 'auto_host_rewrite', 'host_rewrite_header',
  'retry_policy', 'hash_policy', 'upgrade_configs', 'priority', 'request_mirror_policies', 'max_stream_duration',
];
const ACTION_REJECTED = {
  cluster_specifier_plugin: 'cluster specifier plugins are not supported',
  inline_cluster_specifier_plugin: 'cluster specifier plugins are not supported',
  path_rewrite_policy: 'path_rewrite_policy (URI templates) is not supported',
  host_rewrite_path_regex: 'host_rewrite_path_regex is not supported',
};

/** Envoy's route timeout default (15 s). */
export const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
/** Marker for "route idle_timeout not set": the HCM's stream_idle_timeout applies. */
export const IDLE_TIMEOUT_UNSET = -1;

export function routeAction(a: Obj, path: string, ctx: Ctx): RouteActionSnap {
  checkRest(ctx, a, path, ACTION_HANDLED, ACTION_REJECTED);
  return {
    kind: 'route',
    cluster: str(a.cluster),
    clusterHeader: str(a.cluster_header).toLowerCase(),
    weightedClusters: weightedClusters(obj(a.weighted_clusters), join(path, 'weighted_clusters'), ctx),
    clusterNotFoundResponseCode: NOT_FOUND_CODES[str(a.cluster_not_found_response_code, 'SERVICE_UNAVAILABLE')] ?? 503,
    timeoutMs: durationMs(a.timeout, DEFAULT_ROUTE_TIMEOUT_MS),
    idleTimeoutMs: a.idle_timeout === undefined ? IDLE_TIMEOUT_UNSET : durationMs(a.idle_timeout, 0),
    prefixRewrite: typeof a.prefix_rewrite === 'string' ? a.prefix_rewrite : null,
    regexRewrite: regexRewrite(a.regex_rewrite, join(path, 'regex_rewrite'), ctx),
    hostRewriteLiteral: typeof a.host_rewrite_literal === 'string' ? a.host_rewrite_literal : null,
    autoHostRewrite: bool(a.auto_host_rewrite, false),
    hostRewriteHeader: typeof a.host_rewrite_header === 'string' ? a.host_rewrite_header.toLowerCase() : null,
    retryPolicy: a.retry_policy === undefined ? null : retryPolicy(obj(a.retry_policy), join(path, 'retry_policy'), ctx),
    hashPolicy: list(a.hash_policy).flatMap((h, i) => hashPolicy(h, join(join(path, 'hash_policy'), i), ctx)),
    upgradeConfigs: list(a.upgrade_configs).map((u, i) => upgradeConfig(u, join(join(path, 'upgrade_configs'), i), ctx)),
    mirrorPolicies: list(a.request_mirror_policies).map((m, i) => mirrorPolicy(m, join(join(path, 'request_mirror_policies'), i), ctx)),
    ...maxStreamDuration(obj(a.max_stream_duration), join(path, 'max_stream_duration'), ctx),
    // Selects the cluster's HIGH or DEFAULT circuit-breaker thresholds.
    priority: a.priority === 'HIGH' ? 'high' : 'default',
  };
}

function mirrorPolicy(m: Obj, path: string, ctx: Ctx): MirrorPolicySnap {
  checkRest(ctx, m, path, ['cluster', 'runtime_fraction', 'trace_sampled'], { cluster_header: 'mirror cluster_header is not supported' });
  if (str(m.cluster) === '') ctx.issues.error(join(path, 'cluster'), 'is required');
  return { cluster: str(m.cluster), fraction: fraction(obj(obj(m.runtime_fraction).default_value)) };
}

/** A FractionalPercent as a fraction of 1 (absent = 1: every request). */
function fraction(f: Obj): number {
  if (f.numerator === undefined) return 1;
  const den = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 }[str(f.denominator, 'HUNDRED')] ?? 100;
  return Math.min(1, num(f.numerator, 0) / den);
}

function maxStreamDuration(d: Obj, path: string, ctx: Ctx): { maxStreamDurationMs: number; grpcTimeoutHeaderMaxMs: number } {
  checkRest(ctx, d, path, ['max_stream_duration', 'grpc_timeout_header_max'], { grpc_timeout_header_offset: 'grpc_timeout_header_offset is not supported' });
  return {
    maxStreamDurationMs: durationMs(d.max_stream_duration, 0),
    grpcTimeoutHeaderMaxMs: d.grpc_timeout_header_max === undefined ? -1 : durationMs(d.grpc_timeout_header_max, 0),
  };
}

/** Cluster names a route action can send to (for the unknown-cluster check). */
export function routeTargets(a: RouteActionSnap): string[] {
  return a.cluster !== '' ? [a.cluster] : a.weightedClusters.map((w) => w.name);
}

function weightedClusters(w: Obj, path: string, ctx: Ctx): WeightedClusterSnap[] {
  if (Object.keys(w).length === 0) return [];
  checkRest(ctx, w, path, ['clusters', 'total_weight'], { header_name: 'weighted_clusters.header_name is not supported' });
  const out = list(w.clusters).map((c, i) => clusterWeight(c, join(join(path, 'clusters'), i), ctx));
  const sum = out.reduce((a, c) => a + c.weight, 0);
  if (sum === 0) ctx.issues.error(join(path, 'clusters'), 'the sum of cluster weights must be greater than 0');
  if (w.total_weight !== undefined && w.total_weight !== sum) {
    ctx.issues.error(join(path, 'total_weight'), `total_weight ${String(w.total_weight)} does not equal the sum of weights ${sum}`);
  }
  return out;
}

function clusterWeight(c: Obj, path: string, ctx: Ctx): WeightedClusterSnap {
  checkRest(ctx, c, path, ['name', 'weight', ...HEADER_FIELDS], { cluster_header: 'cluster_header in weighted clusters is not supported' });
  if (str(c.name) === '') ctx.issues.error(join(path, 'name'), 'is required');
  const hasHeaders = HEADER_FIELDS.some((f) => c[f] !== undefined);
  return { name: str(c.name), weight: num(c.weight, 0), headers: hasHeaders ? headerMutation(c, path, ctx) : null };
}

function regexRewrite(v: unknown, path: string, ctx: Ctx): { pattern: string; substitution: string } | null {
  if (v === undefined) return null;
  const r = obj(v);
  return { pattern: regex(r.pattern, join(path, 'pattern'), ctx), substitution: str(r.substitution) };
}

const RETRY_HANDLED = ['retry_on', 'num_retries', 'per_try_timeout', 'retriable_status_codes', 'retry_back_off', 'retry_host_predicate', 'host_selection_retry_max_attempts', 'retriable_headers'];

export function retryPolicy(r: Obj, path: string, ctx: Ctx): RetryPolicySnap {
  checkRest(ctx, r, path, RETRY_HANDLED);
  const backOff = obj(r.retry_back_off);
  const baseIntervalMs = durationMs(backOff.base_interval, 25);
  if (backOff.base_interval !== undefined && baseIntervalMs <= 0) ctx.issues.error(join(join(path, 'retry_back_off'), 'base_interval'), 'must be greater than 0');
  const maxIntervalMs = durationMs(backOff.max_interval, baseIntervalMs * 10);
  if (maxIntervalMs < baseIntervalMs) ctx.issues.error(join(join(path, 'retry_back_off'), 'max_interval'), 'must be at least base_interval');
  return {
    retryOn: str(r.retry_on).split(',').map((s) => s.trim()).filter((s) => s !== ''),
    numRetries: num(r.num_retries, 1),
    perTryTimeoutMs: durationMs(r.per_try_timeout, 0),
    retriableStatusCodes: Array.isArray(r.retriable_status_codes) ? (r.retriable_status_codes as number[]) : [],
    baseIntervalMs,
    maxIntervalMs,
    previousHosts: list(r.retry_host_predicate).some((p) => str(obj(p).name).includes('previous_hosts') || str(obj(obj(p).typed_config)['@type']).includes('PreviousHostsPredicate')),
    hostSelectionRetryMaxAttempts: num(r.host_selection_retry_max_attempts, 1),
    retriableHeaders: list(r.retriable_headers).map((h, i) => headerMatcher(obj(h), join(join(path, 'retriable_headers'), i), ctx)),
  };
}

function hashPolicy(h: Obj, path: string, ctx: Ctx): HashPolicySnap[] {
  checkRest(ctx, h, path, ['header', 'cookie', 'connection_properties', 'query_parameter', 'terminal'], {
    filter_state: 'filter_state hash policies are not supported',
  });
  const terminal = bool(h.terminal, false);
  if (h.header !== undefined) {
    checkRest(ctx, obj(h.header), join(path, 'header'), ['header_name']);
    return [{ kind: 'header', name: str(obj(h.header).header_name).toLowerCase(), terminal }];
  }
  if (h.cookie !== undefined) {
    checkRest(ctx, obj(h.cookie), join(path, 'cookie'), ['name'], { ttl: 'generated hash cookies (ttl) are not supported' });
    return [{ kind: 'cookie', name: str(obj(h.cookie).name), terminal }];
  }
  if (h.connection_properties !== undefined) {
    return obj(h.connection_properties).source_ip === true ? [{ kind: 'source_ip', name: '', terminal }] : [];
  }
  if (h.query_parameter !== undefined) return [{ kind: 'query_parameter', name: str(obj(h.query_parameter).name), terminal }];
  return [];
}

export function upgradeConfig(u: Obj, path: string, ctx: Ctx): RouteActionSnap['upgradeConfigs'][number] {
  checkRest(ctx, u, path, ['upgrade_type', 'enabled', 'connect_config'], { filters: 'upgrade-specific filter chains are not supported' });
  const upgradeType = str(u.upgrade_type).toLowerCase();
  let connectConfig: { allowPost: boolean } | null = null;
  if (u.connect_config !== undefined) {
    const cc = obj(u.connect_config);
    const cp = join(path, 'connect_config');
    checkRest(ctx, cc, cp, ['allow_post'], { proxy_protocol_config: 'sending a PROXY header on terminated CONNECT is not supported' });
    if (upgradeType !== 'connect') ctx.issues.error(cp, 'connect_config is only valid for upgrade_type CONNECT');
    connectConfig = { allowPost: bool(cc.allow_post, false) };
  }
  return { upgradeType, enabled: bool(u.enabled, true), connectConfig };
}

const REDIRECT_CODES: Record<string, number> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

export function redirect(r: Obj, path: string, ctx: Ctx): RedirectSnap {
  checkRest(ctx, r, path, ['https_redirect', 'scheme_redirect', 'host_redirect', 'port_redirect', 'path_redirect', 'prefix_rewrite', 'response_code', 'strip_query'], {
    regex_rewrite: 'regex_rewrite in redirects is not supported',
  });
  const scheme = r.https_redirect === true ? 'https' : typeof r.scheme_redirect === 'string' ? r.scheme_redirect.toLowerCase() : null;
  return {
    kind: 'redirect',
    schemeRedirect: scheme,
    hostRedirect: typeof r.host_redirect === 'string' ? r.host_redirect : null,
    portRedirect: num(r.port_redirect, 0),
    pathRedirect: typeof r.path_redirect === 'string' ? r.path_redirect : null,
    prefixRewrite: typeof r.prefix_rewrite === 'string' ? r.prefix_rewrite : null,
    responseCode: REDIRECT_CODES[str(r.response_code, 'MOVED_PERMANENTLY')] ?? 301,
    stripQuery: bool(r.strip_query, false),
  };
}

/** Envoy's default max_direct_response_body_size_bytes. */
export const DEFAULT_MAX_DIRECT_BODY = 4096;

export function directResponse(d: Obj, path: string, ctx: Ctx, maxBody: number): DirectResponseSnap {
  checkRest(ctx, d, path, ['status', 'body']);
  const body = d.body === undefined ? null : dataSource(obj(d.body), join(path, 'body'), ctx);
  if (body !== null && body.length > maxBody) {
    ctx.issues.error(join(path, 'body'), `body is ${body.length} bytes, over the ${maxBody}-byte limit (raise max_direct_response_body_size_bytes in the route config)`);
  }
  return { kind: 'direct_response', status: num(d.status, 200), body };
}

/** A DataSource read now, at translate time: inline string/bytes, a file, or an environment variable. */
export function dataSource(s: Obj, path: string, ctx: Ctx): Uint8Array | null {
  checkRest(ctx, s, path, ['inline_string', 'inline_bytes', 'filename', 'environment_variable'], { watched_directory: 'watched_directory is not supported' });
  if (typeof s.inline_string === 'string') return bytes(Buffer.from(s.inline_string, 'utf8'));
  if (s.inline_bytes instanceof Uint8Array) return bytes(s.inline_bytes);
  if (typeof s.filename === 'string') return readDataFile(s.filename, join(path, 'filename'), ctx);
  if (typeof s.environment_variable === 'string') {
    const v = process.env[s.environment_variable];
    if (v === undefined) ctx.issues.error(join(path, 'environment_variable'), `environment variable ${s.environment_variable} is not set`);
    return v === undefined ? null : bytes(Buffer.from(v, 'utf8'));
  }
  return null;
}

function readDataFile(file: string, path: string, ctx: Ctx): Uint8Array | null {
  try {
    return bytes(readFileSync(resolve(ctx.baseDir, file)));
  } catch (e) {
    ctx.issues.error(path, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return null;
  }
}

/** A plain Uint8Array (not a Buffer view on a shared pool), so msgpackr packs exactly these bytes. */
function bytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

