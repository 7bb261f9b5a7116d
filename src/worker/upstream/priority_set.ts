// Envoy's priority levels and host selection. Hosts are grouped by priority; each level's
// availability is (healthy hosts / hosts) × the overprovisioning factor (1.4 by default), capped
// at 100%, and load spills from P0 to P1… only as availability drops below 100%. Degraded hosts
// take what healthy hosts cannot; a level with fewer than healthy_panic_threshold percent usable
// hosts is in panic and balances over all its hosts. With locality weighting, a level's load is
// split between localities by weight × locality availability before the balancer picks a host.
import type { Host } from './host.ts';
import type { LbContext, LoadBalancer } from './load_balancer.ts';

export interface PrioritySetOptions {
  createLb: () => LoadBalancer;
  /** The balancer works within one locality at a time (not hash-based). */
  localityAware: boolean;
  localityWeighted: boolean;
  /** Locality load_balancing_weight by locality index. */
  localityWeights: number[];
  /** Percent, e.g. 140. */
  overprovisioningFactor: number;
  /** Percent; 0 disables panic. */
  panicThreshold: number;
}

/** One list of hosts and its balancer (or its per-locality balancers). */
class HostSource {
  readonly hosts: Host[];
  private readonly lb: LoadBalancer;
  private readonly localities: { hosts: Host[]; lb: LoadBalancer; weight: number }[] | null = null;
  private readonly credit: Float64Array | null = null;
  private readonly localityTotal: number = 0;

  constructor(hosts: Host[], level: Host[], o: PrioritySetOptions) {
    this.hosts = hosts;
    this.lb = o.createLb();
    this.lb.refresh(hosts, level);
    if (!o.localityWeighted || !o.localityAware) return;
    const groups = new Map<number, Host[]>();
    for (const h of hosts) {
      const g = groups.get(h.localityIndex);
      if (g === undefined) groups.set(h.localityIndex, [h]);
      else g.push(h);
    }
    const localities: { hosts: Host[]; lb: LoadBalancer; weight: number }[] = [];
    for (const [idx, hs] of groups) {
      const inLocality = level.filter((h) => h.localityIndex === idx).length;
      const availability = Math.min(1, ((o.overprovisioningFactor / 100) * hs.length) / inLocality);
      const weight = (o.localityWeights[idx] ?? 1) * availability;
      if (weight <= 0) continue;
      const lb = o.createLb();
      lb.refresh(hs, level);
      localities.push({ hosts: hs, lb, weight });
    }
    if (localities.length === 0) return;
    this.localities = localities;
    this.credit = new Float64Array(localities.length);
    for (const l of localities) this.localityTotal += l.weight;
  }

  pick(ctx: LbContext | null): Host {
    const ls = this.localities;
    if (ls === null) return this.lb.pick(this.hosts, ctx);
    // Smooth weighted round robin over localities (Envoy uses an EDF schedule to the same end).
    const credit = this.credit!;
    let best = 0;
    for (let i = 0; i < ls.length; i++) {
      credit[i] += ls[i].weight;
      if (credit[i] > credit[best]) best = i;
    }
    credit[best] -= this.localityTotal;
    const l = ls[best];
    return l.lb.pick(l.hosts, ctx);
  }
}

class PriorityLevel {
  readonly priority: number;
  readonly hosts: Host[];
  readonly healthy: HostSource | null;
  readonly degraded: HostSource | null;
  private all: HostSource | null = null;
  panic = false;
  private readonly opts: PrioritySetOptions;

  constructor(priority: number, hosts: Host[], o: PrioritySetOptions) {
    this.priority = priority;
    this.hosts = hosts;
    this.opts = o;
    const healthy = hosts.filter((h) => h.health === 0);
    const degraded = hosts.filter((h) => h.health === 1);
    this.healthy = healthy.length > 0 ? new HostSource(healthy, hosts, o) : null;
    this.degraded = degraded.length > 0 ? new HostSource(degraded, hosts, o) : null;
  }

  /** In panic: every host of the level, whatever its health. */
  allHosts(): HostSource {
    return (this.all ??= new HostSource(this.hosts, this.hosts, this.opts));
  }
}

export class PrioritySet {
  private readonly opts: PrioritySetOptions;
  private levels: PriorityLevel[] = [];
  private healthyLoad: number[] = [];
  private degradedLoad: number[] = [];
  /** The one source every request goes to, when there is no choice to make. */
  private only: HostSource | null = null;
  /** No host may be chosen: no hosts, or none usable with panic disabled. */
  private none = true;
  /** Counts a pick made in panic (lb_healthy_panic). */
  onPanic: () => void = () => {};

  constructor(opts: PrioritySetOptions) {
    this.opts = opts;
  }

  /** Per-priority percentages of load to healthy and degraded hosts (for tests and admin). */
  loads(): { priority: number; healthy: number; degraded: number; panic: boolean }[] {
    return this.levels.map((l, i) => ({ priority: l.priority, healthy: this.healthyLoad[i], degraded: this.degradedLoad[i], panic: l.panic }));
  }

  update(hosts: Host[]): void {
    const byPrio = new Map<number, Host[]>();
    for (const h of hosts) {
      const l = byPrio.get(h.priority);
      if (l === undefined) byPrio.set(h.priority, [h]);
      else l.push(h);
    }
    const prios = [...byPrio.keys()].sort((a, b) => a - b);
    this.levels = prios.map((p) => new PriorityLevel(p, byPrio.get(p)!, this.opts));
    this.computeLoads();
  }

  private computeLoads(): void {
    const o = this.opts;
    const n = this.levels.length;
    const health = new Array<number>(n);
    const degraded = new Array<number>(n);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const l = this.levels[i];
      const total = l.hosts.length;
      const h = l.healthy?.hosts.length ?? 0;
      const d = l.degraded?.hosts.length ?? 0;
      health[i] = Math.min(100, (o.overprovisioningFactor * h) / total);
      degraded[i] = Math.min(100, (o.overprovisioningFactor * d) / total);
      sum += health[i] + degraded[i];
      l.panic = ((h + d) * 100) / total < o.panicThreshold;
    }
    const normalized = Math.min(100, sum);
    this.healthyLoad = new Array<number>(n).fill(0);
    this.degradedLoad = new Array<number>(n).fill(0);
    this.none = n === 0 || (normalized === 0 && o.panicThreshold === 0);
    this.only = null;
    if (this.none) return;
    // Lower levels make up for a level short of hosts; only when they cannot (normalized total
    // availability under 100%) do panic thresholds apply.
    if (normalized >= 100) for (const l of this.levels) l.panic = false;
    if (normalized === 0) {
      // Nothing is usable anywhere: all load to P0, in panic (a 0% threshold disables panic).
      this.healthyLoad[0] = 100;
      for (const l of this.levels) l.panic = true;
    } else {
      let remaining = 100;
      for (let i = 0; i < n; i++) {
        const load = Math.min(remaining, Math.round((health[i] * 100) / normalized));
        this.healthyLoad[i] = load;
        remaining -= load;
      }
      for (let i = 0; i < n; i++) {
        const load = Math.min(remaining, Math.round((degraded[i] * 100) / normalized));
        this.degradedLoad[i] = load;
        remaining -= load;
      }
      // Rounding leftovers go to the first level that can take load.
      if (remaining > 0) {
        const first = health.findIndex((x) => x > 0);
        if (first >= 0) this.healthyLoad[first] += remaining;
        else this.degradedLoad[degraded.findIndex((x) => x > 0)] += remaining;
      }
    }
    const l0 = this.levels[0];
    this.only = this.healthyLoad[0] === 100 && !l0.panic ? l0.healthy : null;
  }

  /** A host for one request, or null when the cluster has no hosts at all. */
  choose(ctx: LbContext | null): Host | null {
    const only = this.only;
    if (only !== null) return only.pick(ctx);
    if (this.none) return null;
    const n = this.levels.length;
    const key = ctx !== null && ctx.hashKey !== null ? ctx.hashKey % 100 : (Math.random() * 100) | 0;
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += this.healthyLoad[i];
      if (key < acc) return this.pickFrom(this.levels[i], this.levels[i].healthy, ctx);
    }
    for (let i = 0; i < n; i++) {
      acc += this.degradedLoad[i];
      if (key < acc) return this.pickFrom(this.levels[i], this.levels[i].degraded, ctx);
    }
    return this.pickFrom(this.levels[0], this.levels[0].healthy, ctx);
  }

  private pickFrom(level: PriorityLevel, source: HostSource | null, ctx: LbContext | null): Host {
    if (level.panic || source === null) {
      this.onPanic();
      return level.allHosts().pick(ctx);
    }
    return source.pick(ctx);
  }
}
