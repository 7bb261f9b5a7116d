// Everything one worker serves, rebuilt from each snapshot: clusters first (so routes resolve),
// then route configs (swapped in place under live connection managers), then listeners.
import type { WireSnapshot } from '../shared/snapshot_delta.ts';
import { ClusterManager } from './upstream/cluster_manager.ts';
import { ListenerManager } from './listener/listener_manager.ts';
import { RouteConfig } from './router/route_config.ts';
import type { RouteConfigRef } from './http/connection_manager.ts';
import type { FilterChainContext } from './listener/filter_chain.ts';
import { internalListeners } from './internal/registry.ts';
import { setSecrets } from './tls/secrets.ts';
import { stats } from './stats/store.ts';

export class DataPlane implements FilterChainContext {
  readonly clusters = new ClusterManager();
  readonly listeners = new ListenerManager();
  private readonly routes = new Map<string, RouteConfigRef>();
  /** Hash of each compiled route config that has one (RDS): unchanged ones are not recompiled. */
  private readonly routeHashes = new Map<string, string>();
  version = -1;

  constructor() {
    // Every cluster's stats are listed, so clusters still packed are built first.
    stats.beforeDump(() => this.clusters.buildAll());
  }

  routeConfig(name: string): RouteConfigRef {
    let r = this.routes.get(name);
    if (r === undefined) this.routes.set(name, (r = { current: null }));
    return r;
  }

  async apply(s: WireSnapshot): Promise<string[]> {
    if (s.version <= this.version) return [];
    this.version = s.version;
    // Secrets first: TLS contexts of kept listeners and clusters pick rotated ones up on their next handshake.
    setSecrets(s.secrets);
    this.clusters.update(s.clusters);
    if (s.internalListener) internalListeners.bufferBytes = s.internalListener.bufferSizeBytes;
    for (const [name, rc] of Object.entries(s.routeConfigs)) {
      const ref = this.routeConfig(name);
      if (rc.hash !== undefined && ref.current !== null && this.routeHashes.get(name) === rc.hash) continue;
      ref.current = new RouteConfig(rc);
      if (rc.hash !== undefined) this.routeHashes.set(name, rc.hash);
      else this.routeHashes.delete(name);
    }
    for (const [name, ref] of this.routes) {
      if (name in s.routeConfigs) continue;
      ref.current = null;
      this.routeHashes.delete(name);
    }
    return this.listeners.update(s.listeners, this);
  }
}
