// Envoy's HTTP connection manager as configured on one filter chain: settings, stats, HTTP
// filters and the route config it routes with. Connections it serves are tracked for draining.
import type net from 'node:net';
import type { HcmSnap } from '../../shared/snapshot.ts';
import { stats, type Counter, type Gauge, type Histogram } from '../stats/store.ts';
import { Http1ServerConnection } from './http1/server_connection.ts';
import type { ActiveStream } from './active_stream.ts';
import type { ClusterManager } from '../upstream/cluster_manager.ts';
import type { RouteConfig } from '../router/route_config.ts';
import { httpFilterFactory, ROUTER_FILTER, type HttpFilter } from './filter_registry.ts';
import { timerList, type TimerList } from '../timer_list.ts';
import { H2ConnectServer } from './h2_connect.ts';
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
  readonly downstream_cx_destroy: Counter;
  readonly downstream_cx_protocol_error: Counter;
  readonly downstream_rq_total: Counter;
  readonly downstream_rq_http1_total: Counter;
  readonly downstream_rq_active: Gauge;
  readonly downstream_rq_completed: Counter;
  readonly downstream_rq_rx_reset: Counter;
  readonly downstream_rq_time: Histogram;
  readonly no_route: Counter;
  readonly rq_direct_response: Counter;
  readonly rq_redirect: Counter;
  readonly classes: Counter[];

  constructor(prefix: string) {
    const p = `http.${prefix}.`;
    this.downstream_cx_total = stats.counter(p + 'downstream_cx_total');
    this.downstream_cx_active = stats.gauge(p + 'downstream_cx_active');
    this.downstream_cx_http1_total = stats.counter(p + 'downstream_cx_http1_total');
    this.downstream_cx_http1_active = stats.gauge(p + 'downstream_cx_http1_active');
    this.downstream_cx_destroy = stats.counter(p + 'downstream_cx_destroy');
    this.downstream_cx_protocol_error = stats.counter(p + 'downstream_cx_protocol_error');
    this.downstream_rq_total = stats.counter(p + 'downstream_rq_total');
    this.downstream_rq_http1_total = stats.counter(p + 'downstream_rq_http1_total');
    this.downstream_rq_active = stats.gauge(p + 'downstream_rq_active');
    this.downstream_rq_completed = stats.counter(p + 'downstream_rq_completed');
    this.downstream_rq_rx_reset = stats.counter(p + 'downstream_rq_rx_reset');
    this.downstream_rq_time = stats.histogram(p + 'downstream_rq_time');
    this.no_route = stats.counter(p + 'no_route');
    this.rq_direct_response = stats.counter(p + 'rq_direct_response');
    this.rq_redirect = stats.counter(p + 'rq_redirect');
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
  /** Lower-cased upgrade types allowed on this connection manager (upgrade_configs). */
  readonly upgradeTypes: string[];
  private readonly h2: H2ConnectServer | null;
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
    this.upgradeTypes = snap.upgradeTypes.map((t) => t.toLowerCase());
    // HTTP/2 is only served for CONNECT termination (h2_connect.ts); other managers never look for it.
    const connect = snap.http2AllowConnect === true || this.upgradeTypes.includes('connect');
    this.h2 = snap.codecType === 'http2' || (snap.codecType === 'auto' && connect) ? new H2ConnectServer(this) : null;
  }

  newConnection(accepted: net.Socket, info: ConnectionInfo | null = null): net.Socket {
    if (this.h2 !== null) return this.h2.newConnection(accepted, info, this.snap.codecType === 'http2' ? null : this.h1);
    return new Http1ServerConnection(this, accepted, info).socket;
  }

  private readonly h1 = (s: net.Socket, info: ConnectionInfo | null): net.Socket => new Http1ServerConnection(this, s, info).socket;

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
    this.h2?.drain();
  }

  get activeConnections(): number {
    return this.connections.size;
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
