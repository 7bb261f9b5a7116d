// Load balancers are plugins registered by policy name (Envoy's lb_policy and the typed
// load_balancing_policy extensions). A balancer sees the cluster's hosts of the best priority
// level with healthy hosts and picks one per request.
import type { Host } from './host.ts';

/** Per-request inputs a balancer may use (hash policies, original destination). */
export interface LbContext {
  hashKey: number | null;
}

export interface LoadBalancer {
  /** `hosts` are the healthy hosts chosen for this pick, never empty. */
  pick(hosts: Host[], ctx: LbContext | null): Host;
  /** Host set changed: drop per-host state. */
  refresh(hosts: Host[]): void;
}

export type LoadBalancerFactory = (config: unknown) => LoadBalancer;

const registry = new Map<string, LoadBalancerFactory>();

export function registerLoadBalancer(policy: string, f: LoadBalancerFactory): void {
  registry.set(policy, f);
}

export function createLoadBalancer(policy: string, config: unknown): LoadBalancer | null {
  const f = registry.get(policy);
  return f === undefined ? null : f(config);
}

/** Smooth weighted round robin: equal weights reduce to plain rotation; unequal ones interleave. */
export class RoundRobinLoadBalancer implements LoadBalancer {
  private next = 0;
  private current = new Map<Host, number>();
  private weighted = false;

  pick(hosts: Host[], _ctx: LbContext | null): Host {
    if (!this.weighted) {
      const h = hosts[this.next % hosts.length];
      this.next = (this.next + 1) % 0x3fffffff;
      return h;
    }
    return this.pickWeighted(hosts);
  }

  private pickWeighted(hosts: Host[]): Host {
    let total = 0;
    let best: Host = hosts[0];
    let bestW = -Infinity;
    for (const h of hosts) {
      const w = (this.current.get(h) ?? 0) + h.weight;
      this.current.set(h, w);
      total += h.weight;
      if (w > bestW) {
        bestW = w;
        best = h;
      }
    }
    this.current.set(best, bestW - total);
    return best;
  }

  refresh(hosts: Host[]): void {
    this.current.clear();
    this.weighted = hosts.some((h) => h.weight !== hosts[0].weight);
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
