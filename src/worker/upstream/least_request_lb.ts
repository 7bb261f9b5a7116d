// Envoy's LEAST_REQUEST: with equal weights, the power of `choice_count` random choices picks the
// host with the fewest active requests; with unequal weights, a weighted round robin whose
// weights are weight / (active + 1)^active_request_bias, recomputed at every pick.
import type { Host } from './host.ts';
import { registerLoadBalancer, type LbContext, type LoadBalancer } from './load_balancer.ts';

interface LeastRequestConfig {
  choiceCount?: number;
  activeRequestBias?: number;
}

export class LeastRequestLoadBalancer implements LoadBalancer {
  private readonly choices: number;
  private readonly bias: number;
  private weighted = false;
  private credit: Float64Array = new Float64Array(0);

  constructor(cfg: LeastRequestConfig) {
    this.choices = Math.max(1, cfg.choiceCount ?? 2);
    this.bias = cfg.activeRequestBias ?? 1;
  }

  refresh(hosts: Host[]): void {
    this.weighted = hosts.some((h) => h.weight !== hosts[0].weight);
    this.credit = new Float64Array(hosts.length);
  }

  pick(hosts: Host[], _ctx: LbContext | null): Host {
    if (hosts.length === 1) return hosts[0];
    return this.weighted ? this.pickWeighted(hosts) : this.pickP2c(hosts);
  }

  private pickP2c(hosts: Host[]): Host {
    let best = hosts[(Math.random() * hosts.length) | 0];
    for (let i = 1; i < this.choices; i++) {
      const h = hosts[(Math.random() * hosts.length) | 0];
      if (h.activeRequests < best.activeRequests) best = h;
    }
    return best;
  }

  private pickWeighted(hosts: Host[]): Host {
    const credit = this.credit;
    let total = 0;
    let best = 0;
    for (let i = 0; i < hosts.length; i++) {
      const h = hosts[i];
      const w = this.bias === 0 ? h.weight : h.weight / Math.pow(h.activeRequests + 1, this.bias);
      credit[i] += w;
      total += w;
      if (credit[i] > credit[best]) best = i;
    }
    credit[best] -= total;
    return hosts[best];
  }
}

registerLoadBalancer('least_request', (c) => new LeastRequestLoadBalancer((c ?? {}) as LeastRequestConfig));
