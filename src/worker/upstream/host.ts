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
    this.connect = ic === null ? (cb) => connectShared(address, port, cb) : (cb) => ic.connect(cb);
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

  /** Stops new streams; idle connections close now, busy ones after their response. */
  drain(): void {
    for (const p of this.pools) p?.drain();
  }
}
