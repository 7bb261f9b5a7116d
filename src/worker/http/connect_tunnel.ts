// CONNECT in the HTTP connection manager. A CONNECT request matched by a `connect_matcher` route
// is allowed when the route's upgrade_configs (or else the manager's) enable CONNECT (Envoy answers
// 403 otherwise). With the route's `connect_config` the proxy terminates the CONNECT: it opens a
// TCP (or internal) connection to a host of the route's cluster, answers 200, and relays the
// payload raw both ways. Without `connect_config` the CONNECT itself is forwarded upstream (a
// tunnel through the upstream proxy). This file serves HTTP/1.1 downstreams; h2_connect.ts
// serves HTTP/2 ones with the same upstream side.
import type { RouteActionSnap } from '../../shared/snapshot.ts';
import type { ActiveStream } from './active_stream.ts';
import type { HttpConnectionManager } from './connection_manager.ts';
import type { RouteEntry } from '../router/route_entry.ts';
import type { UpstreamRequest } from '../router/router.ts';
import type { FormatContext } from '../router/formatter.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { Host } from '../upstream/host.ts';
import { getHeader } from '../router/header_mutation.ts';
import { newTunnel, RawUpstream, type TcpUpstream, type UpstreamCallbacks } from '../tcp/tunnel.ts';
import { LocalBody, ResponseFlag } from './local_reply.ts';

/** undefined: CONNECT not allowed; otherwise whether to terminate (connect_config) or forward. */
export function connectMode(hcm: HttpConnectionManager, a: RouteActionSnap): 'terminate' | 'forward' | undefined {
  for (const u of a.upgradeConfigs) {
    if (u.upgradeType !== 'connect') continue;
    if (!u.enabled) return undefined;
    return u.connectConfig ? 'terminate' : 'forward';
  }
  return hcm.snap.upgradeTypes.includes('connect') ? 'forward' : undefined;
}

export type ConnectFailure = 'no_cluster' | 'no_healthy_upstream' | 'overflow';

/** One upstream connection for a CONNECT, counted against the cluster like tcp_proxy's. */
export class ConnectUpstream {
  readonly cluster: Cluster;
  readonly host: Host;
  readonly up: TcpUpstream;
  private counted = true;

  constructor(cluster: Cluster, host: Host, mode: 'terminate' | 'forward', authority: string, cb: UpstreamCallbacks, ctx: FormatContext) {
    this.cluster = cluster;
    this.host = host;
    cluster.resources.connections.inc();
    cluster.connectionOpened();
    this.up = mode === 'terminate'
      ? new RawUpstream(host, cb)
      : newTunnel(host, { hostname: authority, usePost: false, postPath: '/', headersToAdd: [] }, cb, ctx);
  }

  /** Call once from onUpstreamClose. */
  closed(connected: boolean): void {
    if (!this.counted) return;
    this.counted = false;
    this.cluster.resources.connections.dec();
    this.cluster.connectionClosed();
    if (!connected) this.cluster.stats.upstream_cx_connect_fail.value++;
  }
}

/** Picks the route's cluster and a host; a failure says which local reply to send. */
export function connectTarget(hcm: HttpConnectionManager, a: RouteActionSnap, headers: string[]): { cluster: Cluster; host: Host } | ConnectFailure {
  const name = a.cluster !== '' ? a.cluster : a.clusterHeader !== '' ? (getHeader(headers, a.clusterHeader) ?? '') : pickWeighted(a);
  const cluster = name === '' ? undefined : hcm.clusters.get(name);
  if (cluster === undefined) return 'no_cluster';
  const host = cluster.chooseHost(null);
  if (host === null) {
    cluster.stats.upstream_cx_none_healthy.value++;
    return 'no_healthy_upstream';
  }
  if (!cluster.resources.connections.canCreate()) {
    cluster.stats.upstream_cx_overflow.value++;
    return 'overflow';
  }
  return { cluster, host };
}

function pickWeighted(a: RouteActionSnap): string {
  const w = a.weightedClusters;
  if (w.length === 0) return '';
  let r = Math.random() * w.reduce((s, c) => s + c.weight, 0);
  for (const c of w) if ((r -= c.weight) < 0) return c.name;
  return w[w.length - 1].name;
}

// ---------------------------------------------------------------- HTTP/1.1 downstream

/** Runs a CONNECT request on an HTTP/1.1 connection (called by the ActiveStream once routed). */
export function connectRoute(stream: ActiveStream, _route: RouteEntry, a: RouteActionSnap): void {
  // Whatever happens, bytes after this request's head are tunnel payload, never a next request.
  stream.keepAlive = false;
  const mode = connectMode(stream.hcm, a);
  if (mode === undefined) return stream.sendLocalReply(403, '', ResponseFlag.NONE);
  const t = connectTarget(stream.hcm, a, stream.head.headers);
  if (t === 'no_cluster') return stream.sendLocalReply(a.clusterNotFoundResponseCode, '', ResponseFlag.NO_CLUSTER);
  if (t === 'no_healthy_upstream') return stream.sendLocalReply(503, LocalBody.NO_HEALTHY_UPSTREAM, ResponseFlag.NO_HEALTHY_UPSTREAM);
  if (t === 'overflow') return stream.sendLocalReply(503, LocalBody.OVERFLOW, ResponseFlag.UPSTREAM_OVERFLOW);
  const bridge = new H1ConnectBridge(stream);
  // The stream's upstream slot only ever calls sendData/abort/resumeResponse/endTunnel on it.
  stream.upstream = bridge as unknown as UpstreamRequest;
  bridge.start(t.cluster, t.host, mode);
}

class H1ConnectBridge implements UpstreamCallbacks {
  private readonly stream: ActiveStream;
  private upstream: ConnectUpstream | null = null;
  private connected = false;
  private ended = false;

  constructor(stream: ActiveStream) {
    this.stream = stream;
  }

  start(cluster: Cluster, host: Host, mode: 'terminate' | 'forward'): void {
    this.upstream = new ConnectUpstream(cluster, host, mode, this.stream.authority, this, this.stream);
  }

  // ---- the stream's upstream slot

  sendData(data: Buffer, end: boolean): void {
    const up = this.upstream?.up;
    if (up === undefined || !this.connected) return; // payload waits in the connection's buffer until the 200
    if (data.length > 0 && !up.write(data)) this.stream.conn.pauseReading();
    if (end) up.end();
  }

  endTunnel(): void {
    if (this.connected) this.upstream?.up.end();
  }

  abort(): void {
    this.upstream?.up.destroy();
  }

  resumeResponse(): void {
    this.upstream?.up.resume();
  }

  // ---- upstream callbacks

  onUpstreamConnected(): void {
    const s = this.stream;
    if (s.done) return this.upstream!.up.destroy();
    this.connected = true;
    s.responseStarted = true;
    s.status = 200;
    s.upstreamHostKey = this.upstream!.host.key;
    s.tunnel = true;
    s.conn.socket.write('HTTP/1.1 200 OK\r\n' + s.hcm.serverLine + '\r\n', 'latin1');
    // Payload the client sent early (buffered by the connection) goes up now.
    s.conn.startTunnel();
  }

  onUpstreamData(chunk: Buffer): void {
    if (!this.stream.encodeData(chunk, 0, chunk.length)) this.upstream!.up.pause();
  }

  onUpstreamEnd(): void {
    this.ended = true;
    this.stream.encodeEnd();
  }

  onUpstreamDrain(): void {
    this.stream.conn.resumeReading();
  }

  onUpstreamClose(): void {
    this.upstream?.closed(this.connected);
    const s = this.stream;
    if (s.done) return;
    if (!this.connected) return s.sendLocalReply(503, LocalBody.CONNECT_FAILURE, ResponseFlag.UPSTREAM_CONNECT_FAILURE);
    if (!this.ended) s.resetDownstream();
  }
}
