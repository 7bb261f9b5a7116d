// Envoy's tcp_proxy network filter: one upstream connection per downstream connection (a raw TCP
// connection, an internal one, or an HTTP CONNECT tunnel), bytes relayed both ways with
// backpressure and half-close. The downstream is not read until the upstream is connected;
// a failed connect is retried on another host up to max_connect_attempts, then the downstream is
// closed. Both sides read into the worker's shared buffer.
import type net from 'node:net';
import type { TcpProxyFilterSnap } from '../../shared/snapshot.ts';
import type { ClusterManager } from '../upstream/cluster_manager.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { Host } from '../upstream/host.ts';
import type { ConnectionInfo } from '../listener/connection_info.ts';
import { adoptAccepted, writeShared } from '../net/read_buffer.ts';
import { stats, type Counter, type Gauge } from '../stats/store.ts';
import { timerList, type TimerList, type TimerNode } from '../timer_list.ts';
import { log } from '../log.ts';
import { ConnectionFormatContext, endOrClose, newTunnel, RawUpstream, type TcpUpstream, type UpstreamCallbacks } from './tunnel.ts';

class TcpStats {
  readonly downstream_cx_total: Counter;
  readonly downstream_cx_no_route: Counter;
  readonly downstream_cx_rx_bytes_total: Counter;
  readonly downstream_cx_tx_bytes_total: Counter;
  readonly downstream_flow_control_paused_reading_total: Counter;
  readonly downstream_flow_control_resumed_reading_total: Counter;
  readonly upstream_flush_total: Counter;
  readonly upstream_flush_active: Gauge;
  readonly idle_timeout: Counter;
  readonly max_downstream_connection_duration: Counter;

  constructor(prefix: string) {
    const p = `tcp.${prefix}.`;
    this.downstream_cx_total = stats.counter(p + 'downstream_cx_total');
    this.downstream_cx_no_route = stats.counter(p + 'downstream_cx_no_route');
    this.downstream_cx_rx_bytes_total = stats.counter(p + 'downstream_cx_rx_bytes_total');
    this.downstream_cx_tx_bytes_total = stats.counter(p + 'downstream_cx_tx_bytes_total');
    this.downstream_flow_control_paused_reading_total = stats.counter(p + 'downstream_flow_control_paused_reading_total');
    this.downstream_flow_control_resumed_reading_total = stats.counter(p + 'downstream_flow_control_resumed_reading_total');
    this.upstream_flush_total = stats.counter(p + 'upstream_flush_total');
    this.upstream_flush_active = stats.gauge(p + 'upstream_flush_active');
    this.idle_timeout = stats.counter(p + 'idle_timeout');
    this.max_downstream_connection_duration = stats.counter(p + 'max_downstream_connection_duration');
  }
}

export class TcpProxy {
  readonly snap: TcpProxyFilterSnap;
  readonly clusters: ClusterManager;
  readonly stats: TcpStats;
  readonly idle: TimerList | null;
  readonly maxConnectAttempts: number;
  /** Listener per_connection_buffer_limit_bytes: a side stops reading while the other holds more than this. */
  readonly bufferLimit: number;
  private readonly totalWeight: number;
  readonly sessions = new Set<TcpProxySession>();

  constructor(snap: TcpProxyFilterSnap, clusters: ClusterManager, bufferLimit: number) {
    this.snap = snap;
    this.clusters = clusters;
    this.stats = new TcpStats(snap.statPrefix);
    this.idle = snap.idleTimeoutMs > 0 ? timerList(snap.idleTimeoutMs) : null;
    this.maxConnectAttempts = Math.max(1, snap.maxConnectAttempts ?? 1);
    this.bufferLimit = bufferLimit > 0 ? bufferLimit : Infinity;
    this.totalWeight = snap.weightedClusters.reduce((a, c) => a + c.weight, 0);
  }

  newConnection(accepted: net.Socket, info: ConnectionInfo | null): net.Socket {
    this.stats.downstream_cx_total.value++;
    return new TcpProxySession(this, accepted, info).down;
  }

  pickCluster(): string {
    const w = this.snap.weightedClusters;
    if (w.length === 0) return this.snap.cluster;
    let r = Math.random() * this.totalWeight;
    for (const c of w) if ((r -= c.weight) < 0) return c.name;
    return w[w.length - 1].name;
  }

  drain(): void {
    // TCP connections carry no request boundary to drain at; they close with the listener's drain time.
  }
}

const EMPTY = Buffer.alloc(0);

export class TcpProxySession implements UpstreamCallbacks, TimerNode {
  readonly down: net.Socket;
  readonly info: ConnectionInfo | null;
  private readonly proxy: TcpProxy;
  private cluster: Cluster | null = null;
  private host: Host | null = null;
  private up: TcpUpstream | null = null;
  private attempts = 0;
  private connected = false;
  private downClosed = false;
  private upCounted = false;
  private flushing = false;
  private pending: Buffer | null;
  private connectTimer: NodeJS.Timeout | null = null;
  private durationTimer: NodeJS.Timeout | null = null;
  private lastActive = 0;
  tPrev: TimerNode | null = null;
  tNext: TimerNode | null = null;
  tDeadline = 0;
  tList: TimerList | null = null;

  constructor(proxy: TcpProxy, accepted: net.Socket, info: ConnectionInfo | null) {
    this.proxy = proxy;
    this.info = info;
    this.pending = info?.initial ?? null;
    const down = (this.down = adoptAccepted(accepted, (c) => this.onDownData(c)));
    // Envoy reads nothing from the downstream until the upstream is connected.
    down.pause();
    down.on('end', () => this.onDownEnd());
    down.on('drain', () => this.up?.resume());
    down.on('error', () => {});
    down.on('close', () => this.onDownClose());
    proxy.sessions.add(this);
    this.route();
  }

  private route(): void {
    const p = this.proxy;
    const cluster = p.clusters.get(p.pickCluster());
    if (cluster === undefined) {
      p.stats.downstream_cx_no_route.value++;
      return this.closeDown();
    }
    this.cluster = cluster;
    if (!cluster.initialized) return cluster.whenReady(() => this.connect());
    this.connect();
  }

  private connect(): void {
    if (this.downClosed) return;
    const cluster = this.cluster!;
    const host = cluster.chooseHost(cluster.originalDst === null ? null : { hashKey: null, originalDst: this.originalDst() });
    if (host === null) {
      cluster.stats.upstream_cx_none_healthy.value++;
      return this.closeDown();
    }
    const cx = cluster.resources.connections;
    if (!cx.canCreate()) {
      cluster.stats.upstream_cx_overflow.value++;
      return this.closeDown();
    }
    cx.inc();
    cluster.connectionOpened();
    this.upCounted = true;
    this.attempts++;
    this.host = host;
    const tunneling = this.proxy.snap.tunneling;
    this.up = tunneling ? newTunnel(host, tunneling, this, new ConnectionFormatContext(this.down, this.info, host.key)) : new RawUpstream(host, this);
    if (cluster.connectTimeoutMs > 0) this.connectTimer = setTimeout(() => this.onConnectTimeout(), cluster.connectTimeoutMs);
  }

  /** The connection's original destination as `ip:port` (restored by a listener filter, or the socket's). */
  private originalDst(): string {
    const addr = this.info?.localAddress ?? this.down.localAddress ?? '';
    const port = this.info?.localPort ?? this.down.localPort ?? 0;
    return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
  }

  private onConnectTimeout(): void {
    this.connectTimer = null;
    this.cluster!.stats.upstream_cx_connect_timeout.value++;
    this.up?.destroy();
  }

  // ---- upstream callbacks

  onUpstreamConnected(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.connected = true;
    const up = this.up!;
    if (this.pending !== null) {
      const p = this.pending;
      this.pending = null;
      this.proxy.stats.downstream_cx_rx_bytes_total.value += p.length;
      this.cluster!.stats.upstream_cx_tx_bytes_total.value += p.length;
      up.write(p);
    }
    this.down.resume();
    this.lastActive = Date.now();
    this.proxy.idle?.add(this, this.lastActive);
    const max = this.proxy.snap.maxDownstreamConnectionDurationMs ?? 0;
    if (max > 0) this.durationTimer = setTimeout(() => this.onMaxDuration(), max);
  }

  onUpstreamData(chunk: Buffer): void {
    const n = chunk.length;
    this.cluster!.stats.upstream_cx_rx_bytes_total.value += n;
    this.proxy.stats.downstream_cx_tx_bytes_total.value += n;
    this.lastActive = Date.now();
    const down = this.down;
    if (!writeShared(down, chunk)) this.up!.pause();
    else if (down.writableLength > this.proxy.bufferLimit) this.pauseUntilFlushed(down, this.up!);
  }

  onUpstreamEnd(): void {
    // Half-close: the upstream's FIN becomes the downstream's; the other direction keeps flowing.
    endOrClose(this.down);
  }

  onUpstreamDrain(): void {
    if (this.down.isPaused() && this.connected) {
      this.proxy.stats.downstream_flow_control_resumed_reading_total.value++;
      this.down.resume();
    }
  }

  onUpstreamClose(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    const cluster = this.cluster!;
    if (this.upCounted) {
      this.upCounted = false;
      cluster.resources.connections.dec();
      cluster.connectionClosed();
    }
    if (this.flushing) {
      this.flushing = false;
      this.proxy.stats.upstream_flush_active.value--;
    }
    this.up = null;
    if (!this.connected) {
      cluster.stats.upstream_cx_connect_fail.value++;
      if (this.downClosed) return;
      if (this.attempts < this.proxy.maxConnectAttempts) return this.connect();
      if (this.proxy.maxConnectAttempts > 1) stats.counter(cluster.stats.prefix + 'upstream_cx_connect_attempts_exceeded').value++;
      log.debug({ cluster: cluster.name, host: this.host?.key }, 'tcp_proxy: upstream connect failed');
      return this.closeDown();
    }
    // Whatever the upstream sent is flushed to the client before the downstream closes.
    this.closeDown(true);
  }

  // ---- downstream

  private onDownData(chunk: Buffer): void {
    const n = chunk.length;
    this.proxy.stats.downstream_cx_rx_bytes_total.value += n;
    this.cluster!.stats.upstream_cx_tx_bytes_total.value += n;
    this.lastActive = Date.now();
    const up = this.up!;
    if (!up.write(chunk)) this.pauseDown();
    else if (up.writableLength > this.proxy.bufferLimit) {
      this.pauseDown();
      up.flushed(() => this.onUpstreamDrain());
    }
  }

  private pauseDown(): void {
    this.proxy.stats.downstream_flow_control_paused_reading_total.value++;
    this.down.pause();
  }

  /** Below the stream's own high-water mark but over the buffer limit: resume once it is flushed. */
  private pauseUntilFlushed(dst: net.Socket, src: TcpUpstream): void {
    src.pause();
    dst.write(EMPTY, () => src.resume());
  }

  private onDownEnd(): void {
    if (this.up !== null && this.connected) this.up.end();
  }

  private onDownClose(): void {
    this.downClosed = true;
    this.proxy.sessions.delete(this);
    if (this.tList !== null) this.tList.remove(this);
    if (this.durationTimer !== null) clearTimeout(this.durationTimer);
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    const up = this.up;
    if (up === null) return;
    if (!this.connected) return up.destroy();
    if (up.writableLength > 0 && !this.flushing) {
      this.flushing = true;
      this.proxy.stats.upstream_flush_total.value++;
      this.proxy.stats.upstream_flush_active.value++;
    }
    // Envoy closes the upstream with FlushWrite: what the client sent still reaches it.
    up.closeAfterFlush();
  }

  private closeDown(flush = false): void {
    if (this.downClosed) return;
    if (flush) this.down.destroySoon();
    else this.down.destroy();
  }

  // ---- timers

  onTimeout(): void {
    const now = Date.now();
    const idleMs = this.proxy.snap.idleTimeoutMs;
    if (now - this.lastActive < idleMs) {
      this.proxy.idle!.add(this, this.lastActive);
      return;
    }
    this.proxy.stats.idle_timeout.value++;
    this.up?.destroy();
    this.down.destroy();
  }

  private onMaxDuration(): void {
    this.durationTimer = null;
    this.proxy.stats.max_downstream_connection_duration.value++;
    this.up?.destroy();
    this.down.destroy();
  }
}
