// A snapshot as a change to the previous one. xDS updates usually touch a few of thousands of
// resources; sending (and unpacking and applying, in every worker) only what changed keeps an
// update of one cluster out of 10,000 cheap (see DataPlane.applyDelta). Upserts and removals are
// by name, so applying one twice is harmless.
import { unpack } from 'msgpackr';
import type { ClusterSnap, ListenerSnap, LocalityEndpointsSnap, RouteConfigSnap, SecretSnap, Snapshot } from './snapshot.ts';

/**
 * A cluster as the xDS composer sends it, still packed: a worker unpacks it (unpackCluster) only
 * when the cluster is first used (or it has time), so a push of 10,000 clusters is live without
 * building 10,000 clusters first. Its config travels as a `template`, the packed ClusterSnap
 * without name, statName, hash and (for EDS clusters) localities: clusters configured alike
 * share one template, sent once per message (`clusterTemplates`; `template` is its index there
 * until resolveTemplates() puts the bytes in).
 */
export interface PackedCluster {
  name: string;
  /** Changes whenever anything of the cluster (endpoints included) does. */
  hash: string;
  template: Uint8Array;
  /** When it differs from the name (alt_stat_name). */
  statName?: string;
  /** EDS clusters: their endpoints, packed LocalityEndpointsSnap[]. */
  localities?: Uint8Array;
}

export type WirePackedCluster = Omit<PackedCluster, 'template'> & { template: number | Uint8Array };

/** A snapshot as it travels to workers: clusters may still be packed. */
export type WireSnapshot = Omit<Snapshot, 'clusters'> & {
  clusters: (ClusterSnap | PackedCluster)[];
  /** The templates packed clusters index (see PackedCluster). */
  clusterTemplates?: Uint8Array[];
};

export function isPacked(c: ClusterSnap | PackedCluster | WirePackedCluster): c is PackedCluster {
  return (c as PackedCluster).template !== undefined;
}

/** Puts each packed cluster's template bytes in place of its index (once per message received). */
export function resolveTemplates(clusters: (ClusterSnap | PackedCluster | WirePackedCluster)[], templates: Uint8Array[] | undefined): void {
  if (templates === undefined) return;
  for (const c of clusters) if (isPacked(c) && typeof c.template === 'number') c.template = templates[c.template];
}

/** The ClusterSnap of a packed cluster. */
export function unpackCluster(p: PackedCluster): ClusterSnap {
  const snap = unpack(p.template) as ClusterSnap;
  snap.name = p.name;
  snap.statName = p.statName ?? p.name;
  if (p.localities !== undefined) snap.localities = unpack(p.localities) as LocalityEndpointsSnap[];
  snap.hash = p.hash;
  return snap;
}

export interface SnapshotDelta {
  version: number;
  /** The snapshot version this delta was computed against. */
  baseVersion: number;
  /** The templates packed clusters in `clusters.upsert` index. */
  clusterTemplates?: Uint8Array[];
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
