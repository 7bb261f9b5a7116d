// An upstream host of a cluster: an address, its weight, priority and health flags, its
// in-flight request count and latency estimate (for least-request and Peak EWMA), the outcomes
// outlier detection reports to the primary, and one connection pool per routing priority.
import type { Cluster } from './cluster.ts';
import { Http1ConnPool } from './http1_conn_pool.ts';
import { hostHealth } from '../../shared/host_health.ts';
import type { HostOutcomeCounter } from './outlier_reporter.ts';
import type net from 'node:net';
import { connectShared, type ReadCallback } from '../net/read_buffer.ts';
import { InternalConnector, internalKey, type InternalTarget } from '../internal/upstream.ts';
import { Http2ConnPool } from './http2_conn_pool.ts';
import type { ConnPool } from './upstream_connection.ts';
import { upstreamTlsFor } from '../tls/cluster_tls.ts';
import { TLS_READY, type UpstreamTls } from '../tls/upstream_tls.ts';

export class Host {
  readonly cluster: Cluster;
  readonly address: string;
  readonly port: number;
  readonly hostname: string;
  readonly weight: number;
  readonly priority: number;
  /** Index of the host's locality in the cluster's load assignment. */
  readonly localityIndex: number;
  readonly locality: { region: string; zone: string; subZone: string };
  /** `address:port`, as logged and shown in /clusters and %UPSTREAM_HOST%. */
  readonly key: string;
  /** Set for envoy_internal_address endpoints (connections go to an internal listener of this worker). */
  readonly internalConnector: InternalConnector | null;
  /** Opens a connection reading into the shared buffer ('connect', 'end', 'close' as a net.Socket). */
  readonly connect: (cb: ReadCallback) => net.Socket;
  /** The TLS this host's connections use (transport_socket / transport_socket_matches); null: plaintext. */
  readonly tls: UpstreamTls | null;
  /** What the socket from connect() emits once usable: 'connect', or TLS_READY after the handshake. */
  readonly connectEvent: string;
  /** auto_config: ALPN chose HTTP/1.1 on this host, so its requests use the HTTP/1.1 pool. */
  alpnHttp1 = false;
  private readonly h2Pools: (Http2ConnPool | undefined)[] = [];
  /** Flags from the endpoint's EDS health status. */
  readonly edsFlags: number;
  /** EDS flags plus the ones the primary pushed (active health checks, outlier ejection). */
  flags: number;
  /** 0 healthy, 1 degraded, 2 unhealthy (src/shared/host_health.ts). */
  health: 0 | 1 | 2;
  /** Requests in flight on this host in this worker. */
  activeRequests = 0;
  /** Peak EWMA latency estimate in ms; -1 until the first sample. */
  ewma = -1;
  ewmaStamp = 0;
  /** Outcomes not yet reported to the primary; null when the cluster has no outlier detection. */
  outcomes: HostOutcomeCounter | null = null;
  /** Last time a request picked this host (ORIGINAL_DST cleanup). */
  lastUsed = 0;
  private readonly pools: (Http1ConnPool | undefined)[] = [];

  constructor(cluster: Cluster, address: string, port: number, opts: {
    hostname: string;
    weight: number;
    priority: number;
    edsFlags: number;
    localityIndex: number;
    locality: { region: string; zone: string; subZone: string };
    /** envoy_internal_address endpoints: the internal listener this host is. */
    internal?: InternalTarget | null;
    /** The endpoint's filter_metadata (internal_upstream passes namespaces of it through). */
    metadata?: Record<string, unknown>;
  }) {
    this.cluster = cluster;
    this.address = address;
    this.port = port;
    this.hostname = opts.hostname;
    this.weight = Math.max(1, opts.weight);
    this.priority = opts.priority;
    this.edsFlags = opts.edsFlags;
    this.flags = opts.edsFlags;
    this.health = hostHealth(opts.edsFlags);
    this.localityIndex = opts.localityIndex;
    this.locality = opts.locality;
    const internal = opts.internal ?? null;
    this.internalConnector = internal === null ? null : new InternalConnector(internal, cluster.snap, opts.metadata ?? {});
    this.key = internal !== null ? internalKey(internal) : address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
    // Chosen once: network hosts keep the plain connectShared call; internal ones go through the registry.
    const ic = this.internalConnector;
    const tls = (this.tls = ic === null ? upstreamTlsFor(cluster.snap, opts.metadata) : null);
    this.connectEvent = tls === null ? 'connect' : TLS_READY;
    if (tls !== null) {
      const alpn = tls.alpnFor(['http/1.1']);
      this.connect = (cb) => tls.connect(address, port, alpn, cb);
    } else {
      this.connect = ic === null ? (cb) => connectShared(address, port, cb) : (cb) => ic.connect(cb);
    }
  }

  get healthy(): boolean {
    return this.health !== 2;
  }

  /** Applies the primary's flags; true when the host's health class changed. */
  setPushedFlags(pushed: number): boolean {
    this.flags = this.edsFlags | pushed;
    const h = hostHealth(this.flags);
    if (h === this.health) return false;
    this.health = h;
    return true;
  }

  /** The pool for a routing priority (0 default, 1 high), as Envoy keeps one per priority. */
  http1Pool(priority = 0): Http1ConnPool {
    return this.pools[priority] ?? (this.pools[priority] = new Http1ConnPool(this, priority));
  }

  /**
   * The pool a request goes to: the cluster's upstream protocol decides (explicit HTTP/2, the
   * downstream's protocol, or ALPN over TLS for auto_config).
   */
  connPool(priority: number, stream: { readonly protocol: string }): ConnPool {
    const p = this.cluster.snap.upstreamProtocol;
    if (p === 'http1') return this.http1Pool(priority);
    const h2 = p === 'http2' || (p === 'downstream' && stream.protocol === 'HTTP/2') || (p === 'auto' && this.tls !== null && !this.alpnHttp1);
    return h2 && this.internalConnector === null ? this.http2Pool(priority) : this.http1Pool(priority);
  }

  http2Pool(priority = 0): Http2ConnPool {
    return this.h2Pools[priority] ?? (this.h2Pools[priority] = new Http2ConnPool(this, priority));
  }

  /** Stops new streams; idle connections close now, busy ones after their response. */
  drain(): void {
    for (const p of this.pools) p?.drain();
    for (const p of this.h2Pools) p?.drain();
  }
}
