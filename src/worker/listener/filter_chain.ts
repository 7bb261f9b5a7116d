// A filter chain: its match criteria (evaluated by FilterChainSelector) and its network filters:
// non-terminal ones that may refuse a connection (connection_limit), then the terminal one that
// takes it (HTTP connection manager, tcp_proxy).
import type net from 'node:net';
import type { FilterChainSnap, NetworkFilterSnap } from '../../shared/snapshot.ts';
import { HttpConnectionManager, type RouteConfigRef } from '../http/connection_manager.ts';
import type { ClusterManager } from '../upstream/cluster_manager.ts';
import { TcpProxy } from '../tcp/tcp_proxy.ts';
import { ConnectionLimit } from '../tcp/connection_limit.ts';
import type { ConnectionInfo } from './connection_info.ts';
import { DownstreamTls } from '../tls/downstream_tls.ts';

/** The terminal network filter of a chain. */
export interface NetworkFilter {
  /**
   * Takes an accepted, paused socket; returns the socket that now carries the connection.
   * `info` is null for a plain network connection (the socket's own addresses apply); otherwise
   * it holds restored addresses, metadata and the bytes listener filters already read.
   */
  newConnection(accepted: net.Socket, info: ConnectionInfo | null): net.Socket;
  drain(): void;
}

export interface FilterChainContext {
  clusters: ClusterManager;
  routeConfig(name: string): RouteConfigRef;
}

export class FilterChain {
  readonly name: string;
  readonly snap: FilterChainSnap;
  readonly terminal: NetworkFilter | null;
  private readonly limits: ConnectionLimit[];
  /** transport_socket TLS: the handshake runs before the terminal filter sees the connection. */
  private readonly tls: DownstreamTls | null;

  constructor(snap: FilterChainSnap, ctx: FilterChainContext, bufferLimit = 1024 * 1024, listenerStatPrefix = '') {
    this.name = snap.name;
    this.snap = snap;
    this.terminal = terminalFilter(snap.filters, ctx, bufferLimit);
    this.tls = snap.tls == null ? null : new DownstreamTls(snap.tls, `listener.${listenerStatPrefix}.`, `filter chain "${snap.name}"`);
    this.limits = [];
    for (const f of snap.filters) if (f.kind === 'connection_limit') this.limits.push(new ConnectionLimit(f));
  }

  newConnection(accepted: net.Socket, info: ConnectionInfo | null): net.Socket {
    const limits = this.limits;
    if (limits.length > 0) {
      for (let i = 0; i < limits.length; i++) {
        if (limits[i].admit()) continue;
        for (let j = 0; j < i; j++) limits[j].release();
        limits[i].reject(accepted);
        return accepted;
      }
    }
    const terminal = this.terminal;
    let socket: net.Socket;
    if (terminal === null) socket = (accepted.destroy(), accepted);
    else if (this.tls === null) socket = terminal.newConnection(accepted, info);
    else {
      // The ClientHello listener filters read belongs to the TLS layer, not to the network filter.
      const hello = info?.initial ?? null;
      if (info !== null) info.initial = null;
      socket = this.tls.wrap(accepted, hello, (secure) => terminal.newConnection(secure, info));
    }
    if (limits.length > 0) socket.once('close', () => { for (const l of limits) l.release(); });
    return socket;
  }

  drain(): void {
    this.terminal?.drain();
  }
}

function terminalFilter(filters: NetworkFilterSnap[], ctx: FilterChainContext, bufferLimit: number): NetworkFilter | null {
  const last = filters[filters.length - 1];
  if (last === undefined) return null;
  if (last.kind === 'http_connection_manager') {
    return new HttpConnectionManager(last.hcm, ctx.clusters, ctx.routeConfig(last.hcm.routeConfigName));
  }
  if (last.kind === 'tcp_proxy') return new TcpProxy(last, ctx.clusters, bufferLimit);
  return null;
}
