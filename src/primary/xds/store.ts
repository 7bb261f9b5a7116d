// The primary's view of every xDS resource: per type and name the active version (what workers
// serve), a warming one (waiting for what it needs), and the last rejected attempt. Updates are
// applied resource by resource with Envoy's rules: a bad resource is rejected and the rest of the
// response still applies; clusters warm until their endpoints arrive and listeners until their
// routes do (or the initial_fetch_timeout passes); RDS/EDS/SDS resources live while referenced.
import type { Logger } from '../../shared/logger.ts';
import { sourceKey, type ConfigSourceSpec, type XdsRefs } from '../config/translate/config_source.ts';
import type { Obj } from '../config/translate/context.ts';
import type { Interest, XdsUpdate } from './mux.ts';
import { ENDPOINT, ROUTE, SECRET, TYPES, type Short } from './resource_types.ts';
import type { ResourceInput, TranslatedResource } from './translator.ts';
import type { RawResource } from './wire.ts';
import { PrimaryStats, versionHash } from './xds_stats.ts';

export interface Version {
  /** version_info of the response (SotW) or the resource's own version (delta). */
  version: string;
  lastUpdated: number;
  /** Key of the config source that delivered it (`self` references resolve to it). */
  source: string;
  /** The resource as received, for change detection and /config_dump. */
  raw: Uint8Array | Obj;
  t: TranslatedResource;
}

export interface Failure {
  version: string;
  lastAttempt: number;
  details: string;
  raw: Uint8Array | Obj;
}

export interface Entry {
  name: string;
  active: Version | null;
  warming: Version | null;
  failure: Failure | null;
  /** When the warming version stops waiting (ms since epoch; Infinity: never). */
  warmDeadline: number;
  warmTimedOut: boolean;
}

/** A referenced RDS/EDS/SDS resource: where it comes from and who refers to it. */
export interface Reference {
  spec: ConfigSourceSpec;
  source: string;
  /** Stat scopes of the referrers (`cluster.<name>.`, `http.<prefix>.rds.<name>.`, `sds.<name>.`). */
  scopes: Set<string>;
}

export interface StoreHooks {
  translate(typeUrl: string, inputs: ResourceInput[]): Promise<TranslatedResource[]>;
  /** The names wanted of a named type changed: per source key, the spec and the names. */
  interest(typeUrl: string, bySource: Map<string, { spec: ConfigSourceSpec; names: Interest }>): void;
  /** Something workers serve changed: publish a new snapshot. */
  changed(): void;
  /** A response for this type was processed (accepted or not): init may move on. */
  updated(typeUrl: string, names: string[]): void;
}

const KIND: Record<Short, string> = { lds: 'Listener', cds: 'Cluster', rds: 'RouteConfiguration', eds: 'ClusterLoadAssignment', sds: 'Secret' };

export class XdsStore {
  readonly entries: Record<Short, Map<string, Entry>> = { lds: new Map(), cds: new Map(), rds: new Map(), eds: new Map(), sds: new Map() };
  /** Last accepted version_info per type URL. */
  readonly typeVersions = new Map<string, string>();
  readonly stats = new PrimaryStats();
  readonly refs: Record<'rds' | 'eds' | 'sds', Map<string, Reference>> = { rds: new Map(), eds: new Map(), sds: new Map() };
  private readonly hooks: StoreHooks;
  private readonly log: Logger;
  private staticRefs: XdsRefs = { rds: [], eds: [], sds: [] };
  private staticClusters = new Set<string>();
  private staticListeners = new Map<string, string>();
  /** The source `self` means for static resources. */
  private defaultSelf: string;
  private readonly specs = new Map<string, ConfigSourceSpec>();
  private warmTimer: NodeJS.Timeout | null = null;
  private warmCheckAt = Infinity;
  /** Resource TTL timers by `short|name`. */
  private readonly ttls = new Map<string, NodeJS.Timeout>();
  private dirty = false;
  /**
   * The set of listener and cluster versions (active or warming), the static references or the
   * sources changed since references were last derived (nothing else changes them).
   */
  private refsDirty = true;

  constructor(hooks: StoreHooks, log: Logger, defaultSelf: string) {
    this.hooks = hooks;
    this.log = log;
    this.defaultSelf = defaultSelf;
    this.stats.set('cluster_manager.active_clusters', 0);
    this.stats.set('cluster_manager.warming_clusters', 0);
    this.stats.set('listener_manager.total_listeners_active', 0);
    this.stats.set('listener_manager.total_listeners_warming', 0);
    this.stats.inc('server.dynamic_unknown_fields', 0);
  }

  /** Static resources: their names are reserved and their references always subscribed. */
  setStatic(refs: XdsRefs, clusters: string[], listeners: { name: string; address: string }[]): void {
    this.staticRefs = refs;
    this.staticClusters = new Set(clusters);
    this.staticListeners = new Map(listeners.map((l) => [l.name, l.address]));
    this.refsDirty = true;
    this.afterChange();
  }

  active(short: Short, name: string): Version | null {
    return this.entries[short].get(name)?.active ?? null;
  }

  warmingCount(short: 'cds' | 'lds'): number {
    let n = 0;
    for (const e of this.entries[short].values()) if (e.warming !== null) n++;
    return n;
  }

  async onUpdate(u: XdsUpdate): Promise<string | null> {
    const start = performance.now();
    const info = TYPES[u.typeUrl];
    if (info === undefined) return `unsupported resource type ${u.typeUrl}`;
    const short = info.short;
    const map = this.entries[short];
    const scopes = this.updateScopes(short, u);
    const empty = u.resources.length === 0 && u.removed.length === 0;
    for (const s of scopes) this.stats.attempted(s, empty);

    const wireError = this.checkWire(u);
    if (wireError !== null) return this.rejected(u, scopes, [wireError]);

    const named = short === 'rds' || short === 'eds' || short === 'sds';
    const errors: string[] = [];
    const pending: RawResource[] = [];
    const now = Date.now();
    for (const r of u.resources) {
      if (named && !this.refs[short as 'rds'].has(r.name)) continue; // not (or no longer) wanted
      const e = map.get(r.name);
      this.armTtl(short, r);
      if (r.bytes === null) continue; // TTL heartbeat
      const cur = e?.warming ?? e?.active;
      if (cur !== undefined && cur !== null && sameRaw(cur.raw, r)) continue;
      if (e?.failure != null && sameRaw(e.failure.raw, r)) {
        errors.push(e.failure.details);
        continue;
      }
      pending.push(r);
    }

    const t0 = performance.now();
    const results = await this.hooks.translate(u.typeUrl, pending.map((r) => ({ bytes: r.bytes ?? new Uint8Array(0), json: r.json })));
    const translateMs = performance.now() - t0;
    let changedActive = false;
    pending.forEach((r, i) => {
      const t = results[i];
      const problem = t.errors.length > 0 ? t.errors.join('; ') : this.conflict(short, r.name, t);
      let e = map.get(r.name);
      if (e === undefined) {
        e = { name: r.name, active: null, warming: null, failure: null, warmDeadline: Infinity, warmTimedOut: false };
        map.set(r.name, e);
      }
      // A copy (from Node's pool when small): the received bytes are a view into the whole response.
      const raw = r.json ?? Buffer.from(r.bytes!);
      if (problem !== null) {
        const details = `${KIND[short]} ${r.name}: ${problem}`;
        e.failure = { version: r.version || u.version, lastAttempt: now, details, raw };
        errors.push(details);
        return;
      }
      if (t.warnings.length > 0) this.log.warn({ type: KIND[short], name: r.name, warnings: t.warnings }, 'xDS resource accepted with warnings');
      if (t.unknownFields > 0) this.stats.inc('server.dynamic_unknown_fields', t.unknownFields);
      e.failure = null;
      changedActive = this.stage(short, e, { version: r.version || u.version, lastUpdated: now, source: u.source, raw, t }) || changedActive;
    });

    if (u.complete) {
      const present = new Set(u.resources.map((r) => r.name));
      for (const name of [...map.keys()]) if (!present.has(name)) changedActive = this.remove(short, name) || changedActive;
    }
    for (const name of u.removed) changedActive = this.removeNamed(short, name) || changedActive;

    if (changedActive) this.dirty = true;
    this.afterChange();
    this.hooks.updated(u.typeUrl, u.resources.map((r) => r.name));
    const done = (result: string | null) => {
      this.log.debug({ type: short, resources: u.resources.length, translated: pending.length, prepareMs: Math.round(t0 - start), translateMs: Math.round(translateMs), ms: Math.round(performance.now() - start) }, 'xDS update processed');
      return result;
    };
    if (errors.length > 0) return done(this.rejected(u, scopes, errors));
    this.typeVersions.set(u.typeUrl, u.version);
    const versionGauge = versionHash(u.version);
    const acceptedAt = Date.now();
    for (const s of scopes) this.stats.accepted(s, versionGauge, acceptedAt);
    if (short === 'rds') for (const r of u.resources) this.stats.inc(`${this.rdsScope(r.name)}config_reload`);
    return done(null);
  }

  /** A transport failure (stream broke, file unreadable): counted; the current config stays. */
  onFailure(typeUrls: string[]): void {
    for (const url of typeUrls) {
      const short = TYPES[url]?.short;
      if (short === 'cds') this.stats.inc('cluster_manager.cds.update_failure');
      else if (short === 'lds') this.stats.inc('listener_manager.lds.update_failure');
    }
  }

  private rejected(u: XdsUpdate, scopes: string[], errors: string[]): string {
    for (const s of scopes) this.stats.rejected(s);
    const detail = errors.join('\n');
    this.log.warn({ type: TYPES[u.typeUrl].short, version: u.version, source: u.source }, `xDS update rejected: ${detail}`);
    return detail;
  }

  /** Stat scopes an update counts in: the type's manager scope, or each referrer's scope. */
  private updateScopes(short: Short, u: XdsUpdate): string[] {
    if (short === 'cds') return ['cluster_manager.cds.'];
    if (short === 'lds') return ['listener_manager.lds.'];
    const out = new Set<string>();
    for (const r of u.resources) for (const s of this.refs[short].get(r.name)?.scopes ?? []) out.add(s);
    for (const n of u.removed) for (const s of this.refs[short].get(n)?.scopes ?? []) out.add(s);
    return [...out];
  }

  private rdsScope(name: string): string {
    return [...(this.refs.rds.get(name)?.scopes ?? [`http.rds.${name}.`])][0];
  }

  /** Problems with the response as a whole: nothing of it is applied. */
  private checkWire(u: XdsUpdate): string | null {
    const seen = new Set<string>();
    for (const r of u.resources) {
      if (r.typeUrl !== u.typeUrl) return `resource "${r.name}" has type ${r.typeUrl} in a response for ${u.typeUrl}`;
      if (r.name === '') return `a ${KIND[TYPES[u.typeUrl].short]} resource has no name`;
      if (seen.has(r.name)) return `duplicate ${KIND[TYPES[u.typeUrl].short]} name "${r.name}" in one response`;
      seen.add(r.name);
    }
    return null;
  }

  /** Name clashes Envoy refuses: with static resources, or a listener address already taken. */
  private conflict(short: Short, name: string, t: TranslatedResource): string | null {
    if (t.name !== name) return `the resource is named "${t.name}", but was delivered as "${name}"`;
    if (short === 'cds' && this.staticClusters.has(name)) return `cluster "${name}" is defined statically and cannot be updated over CDS`;
    if (short === 'lds') {
      if (this.staticListeners.has(name)) return `listener "${name}" is defined statically and cannot be updated over LDS`;
      if (t.address === '') return null;
      for (const [other, addr] of this.staticListeners) if (addr === t.address) return `address: ${t.address} is already used by listener "${other}"`;
      for (const e of this.entries.lds.values()) {
        if (e.name === name) continue;
        for (const v of [e.active, e.warming]) if (v !== null && v.t.address === t.address) return `address: ${t.address} is already used by listener "${e.name}"`;
      }
    }
    return null;
  }

  /** Puts a new version in place: active now, or warming until what it needs has arrived. */
  private stage(short: Short, e: Entry, v: Version): boolean {
    if (short !== 'cds' && short !== 'lds') return this.activate(short, e, v);
    this.refsDirty = true;
    e.warmTimedOut = false;
    e.warmDeadline = Infinity;
    e.warming = v;
    if (this.ready(short, v)) return this.activate(short, e, v);
    const timeout = this.warmTimeout(short, v);
    if (timeout > 0) {
      e.warmDeadline = Date.now() + timeout;
      this.scheduleWarmCheck(e.warmDeadline);
    }
    return false;
  }

  /** One timer for all warming resources (a push of 10,000 clusters must not arm 10,000). */
  private scheduleWarmCheck(at: number): void {
    if (at >= this.warmCheckAt) return;
    if (this.warmTimer !== null) clearTimeout(this.warmTimer);
    this.warmCheckAt = at;
    this.warmTimer = setTimeout(() => this.warmCheck(), Math.max(0, at - Date.now()));
    this.warmTimer.unref();
  }

  private warmCheck(): void {
    this.warmTimer = null;
    this.warmCheckAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const short of ['cds', 'lds'] as const) {
      for (const e of this.entries[short].values()) {
        if (e.warming === null || e.warmTimedOut) continue;
        if (e.warmDeadline > now) {
          next = Math.min(next, e.warmDeadline);
          continue;
        }
        e.warmTimedOut = true;
        for (const s of this.depScopes(short, e.warming)) this.stats.inc(s + 'init_fetch_timeout');
        this.log.warn({ type: KIND[short], name: e.name }, 'initial fetch timed out; using the resource without what it waits for');
      }
    }
    if (next !== Infinity) this.scheduleWarmCheck(next);
    this.afterChange();
  }

  private activate(short: Short, e: Entry, v: Version): boolean {
    const added = e.active === null;
    // A warming version becoming active with none before leaves the set of versions as it was.
    if ((short === 'cds' || short === 'lds') && !(added && e.warming === v)) this.refsDirty = true;
    if (short === 'cds') this.stats.inc(added ? 'cluster_manager.cluster_added' : 'cluster_manager.cluster_modified');
    if (short === 'lds') this.stats.inc(added ? 'listener_manager.listener_added' : 'listener_manager.listener_modified');
    e.active = v;
    if (e.warming === v) e.warming = null;
    return true;
  }

  /** Removal of a listener or cluster (SotW: missing from the response; delta: removed). */
  private remove(short: Short, name: string): boolean {
    const e = this.entries[short].get(name);
    if (e === undefined) return false;
    const wasActive = e.active !== null;
    const ttl = this.ttls.get(`${short}|${name}`);
    if (ttl !== undefined) clearTimeout(ttl);
    this.ttls.delete(`${short}|${name}`);
    this.entries[short].delete(name);
    if (short === 'cds' || short === 'lds') this.refsDirty = true;
    if (short === 'cds' && wasActive) this.stats.inc('cluster_manager.cluster_removed');
    if (short === 'lds' && wasActive) this.stats.inc('listener_manager.listener_removed');
    return wasActive;
  }

  /** Delta removal or TTL expiry. A removed route config keeps serving (as in Envoy). */
  private removeNamed(short: Short, name: string): boolean {
    if (short === 'rds') return false;
    return this.remove(short, name);
  }

  /** A resource sent with a TTL expires unless the control plane renews it (heartbeat or update). */
  private armTtl(short: Short, r: RawResource): void {
    if (r.ttlMs === null && this.ttls.size === 0) return;
    const key = `${short}|${r.name}`;
    const old = this.ttls.get(key);
    if (old !== undefined) clearTimeout(old);
    this.ttls.delete(key);
    if (r.ttlMs === null) return;
    const timer = setTimeout(() => {
      if (this.ttls.get(key) !== timer) return;
      this.ttls.delete(key);
      this.log.warn({ type: KIND[short], name: r.name }, 'xDS resource TTL expired; removing it');
      if (this.removeNamed(short, r.name)) this.dirty = true;
      this.afterChange();
    }, r.ttlMs);
    timer.unref();
    this.ttls.set(key, timer);
  }

  private ready(short: 'cds' | 'lds', v: Version): boolean {
    if (short === 'cds') return v.t.refs.eds.every((r) => this.entries.eds.get(r.serviceName)?.active != null) && this.secretsReady(v);
    return v.t.refs.rds.every((r) => this.entries.rds.get(r.name)?.active != null) && this.secretsReady(v);
  }

  private secretsReady(v: Version): boolean {
    return v.t.refs.sds.every((r) => this.entries.sds.get(r.name)?.active != null);
  }

  private warmTimeout(short: 'cds' | 'lds', v: Version): number {
    const specs = short === 'cds' ? v.t.refs.eds.map((r) => r.source) : v.t.refs.rds.map((r) => r.source);
    const all = [...specs, ...v.t.refs.sds.map((r) => r.source)];
    // 0 disables the timeout; otherwise the longest of the sources waited on.
    if (all.some((s) => s.initialFetchTimeoutMs === 0)) return 0;
    return Math.max(0, ...all.map((s) => s.initialFetchTimeoutMs));
  }

  private depScopes(short: 'cds' | 'lds', v: Version): string[] {
    if (short === 'cds') return v.t.refs.eds.map((r) => `cluster.${r.cluster}.`);
    return v.t.refs.rds.map((r) => this.rdsScope(r.name));
  }

  private promote(): boolean {
    let any = false;
    for (const short of ['cds', 'lds'] as const) {
      for (const e of this.entries[short].values()) {
        const w = e.warming;
        if (w === null || !(e.warmTimedOut || this.ready(short, w))) continue;
        any = this.activate(short, e, w) || any;
      }
    }
    return any;
  }

  /** Re-derives references and subscriptions, promotes what is warm, and publishes if needed. */
  afterChange(): void {
    if (this.refsDirty && this.refreshRefs()) this.dirty = true;
    // Promotion moves versions from warming to active: the references stay the same.
    if (this.promote()) this.dirty = true;
    this.stats.set('cluster_manager.active_clusters', this.staticClusters.size + count(this.entries.cds, (e) => e.active !== null));
    this.stats.set('cluster_manager.warming_clusters', count(this.entries.cds, (e) => e.warming !== null));
    this.stats.set('listener_manager.total_listeners_active', this.staticListeners.size + count(this.entries.lds, (e) => e.active !== null));
    this.stats.set('listener_manager.total_listeners_warming', count(this.entries.lds, (e) => e.warming !== null));
    if (this.dirty) {
      this.dirty = false;
      this.hooks.changed();
    }
  }

  /**
   * Recomputes which RDS/EDS/SDS resources are referenced (by static resources and by active or
   * warming listeners and clusters), drops the ones no longer referenced and updates interest.
   * Returns true when a dropped resource was in use.
   */
  private refreshRefs(): boolean {
    this.refsDirty = false;
    const next = { rds: new Map<string, Reference>(), eds: new Map<string, Reference>(), sds: new Map<string, Reference>() };
    const add = (kind: 'rds' | 'eds' | 'sds', name: string, spec: ConfigSourceSpec, parentSource: string, scope: string) => {
      let r = next[kind].get(name);
      if (r === undefined) {
        let source: string;
        let resolved: ConfigSourceSpec;
        if (spec.kind === 'self') {
          // `self`: the stream (or file) the referring resource came from, with this timeout.
          source = parentSource;
          resolved = { ...(this.specs.get(parentSource) ?? spec), initialFetchTimeoutMs: spec.initialFetchTimeoutMs } as ConfigSourceSpec;
        } else {
          source = sourceKey(spec);
          resolved = spec;
          if (this.specs.get(source) !== spec) this.specs.set(source, spec);
        }
        next[kind].set(name, (r = { spec: resolved, source, scopes: new Set() }));
      }
      r.scopes.add(scope);
    };
    const addRefs = (refs: XdsRefs, parentSource: string) => {
      for (const r of refs.eds) add('eds', r.serviceName, r.source, parentSource, scopeOf(r, 'eds'));
      for (const r of refs.rds) add('rds', r.name, r.source, parentSource, scopeOf(r, 'rds'));
      for (const r of refs.sds) add('sds', r.name, r.source, parentSource, scopeOf(r, 'sds'));
    };
    addRefs(this.staticRefs, this.defaultSelf);
    for (const short of ['cds', 'lds'] as const) {
      for (const e of this.entries[short].values()) {
        if (e.active !== null) addRefs(e.active.t.refs, e.active.source);
        if (e.warming !== null) addRefs(e.warming.t.refs, e.warming.source);
      }
    }
    let droppedActive = false;
    for (const kind of ['rds', 'eds', 'sds'] as const) {
      const before = this.refs[kind];
      this.refs[kind] = next[kind];
      const map = this.entries[kind];
      for (const name of [...map.keys()]) {
        if (next[kind].has(name)) continue;
        if (map.get(name)!.active !== null) droppedActive = true;
        this.remove(kind, name);
      }
      if (!sameRefs(before, next[kind])) this.hooks.interest(kind === 'rds' ? ROUTE : kind === 'eds' ? ENDPOINT : SECRET, bySource(next[kind]));
    }
    return droppedActive;
  }

  /** Stops the store's timers (warming deadlines, resource TTLs). */
  stop(): void {
    if (this.warmTimer !== null) clearTimeout(this.warmTimer);
    this.warmTimer = null;
    for (const t of this.ttls.values()) clearTimeout(t);
    this.ttls.clear();
  }

  /** Registers a source spec so `self` references from its resources can find it. */
  registerSource(key: string, spec: ConfigSourceSpec): void {
    this.specs.set(key, spec);
    this.refsDirty = true;
  }

  setDefaultSelf(key: string): void {
    this.defaultSelf = key;
    this.refsDirty = true;
  }
}

/** The stat scope a reference counts in (kept per reference: a push of 10,000 derives them often). */
const scopes = new WeakMap<object, string>();

function scopeOf(r: XdsRefs['eds'][number] | XdsRefs['rds'][number] | XdsRefs['sds'][number], kind: 'rds' | 'eds' | 'sds'): string {
  let s = scopes.get(r);
  if (s === undefined) {
    if (kind === 'eds') s = `cluster.${(r as XdsRefs['eds'][number]).cluster}.`;
    else if (kind === 'rds') s = `http.${(r as XdsRefs['rds'][number]).statPrefix}.rds.${(r as XdsRefs['rds'][number]).name}.`;
    else s = `sds.${(r as XdsRefs['sds'][number]).name}.`;
    scopes.set(r, s);
  }
  return s;
}

function count<T>(m: Map<string, T>, f: (v: T) => boolean): number {
  let n = 0;
  for (const v of m.values()) if (f(v)) n++;
  return n;
}

function sameRaw(a: Uint8Array | Obj, r: RawResource): boolean {
  if (r.json !== undefined) return !(a instanceof Uint8Array) && JSON.stringify(a) === JSON.stringify(r.json);
  // Received bytes are kept as Buffers (see onUpdate).
  return a instanceof Buffer && r.bytes !== null && a.length === r.bytes.length && a.equals(r.bytes);
}

function sameRefs(a: Map<string, Reference>, b: Map<string, Reference>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k)?.source !== v.source) return false;
  return true;
}

function bySource(refs: Map<string, Reference>): Map<string, { spec: ConfigSourceSpec; names: Interest }> {
  const out = new Map<string, { spec: ConfigSourceSpec; names: Set<string> }>();
  for (const [name, r] of refs) {
    let s = out.get(r.source);
    if (s === undefined) out.set(r.source, (s = { spec: r.spec, names: new Set() }));
    s.names.add(name);
  }
  return out;
}
