// Builds what workers receive from the static resources and the store's active xDS resources:
// a whole Snapshot, or a SnapshotDelta against the last one built. Every resource was packed
// once when translated, so building only concatenates bytes, adding each EDS cluster's current
// endpoints and a hash that covers them. Each resource's piece (its key, and how to write it) is
// kept between builds while what it is built from is the same, so an update of one cluster out of
// 10,000 writes one cluster. Clusters travel as PackedCluster (src/shared/snapshot_delta.ts):
// workers unpack each one when they first need it.
import { createHash } from 'node:crypto';
import { unpack } from 'msgpackr';
import type { ClusterSnap, RouteConfigSnap, Snapshot } from '../../shared/snapshot.ts';
import { isPacked, resolveTemplates, unpackCluster, type PackedCluster, type WireSnapshot } from '../../shared/snapshot_delta.ts';
import { hasHealthConfig } from '../config/translate/cluster.ts';
import type { XdsRefs } from '../config/translate/config_source.ts';
import { Bytes, arrayHeader, binHeaderSize, headerSize, mapBody, mapHeader, packCopy, strSize } from './msgpack_parts.ts';
import type { XdsStore } from './store.ts';
import type { TranslatedResource } from './translator.ts';

/** One resource, written on demand. `key` changes whenever its bytes would. */
interface Piece {
  key: string;
  /** Bytes write() appends. */
  size: number;
  /** What it was built from (compared by identity): rebuilt when either changes. */
  from: object;
  dep: object | null;
  /** `templates`: where a cluster's template is (clusters only). */
  write(b: Bytes, templates?: Templates): void;
}

interface View {
  listeners: Map<string, Piece>;
  clusters: Map<string, ClusterPiece>;
  routes: Map<string, Piece>;
  secrets: Map<string, Piece>;
}

interface ClusterPart {
  /** See PackedCluster; clusters configured alike have the same bytes. */
  template: Uint8Array;
  /** Of the template. */
  hash: string;
  statName: string | null;
  /** EDS service name; null for clusters whose endpoints are in the template. */
  eds: string | null;
  health: boolean;
}

interface RoutePart {
  body: Uint8Array;
  count: number;
  hash: string;
}

interface Whole {
  hash: string;
  body: Uint8Array;
}

const COMPOSED = new Set(['version', 'clusterTemplates', 'listeners', 'clusters', 'routeConfigs', 'secrets']);
const keys = new Map<string, Uint8Array>();
const EMPTY_ARRAY = Uint8Array.of(0x90);

function k(s: string): Uint8Array {
  let b = keys.get(s);
  if (b === undefined) keys.set(s, (b = packCopy(s)));
  return b;
}

const K_NAME = k('name');
const K_HASH = k('hash');
const K_TEMPLATE = k('template');
const K_STAT_NAME = k('statName');
const K_LOCALITIES = k('localities');

export class SnapshotComposer {
  private listeners: [string, Whole][] = [];
  private clusters: [string, ClusterPart][] = [];
  private routes: [string, RoutePart][] = [];
  private secrets: [string, Whole][] = [];
  /** Other top-level fields of the static snapshot (node, drainTimeMs, ...), packed as they are. */
  private other: [string, Uint8Array][] = [];
  /** What the last built snapshot or delta contained (the base of the next delta). */
  private last: View | null = null;
  /** The newest view built: the pieces of every kind, kept for the next build. */
  private current: View = { listeners: new Map(), clusters: new Map(), routes: new Map(), secrets: new Map() };

  setStatic(s: Snapshot, refs: XdsRefs): void {
    const edsOf = new Map(refs.eds.map((r) => [r.cluster, r.serviceName]));
    this.listeners = s.listeners.map((l) => [l.name, { hash: l.hash, body: packCopy(l) }]);
    this.clusters = s.clusters.map((c) => [c.name, clusterPart(c, edsOf.get(c.name) ?? null)]);
    this.routes = Object.entries(s.routeConfigs).map(([name, rc]) => [name, routePart(rc)]);
    this.secrets = Object.entries(s.secrets ?? {}).map(([name, sec]) => [name, { hash: sec.hash, body: packCopy(sec) }]);
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
    let size = 1024;
    for (const m of [v.listeners, v.clusters, v.routes, v.secrets]) for (const [name, p] of m as Map<string, Piece>) size += p.size + Buffer.byteLength(name) + 5;
    for (const [f, bytes] of this.other) size += f.length + 5 + bytes.length;
    const templates = new Templates();
    for (const p of v.clusters.values()) templates.add(p);
    const b = new Bytes(size + templates.size);
    b.push(mapHeader(COMPOSED.size + this.other.length));
    b.push(k('version'));
    b.value(version);
    b.push(k('clusterTemplates'));
    templates.write(b);
    b.push(k('listeners'));
    b.push(arrayHeader(v.listeners.size));
    for (const p of v.listeners.values()) p.write(b);
    b.push(k('clusters'));
    b.push(arrayHeader(v.clusters.size));
    for (const p of v.clusters.values()) p.write(b, templates);
    for (const [field, m] of [['routeConfigs', v.routes], ['secrets', v.secrets]] as const) {
      b.push(k(field));
      b.push(mapHeader(m.size));
      for (const [name, p] of m) {
        b.str(name);
        p.write(b);
      }
    }
    for (const [f, bytes] of this.other) {
      b.push(k(f));
      b.push(bytes);
    }
    if (track) this.last = v;
    return b.finish(false);
  }

  /** What changed since the last snapshot or delta built (see SnapshotDelta). */
  composeDelta(version: number, baseVersion: number, store: XdsStore): Uint8Array {
    const v = this.view(store);
    const last = this.last!;
    let size = 1024;
    const kinds = (['listeners', 'clusters', 'routes', 'secrets'] as const).map((kind) => {
      const cur: Map<string, Piece> = v[kind];
      const prev: Map<string, Piece> = last[kind];
      const upsert: [string, Piece][] = [];
      for (const [name, p] of cur) {
        if (prev.get(name)?.key === p.key) continue;
        upsert.push([name, p]);
        size += p.size + Buffer.byteLength(name) + 5;
      }
      const remove: string[] = [];
      for (const name of prev.keys()) {
        if (cur.has(name)) continue;
        remove.push(name);
        size += Buffer.byteLength(name) + 5;
      }
      return { upsert, remove };
    });
    const templates = new Templates();
    for (const [, p] of kinds[1].upsert) templates.add(p as ClusterPiece);
    const b = new Bytes(size + templates.size);
    b.push(mapHeader(7));
    b.push(k('version'));
    b.value(version);
    b.push(k('baseVersion'));
    b.value(baseVersion);
    b.push(k('clusterTemplates'));
    templates.write(b);
    for (const [i, field, asMap] of [[0, 'listeners', false], [1, 'clusters', false], [2, 'routeConfigs', true], [3, 'secrets', true]] as const) {
      const { upsert, remove } = kinds[i];
      b.push(k(field));
      b.push(mapHeader(2));
      b.push(k('upsert'));
      b.push(asMap ? mapHeader(upsert.length) : arrayHeader(upsert.length));
      for (const [name, p] of upsert) {
        if (asMap) b.str(name);
        p.write(b, templates);
      }
      b.push(k('remove'));
      b.value(remove);
    }
    this.last = v;
    return b.finish(false);
  }

  /**
   * The clusters of the newest snapshot built that have health checks or outlier detection,
   * unpacked (the primary's health manager runs those).
   */
  healthClusters(): ClusterSnap[] {
    const out: ClusterSnap[] = [];
    for (const p of this.current.clusters.values()) {
      if (!p.health) continue;
      p.snap ??= unpackCluster(p.packed());
      out.push(p.snap);
    }
    return out;
  }

  private view(store: XdsStore): View {
    const before = this.current;
    const v: View = { listeners: new Map(), clusters: new Map(), routes: new Map(), secrets: new Map() };
    for (const [name, l] of this.listeners) v.listeners.set(name, wholePiece(before.listeners.get(name), l.hash, l.body, l));
    for (const [name, r] of this.routes) v.routes.set(name, routePiece(before.routes.get(name), r));
    for (const e of store.entries.lds.values()) {
      const a = e.active;
      if (a === null) continue;
      v.listeners.set(e.name, wholePiece(before.listeners.get(e.name), a.t.hash, a.t.body, a.t));
      for (const r of a.t.inline) v.routes.set(r.name, routePiece(before.routes.get(r.name), r));
    }
    for (const e of store.entries.rds.values()) if (e.active !== null) v.routes.set(e.name, routePiece(before.routes.get(e.name), e.active.t));
    for (const [name, c] of this.clusters) {
      const ep = c.eds === null ? null : (store.active('eds', c.eds)?.t ?? null);
      v.clusters.set(name, clusterPiece(before.clusters.get(name), name, c, c, ep));
    }
    for (const e of store.entries.cds.values()) {
      const a = e.active;
      if (a === null) continue;
      const eds = a.t.refs.eds.length > 0 ? a.t.refs.eds[0].serviceName : null;
      const ep = eds === null ? null : (store.active('eds', eds)?.t ?? null);
      v.clusters.set(e.name, clusterPiece(before.clusters.get(e.name), e.name, a.t, null, ep, eds));
    }
    for (const [name, s] of this.secrets) v.secrets.set(name, wholePiece(before.secrets.get(name), s.hash, s.body, s));
    for (const e of store.entries.sds.values()) if (e.active !== null) v.secrets.set(e.name, wholePiece(before.secrets.get(e.name), e.active.t.hash, e.active.t.body, e.active.t));
    this.current = v;
    return v;
  }
}

function wholePiece(prev: Piece | undefined, hash: string, body: Uint8Array, from: object): Piece {
  if (prev !== undefined && prev.from === from) return prev;
  return new WholePiece(hash, body, from);
}

/** A resource packed whole (listeners, secrets). */
class WholePiece implements Piece {
  readonly key: string;
  readonly size: number;
  readonly from: object;
  readonly dep = null;
  private readonly body: Uint8Array;

  constructor(hash: string, body: Uint8Array, from: object) {
    this.key = hash;
    this.body = body;
    this.size = body.length;
    this.from = from;
  }

  write(b: Bytes): void {
    b.push(this.body);
  }
}

function clusterPiece(prev: ClusterPiece | undefined, name: string, from: object, part: ClusterPart | null, ep: TranslatedResource | null, eds?: string | null): ClusterPiece {
  if (prev !== undefined && prev.from === from && prev.dep === ep) return prev;
  if (part === null) {
    const t = from as TranslatedResource;
    part = { template: t.body, hash: t.hash, statName: t.statName, eds: eds ?? null, health: t.health };
  }
  return new ClusterPiece(name, part, ep, from);
}

/**
 * A cluster as a PackedCluster: {name, hash, template, statName?, localities?}. Its hash covers
 * the template, the stat name and the endpoints of its EDS assignment (workers rebuild a cluster
 * whose hash changed, so new endpoints must change it).
 */
class ClusterPiece implements Piece {
  readonly key: string;
  /** Bytes write() appends, its template aside. */
  readonly size: number;
  readonly from: object;
  readonly dep: TranslatedResource | null;
  readonly health: boolean;
  readonly part: ClusterPart;
  /** The ClusterSnap, for the health manager (clusters with health config only). */
  snap: ClusterSnap | null = null;
  private readonly name: string;
  private readonly localities: Uint8Array | null;

  constructor(name: string, part: ClusterPart, ep: TranslatedResource | null, from: object) {
    this.name = name;
    this.part = part;
    this.from = from;
    this.dep = ep;
    this.health = part.health;
    const own = part.statName === null ? part.hash : `${part.hash}|${part.statName}`;
    this.key = part.eds === null ? own : `${own}:${ep === null ? '-' : ep.hash}`;
    this.localities = part.eds === null ? null : ep === null ? EMPTY_ARRAY : ep.body;
    this.size = 1 + K_NAME.length + strSize(name) + K_HASH.length + strSize(this.key) + K_TEMPLATE.length + 5 +
      (part.statName === null ? 0 : K_STAT_NAME.length + strSize(part.statName)) +
      (this.localities === null ? 0 : K_LOCALITIES.length + binHeaderSize(this.localities.length) + this.localities.length);
  }

  write(b: Bytes, templates?: Templates): void {
    const statName = this.part.statName;
    const loc = this.localities;
    b.header(true, 3 + (statName === null ? 0 : 1) + (loc === null ? 0 : 1));
    b.push(K_NAME);
    b.str(this.name);
    b.push(K_HASH);
    b.str(this.key);
    b.push(K_TEMPLATE);
    b.uint(templates!.of(this));
    if (statName !== null) {
      b.push(K_STAT_NAME);
      b.str(statName);
    }
    if (loc !== null) {
      b.push(K_LOCALITIES);
      b.binHeader(loc.length);
      b.push(loc);
    }
  }

  /** As a worker gets it. */
  packed(): PackedCluster {
    const p: PackedCluster = { name: this.name, hash: this.key, template: this.part.template };
    if (this.part.statName !== null) p.statName = this.part.statName;
    if (this.localities !== null) p.localities = this.localities;
    return p;
  }
}

/** The cluster templates one message carries, each once. */
class Templates {
  private readonly list: Uint8Array[] = [];
  private readonly index = new Map<string, number>();
  /** Bytes write() appends (about). */
  size = 5;

  add(p: ClusterPiece): void {
    if (this.index.has(p.part.hash)) return;
    this.index.set(p.part.hash, this.list.length);
    this.list.push(p.part.template);
    this.size += p.part.template.length + 5;
  }

  of(p: ClusterPiece): number {
    return this.index.get(p.part.hash)!;
  }

  write(b: Bytes): void {
    b.header(false, this.list.length);
    for (const t of this.list) {
      b.binHeader(t.length);
      b.push(t);
    }
  }
}

function routePiece(prev: Piece | undefined, r: RoutePart): Piece {
  if (prev !== undefined && prev.from === r) return prev;
  return new RoutePiece(r);
}

/** A route config: its packed map body plus its hash. */
class RoutePiece implements Piece {
  readonly key: string;
  readonly size: number;
  readonly from: RoutePart;
  readonly dep = null;

  constructor(r: RoutePart) {
    this.key = r.hash;
    this.from = r;
    this.size = headerSize(r.count + 1) + r.body.length + K_HASH.length + strSize(r.hash);
  }

  write(b: Bytes): void {
    b.header(true, this.from.count + 1);
    b.push(this.from.body);
    b.push(K_HASH);
    b.str(this.key);
  }
}

function clusterPart(c: ClusterSnap, eds: string | null): ClusterPart {
  const { hash: _h, name, statName, localities, ...rest } = c;
  const template = packCopy(eds === null ? { ...rest, localities } : rest);
  return { template, hash: createHash('sha1').update(template).digest('hex').slice(0, 20), statName: statName === name ? null : statName, eds, health: hasHealthConfig(c) };
}

function routePart(rc: RouteConfigSnap): RoutePart {
  const { hash: _h, ...rest } = rc;
  const body = mapBody(rest);
  return { body: body.bytes, count: body.count, hash: createHash('sha1').update(body.bytes).digest('hex').slice(0, 20) };
}

/** A composed snapshot as plain data: packed clusters unpacked (the admin API reads it). */
export function unpackSnapshot(bytes: Uint8Array): Snapshot {
  const w = unpack(bytes) as WireSnapshot;
  resolveTemplates(w.clusters, w.clusterTemplates);
  const { clusterTemplates: _t, ...rest } = w;
  return { ...rest, clusters: w.clusters.map((c) => (isPacked(c) ? unpackCluster(c) : c)) };
}
