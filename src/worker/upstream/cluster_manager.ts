// The worker's clusters by name. A config update keeps a cluster whose translated config is
// unchanged (same hash), so its pools and in-flight requests are untouched. Host health pushed by
// the primary is kept by cluster name, so a rebuilt cluster starts from the latest verdicts.
import type { ClusterSnap } from '../../shared/snapshot.ts';
import { Cluster } from './cluster.ts';

export class ClusterManager {
  private clusters = new Map<string, Cluster>();
  private readonly pushed = new Map<string, Map<string, number>>();

  get(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }

  all(): IterableIterator<Cluster> {
    return this.clusters.values();
  }

  update(snaps: ClusterSnap[]): void {
    const next = new Map<string, Cluster>();
    for (const s of snaps) {
      const cur = this.clusters.get(s.name);
      next.set(s.name, cur !== undefined && cur.snap.hash === s.hash ? cur : new Cluster(s, this.pushedFor(s.name)));
    }
    for (const [name, c] of this.clusters) if (next.get(name) !== c) c.destroy();
    for (const name of this.pushed.keys()) if (!next.has(name)) this.pushed.delete(name);
    this.clusters = next;
  }

  /** The primary's health verdicts for one cluster's hosts (ToWorker `host_health`). */
  setHostHealth(cluster: string, hosts: Record<string, number>): void {
    const c = this.clusters.get(cluster);
    if (c !== undefined) return c.setPushedHealth(hosts);
    // Not known yet (the snapshot is still being applied): keep it for the cluster to pick up.
    const m = this.pushedFor(cluster);
    m.clear();
    for (const k in hosts) m.set(k, hosts[k]);
  }

  private pushedFor(name: string): Map<string, number> {
    let m = this.pushed.get(name);
    if (m === undefined) this.pushed.set(name, (m = new Map()));
    return m;
  }
}
