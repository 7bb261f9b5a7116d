// Envoy's router filter: picks the cluster of the matched route, asks its load balancer for a host
// and sends the request on that host's connection pool. An UpstreamRequest is one attempt; it
// relays the response to the downstream stream. Retries, per-try timeouts and shadowing hang off
// the stream only when the route asks for them, so a plain route pays nothing for them.
import type { RouteActionSnap } from '../../shared/snapshot.ts';
import type { ActiveStream } from '../http/active_stream.ts';
import type { ResponseHead } from '../http/http1/parser.ts';
import { LocalBody, ResponseFlag } from '../http/local_reply.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { Host } from '../upstream/host.ts';
import { ResetReason, type ResetReasonValue, type UpstreamStream } from '../upstream/http1_client.ts';
import type { ConnPool, UpstreamConnection } from '../upstream/upstream_connection.ts';
import type { TimerList, TimerNode } from '../timer_list.ts';
import { getHeader } from './header_mutation.ts';
import { RetryState, type AttemptFailure } from './retry_state.ts';
import { buildRequestHead } from './upstream_head.ts';
import { startShadows } from './shadow.ts';
import { lbContext, rejectOpenBreaker } from './upstream_select.ts';

export function routeToCluster(stream: ActiveStream, action: RouteActionSnap): void {
  const name = clusterName(stream, action);
  const cluster = name === '' ? undefined : stream.hcm.clusters.get(name);
  if (cluster === undefined) {
    return stream.sendLocalReply(action.clusterNotFoundResponseCode, '', ResponseFlag.NO_CLUSTER);
  }
  stream.cluster = cluster;
  setupPolicies(stream, action);
  if (!cluster.initialized) return cluster.whenReady(() => startAttempt(stream));
  startAttempt(stream);
}

/** Retry state and body buffering, only for routes (or requests) that ask for retries or shadows. */
function setupPolicies(stream: ActiveStream, action: RouteActionSnap): void {
  const h = stream.head.headers;
  const retryOn = action.retryPolicy !== null || stream.hcm.honorRetryHeaders ? getHeader(h, 'x-envoy-retry-on') : null;
  if (action.retryPolicy !== null || retryOn !== null) {
    const r = new RetryState(action.retryPolicy, retryOn, getHeader(h, 'x-envoy-max-retries'));
    if (r.enabled && r.remaining > 0) stream.retry = r;
  }
  if (stream.retry !== null || action.mirrorPolicies.length > 0) stream.startBodyCopy();
}

/** Starts an attempt on a host of the stream's cluster (the first, or a retry). */
export function startAttempt(stream: ActiveStream): void {
  if (stream.done) return;
  const cluster = stream.cluster!;
  const host = chooseHost(stream, cluster);
  if (host === null) {
    cluster.stats.upstream_cx_none_healthy.value++;
    return stream.sendLocalReply(503, LocalBody.NO_HEALTHY_UPSTREAM, ResponseFlag.NO_HEALTHY_UPSTREAM);
  }
  if (cluster.breaker !== null && !cluster.breaker.allow(Date.now())) return rejectOpenBreaker(stream, cluster.breaker);
  const up = new UpstreamRequest(stream, cluster, host);
  stream.upstream = up;
  up.start();
  const early = stream.takePendingBody();
  if (early !== null) for (const b of early) up.sendData(b, false);
}

function chooseHost(stream: ActiveStream, cluster: Cluster): Host | null {
  const ctx = lbContext(stream, cluster, stream.route!.hashPolicies);
  const r = stream.retry;
  let host = cluster.chooseHost(ctx);
  if (r === null || !r.previousHosts || host === null) return host;
  // previous_hosts: re-pick a few times to avoid hosts already tried (Envoy's host predicate).
  for (let i = 0; i < r.hostSelectionAttempts && r.tried.includes(host!); i++) host = cluster.chooseHost(ctx);
  return host;
}

/** The cluster's max_retries breaker (each worker enforces its share; see docs/upstream.md). */
function retryAdmitted(c: Cluster): boolean {
  if (!c.resources.canRetry()) return false;
  c.resources.retries.inc();
  return true;
}

function retryFinished(c: Cluster): void {
  c.resources.retries.dec();
}

function clusterName(stream: ActiveStream, a: RouteActionSnap): string {
  if (a.cluster !== '') return a.cluster;
  if (a.clusterHeader !== '') return getHeader(stream.head.headers, a.clusterHeader) ?? '';
  if (a.weightedClusters.length > 0) return pickWeighted(stream, a);
  return '';
}

function pickWeighted(stream: ActiveStream, a: RouteActionSnap): string {
  let total = 0;
  for (const w of a.weightedClusters) total += w.weight;
  let r = Math.random() * total;
  let i = 0;
  for (; i < a.weightedClusters.length - 1; i++) {
    r -= a.weightedClusters[i].weight;
    if (r < 0) break;
  }
  stream.route!.applyWeightedClusterHeaders(stream, i);
  return a.weightedClusters[i].name;
}

export class UpstreamRequest implements UpstreamStream, TimerNode {
  readonly stream: ActiveStream;
  readonly cluster: Cluster;
  readonly host: Host;
  readonly headString: string;
  readonly isHeadRequest: boolean;
  private conn: UpstreamConnection | null = null;
  private queued: Buffer[] | null = null;
  private requestEnded = false;
  private sentBody = false;
  private reuseRetried = false;
  /** A retry replays the whole buffered body instead of what arrived before its connection. */
  private readonly isRetry: boolean;
  private startTime = 0;
  private finished = false;
  /** The host's pool for the route's priority (its circuit breakers apply). */
  private readonly pool: ConnPool;
  tPrev: TimerNode | null = null;
  tNext: TimerNode | null = null;
  tDeadline = 0;
  tList: TimerList | null = null;

  constructor(stream: ActiveStream, cluster: Cluster, host: Host) {
    this.stream = stream;
    this.cluster = cluster;
    this.host = host;
    this.isHeadRequest = stream.head.method === 'HEAD';
    this.headString = stream.upstreamHead ??= buildRequestHead(stream, host);
    this.isRetry = stream.retry !== null && stream.retry.attempts > 1;
    const a = stream.route!.action;
    this.pool = host.connPool(a.kind === 'route' && a.priority === 'high' ? 1 : 0, stream);
  }

  start(): void {
    const st = this.cluster.stats;
    st.upstream_rq_total.value++;
    st.upstream_rq_active.value++;
    this.startTime = Date.now();
    const timer = this.stream.route!.upstreamTimer(this.stream.hcm.streamIdleTimer);
    if (timer !== null) timer.add(this, this.startTime);
    if (this.stream.requestComplete) this.onRequestComplete();
    this.stream.retry?.tried.push(this.host);
    this.cluster.requestStarted(this.host);
    this.pool.newStream(this);
  }

  /** Downstream body bytes, relayed as they arrive. */
  sendData(chunk: Buffer, end: boolean): void {
    if (this.tList !== null) this.refreshIdle();
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
    this.stream.requestCompleteForUpstream();
  }

  onPoolReady(conn: UpstreamConnection): void {
    this.conn = conn;
    conn.write(this.headString);
    const pending = this.isRetry ? this.stream.bodyCopy : this.queued;
    if (pending !== null) for (const b of pending) conn.write(b);
    this.queued = null;
    conn.requestEnded = this.requestEnded;
  }

  onPoolFailure(reason: ResetReasonValue): void {
    this.finish();
    if (reason !== ResetReason.OVERFLOW) this.cluster.recordLocalFailure(this.host, Date.now() - this.startTime);
    if (this.retryAfter(reason)) return;
    if (reason === ResetReason.OVERFLOW) {
      return this.stream.sendLocalReply(503, LocalBody.OVERFLOW, ResponseFlag.UPSTREAM_OVERFLOW, 'x-envoy-overloaded: true\r\n');
    }
    this.stream.sendLocalReply(503, LocalBody.CONNECT_FAILURE, ResponseFlag.UPSTREAM_CONNECT_FAILURE);
  }

  onResponseHead(res: ResponseHead, chunk: Buffer, start: number, end: number, complete: boolean): void {
    const ms = Date.now() - this.startTime;
    this.cluster.recordResponse(this.host, res.status, ms);
    const r = this.stream.retry;
    if (r !== null && this.maybeRetryResponse(r, res)) return;
    if (complete) this.finish();
    else this.refreshIdle();
    this.cluster.stats.response(res.status);
    this.stream.encodeUpstreamHead(res, chunk, start, end, complete, ms, this.host);
  }

  private maybeRetryResponse(r: RetryState, res: ResponseHead): boolean {
    if (!r.retriableResponse(res)) {
      if (r.attempts > 1) this.cluster.stats.upstream_rq_retry_success.value++;
      return false;
    }
    if (r.remaining === 0 || !this.stream.requestComplete) {
      this.cluster.stats.upstream_rq_retry_limit_exceeded.value++;
      return false;
    }
    this.cluster.stats.response(res.status);
    this.abort();
    this.scheduleRetry(r);
    return true;
  }

  /** Retries a failed attempt when the policy allows; false when the failure stands. */
  private retryAfter(f: AttemptFailure): boolean {
    const r = this.stream.retry;
    if (r === null || this.stream.done || !r.retriableFailure(f)) return false;
    if (r.remaining === 0 || !this.stream.requestComplete) {
      this.cluster.stats.upstream_rq_retry_limit_exceeded.value++;
      return false;
    }
    this.scheduleRetry(r);
    return true;
  }

  private scheduleRetry(r: RetryState): void {
    if (!retryAdmitted(this.cluster)) {
      this.cluster.stats.upstream_rq_retry_overflow.value++;
      r.remaining = 0;
      return this.stream.sendLocalReply(503, LocalBody.OVERFLOW, ResponseFlag.UPSTREAM_OVERFLOW, 'x-envoy-overloaded: true\r\n');
    }
    r.remaining--;
    this.cluster.stats.upstream_rq_retry.value++;
    const stream = this.stream;
    const cluster = this.cluster;
    stream.upstream = null;
    setTimeout(() => {
      retryFinished(cluster);
      r.attempts++;
      startAttempt(stream);
    }, r.backoffMs());
  }

  onResponseData(chunk: Buffer, start: number, end: number): void {
    if (this.tList !== null) this.refreshIdle();
    if (!this.stream.encodeData(chunk, start, end) && this.conn !== null) this.conn.socket.pause();
  }

  onResponseEnd(): void {
    this.finish();
    this.stream.encodeEnd();
  }

  /** HTTP/2 upstream trailers (gRPC status) end the response. */
  onResponseTrailers(trailers: string[]): void {
    this.finish();
    this.stream.encodeTrailers(trailers);
  }

  onReset(reason: ResetReasonValue, receivedBytes: boolean): void {
    const conn = this.conn;
    this.conn = null;
    if (this.shouldRetryOnFreshConnection(conn, receivedBytes)) {
      this.reuseRetried = true;
      return this.pool.newStream(this);
    }
    this.finish();
    this.cluster.recordLocalFailure(this.host, Date.now() - this.startTime);
    if (this.stream.responseStarted) return this.stream.resetDownstream();
    if (this.retryAfter(reason)) return;
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
  private shouldRetryOnFreshConnection(conn: UpstreamConnection | null, receivedBytes: boolean): boolean {
    return conn !== null && conn.requests > 1 && !receivedBytes && !this.sentBody && !this.reuseRetried && !this.stream.done;
  }

  onUpstreamDrain(): void {
    this.stream.conn.resumeReading();
  }

  /** The client half-closed an upgraded connection: pass the FIN on. */
  endTunnel(): void {
    if (this.conn !== null) this.conn.socket.end();
  }

  /** Downstream flow control: the client can take more response bytes. */
  resumeResponse(): void {
    if (this.conn !== null) this.conn.socket.resume();
  }

  /** The per-try timeout (or, without one, the stream idle timeout while waiting upstream). */
  onTimeout(): void {
    const perTry = this.stream.route!.perTryTimeoutMs > 0;
    if (perTry) this.recordTimeout();
    if (perTry) this.cluster.stats.upstream_rq_per_try_timeout.value++;
    else this.cluster.stats.upstream_rq_timeout.value++;
    this.abort();
    if (this.stream.responseStarted) return this.stream.resetDownstream();
    if (perTry && this.retryAfter('per_try_timeout')) return;
    if (perTry) return this.stream.sendLocalReply(504, LocalBody.TIMEOUT, ResponseFlag.UPSTREAM_TIMEOUT);
    this.stream.sendLocalReply(408, LocalBody.STREAM_IDLE_TIMEOUT, ResponseFlag.STREAM_IDLE_TIMEOUT);
  }

  /** Activity restarts the stream idle timer (a per-try timeout is absolute and is not refreshed). */
  private refreshIdle(): void {
    if (this.tList !== null && this.stream.route!.perTryTimeoutMs === 0) this.tList.add(this, Date.now());
  }

  /** The downstream went away or timed out: release the upstream side. */
  abort(): void {
    if (this.finished) return;
    this.finish();
    if (this.conn !== null) this.conn.resetStream();
    else this.pool.cancel(this);
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
    this.cluster.requestEnded(this.host);
  }

  /** The route or per-try timeout fired: outlier detection and the breakers count it. */
  recordTimeout(): void {
    if (!this.finished) this.cluster.recordLocalFailure(this.host, Date.now() - this.startTime);
  }
}

export { startShadows };
