// ConfigSource / ApiConfigSource / GrpcService → plain specs the primary's xDS client acts on.
// These never reach a worker: they say where resources come from, not how traffic is served.
import { bool, checkRest, durationMs, join, list, obj, str, unsupported, type Ctx, type Obj } from './context.ts';

/** Envoy's default initial_fetch_timeout. */
export const DEFAULT_INITIAL_FETCH_TIMEOUT_MS = 15_000;
/** Envoy's xDS stream retry back-off when envoy_grpc.retry_policy gives none. */
export const DEFAULT_BACKOFF = { baseMs: 500, maxMs: 30_000 };

export type ApiType = 'GRPC' | 'DELTA_GRPC';

/** A normalized DataSource (filename / inline_string / inline_bytes / environment_variable). */
export type DataSourceSpec = Obj;

export interface GrpcTlsSpec {
  rootCerts: DataSourceSpec | null;
  certChain: DataSourceSpec | null;
  privateKey: DataSourceSpec | null;
  sni: string;
}

export interface GrpcServiceSpec {
  kind: 'envoy' | 'google';
  /** envoy_grpc: a static cluster the primary dials itself. */
  clusterName: string;
  /** envoy_grpc.authority (default: the cluster name). */
  authority: string;
  /** google_grpc.target_uri. */
  targetUri: string;
  /** google_grpc ssl_credentials; envoy_grpc takes TLS from its cluster. */
  tls: GrpcTlsSpec | null;
  initialMetadata: { key: string; value: string }[];
  backoff: { baseMs: number; maxMs: number };
}

export interface ApiSourceSpec {
  apiType: ApiType;
  /** Envoy uses the first service only (the rest are for failover it never does). */
  service: GrpcServiceSpec;
  setNodeOnFirstMessageOnly: boolean;
  /** Stable identity: equal specs share one stream per resource type. */
  key: string;
}

export type ConfigSourceSpec =
  | { kind: 'ads'; initialFetchTimeoutMs: number }
  | { kind: 'api'; api: ApiSourceSpec; initialFetchTimeoutMs: number }
  | { kind: 'path'; path: string; watchedDirectory: string | null; initialFetchTimeoutMs: number }
  /** `self`: the same source the referring resource came from. */
  | { kind: 'self'; initialFetchTimeoutMs: number };

/** References a resource makes to other xDS resources, collected while translating it. */
export interface XdsRefs {
  rds: { name: string; source: ConfigSourceSpec; statPrefix: string }[];
  eds: { cluster: string; serviceName: string; source: ConfigSourceSpec }[];
  /** SDS secrets (sds_secret_configs); the TLS translation adds these. */
  sds: { name: string; source: ConfigSourceSpec }[];
}

export function emptyRefs(): XdsRefs {
  return { rds: [], eds: [], sds: [] };
}

/** Stable key of a config source, for grouping subscriptions onto streams. */
export function sourceKey(s: ConfigSourceSpec): string {
  switch (s.kind) {
    case 'ads':
    case 'self':
      return s.kind;
    case 'api':
      return `api:${s.api.key}`;
    case 'path':
      return `path:${s.path}`;
  }
}

const SOURCE_HANDLED = ['path', 'path_config_source', 'api_config_source', 'ads', 'self', 'initial_fetch_timeout', 'resource_api_version'];

export function configSource(o: Obj, path: string, ctx: Ctx): ConfigSourceSpec | null {
  checkRest(ctx, o, path, SOURCE_HANDLED, { authorities: 'xDS-TP authorities are not supported' });
  checkApiVersion(o.resource_api_version, join(path, 'resource_api_version'), ctx);
  const initialFetchTimeoutMs = durationMs(o.initial_fetch_timeout, DEFAULT_INITIAL_FETCH_TIMEOUT_MS);
  if (o.ads !== undefined) {
    checkRest(ctx, obj(o.ads), join(path, 'ads'), []);
    return { kind: 'ads', initialFetchTimeoutMs };
  }
  if (o.self !== undefined) {
    checkRest(ctx, obj(o.self), join(path, 'self'), [], {});
    return { kind: 'self', initialFetchTimeoutMs };
  }
  if (typeof o.path === 'string') return { kind: 'path', path: o.path, watchedDirectory: null, initialFetchTimeoutMs };
  if (o.path_config_source !== undefined) {
    const p = obj(o.path_config_source);
    const pp = join(path, 'path_config_source');
    checkRest(ctx, p, pp, ['path', 'watched_directory']);
    const wd = obj(p.watched_directory);
    checkRest(ctx, wd, join(pp, 'watched_directory'), ['path']);
    return { kind: 'path', path: str(p.path), watchedDirectory: p.watched_directory === undefined ? null : str(wd.path), initialFetchTimeoutMs };
  }
  if (o.api_config_source !== undefined) {
    const api = apiConfigSource(obj(o.api_config_source), join(path, 'api_config_source'), ctx);
    return api === null ? null : { kind: 'api', api, initialFetchTimeoutMs };
  }
  ctx.issues.error(path, 'a config source needs one of ads, api_config_source, path_config_source or self');
  return null;
}

const API_HANDLED = ['api_type', 'transport_api_version', 'grpc_services', 'set_node_on_first_message_only', 'refresh_delay', 'request_timeout', 'rate_limit_settings'];

export function apiConfigSource(o: Obj, path: string, ctx: Ctx, aggregated = false): ApiSourceSpec | null {
  checkRest(ctx, o, path, API_HANDLED, { config_validators: 'xDS config validators are not supported' });
  checkApiVersion(o.transport_api_version, join(path, 'transport_api_version'), ctx);
  if (o.refresh_delay !== undefined) ctx.issues.warn(join(path, 'refresh_delay'), 'only used by REST config sources; ignored');
  if (o.request_timeout !== undefined) ctx.issues.warn(join(path, 'request_timeout'), 'only used by REST config sources; ignored');
  if (o.rate_limit_settings !== undefined) unsupported(ctx, join(path, 'rate_limit_settings'));
  const type = str(o.api_type, 'DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE');
  let apiType: ApiType;
  if (type === 'GRPC' || (aggregated && type === 'AGGREGATED_GRPC')) apiType = 'GRPC';
  else if (type === 'DELTA_GRPC' || (aggregated && type === 'AGGREGATED_DELTA_GRPC')) apiType = 'DELTA_GRPC';
  else {
    const why = type === 'REST' ? 'REST (polling) config sources are not supported; use GRPC or DELTA_GRPC' : `api_type ${type} is not supported here; use GRPC or DELTA_GRPC`;
    ctx.issues.error(join(path, 'api_type'), why);
    return null;
  }
  const services = list(o.grpc_services);
  if (services.length === 0) {
    ctx.issues.error(join(path, 'grpc_services'), 'a gRPC config source needs a grpc_services entry');
    return null;
  }
  if (services.length > 1) ctx.issues.warn(join(path, 'grpc_services'), 'only the first gRPC service is used (as in Envoy)');
  const service = grpcService(services[0], join(join(path, 'grpc_services'), 0), ctx);
  if (service === null) return null;
  const setNodeOnFirstMessageOnly = bool(o.set_node_on_first_message_only, false);
  const key = JSON.stringify([apiType, service, setNodeOnFirstMessageOnly]);
  return { apiType, service, setNodeOnFirstMessageOnly, key };
}

function checkApiVersion(v: unknown, path: string, ctx: Ctx): void {
  if (v === 'V2') ctx.issues.error(path, 'the v2 xDS API is not supported; use V3');
}

export function grpcService(o: Obj, path: string, ctx: Ctx): GrpcServiceSpec | null {
  checkRest(ctx, o, path, ['envoy_grpc', 'google_grpc', 'timeout', 'initial_metadata', 'retry_policy']);
  const initialMetadata = list(o.initial_metadata).map((h) => ({ key: str(h.key).toLowerCase(), value: str(h.value) }));
  const base = { initialMetadata, backoff: backoff(obj(o.retry_policy)) };
  if (o.envoy_grpc !== undefined) {
    const e = obj(o.envoy_grpc);
    const ep = join(path, 'envoy_grpc');
    checkRest(ctx, e, ep, ['cluster_name', 'authority', 'retry_policy', 'max_receive_message_length', 'skip_envoy_headers']);
    const clusterName = str(e.cluster_name);
    return {
      kind: 'envoy',
      clusterName,
      authority: str(e.authority) || clusterName,
      targetUri: '',
      tls: null,
      ...base,
      backoff: e.retry_policy !== undefined ? backoff(obj(e.retry_policy)) : base.backoff,
    };
  }
  if (o.google_grpc !== undefined) {
    const g = obj(o.google_grpc);
    const gp = join(path, 'google_grpc');
    checkRest(ctx, g, gp, ['target_uri', 'channel_credentials', 'stat_prefix', 'channel_args', 'per_stream_buffer_limit_bytes'], {
      call_credentials: 'gRPC call credentials are not supported',
      credentials_factory_name: 'gRPC credentials factories are not supported',
    });
    return { kind: 'google', clusterName: '', authority: '', targetUri: str(g.target_uri), tls: channelCredentials(obj(g.channel_credentials), join(gp, 'channel_credentials'), ctx), ...base };
  }
  ctx.issues.error(path, 'a gRPC service needs envoy_grpc or google_grpc');
  return null;
}

function channelCredentials(c: Obj, path: string, ctx: Ctx): GrpcTlsSpec | null {
  if (c.ssl_credentials !== undefined) {
    const s = obj(c.ssl_credentials);
    return { rootCerts: dataSource(s.root_certs), certChain: dataSource(s.cert_chain), privateKey: dataSource(s.private_key), sni: '' };
  }
  if (c.google_default !== undefined) ctx.issues.error(join(path, 'google_default'), 'Google default credentials are not supported');
  return null; // none or local_credentials: plaintext
}

function dataSource(v: unknown): DataSourceSpec | null {
  return v === undefined ? null : obj(v);
}

function backoff(rp: Obj): { baseMs: number; maxMs: number } {
  const b = obj(rp.retry_back_off);
  const baseMs = durationMs(b.base_interval, DEFAULT_BACKOFF.baseMs) || DEFAULT_BACKOFF.baseMs;
  // Envoy: max_interval defaults to 10x base_interval when base is given.
  const maxMs = durationMs(b.max_interval, b.base_interval !== undefined ? baseMs * 10 : DEFAULT_BACKOFF.maxMs);
  return { baseMs, maxMs: Math.max(baseMs, maxMs) };
}
