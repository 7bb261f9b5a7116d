// A cluster in one worker: its hosts (static, resolved by DNS here, or ORIGINAL_DST), their
// health (EDS status plus what the primary pushes from active health checks and outlier
// detection), the priority set and load balancer over them, circuit breakers per routing
// priority, the optional breaker state machine, and stats. Hosts keep their connection pools
// across DNS refreshes and health changes.
import net from 'node:net';
import dns from 'node:dns';
import type { ClusterSnap, EndpointSnap, LocalityEndpointsSnap } from '../../shared/snapshot.ts';
import { edsHealthFlags, HealthFlag } from '../../shared/host_health.ts';
import { ClusterStats } from './cluster_stats.ts';
import { Host } from './host.ts';
import { loadBalancerFactory, type LbContext } from './load_balancer.ts';
import { PrioritySet } from './priority_set.ts';
import { ResourceManager } from './resource_manager.ts';
import { BreakerStateMachine } from './breaker.ts';
import { OriginalDstHosts } from './original_dst.ts';
import { HostOutcomeCounter, markDirty, type ReportingCluster } from './outlier_reporter.ts';
import { observeLatency, type PeakEwmaConfig } from './peak_ewma_lb.ts';
import { log } from '../log.ts';
import './least_request_lb.ts';
import './ring_hash_lb.ts';
import './maglev_lb.ts';
import './peak_ewma_lb.ts';

/** Hosts of a cluster with active health checks start failed and pending until the first result. */
const PENDING_HC = HealthFlag.FAILED_ACTIVE_HC | HealthFlag.PENDING_ACTIVE_HC;

export class Cluster implements ReportingCluster {
  readonly name: string;
  readonly snap: ClusterSnap;
  readonly stats: ClusterStats;
  readonly connectTimeoutMs: number;
  readonly maxRequestsPerConnection: number;
  /** DEFAULT-priority circuit breakers (also read by the router's retry limit). */
  readonly resources: ResourceManager;
  private readonly highResources: ResourceManager;
  /** Orion's breaker state machine; null unless configured. */
  readonly breaker: BreakerStateMachine | null;
  /** ORIGINAL_DST clusters make their hosts per request. */
  readonly originalDst: OriginalDstHosts | null;
  hosts: Host[] = [];
  private readonly prioritySet: PrioritySet;
  /** Flags the primary pushed, by host key; shared with the next Cluster of the same name. */
  private readonly pushed: Map<string, number>;
  private readonly hasActiveHc: boolean;
  private readonly outlier: boolean;
  private readonly splitLocal: boolean;
  private readonly ewma: PeakEwmaConfig | null;
  private dnsTimer: NodeJS.Timeout | null = null;
  private waiters: (() => void)[] | null = null;
  private destroyed = false;
  /** This cluster has carried a request (health checks then leave no_traffic_interval). */
  sawTraffic = false;
  initialized = false;

  constructor(snap: ClusterSnap, pushed: Map<string, number> = new Map()) {
    this.name = snap.name;
    this.snap = snap;
    this.stats = new ClusterStats(snap.statName);
    this.connectTimeoutMs = snap.connectTimeoutMs;
    this.maxRequestsPerConnection = snap.maxRequestsPerConnection;
    const cb = (p: 'default' | 'high') => snap.circuitBreakers.find((t) => t.priority === p);
    this.resources = new ResourceManager(cb('default') ?? { priority: 'default', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 }, snap.statName);
    this.highResources = new ResourceManager(cb('high') ?? { priority: 'high', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 }, snap.statName);
    this.breaker = snap.breaker ? new BreakerStateMachine(snap.breaker, snap.statName) : null;
    this.pushed = pushed;
    this.hasActiveHc = (snap.healthChecks?.length ?? 0) > 0;
    this.outlier = snap.outlierDetection != null;
    this.splitLocal = snap.outlierDetection?.splitExternalLocalOriginErrors ?? false;
    const policy = snap.lbPolicy.toLowerCase();
    this.ewma = policy === 'peak_ewma' ? (snap.lbConfig as PeakEwmaConfig) : null;
    const lb = loadBalancerFactory(policy, snap.lbConfig);
    const localityWeights: number[] = snap.localities.map((l) => l.loadBalancingWeight);
    this.prioritySet = new PrioritySet({
      createLb: lb.create,
      localityAware: lb.localityAware,
      localityWeighted: snap.localityWeightedLb === true,
      localityWeights,
      overprovisioningFactor: snap.overprovisioningFactor ?? 140,
      panicThreshold: snap.healthyPanicThreshold ?? 50,
    });
    this.prioritySet.onPanic = () => this.stats.lb_healthy_panic.value++;
    this.originalDst = snap.type === 'original_dst' && snap.originalDst ? new OriginalDstHosts(this, snap.originalDst) : null;
    this.start();
  }

  private start(): void {
    if (this.originalDst !== null) {
      this.setHosts([]);
      return;
    }
    if (this.snap.type === 'strict_dns' || this.snap.type === 'logical_dns' || !allIps(this.snap.localities)) {
      this.waiters = [];
      this.resolve();
      return;
    }
    this.setHosts(this.snap.localities.flatMap((l, i) => l.endpoints.map((e) => this.hostFor(l, i, e, e.address.host))));
  }

  /** The circuit breakers of a routing priority (0 default, 1 high). */
  resourcesFor(priority: number): ResourceManager {
    return priority === 1 ? this.highResources : this.resources;
  }

  chooseHost(ctx: LbContext | null): Host | null {
    if (this.originalDst !== null) return this.originalDst.hostFor(ctx === null ? null : ctx.originalDst);
    return this.prioritySet.choose(ctx);
  }

  /** Runs fn once the first DNS resolution finished (immediately for static clusters). */
  whenReady(fn: () => void): void {
    if (this.waiters === null) fn();
    else this.waiters.push(fn);
  }

  // ---- per-request accounting (router)

  requestStarted(host: Host): void {
    host.activeRequests++;
    if (!this.sawTraffic) this.noteTraffic();
  }

  /** Every started request ends here once, whatever happened to it. */
  requestEnded(host: Host): void {
    host.activeRequests--;
    if (this.breaker !== null) this.breaker.released();
  }

  /** The upstream answered with `status` after `ms`. */
  recordResponse(host: Host, status: number, ms: number): void {
    if (this.ewma !== null) observeLatency(host, ms, status >= 500, this.ewma, Date.now());
    const o = host.outcomes;
    if (o !== null) markDirty(this, o.response(status, this.splitLocal));
    if (this.breaker !== null) this.breaker.record(this.breaker.isFailureStatus(status), Date.now());
  }

  /** No answer: connect failure, reset or timeout after `ms`. */
  recordLocalFailure(host: Host, ms: number): void {
    if (this.ewma !== null) observeLatency(host, ms, true, this.ewma, Date.now());
    const o = host.outcomes;
    if (o !== null) {
      o.localFailure(this.splitLocal);
      markDirty(this, true);
    }
    if (this.breaker !== null) this.breaker.record(true, Date.now());
  }

  reportableHosts(): Iterable<Host> {
    return this.hosts;
  }

  // ---- connections (tcp_proxy counts its own here too)

  connectionOpened(http2 = false): void {
    this.stats.upstream_cx_total.value++;
    if (http2) this.stats.upstream_cx_http2_total.value++;
    else this.stats.upstream_cx_http1_total.value++;
    this.stats.upstream_cx_active.value++;
    if (!this.sawTraffic) this.noteTraffic();
  }

  connectionClosed(): void {
    this.stats.upstream_cx_active.value--;
    this.stats.upstream_cx_destroy.value++;
  }

  private noteTraffic(): void {
    this.sawTraffic = true;
    if (this.hasActiveHc || this.outlier) markDirty(this, false);
  }

  // ---- host set

  setHosts(hosts: Host[]): void {
    const old = new Map(this.hosts.map((h) => [h.key, h]));
    const next = hosts.map((h) => old.get(h.key) ?? h);
    for (const h of this.hosts) if (!next.includes(h)) h.drain();
    for (const h of next) this.applyPushed(h);
    this.hosts = next;
    this.recompute();
    this.initialized = true;
    const w = this.waiters;
    this.waiters = null;
    if (w !== null) for (const fn of w) fn();
  }

  /** ORIGINAL_DST host set changes. */
  hostsChanged(hosts: Host[]): void {
    for (const h of hosts) this.applyPushed(h);
    this.hosts = hosts;
    this.updateMembership();
  }

  /** The primary's flags for this cluster (host key → flags); hosts not listed have none. */
  setPushedHealth(flags: Record<string, number>): void {
    this.pushed.clear();
    for (const k in flags) this.pushed.set(k, flags[k]);
    let changed = false;
    for (const h of this.hosts) if (this.applyPushed(h)) changed = true;
    if (changed) this.recompute();
    else this.updateMembership();
  }

  private applyPushed(h: Host): boolean {
    if (this.outlier && h.outcomes === null) h.outcomes = new HostOutcomeCounter();
    // The primary lists every host it checks; one it has not checked yet is pending (unusable).
    const f = this.pushed.get(h.key);
    return h.setPushedFlags(f ?? (this.hasActiveHc ? PENDING_HC : 0));
  }

  private recompute(): void {
    this.prioritySet.update(this.hosts);
    this.updateMembership();
  }

  private updateMembership(): void {
    let healthy = 0;
    let degraded = 0;
    for (const h of this.hosts) {
      if (h.health === 0) healthy++;
      else if (h.health === 1) degraded++;
    }
    this.stats.membership_total.value = this.hosts.length;
    this.stats.membership_healthy.value = healthy;
    this.stats.membership_degraded.value = degraded;
    this.stats.membership_excluded.value = this.hosts.length - healthy - degraded;
  }

  private hostFor(l: LocalityEndpointsSnap, localityIndex: number, e: EndpointSnap, address: string): Host {
    return new Host(this, address, e.address.port, {
      hostname: e.hostname,
      weight: e.weight,
      priority: l.priority,
      edsFlags: edsHealthFlags(e.healthStatus),
      localityIndex,
      locality: l.locality,
      internal: e.internal ?? null,
      metadata: e.metadata,
    });
  }

  private resolve(): void {
    const jobs: Promise<Host[]>[] = [];
    this.snap.localities.forEach((l, i) => {
      for (const e of l.endpoints) jobs.push(this.resolveEndpoint(l, i, e));
    });
    Promise.all(jobs).then((lists) => {
      if (this.destroyed) return;
      let hosts = lists.flat();
      if (this.snap.type === 'logical_dns') hosts = hosts.slice(0, 1);
      this.setHosts(hosts);
      this.dnsTimer = setTimeout(() => this.resolve(), this.snap.dnsRefreshRateMs || 5000).unref();
    });
  }

  private async resolveEndpoint(l: LocalityEndpointsSnap, i: number, e: EndpointSnap): Promise<Host[]> {
    if (net.isIP(e.address.host) !== 0 || e.internal) return [this.hostFor(l, i, e, e.address.host)];
    const family = this.snap.dnsLookupFamily === 'v4_only' ? 4 : this.snap.dnsLookupFamily === 'v6_only' ? 6 : 0;
    try {
      const addrs = await dns.promises.lookup(e.address.host, { all: true, family, order: 'ipv4first' });
      return addrs.map((a) => this.hostFor(l, i, e, a.address));
    } catch (err) {
      log.warn({ cluster: this.name, host: e.address.host, err: String(err) }, 'DNS resolution failed');
      return this.hosts.filter((h) => h.hostname === e.address.host || h.port === e.address.port);
    }
  }

  destroy(): void {
    this.destroyed = true;
    if (this.dnsTimer !== null) clearTimeout(this.dnsTimer);
    this.originalDst?.destroy();
    for (const h of this.hosts) h.drain();
  }
}

function allIps(ls: LocalityEndpointsSnap[]): boolean {
  return ls.every((l) => l.endpoints.every((e) => net.isIP(e.address.host) !== 0 || e.internal));
}
