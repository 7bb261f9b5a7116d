// Envoy's router filter: picks the cluster of the matched route, asks its load balancer for a host
// and sends the request on that host's connection pool. An UpstreamRequest is one attempt; it
// relays the response to the downstream stream and owns the route timeout.
import type { RouteActionSnap } from '../../shared/snapshot.ts';
import type { ActiveStream } from '../http/active_stream.ts';
import type { ResponseHead } from '../http/http1/parser.ts';
import { LocalBody, ResponseFlag } from '../http/local_reply.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { Host } from '../upstream/host.ts';
import { ResetReason, type Http1ClientConnection, type ResetReasonValue, type UpstreamStream } from '../upstream/http1_client.ts';
import type { TimerList, TimerNode } from '../timer_list.ts';
import { isHopByHopRequest } from '../http/hop_by_hop.ts';
import { getHeader } from './header_mutation.ts';

export function routeToCluster(stream: ActiveStream, action: RouteActionSnap): void {
  const name = clusterName(stream, action);
  const cluster = name === '' ? undefined : stream.hcm.clusters.get(name);
  if (cluster === undefined) {
    return stream.sendLocalReply(action.clusterNotFoundResponseCode, '', ResponseFlag.NO_CLUSTER);
  }
  if (!cluster.initialized) return cluster.whenReady(() => dispatch(stream, cluster));
  dispatch(stream, cluster);
}

function dispatch(stream: ActiveStream, cluster: Cluster): void {
  if (stream.done) return;
  const host = cluster.chooseHost(null);
  if (host === null) {
    cluster.stats.upstream_cx_none_healthy.value++;
    return stream.sendLocalReply(503, LocalBody.NO_HEALTHY_UPSTREAM, ResponseFlag.NO_HEALTHY_UPSTREAM);
  }
  const up = new UpstreamRequest(stream, cluster, host);
  stream.upstream = up;
  up.start();
}

function clusterName(stream: ActiveStream, a: RouteActionSnap): string {
  if (a.cluster !== '') return a.cluster;
  if (a.clusterHeader !== '') return getHeader(stream.head.headers, a.clusterHeader) ?? '';
  if (a.weightedClusters.length > 0) return pickWeighted(a);
  return '';
}

function pickWeighted(a: RouteActionSnap): string {
  let total = 0;
  for (const w of a.weightedClusters) total += w.weight;
  let r = Math.random() * total;
  for (const w of a.weightedClusters) {
    r -= w.weight;
    if (r < 0) return w.name;
  }
  return a.weightedClusters[a.weightedClusters.length - 1].name;
}

export class UpstreamRequest implements UpstreamStream, TimerNode {
  readonly stream: ActiveStream;
  readonly cluster: Cluster;
  readonly host: Host;
  readonly headString: string;
  readonly isHeadRequest: boolean;
  private conn: Http1ClientConnection | null = null;
  private queued: Buffer[] | null = null;
  private requestEnded = false;
  private sentBody = false;
  private reuseRetried = false;
  private startTime = 0;
  private finished = false;
  tPrev: TimerNode | null = null;
  tNext: TimerNode | null = null;
  tDeadline = 0;
  tList: TimerList | null = null;

  constructor(stream: ActiveStream, cluster: Cluster, host: Host) {
    this.stream = stream;
    this.cluster = cluster;
    this.host = host;
    this.isHeadRequest = stream.head.method === 'HEAD';
    this.headString = buildRequestHead(stream);
  }

  start(): void {
    const st = this.cluster.stats;
    st.upstream_rq_total.value++;
    st.upstream_rq_active.value++;
    this.startTime = Date.now();
    if (this.stream.requestComplete) this.onRequestComplete();
    this.host.http1Pool().newStream(this);
  }

  /** Downstream body bytes, relayed as they arrive. */
  sendData(chunk: Buffer, end: boolean): void {
    if (chunk.length > 0) {
      this.sentBody = true;
      if (this.conn !== null) {
        if (!this.conn.write(chunk)) this.stream.conn.pauseReading();
      } else (this.queued ??= []).push(Buffer.from(chunk)); // chunk may be the shared read buffer
    }
    if (end) this.onRequestComplete();
  }

  private onRequestComplete(): void {
    this.requestEnded = true;
    if (this.conn !== null) this.conn.requestEnded = true;
    const t = this.stream.route!.timeout;
    // Envoy starts the route timeout once the downstream request is complete.
    if (t !== null && !this.finished) t.add(this, Date.now());
  }

  onPoolReady(conn: Http1ClientConnection): void {
    this.conn = conn;
    conn.write(this.headString);
    if (this.queued !== null) {
      for (const b of this.queued) conn.write(b);
      this.queued = null;
    }
    conn.requestEnded = this.requestEnded;
  }

  onPoolFailure(reason: ResetReasonValue): void {
    this.finish();
    if (reason === ResetReason.OVERFLOW) {
      return this.stream.sendLocalReply(503, LocalBody.OVERFLOW, ResponseFlag.UPSTREAM_OVERFLOW, 'x-envoy-overloaded: true\r\n');
    }
    this.stream.sendLocalReply(503, LocalBody.CONNECT_FAILURE, ResponseFlag.UPSTREAM_CONNECT_FAILURE);
  }

  onResponseHead(res: ResponseHead, chunk: Buffer, start: number, end: number, complete: boolean): void {
    const now = Date.now();
    const ms = now - this.startTime;
    if (complete) this.finish();
    this.cluster.stats.response(res.status);
    this.stream.encodeUpstreamHead(res, chunk, start, end, complete, ms, this.host);
  }

  onResponseData(chunk: Buffer, start: number, end: number): void {
    if (!this.stream.encodeData(chunk, start, end) && this.conn !== null) this.conn.socket.pause();
  }

  onResponseEnd(): void {
    this.finish();
    this.stream.encodeEnd();
  }

  onReset(reason: ResetReasonValue, receivedBytes: boolean): void {
    const conn = this.conn;
    this.conn = null;
    if (this.shouldRetryOnFreshConnection(conn, receivedBytes)) {
      this.reuseRetried = true;
      return this.host.http1Pool().newStream(this);
    }
    this.finish();
    if (this.stream.responseStarted) return this.stream.resetDownstream();
    const connect = reason === ResetReason.CONNECT_FAILURE || reason === ResetReason.CONNECT_TIMEOUT;
    if (connect) return this.stream.sendLocalReply(503, LocalBody.CONNECT_FAILURE, ResponseFlag.UPSTREAM_CONNECT_FAILURE);
    if (reason === ResetReason.PROTOCOL_ERROR) {
      return this.stream.sendLocalReply(502, LocalBody.PROTOCOL_ERROR, ResponseFlag.UPSTREAM_PROTOCOL_ERROR);
    }
    this.stream.sendLocalReply(503, LocalBody.CONNECTION_TERMINATION, ResponseFlag.UPSTREAM_CONNECTION_TERMINATION);
  }

  /**
   * A keep-alive connection the upstream closed just as we reused it: nothing was received and no
   * body was sent, so sending the request once more on a new connection cannot duplicate it.
   */
  private shouldRetryOnFreshConnection(conn: Http1ClientConnection | null, receivedBytes: boolean): boolean {
    return conn !== null && conn.requests > 1 && !receivedBytes && !this.sentBody && !this.reuseRetried && !this.stream.done;
  }

  onUpstreamDrain(): void {
    this.stream.conn.resumeReading();
  }

  /** Downstream flow control: the client can take more response bytes. */
  resumeResponse(): void {
    if (this.conn !== null) this.conn.socket.resume();
  }

  onTimeout(): void {
    this.cluster.stats.upstream_rq_timeout.value++;
    this.abort();
    if (this.stream.responseStarted) return this.stream.resetDownstream();
    this.stream.sendLocalReply(504, LocalBody.TIMEOUT, ResponseFlag.UPSTREAM_TIMEOUT);
  }

  /** The downstream went away or timed out: release the upstream side. */
  abort(): void {
    if (this.finished) return;
    this.finish();
    if (this.conn !== null) this.conn.resetStream();
    else this.host.http1Pool().cancel(this);
    this.conn = null;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.tList !== null) this.tList.remove(this);
    const st = this.cluster.stats;
    st.upstream_rq_active.value--;
    st.upstream_rq_completed.value++;
    st.upstream_rq_time.record(Date.now() - this.startTime);
  }
}

/** The upstream request head: request line, host first, the request's end-to-end headers. */
function buildRequestHead(stream: ActiveStream): string {
  const head = stream.head;
  let s = head.method + ' ' + stream.upstreamPath + ' HTTP/1.1\r\nhost: ' + stream.upstreamAuthority + '\r\n';
  const h = head.headers;
  const tokens = head.connTokens;
  for (let i = 0; i < h.length; i += 2) {
    const n = h[i];
    if (isHopByHopRequest(n) || (tokens !== null && tokens.includes(n))) continue;
    s += n + ': ' + h[i + 1] + '\r\n';
  }
  if (head.chunked) s += 'transfer-encoding: chunked\r\n';
  else if (head.contentLength >= 0) s += 'content-length: ' + head.contentLength + '\r\n';
  return s + '\r\n';
}
