// The worker's clusters by name. A config update keeps a cluster whose translated config is
// unchanged (same hash), so its pools and in-flight requests are untouched.
import type { ClusterSnap } from '../../shared/snapshot.ts';
import { Cluster } from './cluster.ts';

export class ClusterManager {
  private clusters = new Map<string, Cluster>();

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
      next.set(s.name, cur !== undefined && cur.snap.hash === s.hash ? cur : new Cluster(s));
    }
    for (const [name, c] of this.clusters) if (next.get(name) !== c) c.destroy();
    this.clusters = next;
  }
}
