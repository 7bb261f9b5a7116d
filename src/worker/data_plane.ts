// Everything one worker serves, rebuilt from each snapshot: clusters first (so routes resolve),
// then route configs (swapped in place under live connection managers), then listeners.
import type { Snapshot } from '../shared/snapshot.ts';
import { ClusterManager } from './upstream/cluster_manager.ts';
import { ListenerManager } from './listener/listener_manager.ts';
import { RouteConfig } from './router/route_config.ts';
import type { RouteConfigRef } from './http/connection_manager.ts';
import type { FilterChainContext } from './listener/filter_chain.ts';

export class DataPlane implements FilterChainContext {
  readonly clusters = new ClusterManager();
  readonly listeners = new ListenerManager();
  private readonly routes = new Map<string, RouteConfigRef>();
  version = -1;

  routeConfig(name: string): RouteConfigRef {
    let r = this.routes.get(name);
    if (r === undefined) this.routes.set(name, (r = { current: null }));
    return r;
  }

  async apply(s: Snapshot): Promise<string[]> {
    if (s.version <= this.version) return [];
    this.version = s.version;
    this.clusters.update(s.clusters);
    for (const [name, rc] of Object.entries(s.routeConfigs)) this.routeConfig(name).current = new RouteConfig(rc);
    for (const [name, ref] of this.routes) if (!(name in s.routeConfigs)) ref.current = null;
    return this.listeners.update(s.listeners, this);
  }
}
