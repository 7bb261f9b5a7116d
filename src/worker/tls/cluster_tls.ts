// Which TLS context a host of a cluster connects with: the first transport_socket_matches entry
// whose `match` is contained in the endpoint's `envoy.transport_socket_match` metadata, else the
// cluster's transport_socket. Contexts are built once per cluster config and shared by its hosts.
import type { ClusterSnap, UpstreamTlsSnap } from '../../shared/snapshot.ts';
import { UpstreamTls } from './upstream_tls.ts';

const MATCH_NS = 'envoy.transport_socket_match';

interface ClusterTls {
  fallback: UpstreamTls | null;
  matches: { match: Record<string, unknown>; tls: UpstreamTls | null }[];
}

const byCluster = new WeakMap<ClusterSnap, ClusterTls>();

/** The TLS a host uses; null for plaintext. `metadata` is the endpoint's filter_metadata. */
export function upstreamTlsFor(c: ClusterSnap, metadata: Record<string, unknown> | undefined): UpstreamTls | null {
  if ((c.tls ?? null) === null && (c.tlsMatches ?? []).length === 0) return null;
  let ct = byCluster.get(c);
  if (ct === undefined) {
    const make = (s: UpstreamTlsSnap | null, label: string): UpstreamTls | null =>
      s === null ? null : new UpstreamTls(s, `cluster.${c.statName}.`, label);
    ct = {
      fallback: make(c.tls ?? null, `cluster ${c.name}`),
      matches: (c.tlsMatches ?? []).map((m) => ({ match: m.match, tls: make(m.tls, `cluster ${c.name} match ${m.name}`) })),
    };
    byCluster.set(c, ct);
  }
  if (ct.matches.length > 0) {
    const md = (metadata?.[MATCH_NS] ?? {}) as Record<string, unknown>;
    for (const m of ct.matches) if (contains(md, m.match)) return m.tls;
  }
  return ct.fallback;
}

function contains(md: Record<string, unknown>, want: Record<string, unknown>): boolean {
  for (const k of Object.keys(want)) if (JSON.stringify(md[k]) !== JSON.stringify(want[k])) return false;
  return true;
}
