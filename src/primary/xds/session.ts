// The xDS client as the server sees it: opens the streams and files dynamic_resources and the
// static resources ask for, runs Envoy's initialization order (clusters and their endpoints
// first, then listeners and their routes, each step bounded by initial_fetch_timeout), and
// says when there is a new snapshot to publish. Streams that fail are retried forever while
// the last good config keeps serving.
import type { Logger } from '../../shared/logger.ts';
import type { ClusterSnap, Snapshot } from '../../shared/snapshot.ts';
import type { XdsBootstrap } from '../config/translate/bootstrap.ts';
import { sourceKey, type ConfigSourceSpec, type XdsRefs } from '../config/translate/config_source.ts';
import { SnapshotComposer } from './composer.ts';
import { DeltaMux } from './delta_mux.ts';
import { FileSource } from './file_source.ts';
import type { Interest, XdsMux, XdsSink, XdsUpdate } from './mux.ts';
import { ADS_DELTA_METHOD, ADS_SOTW_METHOD, CLUSTER, LISTENER, TYPES } from './resource_types.ts';
import { SotwMux, type MuxOptions } from './sotw_mux.ts';
import { XdsStore } from './store.ts';
import { XdsTranslator } from './translator.ts';
import { warmPrimary } from './warmup.ts';
import { nodeMessage } from './wire.ts';
import { addressString } from '../config/translate/address.ts';

export interface SessionOptions {
  xds: XdsBootstrap;
  staticSnapshot: Snapshot;
  strict: boolean;
  log: Logger;
  /** Orion's version, sent in the node. */
  version: string;
  /** There is a new snapshot to publish (only called once initialized). */
  onChange(): void;
}

type Phase = 'clusters' | 'listeners' | 'done';

export class XdsSession implements XdsSink {
  readonly store: XdsStore;
  readonly composer = new SnapshotComposer();
  private readonly opts: SessionOptions;
  private readonly translator: XdsTranslator;
  private readonly muxes = new Map<string, XdsMux>();
  private readonly connected = new Map<string, boolean>();
  /** Per named type, the sources that currently have interest (to clear the ones that lose it). */
  private readonly interestSources = new Map<string, Set<string>>();
  private staticSnapshot: Snapshot;
  private phase: Phase = 'clusters';
  private readonly targets = new Map<string, NodeJS.Timeout | null>();
  private resolveReady!: () => void;
  readonly ready: Promise<void>;
  private publishScheduled = false;
  private stopped = false;

  constructor(opts: SessionOptions) {
    this.opts = opts;
    this.staticSnapshot = opts.staticSnapshot;
    this.ready = new Promise((r) => (this.resolveReady = r));
    this.translator = new XdsTranslator(opts.strict);
    const adsKey = opts.xds.ads !== null ? 'ads' : '';
    this.store = new XdsStore(
      {
        translate: (url, inputs) => this.translator.translate(url, inputs),
        interest: (url, bySource) => this.routeInterest(url, bySource),
        changed: () => this.schedulePublish(),
        updated: (url, names) => this.onUpdated(url, names),
      },
      opts.log,
      adsKey,
    );
    if (opts.xds.ads !== null) this.store.registerSource('ads', { kind: 'ads', initialFetchTimeoutMs: 0 });
    this.store.stats.set('control_plane.connected_state', 0);
    if (opts.xds.cds !== null) this.store.stats.scope('cluster_manager.cds.');
    if (opts.xds.lds !== null) this.store.stats.scope('listener_manager.lds.');
  }

  get initialized(): boolean {
    return this.phase === 'done';
  }

  start(): void {
    this.translator.warm();
    void warmPrimary(this.translator, this.opts.log).catch((err) => this.opts.log.debug({ err: String(err) }, 'xDS warm-up failed'));
    this.applyStatic(this.staticSnapshot, this.opts.xds.refs);
    const { cds } = this.opts.xds;
    if (cds !== null) this.subscribeWildcard(CLUSTER, cds, 'cds');
    for (const r of this.opts.xds.refs.eds) this.addTarget(`eds:${r.serviceName}`, r.source.initialFetchTimeoutMs, `cluster.${r.cluster}.`);
    this.checkInit();
  }

  /** SIGHUP reload: new static resources; the streams and dynamic resources stay. */
  setStatic(s: Snapshot, refs: XdsRefs): void {
    this.staticSnapshot = s;
    this.applyStatic(s, refs);
    this.schedulePublish();
  }

  /** The whole snapshot; `track: false` leaves the base of the next delta alone. */
  compose(version: number, track = true): Uint8Array {
    return this.composer.compose(version, this.store, track);
  }

  /** A SnapshotDelta against the last snapshot or delta composed; null when a whole one is needed. */
  composeDelta(version: number, baseVersion: number): Uint8Array | null {
    return this.composer.canDelta ? this.composer.composeDelta(version, baseVersion, this.store) : null;
  }

  /** Clusters of the newest snapshot composed that the health manager runs (unpacked). */
  healthClusters(): ClusterSnap[] {
    return this.composer.healthClusters();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const m of this.muxes.values()) m.stop();
    for (const t of this.targets.values()) if (t !== null) clearTimeout(t);
    this.store.stop();
    await this.translator.close();
  }

  // ---------------------------------------------------------------- XdsSink

  onUpdate(u: XdsUpdate): Promise<string | null> {
    return this.store.onUpdate(u);
  }

  onFailure(source: string, typeUrls: string[], reason: string): void {
    this.store.onFailure(typeUrls);
    if (source.startsWith('path:')) this.opts.log.warn({ source, reason }, 'config file not applied');
  }

  onConnection(source: string, connected: boolean): void {
    this.connected.set(source, connected);
    const grpc = [...this.connected.values()];
    this.store.stats.set('control_plane.connected_state', grpc.length > 0 && grpc.every(Boolean) ? 1 : 0);
    if (connected) this.opts.log.info({ source }, 'connected to the xDS control plane');
  }

  // ---------------------------------------------------------------- internals

  private applyStatic(s: Snapshot, refs: XdsRefs): void {
    this.composer.setStatic(s, refs);
    this.store.setStatic(
      refs,
      s.clusters.map((c) => c.name),
      s.listeners.map((l) => ({ name: l.name, address: l.internal === true ? '' : addressString(l.address) })),
    );
  }

  private subscribeWildcard(typeUrl: string, spec: ConfigSourceSpec, target: 'cds' | 'lds'): void {
    const key = sourceKey(spec);
    this.store.registerSource(key, spec);
    // Resources of a per-type source that say `self` come from that same source.
    if (this.opts.xds.ads === null) this.store.setDefaultSelf(key);
    this.addTarget(target, spec.initialFetchTimeoutMs, target === 'cds' ? 'cluster_manager.cds.' : 'listener_manager.lds.');
    this.muxFor(typeUrl, spec, key)?.setInterest(typeUrl, '*');
  }

  /** Routes the store's named interest (RDS/EDS/SDS) to the right streams. */
  private routeInterest(typeUrl: string, bySource: Map<string, { spec: ConfigSourceSpec; names: Interest }>): void {
    const before = this.interestSources.get(typeUrl) ?? new Set<string>();
    for (const [key, { spec, names }] of bySource) this.muxFor(typeUrl, spec, key)?.setInterest(typeUrl, names);
    for (const key of before) if (!bySource.has(key)) this.muxes.get(this.muxKey(typeUrl, key))?.setInterest(typeUrl, new Set());
    this.interestSources.set(typeUrl, new Set(bySource.keys()));
  }

  private muxKey(typeUrl: string, key: string): string {
    return key === 'ads' ? 'ads' : `${key}|${typeUrl}`;
  }

  private muxFor(typeUrl: string, spec: ConfigSourceSpec, key: string): XdsMux | null {
    if (this.stopped) return null;
    const mk = this.muxKey(typeUrl, key);
    let m = this.muxes.get(mk);
    if (m !== undefined) return m;
    const { xds, log } = this.opts;
    const base = { node: nodeMessage(xds.node, this.opts.version), clusters: this.staticSnapshot.clusters, sink: this as XdsSink, log };
    if (key === 'ads' || spec.kind === 'ads') {
      if (xds.ads === null) {
        log.error({ typeUrl }, 'a config source uses ads but no ads_config is set; nothing is fetched');
        return null;
      }
      const o: MuxOptions = { ...base, source: 'ads', api: xds.ads, method: xds.ads.apiType === 'DELTA_GRPC' ? ADS_DELTA_METHOD : ADS_SOTW_METHOD };
      m = xds.ads.apiType === 'DELTA_GRPC' ? new DeltaMux(o) : new SotwMux(o);
      this.connected.set('ads', false);
    } else if (spec.kind === 'api') {
      const t = TYPES[typeUrl];
      const o: MuxOptions = { ...base, source: key, api: spec.api, method: spec.api.apiType === 'DELTA_GRPC' ? t.deltaMethod : t.sotwMethod };
      m = spec.api.apiType === 'DELTA_GRPC' ? new DeltaMux(o) : new SotwMux(o);
      this.connected.set(key, false);
    } else if (spec.kind === 'path') {
      m = new FileSource({ source: key, path: spec.path, watchedDirectory: spec.watchedDirectory, sink: this, log });
    } else {
      log.error({ typeUrl }, 'a self config source could not be resolved; nothing is fetched');
      return null;
    }
    this.muxes.set(mk, m);
    // Started after the current task, so every type wanted by then goes out in Envoy's order.
    const started = m;
    queueMicrotask(() => {
      if (!this.stopped) started.start();
    });
    return m;
  }

  // ---------------------------------------------------------------- initialization

  /** An init step that completes on the first response for it, or after its timeout (0: never). */
  private addTarget(name: string, timeoutMs: number, scope: string): void {
    if (this.targets.has(name) || this.phase === 'done') return;
    let timer: NodeJS.Timeout | null = null;
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        if (!this.targets.has(name)) return;
        this.store.stats.inc(scope + 'init_fetch_timeout');
        this.opts.log.warn({ target: name, timeoutMs }, 'initial fetch timed out; continuing without it');
        this.targets.delete(name);
        this.checkInit();
      }, timeoutMs);
      timer.unref();
    }
    this.targets.set(name, timer);
  }

  private resolveTarget(name: string): void {
    if (!this.targets.has(name)) return;
    const t = this.targets.get(name);
    if (t != null) clearTimeout(t);
    this.targets.delete(name);
  }

  private onUpdated(typeUrl: string, names: string[]): void {
    const short = TYPES[typeUrl]?.short;
    if (short === 'cds' || short === 'lds') this.resolveTarget(short);
    else if (this.targets.size > 0) for (const n of names) this.resolveTarget(`${short}:${n}`);
    this.checkInit();
  }

  private checkInit(): void {
    if (this.phase === 'done' || this.targets.size > 0) return;
    if (this.phase === 'clusters') {
      if (this.store.warmingCount('cds') > 0) return;
      this.phase = 'listeners';
      const { lds } = this.opts.xds;
      if (lds !== null) this.subscribeWildcard(LISTENER, lds, 'lds');
      for (const r of this.opts.xds.refs.rds) {
        if (this.store.active('rds', r.name) === null) this.addTarget(`rds:${r.name}`, r.source.initialFetchTimeoutMs, `http.${r.statPrefix}.rds.${r.name}.`);
      }
      if (this.targets.size > 0) return;
    }
    if (this.store.warmingCount('lds') > 0) return;
    this.phase = 'done';
    this.opts.log.info({ clusters: this.store.entries.cds.size, listeners: this.store.entries.lds.size }, 'xDS initial fetch complete');
    this.resolveReady();
  }

  private schedulePublish(): void {
    if (this.phase !== 'done') {
      this.checkInit();
      return;
    }
    if (this.publishScheduled) return;
    this.publishScheduled = true;
    setImmediate(() => {
      this.publishScheduled = false;
      if (!this.stopped) this.opts.onChange();
    });
  }
}
