// Envoy's tcp_proxy network filter: one upstream connection per downstream connection, bytes
// relayed both ways with backpressure and half-close.
import net from 'node:net';
import type { TcpProxyFilterSnap } from '../../shared/snapshot.ts';
import type { ClusterManager } from '../upstream/cluster_manager.ts';
import { stats, type Counter, type Gauge } from '../stats/store.ts';

class TcpStats {
  readonly downstream_cx_total: Counter;
  readonly downstream_cx_no_route: Counter;
  readonly upstream_flush_active: Gauge;
  readonly idle_timeout: Counter;

  constructor(prefix: string) {
    const p = `tcp.${prefix}.`;
    this.downstream_cx_total = stats.counter(p + 'downstream_cx_total');
    this.downstream_cx_no_route = stats.counter(p + 'downstream_cx_no_route');
    this.upstream_flush_active = stats.gauge(p + 'upstream_flush_active');
    this.idle_timeout = stats.counter(p + 'idle_timeout');
  }
}

export class TcpProxy {
  private readonly snap: TcpProxyFilterSnap;
  private readonly clusters: ClusterManager;
  private readonly stats: TcpStats;
  private readonly sockets = new Set<net.Socket>();

  constructor(snap: TcpProxyFilterSnap, clusters: ClusterManager) {
    this.snap = snap;
    this.clusters = clusters;
    this.stats = new TcpStats(snap.statPrefix);
  }

  newConnection(down: net.Socket): net.Socket {
    this.stats.downstream_cx_total.value++;
    const cluster = this.clusters.get(this.pickCluster());
    const host = cluster?.chooseHost(null) ?? null;
    if (cluster === undefined || host === null) {
      this.stats.downstream_cx_no_route.value++;
      down.destroy();
      return down;
    }
    cluster.connectionOpened();
    const up = net.connect({ host: host.address, port: host.port, noDelay: true, allowHalfOpen: true });
    this.sockets.add(down);
    // The accepted socket is paused (pauseOnConnect) until the upstream is connected.
    up.once('connect', () => down.resume());
    relay(down, up);
    relay(up, down);
    up.once('close', () => {
      cluster.connectionClosed();
      down.destroySoon();
    });
    down.once('close', () => {
      this.sockets.delete(down);
      up.destroySoon();
    });
    up.on('error', () => down.destroy());
    down.on('error', () => up.destroy());
    if (this.snap.idleTimeoutMs > 0) idleTimeout(down, up, this.snap.idleTimeoutMs, this.stats);
    return down;
  }

  private pickCluster(): string {
    const w = this.snap.weightedClusters;
    if (w.length === 0) return this.snap.cluster;
    let r = Math.random() * w.reduce((a, c) => a + c.weight, 0);
    for (const c of w) if ((r -= c.weight) < 0) return c.name;
    return w[w.length - 1].name;
  }

  drain(): void {
    // TCP connections carry no request boundary to drain at; they close with the listener's drain time.
  }
}

/** Copies src → dst, pausing src while dst's buffer is full; src's FIN becomes dst's FIN. */
function relay(src: net.Socket, dst: net.Socket): void {
  src.on('data', (c: Buffer) => {
    if (!dst.write(c)) src.pause();
  });
  dst.on('drain', () => src.resume());
  src.on('end', () => dst.end());
}

function idleTimeout(a: net.Socket, b: net.Socket, ms: number, st: TcpStats): void {
  const onIdle = () => {
    st.idle_timeout.value++;
    a.destroy();
    b.destroy();
  };
  a.setTimeout(ms, onIdle);
  b.setTimeout(ms, onIdle);
}
