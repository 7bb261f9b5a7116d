// Envoy's HTTP/2 connection pool for one host and routing priority in one worker: streams are
// multiplexed over as few connections as the concurrency limit allows (the cluster's
// max_concurrent_streams, lowered by the server's SETTINGS); a new connection opens only when every
// connection is full, and streams wait in a pending queue meanwhile. Circuit breakers apply as in
// the HTTP/1.1 pool: connections, pending streams, active streams.
import type http2 from 'node:http2';
import type { Host } from './host.ts';
import type { ClusterStats } from './cluster_stats.ts';
import type { ResourceManager } from './resource_manager.ts';
import type { ConnPool } from './upstream_connection.ts';
import { ResetReason, type UpstreamStream } from './http1_client.ts';
import { Http2ClientConnection } from './http2_client.ts';
import { enqueuePending } from './pending_queue.ts';

/** node:http2 keeps a paused stream's window in memory; see http2/server_connection.ts. */
const MAX_STREAM_WINDOW = 16 * 1024 * 1024;

export class Http2ConnPool implements ConnPool {
  readonly host: Host;
  readonly maxConcurrentStreams: number;
  readonly settings: http2.Settings;
  readonly connectionWindow: number;
  private readonly priority: number;
  private readonly stats: ClusterStats;
  private readonly res: ResourceManager;
  private readonly conns: Http2ClientConnection[] = [];
  private readonly pending: UpstreamStream[] = [];
  private draining = false;

  constructor(host: Host, priority: number) {
    this.host = host;
    this.priority = priority;
    const cluster = host.cluster;
    this.stats = cluster.stats;
    this.res = cluster.resourcesFor(priority);
    const o = cluster.snap.http2 ?? null;
    this.maxConcurrentStreams = Math.max(1, Math.min(o?.maxConcurrentStreams ?? 2147483647, 2147483647));
    this.settings = {
      enablePush: false,
      initialWindowSize: Math.min(o?.initialStreamWindowSize ?? 268435456, MAX_STREAM_WINDOW),
      headerTableSize: o?.hpackTableSize ?? 4096,
    };
    this.connectionWindow = o?.initialConnectionWindowSize ?? 268435456;
  }

  get activeConnections(): number {
    return this.conns.length;
  }

  newStream(s: UpstreamStream): void {
    const c = this.pick();
    if (c !== null) return this.attach(c, s);
    if (!enqueuePending(s, this.pending, this.res, this.stats)) return;
    if (this.pending.length > this.connectingCapacity()) this.tryConnect();
  }

  cancel(s: UpstreamStream): void {
    const i = this.pending.indexOf(s);
    if (i < 0) return;
    this.pending.splice(i, 1);
    this.dequeued();
  }

  /** The connection with room that is busiest (keeps the others idle enough to close). */
  private pick(): Http2ClientConnection | null {
    let best: Http2ClientConnection | null = null;
    const maxReq = this.host.cluster.maxRequestsPerConnection;
    for (const c of this.conns) {
      if (!c.available || (maxReq > 0 && c.streams >= maxReq)) continue;
      if (best === null || c.active > best.active) best = c;
    }
    return best;
  }

  /** Streams the connections still connecting are expected to take. */
  private connectingCapacity(): number {
    let n = 0;
    for (const c of this.conns) if (!c.connected && !c.closed) n += c.maxConcurrent;
    return n;
  }

  private attach(c: Http2ClientConnection, s: UpstreamStream): void {
    if (!this.res.requests.canCreate()) {
      this.stats.upstream_rq_pending_overflow.value++;
      return s.onPoolFailure(ResetReason.OVERFLOW);
    }
    this.res.requests.inc();
    c.attach(s);
  }

  private dequeued(): void {
    this.res.pendingRequests.dec();
    this.stats.upstream_rq_pending_active.value--;
  }

  private tryConnect(): void {
    if (this.draining) return;
    if (!this.res.connections.canCreate()) {
      this.stats.upstream_cx_overflow.value++;
      if (this.conns.length > 0) return;
    }
    const host = this.host;
    const cluster = host.cluster;
    this.res.connections.inc();
    cluster.connectionOpened(true);
    const tls = host.tls;
    const alpn = tls === null ? [] : tls.alpnFor(cluster.snap.upstreamProtocol === 'auto' ? ['h2', 'http/1.1'] : ['h2']);
    this.conns.push(new Http2ClientConnection(this, host.address, host.port, tls, alpn, cluster.connectTimeoutMs, Math.min(this.maxConcurrentStreams, 100)));
  }

  onConnected(c: Http2ClientConnection): void {
    this.onCapacity(c);
  }

  /** A connection can take (more) streams: serve the pending queue. */
  onCapacity(c: Http2ClientConnection): void {
    const maxReq = this.host.cluster.maxRequestsPerConnection;
    while (this.pending.length > 0 && c.available && !(maxReq > 0 && c.streams >= maxReq)) {
      const s = this.pending.shift()!;
      this.dequeued();
      this.attach(c, s);
    }
    if (this.pending.length > this.connectingCapacity() && this.pick() === null) this.tryConnect();
  }

  onStreamClosed(c: Http2ClientConnection): void {
    this.res.requests.dec();
    const maxReq = this.host.cluster.maxRequestsPerConnection;
    if (c.active === 0 && (c.draining || this.draining || (maxReq > 0 && c.streams >= maxReq))) {
      c.destroy();
      return;
    }
    if (this.pending.length > 0 && c.available) this.onCapacity(c);
  }

  /** GOAWAY from the server: new streams go elsewhere. */
  onDraining(c: Http2ClientConnection): void {
    if (c.active === 0) c.destroy();
    if (this.pending.length > this.connectingCapacity() && this.pick() === null) this.tryConnect();
  }

  /** auto_config: ALPN picked HTTP/1.1. The host uses its HTTP/1.1 pool from now on. */
  onAlpnHttp1(_c: Http2ClientConnection): void {
    this.host.alpnHttp1 = true;
    const waiting = this.pending.splice(0);
    const h1 = this.host.http1Pool(this.priority);
    for (const s of waiting) {
      this.dequeued();
      h1.newStream(s);
    }
  }

  onConnectTimeout(_c: Http2ClientConnection): void {
    this.stats.upstream_cx_connect_timeout.value++;
  }

  onClosed(c: Http2ClientConnection): void {
    const i = this.conns.indexOf(c);
    if (i >= 0) this.conns.splice(i, 1);
    this.res.connections.dec();
    this.host.cluster.connectionClosed();
    if (!c.connected) {
      if (!this.host.alpnHttp1) this.stats.upstream_cx_connect_fail.value++;
      this.failExcessPending();
    } else if (this.pending.length > this.connectingCapacity() && this.pick() === null) {
      this.tryConnect();
    }
  }

  private failExcessPending(): void {
    while (this.pending.length > this.connectingCapacity()) {
      const s = this.pending.pop()!;
      this.dequeued();
      this.stats.upstream_rq_pending_failure_eject.value++;
      s.onPoolFailure(ResetReason.CONNECT_FAILURE);
    }
  }

  drain(): void {
    this.draining = true;
    for (const c of this.conns.slice()) c.drain();
  }
}
