// Active health checking of one cluster's hosts, once for the whole proxy (in the primary).
// Each host has its own schedule: a probe, its timeout, then the next interval — no_traffic_interval
// until the cluster has carried traffic, the edge intervals right after a flip, unhealthy_interval
// while unhealthy — plus jitter. A host starts failed and pending; its first result decides at
// once, later flips need healthy_threshold / unhealthy_threshold results in a row (an unexpected
// HTTP status marks it unhealthy at once, as in Envoy).
import type { HealthCheckSnap } from '../../shared/snapshot.ts';
import { HealthFlag } from '../../shared/host_health.ts';
import type { StatsStore, Counter, Gauge } from '../../worker/stats/store.ts';
import type { PrimaryHost } from './host_set.ts';
import { ProbeResult, type ProbeResultValue, type Prober, type ProbeTarget } from './prober.ts';
import { HttpProber } from './http_prober.ts';
import { TcpProber } from './tcp_prober.ts';
import { GrpcProber } from './grpc_prober.ts';

const HC_FLAGS = HealthFlag.FAILED_ACTIVE_HC | HealthFlag.PENDING_ACTIVE_HC | HealthFlag.DEGRADED_ACTIVE_HC |
  HealthFlag.ACTIVE_HC_TIMEOUT | HealthFlag.EXCLUDED_VIA_IMMEDIATE_HC_FAIL;

export interface HealthCheckerEvents {
  /** A host's active-check flags changed. */
  changed(): void;
  /** A probe passed (outlier detection may un-eject the host). */
  passed(key: string): void;
  /** Every host has had its first result. */
  firstRound(): void;
}

class HcStats {
  readonly attempt: Counter;
  readonly success: Counter;
  readonly failure: Counter;
  readonly network_failure: Counter;
  readonly healthy: Gauge;
  readonly degraded: Gauge;

  constructor(store: StatsStore, statName: string) {
    const p = `cluster.${statName}.health_check.`;
    this.attempt = store.counter(p + 'attempt');
    this.success = store.counter(p + 'success');
    this.failure = store.counter(p + 'failure');
    this.network_failure = store.counter(p + 'network_failure');
    // Envoy has these too; outlier detection is passive, so they stay 0 here.
    store.counter(p + 'passive_failure');
    store.counter(p + 'verify_cluster');
    this.healthy = store.gauge(p + 'healthy');
    this.degraded = store.gauge(p + 'degraded');
  }
}

class HostSession {
  readonly host: PrimaryHost;
  flags = HealthFlag.FAILED_ACTIVE_HC | HealthFlag.PENDING_ACTIVE_HC;
  private firstCheck = true;
  private okRun = 0;
  private failRun = 0;
  /** -1 just flipped to unhealthy, 1 just flipped to healthy, 0 otherwise (edge intervals). */
  private edge = 0;
  private timer: NodeJS.Timeout | null = null;
  private probing = false;
  private stopped = false;
  private readonly prober: Prober;
  private readonly checker: HealthChecker;

  constructor(checker: HealthChecker, host: PrimaryHost, prober: Prober, carried: number | null) {
    this.checker = checker;
    this.host = host;
    this.prober = prober;
    if (carried !== null) {
      // A host that stays across a config update keeps its verdict.
      this.flags = carried & HC_FLAGS;
      this.firstCheck = false;
    }
  }

  get healthy(): boolean {
    return (this.flags & (HealthFlag.FAILED_ACTIVE_HC | HealthFlag.EXCLUDED_VIA_IMMEDIATE_HC_FAIL)) === 0;
  }

  get pending(): boolean {
    return this.firstCheck;
  }

  start(delayMs: number): void {
    this.schedule(delayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.prober.close();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.run(), Math.max(1, ms));
    this.timer.unref();
  }

  private run(): void {
    this.timer = null;
    if (this.stopped || this.probing) return;
    this.probing = true;
    this.checker.stats.attempt.value++;
    let done = false;
    const timeout = setTimeout(() => {
      if (done) return;
      done = true;
      this.prober.cancel();
      this.onResult(null);
    }, this.checker.cfg.timeoutMs);
    timeout.unref();
    this.prober.probe((r) => {
      if (done) return;
      done = true;
      clearTimeout(timeout);
      this.onResult(r);
    });
  }

  /** `null` is a timeout: a network-class failure that also sets active_hc_timeout. */
  private onResult(r: ProbeResultValue | null): void {
    this.probing = false;
    if (this.stopped) return;
    const cfg = this.checker.cfg;
    const st = this.checker.stats;
    const before = this.flags;
    let flags = before & ~HealthFlag.PENDING_ACTIVE_HC;
    const wasHealthy = this.healthy;
    if (r === ProbeResult.OK || r === ProbeResult.DEGRADED) {
      st.success.value++;
      this.failRun = 0;
      this.okRun++;
      flags &= ~(HealthFlag.ACTIVE_HC_TIMEOUT | HealthFlag.EXCLUDED_VIA_IMMEDIATE_HC_FAIL);
      if ((flags & HealthFlag.FAILED_ACTIVE_HC) !== 0 && (this.firstCheck || this.okRun >= cfg.healthyThreshold)) {
        flags &= ~HealthFlag.FAILED_ACTIVE_HC;
      }
      flags = r === ProbeResult.DEGRADED ? flags | HealthFlag.DEGRADED_ACTIVE_HC : flags & ~HealthFlag.DEGRADED_ACTIVE_HC;
      this.checker.events.passed(this.host.key);
    } else {
      st.failure.value++;
      if (r === null || r === ProbeResult.NETWORK) st.network_failure.value++;
      this.okRun = 0;
      this.failRun++;
      if (r === null) flags |= HealthFlag.ACTIVE_HC_TIMEOUT;
      if (r === ProbeResult.EXCLUDE) flags |= HealthFlag.EXCLUDED_VIA_IMMEDIATE_HC_FAIL | HealthFlag.FAILED_ACTIVE_HC;
      if (r === ProbeResult.IMMEDIATE || this.firstCheck || this.failRun >= cfg.unhealthyThreshold) flags |= HealthFlag.FAILED_ACTIVE_HC;
    }
    this.firstCheck = false;
    this.flags = flags;
    const nowHealthy = this.healthy;
    this.edge = nowHealthy === wasHealthy ? 0 : nowHealthy ? 1 : -1;
    if (flags !== before) this.checker.hostChanged();
    this.checker.firstResult();
    this.schedule(this.nextInterval());
  }

  private nextInterval(): number {
    const cfg = this.checker.cfg;
    let base: number;
    if (!this.checker.sawTraffic) {
      base = this.healthy && cfg.noTrafficHealthyIntervalMs > 0 ? cfg.noTrafficHealthyIntervalMs : cfg.noTrafficIntervalMs;
    } else if (this.edge === -1 && cfg.unhealthyEdgeIntervalMs > 0) {
      base = cfg.unhealthyEdgeIntervalMs;
    } else if (this.edge === 1 && cfg.healthyEdgeIntervalMs > 0) {
      base = cfg.healthyEdgeIntervalMs;
    } else if (!this.healthy && cfg.unhealthyIntervalMs > 0) {
      base = cfg.unhealthyIntervalMs;
    } else {
      base = cfg.intervalMs;
    }
    let jitter = 0;
    if (cfg.intervalJitterPercent > 0) jitter += Math.random() * ((cfg.intervalJitterPercent * base) / 100);
    if (cfg.intervalJitterMs > 0) jitter += Math.random() * cfg.intervalJitterMs;
    return base + jitter;
  }
}

export class HealthChecker {
  readonly cfg: HealthCheckSnap;
  readonly stats: HcStats;
  readonly events: HealthCheckerEvents;
  private readonly clusterName: string;
  private sessions = new Map<string, HostSession>();
  private firstRoundDone = false;
  /** The cluster has carried traffic (workers report it): no_traffic_interval no longer applies. */
  sawTraffic = false;

  constructor(cfg: HealthCheckSnap, clusterName: string, statName: string, store: StatsStore, events: HealthCheckerEvents) {
    this.cfg = cfg;
    this.clusterName = clusterName;
    this.stats = new HcStats(store, statName);
    this.events = events;
  }

  /** The host list changed: new hosts start pending and are probed (after initial_jitter). */
  setHosts(hosts: PrimaryHost[], carried: (key: string) => number | null = () => null): void {
    const next = new Map<string, HostSession>();
    for (const h of hosts) {
      const cur = this.sessions.get(h.key);
      if (cur !== undefined) {
        next.set(h.key, cur);
        continue;
      }
      const s = new HostSession(this, h, this.prober(h), carried(h.key));
      next.set(h.key, s);
      s.start(this.cfg.initialJitterMs > 0 ? Math.random() * this.cfg.initialJitterMs : 0);
    }
    for (const [k, s] of this.sessions) if (!next.has(k)) s.stop();
    this.sessions = next;
    this.publish();
    this.firstResult();
  }

  private prober(h: PrimaryHost): Prober {
    const target: ProbeTarget = {
      address: h.address,
      port: this.cfg.altPort || h.checkPort,
      clusterName: this.clusterName,
      reuseConnection: this.cfg.reuseConnection,
    };
    if (this.cfg.kind === 'tcp') return new TcpProber(this.cfg.tcp!, target);
    if (this.cfg.kind === 'grpc') return new GrpcProber(this.cfg.grpc!, target);
    return new HttpProber(this.cfg.http!, target);
  }

  /** Active-check flags of a host; pending hosts are failed until their first result. */
  flags(key: string): number {
    return this.sessions.get(key)?.flags ?? HealthFlag.FAILED_ACTIVE_HC | HealthFlag.PENDING_ACTIVE_HC;
  }

  hostChanged(): void {
    this.publish();
    this.events.changed();
  }

  /** Called after each result: reports the end of the first round once. */
  firstResult(): void {
    if (this.firstRoundDone) return;
    for (const s of this.sessions.values()) if (s.pending) return;
    this.firstRoundDone = true;
    this.events.firstRound();
  }

  private publish(): void {
    let healthy = 0;
    let degraded = 0;
    for (const s of this.sessions.values()) {
      if (!s.healthy) continue;
      if ((s.flags & HealthFlag.DEGRADED_ACTIVE_HC) !== 0) degraded++;
      else if ((s.flags & HealthFlag.FAILED_ACTIVE_HC) === 0) healthy++;
    }
    this.stats.healthy.value = healthy;
    this.stats.degraded.value = degraded;
  }

  stop(): void {
    for (const s of this.sessions.values()) s.stop();
    this.sessions.clear();
  }
}
