// Envoy's ORIGINAL_DST cluster: the host is the request's original destination — the
// `x-envoy-original-dst-host` header (use_http_header) or else the downstream connection's local
// address (the original destination when traffic was redirected transparently). Hosts are made
// on first use and dropped after cleanup_interval without requests.
import net from 'node:net';
import type { OriginalDstSnap } from '../../shared/snapshot.ts';
import type { Cluster } from './cluster.ts';
import { Host } from './host.ts';

const NO_LOCALITY = { region: '', zone: '', subZone: '' };

export class OriginalDstHosts {
  private readonly cluster: Cluster;
  private readonly cfg: OriginalDstSnap;
  private readonly hosts = new Map<string, Host>();
  private readonly timer: NodeJS.Timeout;

  constructor(cluster: Cluster, cfg: OriginalDstSnap) {
    this.cluster = cluster;
    this.cfg = cfg;
    this.timer = setInterval(() => this.cleanup(), cfg.cleanupIntervalMs);
    this.timer.unref();
  }

  /** The host for `dst` (`ip:port` or `[ip6]:port`); null when it is not an IP address and port. */
  hostFor(dst: string | null): Host | null {
    if (dst === null) return null;
    let h = this.hosts.get(dst);
    if (h === undefined) {
      const parsed = parseAddress(dst);
      if (parsed === null) return null;
      const port = this.cfg.portOverride || parsed.port;
      const key = parsed.host.includes(':') ? `[${parsed.host}]:${port}` : `${parsed.host}:${port}`;
      h = this.hosts.get(key);
      if (h === undefined) {
        h = new Host(this.cluster, parsed.host, port, { hostname: '', weight: 1, priority: 0, edsFlags: 0, localityIndex: 0, locality: NO_LOCALITY });
        this.hosts.set(key, h);
        this.cluster.hostsChanged([...new Set(this.hosts.values())]);
      }
      if (key !== dst) this.hosts.set(dst, h);
    }
    h.lastUsed = Date.now();
    return h;
  }

  private cleanup(): void {
    const cutoff = Date.now() - this.cfg.cleanupIntervalMs;
    let changed = false;
    for (const [k, h] of this.hosts) {
      if (h.lastUsed < cutoff && h.activeRequests === 0) {
        this.hosts.delete(k);
        h.drain();
        changed = true;
      }
    }
    if (changed) this.cluster.hostsChanged([...new Set(this.hosts.values())]);
  }

  destroy(): void {
    clearInterval(this.timer);
    for (const h of this.hosts.values()) h.drain();
    this.hosts.clear();
  }
}

function parseAddress(s: string): { host: string; port: number } | null {
  let host: string;
  let portStr: string;
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0 || s[end + 1] !== ':') return null;
    host = s.slice(1, end);
    portStr = s.slice(end + 2);
  } else {
    const i = s.lastIndexOf(':');
    if (i < 0) return null;
    host = s.slice(0, i);
    portStr = s.slice(i + 1);
  }
  const port = Number(portStr);
  if (net.isIP(host) === 0 || !Number.isInteger(port) || port <= 0 || port > 65535) return null;
  return { host, port };
}
