// The primary's view of a cluster's hosts, for active health checks and outlier detection:
// static and EDS endpoints from the snapshot, DNS names resolved here with the workers' rules
// (same lookup, same `address:port` keys), refreshed at the cluster's dns_refresh_rate.
import net from 'node:net';
import dns from 'node:dns';
import type { ClusterSnap } from '../../shared/snapshot.ts';
import { edsHealthFlags } from '../../shared/host_health.ts';

export interface PrimaryHost {
  /** `address:port`, as workers key their hosts. */
  key: string;
  address: string;
  port: number;
  /** Port health checks probe (endpoint health_check_config.port_value, or the host's port). */
  checkPort: number;
  hostname: string;
  weight: number;
  priority: number;
  locality: { region: string; zone: string; subZone: string };
  edsFlags: number;
}

export function hostKey(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export class HostSet {
  private readonly snap: ClusterSnap;
  private readonly onChange: (hosts: PrimaryHost[]) => void;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  hosts: PrimaryHost[] = [];
  resolved = false;

  constructor(snap: ClusterSnap, onChange: (hosts: PrimaryHost[]) => void) {
    this.snap = snap;
    this.onChange = onChange;
  }

  start(): void {
    if (this.snap.type === 'original_dst') return this.set([]);
    const needsDns = this.snap.type === 'strict_dns' || this.snap.type === 'logical_dns' ||
      this.snap.localities.some((l) => l.endpoints.some((e) => net.isIP(e.address.host) === 0));
    if (!needsDns) return this.set(this.expand(() => null));
    void this.resolve();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }

  private set(hosts: PrimaryHost[]): void {
    this.hosts = hosts;
    this.resolved = true;
    this.onChange(hosts);
  }

  private expand(lookup: (name: string) => string[] | null): PrimaryHost[] {
    const out: PrimaryHost[] = [];
    for (const l of this.snap.localities) {
      for (const e of l.endpoints) {
        const addrs = net.isIP(e.address.host) !== 0 ? [e.address.host] : lookup(e.address.host) ?? [];
        for (const a of addrs) {
          out.push({
            key: hostKey(a, e.address.port),
            address: a,
            port: e.address.port,
            checkPort: e.healthCheckPort || e.address.port,
            hostname: e.hostname,
            weight: Math.max(1, e.weight),
            priority: l.priority,
            locality: l.locality,
            edsFlags: edsHealthFlags(e.healthStatus),
          });
        }
      }
    }
    return this.snap.type === 'logical_dns' ? out.slice(0, 1) : out;
  }

  private async resolve(): Promise<void> {
    const names = new Set<string>();
    for (const l of this.snap.localities) for (const e of l.endpoints) if (net.isIP(e.address.host) === 0) names.add(e.address.host);
    const family = this.snap.dnsLookupFamily === 'v4_only' ? 4 : this.snap.dnsLookupFamily === 'v6_only' ? 6 : 0;
    const answers = new Map<string, string[] | null>();
    await Promise.all([...names].map(async (n) => {
      try {
        const r = await dns.promises.lookup(n, { all: true, family, order: 'ipv4first' });
        answers.set(n, r.map((a) => a.address));
      } catch {
        answers.set(n, null); // keep the previous answer, as workers do
      }
    }));
    if (this.stopped) return;
    const previous = this.hosts;
    const hosts = this.expand((n) => answers.get(n) ?? null);
    const failed = [...answers.values()].some((a) => a === null);
    this.set(failed && hosts.length === 0 ? previous : hosts);
    this.timer = setTimeout(() => void this.resolve(), this.snap.dnsRefreshRateMs || 5000);
    this.timer.unref();
  }
}
