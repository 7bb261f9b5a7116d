// Envoy's HTTP/1.1 connection pool for one host and routing priority in one worker: idle
// keep-alive connections are reused most-recently-used first; streams wait in a pending queue
// while connections are opened. The priority's circuit breakers bound the cluster's connections,
// pending streams and active streams; a stream over a limit fails with OVERFLOW (503 UO).
import { Http1ClientConnection, ResetReason, type UpstreamStream } from './http1_client.ts';
import type { Host } from './host.ts';
import type { ClusterStats } from './cluster_stats.ts';
import type { ResourceManager } from './resource_manager.ts';
import { enqueuePending } from './pending_queue.ts';

export class Http1ConnPool {
  readonly host: Host;
  private readonly stats: ClusterStats;
  private readonly res: ResourceManager;
  private readonly idle: Http1ClientConnection[] = [];
  private readonly pending: UpstreamStream[] = [];
  /** Connections serving a stream: each holds one unit of the `requests` breaker. */
  private readonly busy = new Set<Http1ClientConnection>();
  private connecting = 0;
  private total = 0;
  private draining = false;

  constructor(host: Host, priority: number) {
    this.host = host;
    this.stats = host.cluster.stats;
    this.res = host.cluster.resourcesFor(priority);
  }

  get activeConnections(): number {
    return this.total;
  }

  newStream(s: UpstreamStream): void {
    const c = this.idle.pop();
    if (c !== undefined) return this.attach(c, s);
    if (!enqueuePending(s, this.pending, this.res, this.stats)) return;
    if (this.connecting < this.pending.length) this.tryConnect();
  }

  /** Envoy checks max_requests when a stream gets its connection; over it, the stream overflows. */
  private attach(c: Http1ClientConnection, s: UpstreamStream): void {
    if (!this.res.requests.canCreate()) {
      this.idle.push(c);
      this.stats.upstream_rq_pending_overflow.value++;
      return s.onPoolFailure(ResetReason.OVERFLOW);
    }
    this.res.requests.inc();
    this.busy.add(c);
    c.assign(s);
  }

  /** A stream no longer waits (downstream went away or timed out). */
  cancel(s: UpstreamStream): void {
    const i = this.pending.indexOf(s);
    if (i < 0) return;
    this.pending.splice(i, 1);
    this.dequeued();
  }

  private dequeued(): void {
    this.res.pendingRequests.dec();
    this.stats.upstream_rq_pending_active.value--;
  }

  private tryConnect(): void {
    // Over max_connections a pool that has no connection at all still opens one, as Envoy does:
    // otherwise its pending streams could only time out.
    if (!this.res.connections.canCreate()) {
      this.stats.upstream_cx_overflow.value++;
      if (this.total > 0) return;
    }
    const cluster = this.host.cluster;
    this.connecting++;
    this.total++;
    this.res.connections.inc();
    cluster.connectionOpened();
    new Http1ClientConnection(this, this.host.address, this.host.port, cluster.connectTimeoutMs);
  }

  onConnected(c: Http1ClientConnection): void {
    this.connecting--;
    this.release(c);
  }

  release(c: Http1ClientConnection): void {
    if (this.busy.delete(c)) this.res.requests.dec();
    const cluster = this.host.cluster;
    if (this.draining || (cluster.maxRequestsPerConnection > 0 && c.requests >= cluster.maxRequestsPerConnection)) {
      return c.destroy();
    }
    let s = this.pending.shift();
    while (s !== undefined) {
      this.dequeued();
      if (this.res.requests.canCreate()) {
        this.res.requests.inc();
        this.busy.add(c);
        return c.assign(s);
      }
      this.stats.upstream_rq_pending_overflow.value++;
      s.onPoolFailure(ResetReason.OVERFLOW);
      s = this.pending.shift();
    }
    this.idle.push(c);
  }

  onConnectTimeout(_c: Http1ClientConnection): void {
    this.stats.upstream_cx_connect_timeout.value++;
  }

  onClosed(c: Http1ClientConnection): void {
    if (this.busy.delete(c)) this.res.requests.dec();
    this.total--;
    this.res.connections.dec();
    this.host.cluster.connectionClosed();
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    if (!c.connected) {
      this.connecting--;
      this.stats.upstream_cx_connect_fail.value++;
      this.failExcessPending();
    } else if (this.pending.length > this.connecting) {
      this.tryConnect();
    }
  }

  /** After a failed connect, streams that no attempt in flight can serve fail now (as Envoy does). */
  private failExcessPending(): void {
    while (this.pending.length > this.connecting) {
      const s = this.pending.pop()!;
      this.dequeued();
      this.stats.upstream_rq_pending_failure_eject.value++;
      s.onPoolFailure(ResetReason.CONNECT_FAILURE);
    }
  }

  protocolError(): void {
    this.stats.upstream_cx_protocol_error.value++;
  }

  rxBytes(n: number): void {
    this.stats.upstream_cx_rx_bytes_total.value += n;
  }

  drain(): void {
    this.draining = true;
    for (const c of this.idle.splice(0)) c.destroy();
  }
}
