// A filter chain: its match criteria and the network filter that takes connections it matches.
// The network filters are plugins by kind; the HTTP connection manager is the first.
import type net from 'node:net';
import type { FilterChainSnap, NetworkFilterSnap } from '../../shared/snapshot.ts';
import { HttpConnectionManager, type RouteConfigRef } from '../http/connection_manager.ts';
import type { ClusterManager } from '../upstream/cluster_manager.ts';
import { TcpProxy } from '../tcp/tcp_proxy.ts';

/** The terminal network filter of a chain. */
export interface NetworkFilter {
  /** Takes an accepted, paused socket; returns the socket that now carries the connection. */
  newConnection(accepted: net.Socket): net.Socket;
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

  constructor(snap: FilterChainSnap, ctx: FilterChainContext) {
    this.name = snap.name;
    this.snap = snap;
    this.terminal = terminalFilter(snap.filters, ctx);
  }

  /** Criteria this worker can evaluate from the socket alone (the L4 issue adds the rest). */
  matches(socket: net.Socket): boolean {
    const m = this.snap.match;
    if (m === null) return true;
    if (m.destinationPort !== null && m.destinationPort !== socket.localPort) return false;
    if (m.sourcePorts.length > 0 && !m.sourcePorts.includes(socket.remotePort ?? -1)) return false;
    // SNI / ALPN / transport protocol need listener filters; a plain socket is raw_buffer without SNI.
    if (m.serverNames.length > 0 || m.applicationProtocols.length > 0) return false;
    if (m.transportProtocol !== '' && m.transportProtocol !== 'raw_buffer') return false;
    return true;
  }

  newConnection(accepted: net.Socket): net.Socket {
    if (this.terminal !== null) return this.terminal.newConnection(accepted);
    accepted.destroy();
    return accepted;
  }
}

function terminalFilter(filters: NetworkFilterSnap[], ctx: FilterChainContext): NetworkFilter | null {
  const last = filters[filters.length - 1];
  if (last === undefined) return null;
  if (last.kind === 'http_connection_manager') {
    return new HttpConnectionManager(last.hcm, ctx.clusters, ctx.routeConfig(last.hcm.routeConfigName));
  }
  if (last.kind === 'tcp_proxy') return new TcpProxy(last, ctx.clusters);
  return null;
}
