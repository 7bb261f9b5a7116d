// Load balancers are plugins registered by policy name (Envoy's lb_policy and the typed
// load_balancing_policy extensions). The cluster's priority set gives each balancer instance one
// fixed list of hosts (a priority level's healthy, degraded or — in panic — all hosts, or one
// locality of them) and asks it for a host per request.
import type { Host } from './host.ts';

/** Per-request inputs a balancer may use (hash policies, original destination). */
export interface LbContext {
  /** From the route's hash_policy; null when none applied. */
  hashKey: number | null;
  /** ORIGINAL_DST: `ip:port` from the request header or the downstream local address. */
  originalDst: string | null;
}

export interface LoadBalancer {
  /** `hosts` is the list this instance was refreshed with, never empty. */
  pick(hosts: Host[], ctx: LbContext | null): Host;
  /**
   * The instance's host list (called once, before the first pick). `all` is every host of the
   * priority level, healthy or not: consistent hashing sizes its ring from it, so a host going
   * unhealthy moves only its own keys.
   */
  refresh(hosts: Host[], all?: Host[]): void;
}

export type LoadBalancerFactory = (config: unknown) => LoadBalancer;

interface Registration {
  factory: LoadBalancerFactory;
  /** Hash-based balancers spread over the whole level themselves; locality weights do not apply. */
  localityAware: boolean;
}

const registry = new Map<string, Registration>();

export function registerLoadBalancer(policy: string, factory: LoadBalancerFactory, opts: { localityAware?: boolean } = {}): void {
  registry.set(policy, { factory, localityAware: opts.localityAware ?? true });
}

export function createLoadBalancer(policy: string, config: unknown): LoadBalancer | null {
  const r = registry.get(policy);
  return r === undefined ? null : r.factory(config);
}

/** A factory for a policy, or round robin when the policy is unknown. */
export function loadBalancerFactory(policy: string, config: unknown): { create: () => LoadBalancer; localityAware: boolean } {
  const r = registry.get(policy) ?? registry.get('round_robin')!;
  return { create: () => r.factory(config), localityAware: r.localityAware };
}

/** Smooth weighted round robin: equal weights reduce to plain rotation; unequal ones interleave. */
export class RoundRobinLoadBalancer implements LoadBalancer {
  private next = 0;
  private current: Float64Array = new Float64Array(0);
  private total = 0;
  private weighted = false;

  pick(hosts: Host[], _ctx: LbContext | null): Host {
    if (!this.weighted) {
      const h = hosts[this.next % hosts.length];
      this.next = (this.next + 1) % 0x3fffffff;
      return h;
    }
    // Each pick adds every host's weight to its credit and takes the host with the most credit,
    // which then pays the total: a 3:1 split goes a,a,b,a — never a burst to one host.
    const cur = this.current;
    let best = 0;
    for (let i = 0; i < hosts.length; i++) {
      cur[i] += hosts[i].weight;
      if (cur[i] > cur[best]) best = i;
    }
    cur[best] -= this.total;
    return hosts[best];
  }

  refresh(hosts: Host[]): void {
    this.current = new Float64Array(hosts.length);
    this.total = 0;
    for (const h of hosts) this.total += h.weight;
    this.weighted = hosts.some((h) => h.weight !== hosts[0].weight);
    // Start at a different host in each worker, so N workers don't all hit host 0 first.
    this.next = hosts.length > 0 ? Number(process.env.ORION_WORKER_ID ?? 0) % hosts.length : 0;
  }
}

export class RandomLoadBalancer implements LoadBalancer {
  pick(hosts: Host[]): Host {
    return hosts[(Math.random() * hosts.length) | 0];
  }

  refresh(): void {}
}

registerLoadBalancer('round_robin', () => new RoundRobinLoadBalancer());
registerLoadBalancer('random', () => new RandomLoadBalancer());
