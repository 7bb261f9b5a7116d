// One request/response exchange on a downstream connection (Envoy's ActiveStream): it resolves
// the target, runs the HTTP filters and the route, and writes the response back, either local or
// relayed from the router's upstream request. It also owns the route timeout, which spans every
// retry of the request.
import type { DownstreamConnection } from './downstream_connection.ts';
import type { RequestHead, ResponseHead } from './http1/parser.ts';
import type { HttpConnectionManager } from './connection_manager.ts';
import type { MatchInput } from '../router/header_matcher.ts';
import type { FormatContext } from '../router/formatter.ts';
import type { RouteEntry } from '../router/route_entry.ts';
import { routeToCluster, startShadows, type UpstreamRequest } from '../router/router.ts';
import type { RetryState } from '../router/retry_state.ts';
import { getHeader, type HeaderMutation } from '../router/header_mutation.ts';
import { isHopByHopResponse } from './hop_by_hop.ts';
import { LocalBody, ResponseFlag, renderLocalReply, reasonPhrase } from './local_reply.ts';
import { prepareRequest, applyRouteAction, redirectLocation, upgradeAllowed } from './request_headers.ts';
import type { Host } from '../upstream/host.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { TimerList, TimerNode } from '../timer_list.ts';
import { writeShared, writeWithHead } from '../net/read_buffer.ts';
import { connectRoute } from './connect_tunnel.ts';
import { isGrpcContentType, parseGrpcTimeout } from './grpc.ts';
import type { RouteActionSnap } from '../../shared/snapshot.ts';

/** Small bodies ride in the same write as the head: one syscall per response. */
const INLINE_BODY_MAX = 4096;
/** Request bytes kept for retries and shadows (Envoy's default per-connection buffer limit). */
const BODY_COPY_LIMIT = 1024 * 1024;

const statusLines: string[] = [];
function statusLine(code: number): string {
  return (statusLines[code] ??= `HTTP/1.1 ${code} ${reasonPhrase(code)}\r\n`);
}

export class ActiveStream implements MatchInput, FormatContext, TimerNode {
  readonly conn: DownstreamConnection;
  readonly hcm: HttpConnectionManager;
  readonly head: RequestHead;
  readonly startTime: number;
  authority = '';
  path = '';
  scheme: string;
  upstreamAuthority = '';
  upstreamPath = '';
  /** The upgrade protocol (e.g. `websocket`) when this request asks for one that is allowed. */
  upgrade = '';
  keepAlive: boolean;
  route: RouteEntry | null = null;
  cluster: Cluster | null = null;
  upstream: UpstreamRequest | null = null;
  /** The upstream head, built once and reused by retries. */
  upstreamHead: string | null = null;
  retry: RetryState | null = null;
  /** Copies of the request body, kept only when retries or shadows may replay it. */
  bodyCopy: Buffer[] | null = null;
  extraResponseMutation: HeaderMutation | null = null;
  requestComplete = false;
  responseStarted = false;
  done = false;
  tunnel = false;
  status = 0;
  responseFlag: string = ResponseFlag.NONE;
  upstreamHostKey = '';
  private rechunk = false;
  private bodyCopyBytes = 0;
  private pendingBody: Buffer[] | null = null;
  private upstreamRequestComplete = false;
  // TimerNode: the route timeout.
  tPrev: TimerNode | null = null;
  tNext: TimerNode | null = null;
  tDeadline = 0;
  tList: TimerList | null = null;

  constructor(conn: DownstreamConnection, head: RequestHead) {
    this.conn = conn;
    this.scheme = conn.scheme;
    this.hcm = conn.hcm;
    this.head = head;
    this.startTime = Date.now();
    this.keepAlive = !head.connClose && !conn.hcm.draining;
  }

  // ---- FormatContext
  get remoteAddress(): string {
    return this.conn.remoteAddress;
  }
  get remotePort(): number {
    return this.conn.remotePort;
  }
  get localAddress(): string {
    return this.conn.localAddress;
  }
  get localPort(): number {
    return this.conn.localPort;
  }
  get protocol(): string {
    return this.head.minor === 1 ? 'HTTP/1.1' : 'HTTP/1.0';
  }
  get upstreamHost(): string {
    return this.upstreamHostKey;
  }
  dynamicMetadata(ns: string, path: string[]): unknown {
    return this.conn.info?.metadataValue(ns, path);
  }
  requestHeader(name: string): string | null {
    return getHeader(this.head.headers, name);
  }

  // ---- request path
  decodeHeaders(endStream: boolean): void {
    this.requestComplete = endStream;
    const hcm = this.hcm;
    hcm.stats.downstream_rq_total.value++;
    hcm.stats.downstream_rq_active.value++;
    // request_timeout: until the request is complete (the route timeout takes over from there).
    if (!endStream && hcm.requestTimer !== null) hcm.requestTimer.add(this, this.startTime);
    if (!prepareRequest(this)) {
      this.keepAlive = false;
      hcm.stats.downstream_cx_protocol_error.value++;
      return this.sendLocalReply(400, LocalBody.BAD_REQUEST, ResponseFlag.DOWNSTREAM_PROTOCOL_ERROR);
    }
    const filters = hcm.filters;
    for (let i = 0; i < filters.length; i++) if (!filters[i].onRequestHeaders(this)) return;
    const rc = hcm.routeConfig.current;
    const route = rc === null ? null : rc.route(this);
    if (route === null) {
      hcm.stats.no_route.value++;
      return this.sendLocalReply(404, '', ResponseFlag.NO_ROUTE);
    }
    this.route = route;
    this.runRoute(route);
  }

  private runRoute(route: RouteEntry): void {
    const a = route.action;
    if (a.kind === 'direct_response') {
      this.hcm.stats.rq_direct_response.value++;
      return this.sendRouteReply(a.status, route.directBody, '');
    }
    if (a.kind === 'redirect') {
      this.hcm.stats.rq_redirect.value++;
      return this.sendRouteReply(a.responseCode, '', 'location: ' + redirectLocation(this, a) + '\r\n');
    }
    // Only connect_matcher routes match CONNECT (route_entry.ts); connect_tunnel.ts serves them.
    if (this.head.method === 'CONNECT') return connectRoute(this, route, a);
    if (this.head.connUpgrade && this.head.upgrade !== '') {
      if (!upgradeAllowed(this, a)) return this.sendLocalReply(403, '', ResponseFlag.NONE);
      this.upgrade = this.head.upgrade;
    }
    applyRouteAction(this, route, a);
    if (a.maxStreamDurationMs > 0 || a.grpcTimeoutHeaderMaxMs >= 0) this.armDuration(a);
    routeToCluster(this, a);
  }

  decodeData(chunk: Buffer, start: number, end: number, endStream: boolean): void {
    if (endStream) {
      this.requestComplete = true;
      if (this.tList !== null && this.tList === this.hcm.requestTimer) this.tList.remove(this);
    }
    if (this.done) return;
    const data = start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end);
    if (this.bodyCopy !== null && data.length > 0) this.copyBody(data);
    if (this.upstream !== null) this.upstream.sendData(data, endStream);
    else if (data.length > 0) (this.pendingBody ??= []).push(Buffer.from(data)); // data may be the shared read buffer
  }

  /** Retries and shadows replay the body: keep a copy, up to Envoy's buffer limit. */
  startBodyCopy(): void {
    this.bodyCopy = this.pendingBody === null ? [] : this.pendingBody.slice();
    for (const b of this.bodyCopy) this.bodyCopyBytes += b.length;
  }

  private copyBody(data: Buffer): void {
    this.bodyCopyBytes += data.length;
    if (this.bodyCopyBytes > BODY_COPY_LIMIT) {
      // Too big to replay: this request can no longer be retried or shadowed.
      this.bodyCopy = null;
      this.retry = null;
      return;
    }
    this.bodyCopy!.push(Buffer.from(data));
  }

  /** Body that arrived before an upstream request existed (cluster still resolving). */
  takePendingBody(): Buffer[] | null {
    const b = this.pendingBody;
    this.pendingBody = null;
    return b;
  }

  /** The downstream request is complete as far as the upstream side is concerned (once). */
  requestCompleteForUpstream(): void {
    if (this.upstreamRequestComplete) return;
    this.upstreamRequestComplete = true;
    // Envoy starts the route timeout once the downstream request is complete.
    if (this.tList !== null) this.tList.remove(this); // request_timeout, if armed, is over
    const t = this.route!.timeout;
    if (t !== null && !this.tunnel && this.upgrade === '') t.add(this, Date.now());
    if (this.bodyCopy !== null && this.route!.action.kind === 'route' && this.route!.action.mirrorPolicies.length > 0) {
      startShadows(this);
    }
  }

  /** The route timeout: 504 (or a reset once the response has started), across all retries. */
  onTimeout(): void {
    if (this.done) return;
    if (!this.upstreamRequestComplete && !this.requestComplete) return this.onRequestTimeout();
    if (this.cluster !== null) this.cluster.stats.upstream_rq_timeout.value++;
    this.upstream?.recordTimeout();
    this.upstream?.abort();
    this.upstream = null;
    if (this.responseStarted) return this.resetDownstream();
    this.sendLocalReply(504, LocalBody.TIMEOUT, ResponseFlag.UPSTREAM_TIMEOUT);
  }

  // ---- max_stream_duration / grpc-timeout (rare: a plain timer, only when configured)
  private durationTimer: NodeJS.Timeout | null = null;

  private armDuration(a: RouteActionSnap): void {
    let ms = a.maxStreamDurationMs;
    if (a.grpcTimeoutHeaderMaxMs >= 0 && isGrpcContentType(this.requestHeader('content-type'))) {
      const v = this.requestHeader('grpc-timeout');
      const t = v === null ? -1 : parseGrpcTimeout(v);
      // Envoy: grpc-timeout (capped by grpc_timeout_header_max unless that is 0) replaces max_stream_duration.
      if (t > 0) ms = a.grpcTimeoutHeaderMaxMs > 0 ? Math.min(t, a.grpcTimeoutHeaderMaxMs) : t;
    }
    if (ms <= 0) return;
    this.durationTimer = setTimeout(onDurationTimeout, Math.max(1, ms - (Date.now() - this.startTime)), this);
  }

  protected clearDuration(): void {
    if (this.durationTimer === null) return;
    clearTimeout(this.durationTimer);
    this.durationTimer = null;
  }

  /** The stream outlived max_stream_duration: 408 (gRPC-shaped on gRPC streams), or a reset. */
  onDurationTimeout(): void {
    this.durationTimer = null;
    if (this.done) return;
    this.upstream?.abort();
    this.upstream = null;
    if (this.responseStarted) return this.resetDownstream();
    this.keepAlive = false;
    this.sendLocalReply(408, LocalBody.DURATION_TIMEOUT, ResponseFlag.DURATION_TIMEOUT);
  }

  /** The request did not arrive completely within request_timeout: 408, connection closed. */
  private onRequestTimeout(): void {
    this.hcm.stats.downstream_rq_timeout.value++;
    this.upstream?.abort();
    this.upstream = null;
    this.keepAlive = false;
    this.sendLocalReply(408, LocalBody.REQUEST_TIMEOUT, ResponseFlag.NONE);
  }

  // ---- response path
  encodeUpstreamHead(res: ResponseHead, chunk: Buffer, start: number, end: number, complete: boolean, serviceMs: number, host: Host): void {
    this.responseStarted = true;
    this.status = res.status;
    this.upstreamHostKey = host.key;
    if (this.tList !== null) this.tList.remove(this);
    const rm = this.route!.responseMutation;
    if (!rm.empty) rm.apply(res.headers, this);
    if (this.extraResponseMutation !== null) this.extraResponseMutation.apply(res.headers, this);
    this.encodeHead(res, chunk, start, end, complete, serviceMs);
  }

  /** Writes the (mutated) upstream response head and any body bytes that came with it. */
  protected encodeHead(res: ResponseHead, chunk: Buffer, start: number, end: number, complete: boolean, serviceMs: number): void {
    let h = statusLine(res.status) + this.relayedHeaders(res) + 'x-envoy-upstream-service-time: ' + serviceMs + '\r\n';
    h += res.status === 101 ? this.startTunnel() : this.framing(res);
    if (!this.keepAlive && !this.tunnel) h += 'connection: close\r\n';
    h += '\r\n';
    this.writeHead(h, chunk, start, end);
    if (complete) this.finishResponse();
  }

  private relayedHeaders(res: ResponseHead): string {
    const hs = res.headers;
    const tokens = res.connTokens;
    const hcm = this.hcm;
    let s = '';
    let sawServer = false;
    for (let i = 0; i < hs.length; i += 2) {
      const n = hs[i];
      if (isHopByHopResponse(n) || (tokens !== null && tokens.includes(n))) continue;
      if (n === 'server') {
        sawServer = true;
        if (hcm.serverTransform === 'overwrite') continue;
      }
      s += n + ': ' + hs[i + 1] + '\r\n';
    }
    if (hcm.serverTransform === 'overwrite' || (hcm.serverTransform === 'append_if_absent' && !sawServer)) s += hcm.serverLine;
    return s;
  }

  /** 101 Switching Protocols: from here on both sides relay raw bytes until either closes. */
  private startTunnel(): string {
    this.tunnel = true;
    this.keepAlive = false;
    this.conn.startTunnel();
    return 'connection: upgrade\r\nupgrade: ' + this.upgrade + '\r\n';
  }

  private framing(res: ResponseHead): string {
    if (res.chunked) return 'transfer-encoding: chunked\r\n';
    if (res.contentLength >= 0) return 'content-length: ' + res.contentLength + '\r\n';
    if (this.head.method === 'HEAD' || res.status === 204 || res.status === 304) return '';
    // Close-delimited upstream body: keep the client connection by re-framing as chunked.
    if (this.head.minor === 1 && this.keepAlive) {
      this.rechunk = true;
      return 'transfer-encoding: chunked\r\n';
    }
    this.keepAlive = false;
    return '';
  }

  private writeHead(h: string, chunk: Buffer, start: number, end: number): void {
    const sock = this.conn.socket;
    const n = end - start;
    if (n === 0) {
      sock.write(h, 'latin1');
    } else if (n <= INLINE_BODY_MAX && !this.rechunk) {
      sock.write(h + chunk.latin1Slice(start, end), 'latin1');
    } else if (!this.rechunk) {
      writeWithHead(sock, h, start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end));
    } else {
      sock.cork();
      sock.write(h, 'latin1');
      this.encodeData(chunk, start, end);
      sock.uncork();
    }
  }

  /** Relays response body bytes; false when the client is not keeping up. */
  encodeData(chunk: Buffer, start: number, end: number): boolean {
    if (end <= start || this.done) return true;
    const sock = this.conn.socket;
    const data = start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end);
    if (!this.rechunk) return writeShared(sock, data);
    sock.write((end - start).toString(16) + '\r\n', 'latin1');
    writeShared(sock, data);
    return sock.write('\r\n', 'latin1');
  }

  encodeEnd(): void {
    if (this.done) return;
    if (this.rechunk) this.conn.socket.write('0\r\n\r\n', 'latin1');
    this.finishResponse();
  }

  /** Upstream trailers (HTTP/2, e.g. gRPC status) end the response; HTTP/1.1 responses drop them. */
  encodeTrailers(_trailers: string[]): void {
    this.encodeEnd();
  }

  onDownstreamDrain(): void {
    this.upstream?.resumeResponse();
  }

  /** A reply decided by the route (direct response, redirect): route response headers apply. */
  private sendRouteReply(status: number, body: string, extra: string): void {
    const rm = this.route!.responseMutation;
    if (!rm.empty) {
      const hs: string[] = [];
      rm.apply(hs, this);
      for (let i = 0; i < hs.length; i += 2) extra += hs[i] + ': ' + hs[i + 1] + '\r\n';
    }
    this.writeLocal(status, body, extra, ResponseFlag.NONE);
  }

  /** A reply the proxy generates (Envoy's sendLocalReply), with its response flag. */
  sendLocalReply(status: number, body: string, flag: string, extra = ''): void {
    if (this.done) return;
    if (this.responseStarted) return this.resetDownstream();
    this.upstream?.abort();
    this.writeLocal(status, body, extra, flag);
  }

  /** Codec-specific from here down: the HTTP/2 stream (http2/server_stream.ts) overrides these. */
  protected writeLocal(status: number, body: string, extra: string, flag: string): void {
    this.responseFlag = flag;
    this.status = status;
    this.responseStarted = true;
    // A request body still arriving cannot be skipped safely: close after the reply.
    if (!this.requestComplete) this.keepAlive = false;
    this.conn.socket.write(renderLocalReply(status, body, this.hcm.serverName, !this.keepAlive, extra), 'latin1');
    this.finishResponse();
  }

  protected finishResponse(): void {
    if (this.done) return;
    this.done = true;
    if (this.tList !== null) this.tList.remove(this);
    if (this.durationTimer !== null) this.clearDuration();
    this.hcm.streamFinished(this);
    this.conn.streamDone(this);
  }

  /** The response cannot be completed (upstream reset mid-body): close the client connection. */
  resetDownstream(): void {
    if (this.done) return;
    this.done = true;
    this.keepAlive = false;
    if (this.tList !== null) this.tList.remove(this);
    if (this.durationTimer !== null) this.clearDuration();
    this.hcm.streamReset(this);
    this.conn.socket.destroy();
  }

  /** The client went away mid-stream. */
  downstreamReset(): void {
    if (this.done) return;
    this.done = true;
    if (this.tList !== null) this.tList.remove(this);
    if (this.durationTimer !== null) this.clearDuration();
    this.responseFlag = ResponseFlag.DOWNSTREAM_CONNECTION_TERMINATION;
    this.upstream?.abort();
    this.hcm.streamReset(this);
  }

  /** Malformed request body framing. */
  downstreamProtocolError(): void {
    this.requestComplete = false;
    this.hcm.stats.downstream_cx_protocol_error.value++;
    this.sendLocalReply(400, LocalBody.BAD_REQUEST, ResponseFlag.DOWNSTREAM_PROTOCOL_ERROR);
  }
}

function onDurationTimeout(s: ActiveStream): void {
  s.onDurationTimeout();
}
