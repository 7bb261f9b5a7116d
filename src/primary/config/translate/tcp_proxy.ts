// envoy.filters.network.tcp_proxy → TcpProxyFilterSnap.
import type { TcpProxyFilterSnap, TunnelingConfigSnap, WeightedClusterSnap } from '../../../shared/snapshot.ts';
import { accessLogs } from './access_log.ts';
import { bool, checkRest, durationMs, join, list, num, obj, str, unsupported, type Ctx, type Obj } from './context.ts';
import { headerValueOption } from './headers.ts';
import { TCP_PROXY_TYPE, registerNetworkFilter } from './registry.ts';

const HANDLED = [
  'stat_prefix', 'cluster', 'weighted_clusters', 'idle_timeout', 'max_connect_attempts', 'max_downstream_connection_duration',
  'tunneling_config', 'access_log', 'access_log_options', 'downstream_idle_timeout', 'upstream_idle_timeout',
];
const REJECTED = {
  on_demand: 'on-demand cluster discovery is not supported',
  metadata_match: 'metadata_match (subset load balancing) is not supported',
  hash_policy: 'hash_policy is not supported for tcp_proxy',
};
const HOUR_MS = 3_600_000;

export function tcpProxy(name: string, c: Obj, path: string, ctx: Ctx): TcpProxyFilterSnap {
  checkRest(ctx, c, path, HANDLED, REJECTED);
  for (const f of ['downstream_idle_timeout', 'upstream_idle_timeout', 'access_log_options']) {
    if (c[f] !== undefined) unsupported(ctx, join(path, f), `${f} is not supported and is ignored (idle_timeout applies to both sides)`);
  }
  const weighted = list(obj(c.weighted_clusters).clusters).map((w, i) => clusterWeight(w, join(join(join(path, 'weighted_clusters'), 'clusters'), i), ctx));
  if (c.weighted_clusters !== undefined) checkRest(ctx, obj(c.weighted_clusters), join(path, 'weighted_clusters'), ['clusters']);
  const cluster = str(c.cluster);
  if (cluster === '' && weighted.length === 0) ctx.issues.error(path, 'tcp_proxy needs cluster or weighted_clusters');
  for (const n of cluster !== '' ? [cluster] : weighted.map((w) => w.name)) {
    if (!ctx.dynamicClusters && n !== '' && !ctx.clusterNames.has(n)) ctx.issues.warn(path, `unknown cluster "${n}"; connections will be closed`);
  }
  return {
    kind: 'tcp_proxy',
    name,
    statPrefix: str(c.stat_prefix),
    cluster,
    weightedClusters: weighted,
    idleTimeoutMs: durationMs(c.idle_timeout, HOUR_MS),
    maxConnectAttempts: num(c.max_connect_attempts, 1),
    maxDownstreamConnectionDurationMs: durationMs(c.max_downstream_connection_duration, 0),
    tunneling: c.tunneling_config === undefined ? null : tunneling(obj(c.tunneling_config), join(path, 'tunneling_config'), ctx),
    accessLogs: accessLogs(c.access_log, join(path, 'access_log'), ctx),
  };
}

function clusterWeight(w: Obj, path: string, ctx: Ctx): WeightedClusterSnap {
  checkRest(ctx, w, path, ['name', 'weight'], { metadata_match: 'metadata_match (subset load balancing) is not supported' });
  return { name: str(w.name), weight: num(w.weight, 0), headers: null };
}

function tunneling(t: Obj, path: string, ctx: Ctx): TunnelingConfigSnap {
  checkRest(ctx, t, path, ['hostname', 'use_post', 'post_path', 'headers_to_add', 'propagate_response_headers', 'propagate_response_trailers']);
  for (const f of ['propagate_response_headers', 'propagate_response_trailers']) {
    if (t[f] === true) unsupported(ctx, join(path, f), `${f} is not supported (there is no filter state to carry them) and is ignored`);
  }
  const usePost = bool(t.use_post, false);
  if (!usePost && t.post_path !== undefined) ctx.issues.error(join(path, 'post_path'), 'post_path needs use_post');
  return {
    hostname: str(t.hostname),
    usePost,
    postPath: str(t.post_path) || '/',
    headersToAdd: list(t.headers_to_add).map((h, i) => headerValueOption(h, join(join(path, 'headers_to_add'), i), ctx)),
  };
}

registerNetworkFilter(TCP_PROXY_TYPE, {
  terminal: true,
  translate: ({ name, config, path, ctx }) => tcpProxy(name, config, path, ctx),
});
