// Envoy's RING_HASH (Ketama-style consistent hashing): every host owns points on a 32-bit ring in
// proportion to its weight; a request's hash key goes to the first point at or after it. A host
// leaving only moves the keys that were on its own points. Requests without a hash key get a
// random host, as in Envoy.
import type { Host } from './host.ts';
import { hashString, mix32 } from './hash.ts';
import { registerLoadBalancer, type LbContext, type LoadBalancer } from './load_balancer.ts';

interface RingHashConfig {
  minimumRingSize?: number;
  maximumRingSize?: number;
}

export class RingHashLoadBalancer implements LoadBalancer {
  private readonly min: number;
  private readonly max: number;
  private hosts: Host[] = [];
  private all: Host[] = [];
  private points: Uint32Array = new Uint32Array(0);
  private owners: Uint32Array = new Uint32Array(0);
  private built = false;

  constructor(cfg: RingHashConfig) {
    this.min = Math.max(1, cfg.minimumRingSize ?? 1024);
    this.max = Math.max(this.min, cfg.maximumRingSize ?? 8 * 1024 * 1024);
  }

  refresh(hosts: Host[], all: Host[] = hosts): void {
    this.hosts = hosts;
    this.all = all;
    this.built = false;
  }

  pick(hosts: Host[], ctx: LbContext | null): Host {
    const k = ctx === null ? null : ctx.hashKey;
    if (k === null || hosts.length === 1) return hosts[(Math.random() * hosts.length) | 0];
    if (!this.built) this.build();
    const key = mix32(k); // callers' keys need not be well mixed
    const pts = this.points;
    // First point >= key, wrapping to the start of the ring.
    let lo = 0;
    let hi = pts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pts[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    return this.hosts[this.owners[lo === pts.length ? 0 : lo]];
  }

  /**
   * Ring size by Envoy's rule (the lightest host gets at least one point, the ring stays within
   * [min, max]), computed over all hosts of the level: a host's points depend only on its weight
   * and the level, so an unhealthy host's absence moves no other host's keys.
   */
  private build(): void {
    this.built = true;
    let total = 0;
    let minW = Infinity;
    for (const h of this.all) {
      total += h.weight;
      minW = Math.min(minW, h.weight);
    }
    const minNorm = minW / total;
    const scale = Math.min(Math.ceil(minNorm * this.min) / minNorm, this.max);
    const hosts = this.hosts;
    const entries: [number, number][] = [];
    for (let i = 0; i < hosts.length; i++) {
      const n = Math.max(1, Math.round((hosts[i].weight / total) * scale));
      const key = hosts[i].key;
      for (let j = 0; j < n; j++) entries.push([hashString(`${key}_${j}`), i]);
    }
    entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.points = Uint32Array.from(entries, (e) => e[0]);
    this.owners = Uint32Array.from(entries, (e) => e[1]);
  }
}

registerLoadBalancer('ring_hash', (c) => new RingHashLoadBalancer((c ?? {}) as RingHashConfig), { localityAware: false });
