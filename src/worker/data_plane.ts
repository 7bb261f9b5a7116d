// Everything one worker serves, rebuilt from each snapshot: clusters first (so routes resolve),
// then route configs (swapped in place under live connection managers), then listeners. A delta
// (an xDS update) touches only the resources it names.
import type { ListenerSnap, RouteConfigSnap, SecretSnap } from '../shared/snapshot.ts';
import { patchList, resolveTemplates, type SnapshotDelta, type WireSnapshot } from '../shared/snapshot_delta.ts';
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
  /** What the last snapshot and deltas since said, for the next delta to patch. */
  private listenerSnaps: ListenerSnap[] = [];
  private secrets: Record<string, SecretSnap> = {};

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
    this.secrets = s.secrets ?? {};
    setSecrets(this.secrets);
    resolveTemplates(s.clusters, s.clusterTemplates);
    this.clusters.update(s.clusters);
    if (s.internalListener) internalListeners.bufferBytes = s.internalListener.bufferSizeBytes;
    for (const [name, rc] of Object.entries(s.routeConfigs)) this.setRouteConfig(name, rc);
    for (const [name, ref] of this.routes) {
      if (name in s.routeConfigs) continue;
      ref.current = null;
      this.routeHashes.delete(name);
    }
    this.listenerSnaps = s.listeners;
    return this.listeners.update(s.listeners, this);
  }

  /** A SnapshotDelta against what this plane serves (or is about to: deltas are applied in order). */
  async applyDelta(d: SnapshotDelta): Promise<string[]> {
    if (d.version <= this.version) return [];
    this.version = d.version;
    const sec = d.secrets;
    if (sec.remove.length > 0 || Object.keys(sec.upsert).length > 0) {
      const next = { ...this.secrets, ...sec.upsert };
      for (const n of sec.remove) delete next[n];
      this.secrets = next;
      setSecrets(next);
    }
    resolveTemplates(d.clusters.upsert, d.clusterTemplates);
    this.clusters.patch(d.clusters.upsert, d.clusters.remove);
    for (const [name, rc] of Object.entries(d.routeConfigs.upsert)) this.setRouteConfig(name, rc);
    for (const name of d.routeConfigs.remove) {
      const ref = this.routes.get(name);
      if (ref !== undefined) ref.current = null;
      this.routeHashes.delete(name);
    }
    const l = d.listeners;
    if (l.upsert.length === 0 && l.remove.length === 0) return [];
    this.listenerSnaps = patchList(this.listenerSnaps, l.upsert, l.remove);
    return this.listeners.update(this.listenerSnaps, this);
  }

  private setRouteConfig(name: string, rc: RouteConfigSnap): void {
    const ref = this.routeConfig(name);
    if (rc.hash !== undefined && ref.current !== null && this.routeHashes.get(name) === rc.hash) return;
    ref.current = new RouteConfig(rc);
    if (rc.hash !== undefined) this.routeHashes.set(name, rc.hash);
    else this.routeHashes.delete(name);
  }
}
