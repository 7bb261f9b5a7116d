// The worker's clusters by name. A config update keeps a cluster whose translated config is
// unchanged (same hash), so its pools and in-flight requests are untouched. Host health pushed by
// the primary is kept by cluster name, so a rebuilt cluster starts from the latest verdicts.
// Clusters from xDS arrive packed (PackedCluster): an update only records them, and each is
// built on its first use, before a stats dump, or a few at a time while the worker is idle.
import type { ClusterSnap } from '../../shared/snapshot.ts';
import { isPacked, unpackCluster, type PackedCluster } from '../../shared/snapshot_delta.ts';
import { Cluster } from './cluster.ts';

/** Longest stretch of idle-time building before the worker looks at its sockets again. */
const BUILD_SLICE_MS = 4;
/**
 * Pause between two stretches: building 10,000 clusters takes about 0.2 s of CPU, spread so that
 * it leaves most of the CPU to traffic and to the primary (often busy with the next update).
 */
const BUILD_PAUSE_MS = 16;

export class ClusterManager {
  private clusters = new Map<string, Cluster | PackedCluster>();
  private readonly pushed = new Map<string, Map<string, number>>();
  /** Packed clusters to build when idle (entries already built or replaced are skipped). */
  private queue: PackedCluster[] = [];
  private queueAt = 0;
  private building = false;

  get(name: string): Cluster | undefined {
    const c = this.clusters.get(name);
    if (c === undefined || c instanceof Cluster) return c;
    return this.build(c);
  }

  update(snaps: (ClusterSnap | PackedCluster)[]): void {
    const next = new Map<string, Cluster | PackedCluster>();
    let packed = false;
    for (const s of snaps) {
      const cur = this.clusters.get(s.name);
      if (cur !== undefined && hashOf(cur) === s.hash) {
        next.set(s.name, cur);
      } else if (isPacked(s)) {
        next.set(s.name, s);
        this.queue.push(s);
        packed = true;
      } else {
        next.set(s.name, new Cluster(s, this.pushedFor(s.name)));
      }
    }
    for (const [name, c] of this.clusters) if (c instanceof Cluster && next.get(name) !== c) c.destroy();
    for (const name of this.pushed.keys()) if (!next.has(name)) this.pushed.delete(name);
    this.clusters = next;
    if (packed) this.scheduleBuild();
  }

  /** A delta: these clusters replace (or add to) the ones of the same name; `remove` are gone. */
  patch(upsert: (ClusterSnap | PackedCluster)[], remove: string[]): void {
    let packed = false;
    for (const s of upsert) {
      const cur = this.clusters.get(s.name);
      if (cur !== undefined && hashOf(cur) === s.hash) continue;
      if (cur instanceof Cluster) cur.destroy();
      if (isPacked(s)) {
        this.clusters.set(s.name, s);
        this.queue.push(s);
        packed = true;
      } else {
        this.clusters.set(s.name, new Cluster(s, this.pushedFor(s.name)));
      }
    }
    for (const name of remove) {
      const cur = this.clusters.get(name);
      if (cur === undefined) continue;
      if (cur instanceof Cluster) cur.destroy();
      this.clusters.delete(name);
      this.pushed.delete(name);
    }
    if (packed) this.scheduleBuild();
  }

  /** Builds every cluster still packed (a stats dump lists every cluster's stats). */
  buildAll(): void {
    for (const c of this.clusters.values()) if (!(c instanceof Cluster)) this.build(c);
    this.queue = [];
    this.queueAt = 0;
  }

  /** The primary's health verdicts for one cluster's hosts (ToWorker `host_health`). */
  setHostHealth(cluster: string, hosts: Record<string, number>): void {
    const c = this.clusters.get(cluster);
    if (c instanceof Cluster) return c.setPushedHealth(hosts);
    // Not built yet (or not known yet): kept for the cluster to pick up when it is built.
    const m = this.pushedFor(cluster);
    m.clear();
    for (const k in hosts) m.set(k, hosts[k]);
  }

  private build(p: PackedCluster): Cluster {
    const c = new Cluster(unpackCluster(p), this.pushedFor(p.name));
    this.clusters.set(p.name, c);
    return c;
  }

  private scheduleBuild(): void {
    if (this.building) return;
    this.building = true;
    setImmediate(() => this.buildSome());
  }

  /** One slice of idle-time building; reschedules itself (after I/O) until the queue is empty. */
  private buildSome(): void {
    const until = performance.now() + BUILD_SLICE_MS;
    const q = this.queue;
    while (this.queueAt < q.length) {
      const p = q[this.queueAt++];
      if (this.clusters.get(p.name) === p) this.build(p);
      if ((this.queueAt & 15) === 0 && performance.now() >= until) {
        setTimeout(() => this.buildSome(), BUILD_PAUSE_MS);
        return;
      }
    }
    this.queue = [];
    this.queueAt = 0;
    this.building = false;
  }

  private pushedFor(name: string): Map<string, number> {
    let m = this.pushed.get(name);
    if (m === undefined) this.pushed.set(name, (m = new Map()));
    return m;
  }
}

function hashOf(c: Cluster | PackedCluster): string {
  return c instanceof Cluster ? c.snap.hash : c.hash;
}
