// A snapshot as a change to the previous one. xDS updates usually touch a few of thousands of
// resources; sending (and unpacking, in every worker) only what changed keeps an update of one
// cluster out of 10,000 cheap. Applying a delta yields a plain Snapshot, so DataPlane.apply is
// the same for both; upserts and removals are by name, so applying one twice is harmless.
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

export function applyDelta(base: WireSnapshot, d: SnapshotDelta): WireSnapshot {
  return {
    ...base,
    version: d.version,
    listeners: patchList(base.listeners, d.listeners.upsert, d.listeners.remove),
    clusters: patchList(base.clusters, d.clusters.upsert, d.clusters.remove),
    routeConfigs: patchMap(base.routeConfigs, d.routeConfigs.upsert, d.routeConfigs.remove),
    secrets: patchMap(base.secrets ?? {}, d.secrets.upsert, d.secrets.remove),
  };
}

function patchList<T extends { name: string }>(base: T[], upsert: T[], remove: string[]): T[] {
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

function patchMap<T>(base: Record<string, T>, upsert: Record<string, T>, remove: string[]): Record<string, T> {
  if (remove.length === 0 && Object.keys(upsert).length === 0) return base;
  const out = { ...base, ...upsert };
  for (const n of remove) delete out[n];
  return out;
}
