// envoy.filters.network.tcp_proxy → TcpProxyFilterSnap.
import type { TcpProxyFilterSnap, WeightedClusterSnap } from '../../../shared/snapshot.ts';
import { checkRest, durationMs, join, list, num, obj, str, type Ctx, type Obj } from './context.ts';
import { TCP_PROXY_TYPE, registerNetworkFilter } from './registry.ts';

const HANDLED = ['stat_prefix', 'cluster', 'weighted_clusters', 'idle_timeout'];
const REJECTED = {
  tunneling_config: 'tunneling TCP over HTTP is not supported',
  on_demand: 'on-demand cluster discovery is not supported',
};

export function tcpProxy(name: string, c: Obj, path: string, ctx: Ctx): TcpProxyFilterSnap {
  checkRest(ctx, c, path, HANDLED, REJECTED);
  const weighted = list(obj(c.weighted_clusters).clusters).map((w, i) => clusterWeight(w, join(join(join(path, 'weighted_clusters'), 'clusters'), i), ctx));
  if (c.weighted_clusters !== undefined) checkRest(ctx, obj(c.weighted_clusters), join(path, 'weighted_clusters'), ['clusters']);
  const cluster = str(c.cluster);
  for (const n of cluster !== '' ? [cluster] : weighted.map((w) => w.name)) {
    if (!ctx.dynamicClusters && n !== '' && !ctx.clusterNames.has(n)) ctx.issues.warn(path, `unknown cluster "${n}"; connections will be closed`);
  }
  return {
    kind: 'tcp_proxy',
    name,
    statPrefix: str(c.stat_prefix),
    cluster,
    weightedClusters: weighted,
    idleTimeoutMs: durationMs(c.idle_timeout, 3_600_000),
  };
}

function clusterWeight(w: Obj, path: string, ctx: Ctx): WeightedClusterSnap {
  checkRest(ctx, w, path, ['name', 'weight']);
  return { name: str(w.name), weight: num(w.weight, 0), headers: null };
}

registerNetworkFilter(TCP_PROXY_TYPE, {
  terminal: true,
  translate: ({ name, config, path, ctx }) => tcpProxy(name, config, path, ctx),
});
