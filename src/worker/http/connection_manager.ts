// Envoy's HTTP connection manager as configured on one filter chain: settings, stats, HTTP
// filters and the route config it routes with. Connections it serves are tracked for draining.
import type net from 'node:net';
import type http2 from 'node:http2';
import type { HcmSnap } from '../../shared/snapshot.ts';
import { stats, type Counter, type Gauge, type Histogram } from '../stats/store.ts';
import { Http1ServerConnection } from './http1/server_connection.ts';
import type { ActiveStream } from './active_stream.ts';
import type { ClusterManager } from '../upstream/cluster_manager.ts';
import type { RouteConfig } from '../router/route_config.ts';
import { httpFilterFactory, ROUTER_FILTER, type HttpFilter } from './filter_registry.ts';
import { timerList, type TimerList } from '../timer_list.ts';
import { H2ConnectServer } from './h2_connect.ts';
import { Http2ServerConnection, sessionOptions } from './http2/server_connection.ts';
import type { ConnectionInfo } from '../listener/connection_info.ts';
import { log } from '../log.ts';

/** A route config that RDS (or a new snapshot) can swap under live connection managers. */
export interface RouteConfigRef {
  current: RouteConfig | null;
}

export class HcmStats {
  readonly downstream_cx_total: Counter;
  readonly downstream_cx_active: Gauge;
  readonly downstream_cx_http1_total: Counter;
  readonly downstream_cx_http1_active: Gauge;
  readonly downstream_cx_http2_total: Counter;
  readonly downstream_cx_http2_active: Gauge;
  readonly downstream_cx_destroy: Counter;
  readonly downstream_cx_protocol_error: Counter;
  readonly downstream_rq_total: Counter;
  readonly downstream_rq_http1_total: Counter;
  readonly downstream_rq_http2_total: Counter;
  readonly downstream_rq_active: Gauge;
  readonly downstream_rq_completed: Counter;
  readonly downstream_rq_rx_reset: Counter;
  readonly downstream_rq_time: Histogram;
  readonly no_route: Counter;
  readonly rq_direct_response: Counter;
  readonly rq_redirect: Counter;
  readonly downstream_rq_timeout: Counter;
  readonly downstream_rq_header_timeout: Counter;
  readonly classes: Counter[];

  constructor(prefix: string) {
    const p = `http.${prefix}.`;
    this.downstream_cx_total = stats.counter(p + 'downstream_cx_total');
    this.downstream_cx_active = stats.gauge(p + 'downstream_cx_active');
    this.downstream_cx_http1_total = stats.counter(p + 'downstream_cx_http1_total');
    this.downstream_cx_http1_active = stats.gauge(p + 'downstream_cx_http1_active');
    this.downstream_cx_http2_total = stats.counter(p + 'downstream_cx_http2_total');
    this.downstream_cx_http2_active = stats.gauge(p + 'downstream_cx_http2_active');
    this.downstream_cx_destroy = stats.counter(p + 'downstream_cx_destroy');
    this.downstream_cx_protocol_error = stats.counter(p + 'downstream_cx_protocol_error');
    this.downstream_rq_total = stats.counter(p + 'downstream_rq_total');
    this.downstream_rq_http1_total = stats.counter(p + 'downstream_rq_http1_total');
    this.downstream_rq_http2_total = stats.counter(p + 'downstream_rq_http2_total');
    this.downstream_rq_active = stats.gauge(p + 'downstream_rq_active');
    this.downstream_rq_completed = stats.counter(p + 'downstream_rq_completed');
    this.downstream_rq_rx_reset = stats.counter(p + 'downstream_rq_rx_reset');
    this.downstream_rq_time = stats.histogram(p + 'downstream_rq_time');
    this.no_route = stats.counter(p + 'no_route');
    this.rq_direct_response = stats.counter(p + 'rq_direct_response');
    this.rq_redirect = stats.counter(p + 'rq_redirect');
    this.downstream_rq_timeout = stats.counter(p + 'downstream_rq_timeout');
    this.downstream_rq_header_timeout = stats.counter(p + 'downstream_rq_header_timeout');
    this.classes = [1, 2, 3, 4, 5].map((k) => stats.counter(`${p}downstream_rq_${k}xx`));
  }
}

export class HttpConnectionManager {
  readonly snap: HcmSnap;
  readonly stats: HcmStats;
  readonly clusters: ClusterManager;
  readonly routeConfig: RouteConfigRef;
  readonly filters: HttpFilter[];
  readonly serverName: string;
  readonly serverLine: string;
  readonly serverTransform: HcmSnap['serverHeaderTransformation'];
  readonly maxRequestHeadersBytes: number;
  readonly maxHeadersCount: number;
  readonly maxRequestsPerConnection: number;
  readonly useRemoteAddress: boolean;
  readonly skipXffAppend: boolean;
  readonly generateRequestId: boolean;
  readonly preserveExternalRequestId: boolean;
  readonly idleTimer: TimerList | null;
  /** stream_idle_timeout while a request waits on its upstream (route idle_timeout overrides). */
  readonly streamIdleTimer: TimerList | null;
  /** request_timeout: the whole request must arrive within it (0 = disabled, Envoy's default). */
  readonly requestTimer: TimerList | null;
  /** request_headers_timeout: a started head must complete within it. */
  readonly requestHeadersTimer: TimerList | null;
  /** Lower-cased upgrade types allowed on this connection manager (upgrade_configs). */
  readonly upgradeTypes: string[];
  /** HTTP/2 session settings; null for codec_type HTTP1. */
  readonly http2Options: http2.ServerSessionOptions | null;
  /** CONNECT termination over HTTP/2 (allow_connect / a CONNECT upgrade config); null otherwise. */
  readonly h2Connect: H2ConnectServer | null;
  private readonly h2Connections = new Set<Http2ServerConnection>();
  /** x-envoy-retry-on / x-envoy-max-retries request headers are honoured, as in Envoy. */
  readonly honorRetryHeaders = true;
  draining = false;
  private readonly connections = new Set<Http1ServerConnection>();

  constructor(snap: HcmSnap, clusters: ClusterManager, routeConfig: RouteConfigRef) {
    this.snap = snap;
    this.stats = new HcmStats(snap.statPrefix);
    this.clusters = clusters;
    this.routeConfig = routeConfig;
    this.filters = buildFilters(snap);
    this.serverName = snap.serverName;
    this.serverLine = snap.serverName === '' ? '' : `server: ${snap.serverName}\r\n`;
    this.serverTransform = snap.serverHeaderTransformation;
    this.maxRequestHeadersBytes = snap.maxRequestHeadersKb * 1024;
    this.maxHeadersCount = snap.maxHeadersCount;
    this.maxRequestsPerConnection = snap.maxRequestsPerConnection;
    this.useRemoteAddress = snap.useRemoteAddress;
    this.skipXffAppend = snap.skipXffAppend;
    this.generateRequestId = snap.generateRequestId;
    this.preserveExternalRequestId = snap.preserveExternalRequestId;
    this.idleTimer = snap.idleTimeoutMs > 0 ? timerList(snap.idleTimeoutMs) : null;
    this.streamIdleTimer = snap.streamIdleTimeoutMs > 0 ? timerList(snap.streamIdleTimeoutMs) : null;
    this.requestTimer = snap.requestTimeoutMs > 0 ? timerList(snap.requestTimeoutMs) : null;
    this.requestHeadersTimer = snap.requestHeadersTimeoutMs > 0 ? timerList(snap.requestHeadersTimeoutMs) : null;
    this.upgradeTypes = snap.upgradeTypes.map((t) => t.toLowerCase());
    this.http2Options = snap.codecType === 'http1' ? null : sessionOptions(snap.http2, this.maxRequestHeadersBytes, snap.maxHeadersCount);
    // HTTP/2 CONNECT streams are terminated by h2_connect.ts (HBONE); the HTTP/2 codec hands them over.
    const connect = snap.http2AllowConnect === true || this.upgradeTypes.includes('connect');
    this.h2Connect = this.http2Options !== null && connect ? new H2ConnectServer(this) : null;
  }

  /**
   * codec_type HTTP2, or ALPN h2 on a TLS connection: HTTP/2 at once. Otherwise HTTP/1.1, which
   * hands the connection over if it opens with the HTTP/2 preface (AUTO, h2c prior knowledge).
   */
  newConnection(accepted: net.Socket, info: ConnectionInfo | null = null): net.Socket {
    if (this.http2Options !== null && (this.snap.codecType === 'http2' || (accepted as { alpnProtocol?: string | false }).alpnProtocol === 'h2')) {
      const initial = info?.initial ?? null;
      if (info !== null) info.initial = null;
      return new Http2ServerConnection(this, accepted, info, initial).socket;
    }
    return new Http1ServerConnection(this, accepted, info).socket;
  }

  /** An HTTP/1.1 connection that opened with the HTTP/2 preface (`bytes`: everything read so far). */
  switchToHttp2(c: Http1ServerConnection, bytes: Buffer): void {
    // Still one downstream connection (counted when accepted): only its codec changes.
    this.connections.delete(c);
    this.stats.downstream_cx_http1_active.value--;
    // The socket keeps its reader (the HTTP/1 codec's read callback calls its onData method):
    // from now on that hands the bytes to the HTTP/2 codec.
    const h2 = new Http2ServerConnection(this, c.socket, c.info, null, true);
    (c as unknown as { onData(b: Buffer): void }).onData = (b: Buffer) => h2.onData(b);
    h2.onData(bytes);
  }

  http2ConnectionOpened(c: Http2ServerConnection, fromHttp1: boolean): void {
    this.h2Connections.add(c);
    if (!fromHttp1) {
      this.stats.downstream_cx_total.value++;
      this.stats.downstream_cx_active.value++;
    }
    this.stats.downstream_cx_http2_total.value++;
    this.stats.downstream_cx_http2_active.value++;
    this.idleTimer?.add(c, Date.now());
    if (this.draining) c.drain();
  }

  http2ConnectionClosed(c: Http2ServerConnection): void {
    if (!this.h2Connections.delete(c)) return;
    this.stats.downstream_cx_active.value--;
    this.stats.downstream_cx_http2_active.value--;
    this.stats.downstream_cx_destroy.value++;
  }

  connectionOpened(c: Http1ServerConnection): void {
    this.connections.add(c);
    this.stats.downstream_cx_total.value++;
    this.stats.downstream_cx_active.value++;
    this.stats.downstream_cx_http1_total.value++;
    this.stats.downstream_cx_http1_active.value++;
    this.idleTimer?.add(c, Date.now());
  }

  connectionClosed(c: Http1ServerConnection): void {
    this.connections.delete(c);
    this.stats.downstream_cx_active.value--;
    this.stats.downstream_cx_http1_active.value--;
    this.stats.downstream_cx_destroy.value++;
  }

  countResponse(status: number): void {
    const k = ((status / 100) | 0) - 1;
    if (k >= 0 && k < 5) this.stats.classes[k].value++;
  }

  streamFinished(s: ActiveStream): void {
    const st = this.stats;
    st.downstream_rq_active.value--;
    st.downstream_rq_completed.value++;
    this.countResponse(s.status);
    st.downstream_rq_time.record(Date.now() - s.startTime);
  }

  streamReset(_s: ActiveStream): void {
    this.stats.downstream_rq_active.value--;
    this.stats.downstream_rq_rx_reset.value++;
  }

  /** Stop keep-alive: idle connections close now, busy ones after their current response. */
  drain(): void {
    this.draining = true;
    for (const c of this.connections) c.drain();
    for (const c of this.h2Connections) c.drain();
  }

  get activeConnections(): number {
    return this.connections.size + this.h2Connections.size;
  }
}

function buildFilters(snap: HcmSnap): HttpFilter[] {
  const out: HttpFilter[] = [];
  for (const f of snap.httpFilters) {
    if (f.disabled || f.typeName === ROUTER_FILTER) continue;
    const factory = httpFilterFactory(f.typeName);
    if (factory !== undefined) out.push(factory(f.config));
    else if (!f.isOptional) log.error({ filter: f.name, type: f.typeName }, 'HTTP filter not available in worker');
  }
  return out;
}
