// A cluster in one worker: its hosts (static, or resolved by DNS here), the load balancer over
// the healthy ones, circuit-breaker limits and stats. Hosts keep their connection pools across
// DNS refreshes and config updates whose endpoints did not change.
import net from 'node:net';
import dns from 'node:dns';
import type { ClusterSnap, EndpointSnap, LocalityEndpointsSnap } from '../../shared/snapshot.ts';
import { ClusterStats } from './cluster_stats.ts';
import { Host } from './host.ts';
import { createLoadBalancer, RoundRobinLoadBalancer, type LbContext, type LoadBalancer } from './load_balancer.ts';
import { log } from '../log.ts';

export interface ClusterLimits {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
}

const DEFAULT_LIMITS: ClusterLimits = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };

export class Cluster {
  readonly name: string;
  readonly snap: ClusterSnap;
  readonly stats: ClusterStats;
  readonly connectTimeoutMs: number;
  readonly maxRequestsPerConnection: number;
  readonly limits: ClusterLimits;
  hosts: Host[] = [];
  /** Healthy hosts of the best priority level that has any. */
  private usable: Host[] = [];
  private readonly lb: LoadBalancer;
  private connections = 0;
  private dnsTimer: NodeJS.Timeout | null = null;
  private waiters: (() => void)[] | null = null;
  initialized = false;

  constructor(snap: ClusterSnap) {
    this.name = snap.name;
    this.snap = snap;
    this.stats = new ClusterStats(snap.statName);
    this.connectTimeoutMs = snap.connectTimeoutMs;
    this.maxRequestsPerConnection = snap.maxRequestsPerConnection;
    const cb = snap.circuitBreakers.find((t) => t.priority === 'default');
    this.limits = cb ?? DEFAULT_LIMITS;
    this.lb = createLoadBalancer(snap.lbPolicy.toLowerCase(), snap.lbConfig) ?? new RoundRobinLoadBalancer();
    this.start();
  }

  private start(): void {
    if (this.snap.type === 'strict_dns' || this.snap.type === 'logical_dns' || !allIps(this.snap.localities)) {
      this.waiters = [];
      this.resolve();
      return;
    }
    this.setHosts(this.snap.localities.flatMap((l) => l.endpoints.map((e) => this.hostFor(l, e, e.address.host))));
  }

  chooseHost(ctx: LbContext | null): Host | null {
    const hs = this.usable;
    if (hs.length === 0) return null;
    return hs.length === 1 ? hs[0] : this.lb.pick(hs, ctx);
  }

  /** Runs fn once the first DNS resolution finished (immediately for static clusters). */
  whenReady(fn: () => void): void {
    if (this.waiters === null) fn();
    else this.waiters.push(fn);
  }

  canOpenConnection(): boolean {
    if (this.connections < this.limits.maxConnections) return true;
    this.stats.upstream_cx_overflow.value++;
    return false;
  }

  connectionOpened(): void {
    this.connections++;
    this.stats.upstream_cx_total.value++;
    this.stats.upstream_cx_http1_total.value++;
    this.stats.upstream_cx_active.value++;
  }

  connectionClosed(): void {
    this.connections--;
    this.stats.upstream_cx_active.value--;
    this.stats.upstream_cx_destroy.value++;
  }

  setHosts(hosts: Host[]): void {
    const old = new Map(this.hosts.map((h) => [h.key, h]));
    const next = hosts.map((h) => old.get(h.key) ?? h);
    for (const h of this.hosts) if (!next.includes(h)) h.drain();
    this.hosts = next;
    this.recompute();
    this.initialized = true;
    const w = this.waiters;
    this.waiters = null;
    if (w !== null) for (const fn of w) fn();
  }

  private recompute(): void {
    let best = Infinity;
    for (const h of this.hosts) if (h.healthy && h.priority < best) best = h.priority;
    this.usable = this.hosts.filter((h) => h.healthy && h.priority === best);
    this.lb.refresh(this.usable);
    this.stats.membership_total.value = this.hosts.length;
    this.stats.membership_healthy.value = this.hosts.filter((h) => h.healthy).length;
  }

  private hostFor(l: LocalityEndpointsSnap, e: EndpointSnap, address: string): Host {
    return new Host(this, address, e.address.port, {
      hostname: e.hostname,
      weight: e.weight,
      priority: l.priority,
      healthy: e.healthStatus !== 'unhealthy' && e.healthStatus !== 'draining' && e.healthStatus !== 'timeout',
      locality: l.locality,
    });
  }

  private resolve(): void {
    const jobs: Promise<Host[]>[] = [];
    for (const l of this.snap.localities) for (const e of l.endpoints) jobs.push(this.resolveEndpoint(l, e));
    Promise.all(jobs).then((lists) => {
      if (this.dnsTimer === null && this.initialized && this.destroyed) return;
      let hosts = lists.flat();
      if (this.snap.type === 'logical_dns') hosts = hosts.slice(0, 1);
      this.setHosts(hosts);
      if (!this.destroyed) this.dnsTimer = setTimeout(() => this.resolve(), this.snap.dnsRefreshRateMs || 5000).unref();
    });
  }

  private async resolveEndpoint(l: LocalityEndpointsSnap, e: EndpointSnap): Promise<Host[]> {
    if (net.isIP(e.address.host) !== 0) return [this.hostFor(l, e, e.address.host)];
    const family = this.snap.dnsLookupFamily === 'v4_only' ? 4 : this.snap.dnsLookupFamily === 'v6_only' ? 6 : 0;
    try {
      const addrs = await dns.promises.lookup(e.address.host, { all: true, family, order: 'ipv4first' });
      return addrs.map((a) => this.hostFor(l, e, a.address));
    } catch (err) {
      log.warn({ cluster: this.name, host: e.address.host, err: String(err) }, 'DNS resolution failed');
      return this.hosts.filter((h) => h.hostname === e.address.host || h.port === e.address.port);
    }
  }

  private destroyed = false;

  destroy(): void {
    this.destroyed = true;
    if (this.dnsTimer !== null) clearTimeout(this.dnsTimer);
    for (const h of this.hosts) h.drain();
  }
}

function allIps(ls: LocalityEndpointsSnap[]): boolean {
  return ls.every((l) => l.endpoints.every((e) => net.isIP(e.address.host) !== 0));
}
