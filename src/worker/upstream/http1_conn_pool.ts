// Envoy's HTTP/1.1 connection pool for one host in one worker: idle keep-alive connections are
// reused most-recently-used first; streams wait in a pending queue while connections are opened.
import { Http1ClientConnection, ResetReason, type UpstreamStream } from './http1_client.ts';
import type { Host } from './host.ts';
import type { ClusterStats } from './cluster_stats.ts';

export class Http1ConnPool {
  readonly host: Host;
  private readonly stats: ClusterStats;
  private readonly idle: Http1ClientConnection[] = [];
  private readonly pending: UpstreamStream[] = [];
  private connecting = 0;
  private total = 0;
  private draining = false;

  constructor(host: Host) {
    this.host = host;
    this.stats = host.cluster.stats;
  }

  get activeConnections(): number {
    return this.total;
  }

  newStream(s: UpstreamStream): void {
    const c = this.idle.pop();
    if (c !== undefined) return c.assign(s);
    const cluster = this.host.cluster;
    if (this.pending.length >= cluster.limits.maxPendingRequests) {
      this.stats.upstream_rq_pending_overflow.value++;
      return s.onPoolFailure(ResetReason.OVERFLOW);
    }
    this.pending.push(s);
    this.stats.upstream_rq_pending_total.value++;
    this.stats.upstream_rq_pending_active.value++;
    if (this.connecting < this.pending.length && cluster.canOpenConnection()) this.connect();
  }

  /** A stream no longer waits (downstream went away or timed out). */
  cancel(s: UpstreamStream): void {
    const i = this.pending.indexOf(s);
    if (i < 0) return;
    this.pending.splice(i, 1);
    this.stats.upstream_rq_pending_active.value--;
  }

  private connect(): void {
    const cluster = this.host.cluster;
    this.connecting++;
    this.total++;
    cluster.connectionOpened();
    new Http1ClientConnection(this, this.host.address, this.host.port, cluster.connectTimeoutMs);
  }

  onConnected(c: Http1ClientConnection): void {
    this.connecting--;
    this.release(c);
  }

  release(c: Http1ClientConnection): void {
    const cluster = this.host.cluster;
    if (this.draining || (cluster.maxRequestsPerConnection > 0 && c.requests >= cluster.maxRequestsPerConnection)) {
      return c.destroy();
    }
    const s = this.pending.shift();
    if (s === undefined) {
      this.idle.push(c);
      return;
    }
    this.stats.upstream_rq_pending_active.value--;
    c.assign(s);
  }

  onConnectTimeout(_c: Http1ClientConnection): void {
    this.stats.upstream_cx_connect_timeout.value++;
  }

  onClosed(c: Http1ClientConnection): void {
    this.total--;
    this.host.cluster.connectionClosed();
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    if (!c.connected) {
      this.connecting--;
      this.stats.upstream_cx_connect_fail.value++;
      this.failExcessPending();
    } else if (this.pending.length > this.connecting && this.host.cluster.canOpenConnection()) {
      this.connect();
    }
  }

  /** After a failed connect, streams that no attempt in flight can serve fail now (as Envoy does). */
  private failExcessPending(): void {
    while (this.pending.length > this.connecting) {
      const s = this.pending.pop()!;
      this.stats.upstream_rq_pending_active.value--;
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
