// Builds the Snapshot bytes workers receive from the static resources and the store's active
// xDS resources. Every resource was packed once when translated; publishing only concatenates,
// adding each EDS cluster's current endpoints and a hash that covers them.
import { createHash } from 'node:crypto';
import type { ClusterSnap, RouteConfigSnap, Snapshot } from '../../shared/snapshot.ts';
import type { XdsRefs } from '../config/translate/config_source.ts';
import { Bytes, arrayHeader, mapBody, mapHeader, packCopy } from './msgpack_parts.ts';
import type { XdsStore } from './store.ts';

interface ClusterPiece {
  body: Uint8Array;
  count: number;
  hash: string;
  /** EDS service name; null for clusters whose endpoints are in `body`. */
  eds: string | null;
}

interface RoutePiece {
  name: string;
  body: Uint8Array;
  count: number;
  hash: string;
}

const COMPOSED = new Set(['version', 'listeners', 'clusters', 'routeConfigs', 'secrets']);
const key = new Map<string, Uint8Array>();
const EMPTY_ARRAY = Uint8Array.of(0x90);

function k(s: string): Uint8Array {
  let b = key.get(s);
  if (b === undefined) key.set(s, (b = packCopy(s)));
  return b;
}

export class SnapshotComposer {
  private listeners: Uint8Array[] = [];
  private clusters: ClusterPiece[] = [];
  private routes: RoutePiece[] = [];
  private secrets: { name: string; body: Uint8Array }[] = [];
  /** Other top-level fields of the static snapshot (node, drainTimeMs, ...), packed as they are. */
  private other: [string, Uint8Array][] = [];

  setStatic(s: Snapshot, refs: XdsRefs): void {
    const edsOf = new Map(refs.eds.map((r) => [r.cluster, r.serviceName]));
    this.listeners = s.listeners.map((l) => packCopy(l));
    this.clusters = s.clusters.map((c) => clusterPiece(c, edsOf.get(c.name) ?? null));
    this.routes = Object.entries(s.routeConfigs).map(([name, rc]) => routePiece(name, rc));
    this.secrets = Object.entries(s.secrets ?? {}).map(([name, sec]) => ({ name, body: packCopy(sec) }));
    this.other = Object.entries(s)
      .filter(([f]) => !COMPOSED.has(f))
      .map(([f, v]) => [f, packCopy(v)]);
  }

  compose(version: number, store: XdsStore): Uint8Array {
    const b = new Bytes();
    b.push(mapHeader(COMPOSED.size + this.other.length));
    b.push(k('version'));
    b.value(version);

    const listeners = [...this.listeners];
    const routes = [...this.routes];
    for (const e of store.entries.lds.values()) {
      const v = e.active;
      if (v === null) continue;
      listeners.push(v.t.body);
      for (const r of v.t.inline) routes.push(r);
    }
    for (const e of store.entries.rds.values()) {
      const v = e.active;
      if (v !== null) routes.push({ name: e.name, body: v.t.body, count: v.t.count, hash: v.t.hash });
    }
    b.push(k('listeners'));
    b.push(arrayHeader(listeners.length));
    for (const l of listeners) b.push(l);

    const clusters = [...this.clusters];
    for (const e of store.entries.cds.values()) {
      const v = e.active;
      if (v !== null) clusters.push({ body: v.t.body, count: v.t.count, hash: v.t.hash, eds: v.t.refs.eds[0]?.serviceName ?? null });
    }
    b.push(k('clusters'));
    b.push(arrayHeader(clusters.length));
    for (const c of clusters) writeCluster(b, c, store);

    b.push(k('routeConfigs'));
    b.push(mapHeader(routes.length));
    for (const r of routes) {
      b.value(r.name);
      b.push(mapHeader(r.count + 1));
      b.push(r.body);
      b.push(k('hash'));
      b.value(r.hash);
    }

    const secrets = [...this.secrets];
    for (const e of store.entries.sds.values()) if (e.active !== null) secrets.push({ name: e.name, body: e.active.t.body });
    b.push(k('secrets'));
    b.push(mapHeader(secrets.length));
    for (const s of secrets) {
      b.value(s.name);
      b.push(s.body);
    }

    for (const [f, v] of this.other) {
      b.push(k(f));
      b.push(v);
    }
    return b.finish();
  }
}

function writeCluster(b: Bytes, c: ClusterPiece, store: XdsStore): void {
  if (c.eds === null) {
    b.push(mapHeader(c.count + 1));
    b.push(c.body);
    b.push(k('hash'));
    b.value(c.hash);
    return;
  }
  const ep = store.active('eds', c.eds);
  b.push(mapHeader(c.count + 2));
  b.push(c.body);
  b.push(k('localities'));
  b.push(ep === null ? EMPTY_ARRAY : ep.t.body);
  b.push(k('hash'));
  // The worker rebuilds a cluster whose hash changed, so new endpoints must change it.
  b.value(`${c.hash}:${ep === null ? '-' : ep.t.hash}`);
}

function clusterPiece(c: ClusterSnap, eds: string | null): ClusterPiece {
  const { hash, localities, ...rest } = c;
  const body = mapBody(eds === null ? { ...rest, localities } : rest);
  return { body: body.bytes, count: body.count, hash, eds };
}

function routePiece(name: string, rc: RouteConfigSnap): RoutePiece {
  const { hash: _h, ...rest } = rc;
  const body = mapBody(rest);
  return { name, body: body.bytes, count: body.count, hash: createHash('sha1').update(body.bytes).digest('hex').slice(0, 20) };
}
