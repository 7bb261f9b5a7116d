// A snapshot as a change to the previous one. xDS updates usually touch a few of thousands of
// resources; sending (and unpacking and applying, in every worker) only what changed keeps an
// update of one cluster out of 10,000 cheap (see DataPlane.applyDelta). Upserts and removals are
// by name, so applying one twice is harmless.
import type { ClusterSnap, ListenerSnap, RouteConfigSnap, SecretSnap, Snapshot } from './snapshot.ts';

/**
 * A cluster as the xDS composer sends it: its ClusterSnap still packed (msgpack), with the name
 * and hash outside. A worker keeps it packed until the cluster is first used (or it has time),
 * so a push of 10,000 clusters is live without unpacking and building 10,000 clusters first.
 */
export interface PackedCluster {
  name: string;
  hash: string;
  packed: Uint8Array;
}

/** A snapshot as it travels to workers: clusters may still be packed. */
export type WireSnapshot = Omit<Snapshot, 'clusters'> & { clusters: (ClusterSnap | PackedCluster)[] };

export function isPacked(c: ClusterSnap | PackedCluster): c is PackedCluster {
  return (c as PackedCluster).packed !== undefined;
}

export interface SnapshotDelta {
  version: number;
  /** The snapshot version this delta was computed against. */
  baseVersion: number;
  listeners: { upsert: ListenerSnap[]; remove: string[] };
  clusters: { upsert: (ClusterSnap | PackedCluster)[]; remove: string[] };
  routeConfigs: { upsert: Record<string, RouteConfigSnap>; remove: string[] };
  secrets: { upsert: Record<string, SecretSnap>; remove: string[] };
}

/** `base` with the items named in `remove` left out and `upsert` put in (in place, or appended). */
export function patchList<T extends { name: string }>(base: T[], upsert: T[], remove: string[]): T[] {
  if (upsert.length === 0 && remove.length === 0) return base;
  const gone = new Set(remove);
  const byName = new Map(upsert.map((x) => [x.name, x]));
  const out: T[] = [];
  for (const x of base) {
    if (gone.has(x.name)) continue;
    const u = byName.get(x.name);
    if (u === undefined) out.push(x);
    else {
      out.push(u);
      byName.delete(x.name);
    }
  }
  for (const u of byName.values()) out.push(u);
  return out;
}
