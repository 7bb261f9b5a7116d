// Orion's Peak EWMA balancer (proto/orion/extensions/load_balancing_policies/peak_ewma/v1).
// Each host's latency estimate jumps to a higher sample at once (a slow host is avoided after
// one slow answer), blends lower samples in with a weight that depends on the time since the
// previous sample (a half-life, so bursts of samples don't wash a peak out), and decays towards
// zero while the host gets no traffic (so an avoided host is eventually probed again). A pick
// compares a few random hosts by estimate × (in-flight + 1). Failures count as `errorPenalty`.
// The state lives on the hosts of one worker: every worker learns latencies from its own traffic.
import type { Host } from './host.ts';
import { registerLoadBalancer, type LbContext, type LoadBalancer } from './load_balancer.ts';

export interface PeakEwmaConfig {
  halfLifeMs: number;
  defaultRttMs: number;
  errorPenaltyMs: number;
  choiceCount: number;
}

const DEFAULTS: PeakEwmaConfig = { halfLifeMs: 10_000, defaultRttMs: 30, errorPenaltyMs: 1000, choiceCount: 2 };

/** Records one request's latency on its host (called by the cluster for peak_ewma clusters). */
export function observeLatency(h: Host, ms: number, failed: boolean, cfg: PeakEwmaConfig, now: number): void {
  const rtt = failed ? Math.max(ms, cfg.errorPenaltyMs) : ms;
  const prev = h.ewma;
  if (prev < 0 || rtt > prev) {
    h.ewma = rtt;
  } else {
    const w = Math.pow(2, -(now - h.ewmaStamp) / cfg.halfLifeMs);
    h.ewma = prev * w + rtt * (1 - w);
  }
  h.ewmaStamp = now;
}

export class PeakEwmaLoadBalancer implements LoadBalancer {
  readonly cfg: PeakEwmaConfig;

  constructor(cfg: Partial<PeakEwmaConfig>) {
    this.cfg = { ...DEFAULTS, ...cfg };
  }

  refresh(): void {}

  pick(hosts: Host[], _ctx: LbContext | null): Host {
    const n = hosts.length;
    if (n === 1) return hosts[0];
    const now = Date.now();
    if (n <= this.cfg.choiceCount) {
      let best = hosts[0];
      let bestCost = this.cost(best, now);
      for (let i = 1; i < n; i++) {
        const c = this.cost(hosts[i], now);
        if (c < bestCost) {
          best = hosts[i];
          bestCost = c;
        }
      }
      return best;
    }
    // Distinct random candidates: the first anywhere, each next one among the others.
    const first = (Math.random() * n) | 0;
    let best = hosts[first];
    let bestCost = this.cost(best, now);
    for (let k = 1; k < this.cfg.choiceCount; k++) {
      const i = (first + 1 + ((Math.random() * (n - 1)) | 0)) % n;
      const c = this.cost(hosts[i], now);
      if (c < bestCost) {
        best = hosts[i];
        bestCost = c;
      }
    }
    return best;
  }

  private cost(h: Host, now: number): number {
    const est = h.ewma < 0 ? this.cfg.defaultRttMs : h.ewma * Math.pow(2, -(now - h.ewmaStamp) / this.cfg.halfLifeMs);
    // Latencies are whole milliseconds: a 1 ms floor keeps in-flight counts deciding between
    // hosts that all answer within a millisecond.
    return Math.max(est, 1) * (h.activeRequests + 1);
  }
}

registerLoadBalancer('peak_ewma', (c) => new PeakEwmaLoadBalancer((c ?? {}) as Partial<PeakEwmaConfig>));
