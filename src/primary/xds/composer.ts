// Builds what workers receive from the static resources and the store's active xDS resources:
// a whole Snapshot, or a SnapshotDelta against the last one built. Every resource was packed
// once when translated, so building only concatenates bytes, adding each EDS cluster's current
// endpoints and a hash that covers them.
import { createHash } from 'node:crypto';
import type { ClusterSnap, RouteConfigSnap, Snapshot } from '../../shared/snapshot.ts';
import type { XdsRefs } from '../config/translate/config_source.ts';
import { Bytes, arrayHeader, mapBody, mapHeader, packCopy } from './msgpack_parts.ts';
import type { XdsStore } from './store.ts';

/** One resource ready to write: `key` changes whenever its bytes would. */
interface Piece {
  key: string;
  write(b: Bytes): void;
}

interface View {
  listeners: Map<string, Piece>;
  clusters: Map<string, Piece>;
  routes: Map<string, Piece>;
  secrets: Map<string, Piece>;
}

interface ClusterPart {
  body: Uint8Array;
  count: number;
  hash: string;
  /** EDS service name; null for clusters whose endpoints are in `body`. */
  eds: string | null;
}

interface RoutePart {
  body: Uint8Array;
  count: number;
  hash: string;
}

const COMPOSED = new Set(['version', 'listeners', 'clusters', 'routeConfigs', 'secrets']);
const keys = new Map<string, Uint8Array>();
const EMPTY_ARRAY = Uint8Array.of(0x90);

function k(s: string): Uint8Array {
  let b = keys.get(s);
  if (b === undefined) keys.set(s, (b = packCopy(s)));
  return b;
}

export class SnapshotComposer {
  private listeners: [string, string, Uint8Array][] = [];
  private clusters: [string, ClusterPart][] = [];
  private routes: [string, RoutePart][] = [];
  private secrets: [string, string, Uint8Array][] = [];
  /** Other top-level fields of the static snapshot (node, drainTimeMs, ...), packed as they are. */
  private other: [string, Uint8Array][] = [];
  /** Keys of what the last built snapshot or delta contained, by kind and name. */
  private last: Record<keyof View, Map<string, string>> | null = null;

  setStatic(s: Snapshot, refs: XdsRefs): void {
    const edsOf = new Map(refs.eds.map((r) => [r.cluster, r.serviceName]));
    this.listeners = s.listeners.map((l) => [l.name, l.hash, packCopy(l)]);
    this.clusters = s.clusters.map((c) => [c.name, clusterPart(c, edsOf.get(c.name) ?? null)]);
    this.routes = Object.entries(s.routeConfigs).map(([name, rc]) => [name, routePart(rc)]);
    this.secrets = Object.entries(s.secrets ?? {}).map(([name, sec]) => [name, sec.hash, packCopy(sec)]);
    this.other = Object.entries(s)
      .filter(([f]) => !COMPOSED.has(f))
      .map(([f, v]) => [f, packCopy(v)]);
    // Static fields other than these four kinds can only travel in a whole snapshot.
    this.last = null;
  }

  /** A delta is possible when a whole snapshot was built since the static resources last changed. */
  get canDelta(): boolean {
    return this.last !== null;
  }

  /** `track`: later deltas are computed against this snapshot (false for a side copy). */
  compose(version: number, store: XdsStore, track = true): Uint8Array {
    const v = this.view(store);
    const b = new Bytes();
    b.push(mapHeader(COMPOSED.size + this.other.length));
    b.push(k('version'));
    b.value(version);
    b.push(k('listeners'));
    b.push(arrayHeader(v.listeners.size));
    for (const p of v.listeners.values()) p.write(b);
    b.push(k('clusters'));
    b.push(arrayHeader(v.clusters.size));
    for (const p of v.clusters.values()) p.write(b);
    for (const [field, m] of [['routeConfigs', v.routes], ['secrets', v.secrets]] as const) {
      b.push(k(field));
      b.push(mapHeader(m.size));
      for (const [name, p] of m) {
        b.value(name);
        p.write(b);
      }
    }
    for (const [f, bytes] of this.other) {
      b.push(k(f));
      b.push(bytes);
    }
    if (track) this.last = keysOf(v);
    return b.finish();
  }

  /** What changed since the last snapshot or delta built (see SnapshotDelta). */
  composeDelta(version: number, baseVersion: number, store: XdsStore): Uint8Array {
    const v = this.view(store);
    const last = this.last!;
    const b = new Bytes();
    b.push(mapHeader(6));
    b.push(k('version'));
    b.value(version);
    b.push(k('baseVersion'));
    b.value(baseVersion);
    for (const [field, kind, asMap] of [['listeners', 'listeners', false], ['clusters', 'clusters', false], ['routeConfigs', 'routes', true], ['secrets', 'secrets', true]] as const) {
      const cur = v[kind];
      const prev = last[kind];
      const upsert = [...cur].filter(([name, p]) => prev.get(name) !== p.key);
      const remove = [...prev.keys()].filter((name) => !cur.has(name));
      b.push(k(field));
      b.push(mapHeader(2));
      b.push(k('upsert'));
      b.push(asMap ? mapHeader(upsert.length) : arrayHeader(upsert.length));
      for (const [name, p] of upsert) {
        if (asMap) b.value(name);
        p.write(b);
      }
      b.push(k('remove'));
      b.value(remove);
    }
    this.last = keysOf(v);
    return b.finish();
  }

  private view(store: XdsStore): View {
    const v: View = { listeners: new Map(), clusters: new Map(), routes: new Map(), secrets: new Map() };
    const whole = (bytes: Uint8Array) => (b: Bytes) => b.push(bytes);
    for (const [name, hash, bytes] of this.listeners) v.listeners.set(name, { key: hash, write: whole(bytes) });
    for (const [name, r] of this.routes) v.routes.set(name, routePiece(r));
    for (const e of store.entries.lds.values()) {
      const a = e.active;
      if (a === null) continue;
      v.listeners.set(e.name, { key: a.t.hash, write: whole(a.t.body) });
      for (const r of a.t.inline) v.routes.set(r.name, routePiece(r));
    }
    for (const e of store.entries.rds.values()) if (e.active !== null) v.routes.set(e.name, routePiece(e.active.t));
    for (const [name, c] of this.clusters) v.clusters.set(name, clusterPiece(c, store));
    for (const e of store.entries.cds.values()) {
      const a = e.active;
      if (a !== null) v.clusters.set(e.name, clusterPiece({ body: a.t.body, count: a.t.count, hash: a.t.hash, eds: a.t.refs.eds[0]?.serviceName ?? null }, store));
    }
    for (const [name, hash, bytes] of this.secrets) v.secrets.set(name, { key: hash, write: whole(bytes) });
    for (const e of store.entries.sds.values()) if (e.active !== null) v.secrets.set(e.name, { key: e.active.t.hash, write: whole(e.active.t.body) });
    return v;
  }
}

function keysOf(v: View): Record<keyof View, Map<string, string>> {
  const m = (x: Map<string, Piece>) => new Map([...x].map(([n, p]) => [n, p.key]));
  return { listeners: m(v.listeners), clusters: m(v.clusters), routes: m(v.routes), secrets: m(v.secrets) };
}

function clusterPiece(c: ClusterPart, store: XdsStore): Piece {
  if (c.eds === null) {
    return {
      key: c.hash,
      write: (b) => {
        b.push(mapHeader(c.count + 1));
        b.push(c.body);
        b.push(k('hash'));
        b.value(c.hash);
      },
    };
  }
  const ep = store.active('eds', c.eds);
  // The worker rebuilds a cluster whose hash changed, so new endpoints must change it.
  const hash = `${c.hash}:${ep === null ? '-' : ep.t.hash}`;
  return {
    key: hash,
    write: (b) => {
      b.push(mapHeader(c.count + 2));
      b.push(c.body);
      b.push(k('localities'));
      b.push(ep === null ? EMPTY_ARRAY : ep.t.body);
      b.push(k('hash'));
      b.value(hash);
    },
  };
}

function routePiece(r: RoutePart): Piece {
  return {
    key: r.hash,
    write: (b) => {
      b.push(mapHeader(r.count + 1));
      b.push(r.body);
      b.push(k('hash'));
      b.value(r.hash);
    },
  };
}

function clusterPart(c: ClusterSnap, eds: string | null): ClusterPart {
  const { hash, localities, ...rest } = c;
  const body = mapBody(eds === null ? { ...rest, localities } : rest);
  return { body: body.bytes, count: body.count, hash, eds };
}

function routePart(rc: RouteConfigSnap): RoutePart {
  const { hash: _h, ...rest } = rc;
  const body = mapBody(rest);
  return { body: body.bytes, count: body.count, hash: createHash('sha1').update(body.bytes).digest('hex').slice(0, 20) };
}
