// Host health for the whole proxy, owned by the primary: active health checks run here once (not
// once per worker), outlier detection merges every worker's outcome reports into one decision,
// and the resulting flags are pushed to all workers (ToWorker `host_health`) — also to a worker
// that starts later. /clusters and the health_check.* / outlier_detection.* stats come from here.
import type { ClusterSnap } from '../../shared/snapshot.ts';
import type { ToWorker, UpstreamReport } from '../../shared/ipc.ts';
import { HealthFlag, healthFlagNames } from '../../shared/host_health.ts';
import { StatsStore } from '../../worker/stats/store.ts';
import type { AdminHost } from '../admin/context.ts';
import type { Logger } from '../../shared/logger.ts';
import { HealthChecker } from './health_checker.ts';
import { OutlierDetector } from './outlier_detector.ts';
import { HostSet, type PrimaryHost } from './host_set.ts';
import { hasHealthConfig } from '../config/translate/cluster.ts';

/** A server does not wait longer than this for the first round of health checks. */
const FIRST_ROUND_MAX_MS = 15_000;

class ClusterHealth {
  readonly snap: ClusterSnap;
  readonly key: string;
  readonly checker: HealthChecker | null;
  readonly detector: OutlierDetector | null;
  private readonly hostSet: HostSet;
  private readonly manager: HealthManager;
  hosts: PrimaryHost[] = [];
  ready = false;

  constructor(manager: HealthManager, snap: ClusterSnap, prev: ClusterHealth | undefined) {
    this.manager = manager;
    this.snap = snap;
    this.key = healthKey(snap);
    const hc = snap.healthChecks?.[0];
    this.checker = hc === undefined ? null : new HealthChecker(hc, snap.name, snap.statName, manager.stats, {
      changed: () => manager.changed(this),
      passed: (key) => this.detector?.activeCheckPassed(key),
      firstRound: () => {
        this.ready = true;
        manager.checkInitialized();
      },
    });
    const od = snap.outlierDetection;
    this.detector = od == null ? null : new OutlierDetector(od, snap.statName, manager.stats, () => manager.changed(this));
    if (this.checker === null) this.ready = true;
    if (prev?.checker && this.checker) this.checker.sawTraffic = prev.checker.sawTraffic;
    this.prev = prev ?? null;
    this.hostSet = new HostSet(snap, (hosts) => this.setHosts(hosts));
    this.hostSet.start();
  }

  /** The cluster this one replaces, until its host states have been carried over. */
  private prev: ClusterHealth | null;

  private setHosts(hosts: PrimaryHost[]): void {
    const prev = this.prev;
    this.prev = null;
    this.hosts = hosts;
    const keys = hosts.map((h) => h.key);
    if (this.detector !== null) {
      this.detector.setHosts(keys);
      if (prev?.detector) for (const k of keys) this.detector.adopt(k, prev.detector);
    }
    this.checker?.setHosts(hosts, (k) => (prev?.checker && prev.hosts.some((h) => h.key === k) ? prev.checker.flags(k) : null));
    this.manager.changed(this);
  }

  /** Flags pushed to workers (active checks and outlier detection; EDS flags travel in the snapshot). */
  pushedFlags(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const h of this.hosts) out[h.key] = this.flags(h.key);
    return out;
  }

  flags(key: string): number {
    let f = this.checker?.flags(key) ?? 0;
    if (this.detector?.isEjected(key)) f |= HealthFlag.FAILED_OUTLIER_CHECK;
    return f;
  }

  report(r: UpstreamReport): void {
    if (r.traffic && this.checker !== null) this.checker.sawTraffic = true;
    if (this.detector !== null && r.hosts.length > 0) this.detector.report(r.hosts);
  }

  adminHosts(): AdminHost[] {
    return this.hosts.map((h) => {
      const sr = this.detector?.successRate(h.key) ?? { external: -1, local: -1 };
      return {
        address: h.address,
        port: h.port,
        hostname: h.hostname,
        healthFlags: healthFlagNames(h.edsFlags | this.flags(h.key)),
        weight: h.weight,
        priority: h.priority,
        locality: h.locality,
        successRate: sr.external,
        localOriginSuccessRate: sr.local,
      };
    });
  }

  stop(): void {
    this.hostSet.stop();
    this.checker?.stop();
    this.detector?.stop();
  }
}

/** Clusters whose health config and endpoints are unchanged keep their checker and detector. */
function healthKey(s: ClusterSnap): string {
  return JSON.stringify([s.type, s.localities, s.healthChecks ?? [], s.outlierDetection ?? null, s.dnsLookupFamily, s.dnsRefreshRateMs]);
}

export interface HealthManagerDeps {
  broadcast(m: ToWorker): void;
  log: Logger;
}

export class HealthManager {
  /** health_check.* and outlier_detection.* stats, merged into the workers' stats by the admin. */
  readonly stats = new StatsStore();
  private readonly deps: HealthManagerDeps;
  private clusters = new Map<string, ClusterHealth>();
  private readonly dirty = new Set<ClusterHealth>();
  private flushScheduled = false;
  private waiting: (() => void)[] = [];
  initialized = false;
  private initTimer: NodeJS.Timeout | null = null;

  constructor(deps: HealthManagerDeps) {
    this.deps = deps;
  }

  /**
   * Reconciles with a new snapshot's clusters: those with health checks or outlier detection are
   * tracked (the xDS composer passes only those, see hasHealthConfig).
   */
  update(clusters: Iterable<ClusterSnap>): void {
    const next = new Map<string, ClusterHealth>();
    for (const c of clusters) {
      if (!hasHealthConfig(c)) continue;
      const cur = this.clusters.get(c.name);
      if (cur !== undefined && cur.key === healthKey(c)) {
        next.set(c.name, cur);
        continue;
      }
      next.set(c.name, new ClusterHealth(this, c, cur));
    }
    for (const [name, c] of this.clusters) if (next.get(name) !== c) c.stop();
    this.clusters = next;
    if (!this.initialized && this.initTimer === null) {
      this.initTimer = setTimeout(() => {
        this.deps.log.warn('health checks did not finish their first round in time; serving anyway');
        this.markInitialized();
      }, FIRST_ROUND_MAX_MS);
      this.initTimer.unref();
    }
    this.checkInitialized();
  }

  /** Calls fn once the first round of active health checks has finished everywhere. */
  whenInitialized(fn: () => void): void {
    if (this.initialized) fn();
    else this.waiting.push(fn);
  }

  checkInitialized(): void {
    if (this.initialized) return;
    for (const c of this.clusters.values()) if (!c.ready) return;
    this.markInitialized();
  }

  private markInitialized(): void {
    if (this.initialized) return;
    this.initialized = true;
    if (this.initTimer !== null) clearTimeout(this.initTimer);
    const w = this.waiting;
    this.waiting = [];
    for (const fn of w) fn();
  }

  onReport(reports: UpstreamReport[]): void {
    for (const r of reports) this.clusters.get(r.cluster)?.report(r);
  }

  /** A cluster's flags changed: push them (coalesced per tick). */
  changed(c: ClusterHealth): void {
    this.dirty.add(c);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      for (const d of this.dirty) {
        if (this.clusters.get(d.snap.name) === d) this.deps.broadcast({ t: 'host_health', cluster: d.snap.name, hosts: d.pushedFlags() });
      }
      this.dirty.clear();
    });
  }

  /** Everything a freshly started worker needs to know. */
  initialMessages(): ToWorker[] {
    return [...this.clusters.values()].map((c) => ({ t: 'host_health', cluster: c.snap.name, hosts: c.pushedFlags() }));
  }

  /** /clusters hosts for a tracked cluster; null for the others (the admin then uses the snapshot). */
  adminHosts(name: string): AdminHost[] | null {
    return this.clusters.get(name)?.adminHosts() ?? null;
  }

  stop(): void {
    for (const c of this.clusters.values()) c.stop();
    this.clusters.clear();
    if (this.initTimer !== null) clearTimeout(this.initTimer);
  }
}
