// Envoy's MAGLEV: a lookup table of a prime size (65537 by default) filled by each host walking
// its own permutation of the slots (offset and skip from two hashes of its key), weighted hosts
// taking proportionally more turns. Lookups are one array access; a host leaving moves few keys
// besides its own. Requests without a hash key get a random host.
import type { Host } from './host.ts';
import { hashString, mix32 } from './hash.ts';
import { registerLoadBalancer, type LbContext, type LoadBalancer } from './load_balancer.ts';

const SEED_OFFSET = 0x9747b28c;
const SEED_SKIP = 0x5bd1e995;

export class MaglevLoadBalancer implements LoadBalancer {
  private readonly size: number;
  private hosts: Host[] = [];
  private table: Uint32Array | null = null;

  constructor(cfg: { tableSize?: number }) {
    this.size = cfg.tableSize ?? 65537;
  }

  refresh(hosts: Host[]): void {
    this.hosts = hosts;
    this.table = null;
  }

  pick(hosts: Host[], ctx: LbContext | null): Host {
    const key = ctx === null ? null : ctx.hashKey;
    if (key === null || hosts.length === 1) return hosts[(Math.random() * hosts.length) | 0];
    const t = this.table ?? (this.table = this.build());
    return this.hosts[t[mix32(key) % this.size]];
  }

  private build(): Uint32Array {
    const m = this.size;
    const hosts = this.hosts;
    const n = hosts.length;
    const table = new Uint32Array(m).fill(0xffffffff);
    const offset = new Float64Array(n);
    const skip = new Float64Array(n);
    const next = new Float64Array(n);
    const credit = new Float64Array(n);
    let maxW = 0;
    for (let i = 0; i < n; i++) {
      offset[i] = hashString(hosts[i].key, SEED_OFFSET) % m;
      skip[i] = (hashString(hosts[i].key, SEED_SKIP) % (m - 1)) + 1;
      maxW = Math.max(maxW, hosts[i].weight);
    }
    let filled = 0;
    while (filled < m) {
      for (let i = 0; i < n && filled < m; i++) {
        // The heaviest host fills a slot every round; lighter ones when their credit reaches 1.
        credit[i] += hosts[i].weight / maxW;
        while (credit[i] >= 1 && filled < m) {
          credit[i] -= 1;
          let c = (offset[i] + next[i] * skip[i]) % m;
          while (table[c] !== 0xffffffff) {
            next[i]++;
            c = (offset[i] + next[i] * skip[i]) % m;
          }
          table[c] = i;
          next[i]++;
          filled++;
        }
      }
    }
    return table;
  }
}

registerLoadBalancer('maglev', (c) => new MaglevLoadBalancer((c ?? {}) as { tableSize?: number }), { localityAware: false });
