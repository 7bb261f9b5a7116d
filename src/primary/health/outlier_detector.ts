// Outlier detection for one cluster, decided once for the whole proxy. Workers report per-host
// outcomes (src/worker/upstream/outlier_reporter.ts); consecutive-failure runs are stitched
// together across reports here and eject as soon as a run reaches its threshold; success rate and
// failure percentage are judged every `interval` over the outcomes of all workers. Ejected hosts
// come back at the first interval after base_ejection_time × ejections (capped by
// max_ejection_time); every interval a host spends un-ejected lowers that multiplier again.
import type { HostOutcomes } from '../../shared/ipc.ts';
import type { OutlierDetectionSnap } from '../../shared/snapshot.ts';
import type { Counter, Gauge, StatsStore } from '../../worker/stats/store.ts';

type Kind =
  | 'consecutive_5xx'
  | 'consecutive_gateway_failure'
  | 'consecutive_local_origin_failure'
  | 'success_rate'
  | 'local_origin_success_rate'
  | 'failure_percentage'
  | 'failure_percentage_local_origin';

const KINDS: Kind[] = [
  'consecutive_5xx', 'consecutive_gateway_failure', 'consecutive_local_origin_failure', 'success_rate',
  'local_origin_success_rate', 'failure_percentage', 'failure_percentage_local_origin',
];

class OdStats {
  readonly enforcedTotal: Counter;
  readonly total: Counter;
  readonly overflow: Counter;
  readonly active: Gauge;
  readonly detected = new Map<Kind, Counter>();
  readonly enforced = new Map<Kind, Counter>();
  readonly legacy5xx: Counter;

  constructor(store: StatsStore, statName: string) {
    const p = `cluster.${statName}.outlier_detection.`;
    this.enforcedTotal = store.counter(p + 'ejections_enforced_total');
    this.total = store.counter(p + 'ejections_total');
    this.overflow = store.counter(p + 'ejections_overflow');
    this.active = store.gauge(p + 'ejections_active');
    this.legacy5xx = store.counter(p + 'ejections_consecutive_5xx');
    for (const k of KINDS) {
      this.detected.set(k, store.counter(p + 'ejections_detected_' + k));
      this.enforced.set(k, store.counter(p + 'ejections_enforced_' + k));
    }
  }
}

class HostState {
  ejected = false;
  ejectedAt = 0;
  ejectionMs = 0;
  /** The ejection-time multiplier. */
  ejections = 0;
  /** Current consecutive-failure runs: 5xx, gateway, local origin. */
  readonly streak = [0, 0, 0];
  total = 0;
  failed = 0;
  localTotal = 0;
  localFailed = 0;
  /** Success rates of the last interval, -1 when the host had too few requests. */
  successRate = -1;
  localSuccessRate = -1;
}

export class OutlierDetector {
  private readonly cfg: OutlierDetectionSnap;
  private readonly stats: OdStats;
  private readonly onChange: () => void;
  private readonly hosts = new Map<string, HostState>();
  /** Hosts the cluster has (for max_ejection_percent); reported-only hosts count too. */
  private known = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  /** Test hook: enforcement rolls. */
  random: () => number = Math.random;

  constructor(cfg: OutlierDetectionSnap, statName: string, store: StatsStore, onChange: () => void) {
    this.cfg = cfg;
    this.stats = new OdStats(store, statName);
    this.onChange = onChange;
    this.timer = setInterval(() => this.onInterval(Date.now()), cfg.intervalMs);
    this.timer.unref();
  }

  setHosts(keys: string[]): void {
    this.known = new Set(keys);
    for (const k of this.hosts.keys()) {
      if (!this.known.has(k)) {
        if (this.hosts.get(k)!.ejected) this.stats.active.value--;
        this.hosts.delete(k);
      }
    }
  }

  isEjected(key: string): boolean {
    return this.hosts.get(key)?.ejected === true;
  }

  successRate(key: string): { external: number; local: number } {
    const h = this.hosts.get(key);
    return { external: h?.successRate ?? -1, local: h?.localSuccessRate ?? -1 };
  }

  /** Carries an ejection across a config update. */
  adopt(key: string, from: OutlierDetector): void {
    const h = from.hosts.get(key);
    if (h === undefined) return;
    this.hosts.set(key, h);
    if (h.ejected) this.stats.active.value++;
  }

  private state(key: string): HostState {
    let h = this.hosts.get(key);
    if (h === undefined) {
      this.hosts.set(key, (h = new HostState()));
      this.known.add(key);
    }
    return h;
  }

  /** One worker's outcomes since its previous report. */
  report(outcomes: HostOutcomes[], now = Date.now()): void {
    const c = this.cfg;
    for (const o of outcomes) {
      const h = this.state(o.key);
      h.total += o.total;
      h.failed += o.failed;
      h.localTotal += o.localTotal;
      h.localFailed += o.localFailed;
      if (h.ejected) continue;
      if (this.run(h, 0, o.runs, c.consecutive5xx)) this.detect(h, 'consecutive_5xx', c.enforcingConsecutive5xx, now);
      if (!h.ejected && this.run(h, 1, o.runs, c.consecutiveGatewayFailure)) {
        this.detect(h, 'consecutive_gateway_failure', c.enforcingConsecutiveGatewayFailure, now);
      }
      if (!h.ejected && c.splitExternalLocalOriginErrors && this.run(h, 2, o.runs, c.consecutiveLocalOriginFailure)) {
        this.detect(h, 'consecutive_local_origin_failure', c.enforcingConsecutiveLocalOriginFailure, now);
      }
    }
  }

  /**
   * Extends the host's run `i` with one worker's [broken, head, longest, tail]: a run continues
   * across reports until some worker saw a success. True when a run reached `threshold`.
   */
  private run(h: HostState, i: number, runs: number[], threshold: number): boolean {
    if (threshold <= 0) return false;
    const [broken, head, longest, tail] = runs.slice(i * 4, i * 4 + 4);
    let hit: boolean;
    if (broken === 0) {
      h.streak[i] += tail;
      hit = h.streak[i] >= threshold;
    } else {
      hit = h.streak[i] + head >= threshold || longest >= threshold || tail >= threshold;
      h.streak[i] = tail;
    }
    if (hit) h.streak[i] = 0;
    return hit;
  }

  private detect(h: HostState, kind: Kind, enforcing: number, now: number): void {
    this.stats.detected.get(kind)!.value++;
    if (this.random() * 100 >= enforcing) return;
    if (!this.eject(h, now)) return;
    this.stats.enforced.get(kind)!.value++;
    if (kind === 'consecutive_5xx') this.stats.legacy5xx.value++;
    this.onChange();
  }

  private eject(h: HostState, now: number): boolean {
    let active = 0;
    for (const x of this.hosts.values()) if (x.ejected) active++;
    const total = Math.max(1, this.known.size);
    if ((active * 100) / total >= this.cfg.maxEjectionPercent && !(this.cfg.alwaysEjectOneHost && active === 0)) {
      this.stats.overflow.value++;
      return false;
    }
    h.ejected = true;
    h.ejectedAt = now;
    h.ejections++;
    const base = Math.min(this.cfg.baseEjectionTimeMs * h.ejections, this.cfg.maxEjectionTimeMs);
    h.ejectionMs = base + (this.cfg.maxEjectionTimeJitterMs > 0 ? this.random() * this.cfg.maxEjectionTimeJitterMs : 0);
    h.streak.fill(0);
    this.stats.enforcedTotal.value++;
    this.stats.total.value++;
    this.stats.active.value++;
    return true;
  }

  private uneject(h: HostState): void {
    h.ejected = false;
    h.streak.fill(0);
    this.stats.active.value--;
  }

  /** successful_active_health_check_uneject_host: a passing active check ends an ejection. */
  activeCheckPassed(key: string): void {
    const h = this.hosts.get(key);
    if (h === undefined || !h.ejected || !this.cfg.successfulActiveHealthCheckUnejectHost) return;
    this.uneject(h);
    this.onChange();
  }

  /** The periodic sweep: returns hosts whose time is up, then judges the interval's statistics. */
  onInterval(now: number): void {
    let changed = false;
    for (const h of this.hosts.values()) {
      if (!h.ejected) {
        if (h.ejections > 0) h.ejections--;
      } else if (now - h.ejectedAt >= h.ejectionMs) {
        this.uneject(h);
        changed = true;
      }
    }
    const c = this.cfg;
    const split = c.splitExternalLocalOriginErrors;
    changed = this.successRateSweep((h) => [h.total, h.failed], 'success_rate', c.enforcingSuccessRate, now, (h, r) => (h.successRate = r)) || changed;
    if (split) {
      changed = this.successRateSweep((h) => [h.localTotal, h.localFailed], 'local_origin_success_rate', c.enforcingLocalOriginSuccessRate, now, (h, r) => (h.localSuccessRate = r)) || changed;
    }
    changed = this.failurePercentageSweep((h) => [h.total, h.failed], 'failure_percentage', c.enforcingFailurePercentage, now) || changed;
    if (split) {
      changed = this.failurePercentageSweep((h) => [h.localTotal, h.localFailed], 'failure_percentage_local_origin', c.enforcingFailurePercentageLocalOrigin, now) || changed;
    }
    for (const h of this.hosts.values()) h.total = h.failed = h.localTotal = h.localFailed = 0;
    if (changed) this.onChange();
  }

  private successRateSweep(counts: (h: HostState) => [number, number], kind: Kind, enforcing: number, now: number, set: (h: HostState, rate: number) => void): boolean {
    const c = this.cfg;
    const rated: [HostState, number][] = [];
    for (const h of this.hosts.values()) {
      const [total, failed] = counts(h);
      const rate = total >= c.successRateRequestVolume && total > 0 ? ((total - failed) * 100) / total : -1;
      set(h, rate);
      if (rate >= 0 && !h.ejected) rated.push([h, rate]);
    }
    if (rated.length < c.successRateMinimumHosts || rated.length === 0) return false;
    const mean = rated.reduce((a, [, r]) => a + r, 0) / rated.length;
    const stdev = Math.sqrt(rated.reduce((a, [, r]) => a + (r - mean) ** 2, 0) / rated.length);
    const threshold = mean - stdev * (c.successRateStdevFactor / 1000);
    let changed = false;
    for (const [h, r] of rated) {
      if (r >= threshold || h.ejected) continue;
      const before = h.ejected;
      this.detectQuiet(h, kind, enforcing, now);
      changed ||= h.ejected !== before;
    }
    return changed;
  }

  private failurePercentageSweep(counts: (h: HostState) => [number, number], kind: Kind, enforcing: number, now: number): boolean {
    const c = this.cfg;
    const eligible: [HostState, number][] = [];
    for (const h of this.hosts.values()) {
      const [total, failed] = counts(h);
      if (total >= c.failurePercentageRequestVolume && total > 0 && !h.ejected) eligible.push([h, (failed * 100) / total]);
    }
    if (eligible.length < c.failurePercentageMinimumHosts || eligible.length === 0) return false;
    let changed = false;
    for (const [h, pct] of eligible) {
      if (pct < c.failurePercentageThreshold || h.ejected) continue;
      this.detectQuiet(h, kind, enforcing, now);
      changed ||= h.ejected;
    }
    return changed;
  }

  /** Like detect(), without announcing (the sweep announces once). */
  private detectQuiet(h: HostState, kind: Kind, enforcing: number, now: number): void {
    this.stats.detected.get(kind)!.value++;
    if (this.random() * 100 >= enforcing) return;
    if (this.eject(h, now)) this.stats.enforced.get(kind)!.value++;
  }

  stop(): void {
    clearInterval(this.timer);
    for (const h of this.hosts.values()) if (h.ejected) this.stats.active.value--;
  }
}
