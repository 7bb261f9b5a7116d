// A listener in one worker: its own SO_REUSEPORT socket (the kernel spreads connections across
// workers) or, for an internal listener, an entry in this worker's internal listener registry;
// listener filters, then filter chain selection for each accepted connection. A network listener
// without listener filters and with a single unconditional chain hands the accepted socket
// straight to the chain, as before any of this existed.
import net from 'node:net';
import type { ListenerSnap } from '../../shared/snapshot.ts';
import { FilterChain, type FilterChainContext } from './filter_chain.ts';
import { FilterChainSelector } from './filter_chain_selector.ts';
import { ConnectionInfo } from './connection_info.ts';
import { ListenerFilterChain } from '../listener_filters/manager.ts';
import { internalListeners, type InternalAcceptor } from '../internal/registry.ts';
import type { InternalSocket } from '../internal/internal_socket.ts';
import { stats, type Counter, type Gauge } from '../stats/store.ts';

class ListenerStats {
  readonly downstream_cx_total: Counter;
  readonly downstream_cx_active: Gauge;
  readonly downstream_cx_destroy: Counter;
  readonly no_filter_chain_match: Counter;

  constructor(prefix: string) {
    const p = `listener.${prefix}.`;
    this.downstream_cx_total = stats.counter(p + 'downstream_cx_total');
    this.downstream_cx_active = stats.gauge(p + 'downstream_cx_active');
    this.downstream_cx_destroy = stats.counter(p + 'downstream_cx_destroy');
    this.no_filter_chain_match = stats.counter(p + 'no_filter_chain_match');
  }
}

export class Listener implements InternalAcceptor {
  readonly snap: ListenerSnap;
  private readonly chains: FilterChain[];
  private readonly defaultChain: FilterChain | null;
  private readonly selector: FilterChainSelector<FilterChain>;
  private readonly listenerFilters: ListenerFilterChain | null;
  private readonly stats: ListenerStats;
  private readonly server: net.Server | null;
  private active = 0;
  private draining = false;

  constructor(snap: ListenerSnap, ctx: FilterChainContext) {
    this.snap = snap;
    const limit = snap.perConnectionBufferLimitBytes;
    this.chains = snap.filterChains.map((c) => new FilterChain(c, ctx, limit, snap.statPrefix));
    this.defaultChain = snap.defaultFilterChain === null ? null : new FilterChain(snap.defaultFilterChain, ctx, limit, snap.statPrefix);
    this.selector = new FilterChainSelector(this.chains.map((c) => ({ chain: c, match: c.snap.match })), this.defaultChain);
    const lf = snap.listenerFilters ?? [];
    this.listenerFilters = lf.length === 0 ? null : new ListenerFilterChain(lf, snap.statPrefix, snap.listenerFiltersTimeoutMs ?? 15_000, snap.continueOnListenerFiltersTimeout === true);
    this.stats = new ListenerStats(snap.statPrefix);
    // pauseOnConnect: the network filter adopts the handle into a socket reading the shared buffer.
    this.server = snap.internal === true ? null : net.createServer({ noDelay: true, allowHalfOpen: true, pauseOnConnect: true }, (s) => this.onConnection(s));
  }

  listen(): Promise<void> {
    const server = this.server;
    if (server === null) {
      internalListeners.register(this.snap.name, this);
      return Promise.resolve();
    }
    const { host, port } = this.snap.address;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      // exclusive: each worker owns its socket instead of sharing the primary's (node:cluster default).
      server.listen({ host, port, reusePort: true, exclusive: true, backlog: 4096 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  private onConnection(accepted: net.Socket): void {
    this.stats.downstream_cx_total.value++;
    if (this.listenerFilters !== null) return this.listenerFilters.run(accepted, new ConnectionInfo(accepted, false, null), this.afterFilters);
    const trivial = this.selector.trivial;
    if (trivial !== null) return this.dispatch(accepted, trivial, null);
    const info = new ConnectionInfo(accepted, false, null);
    this.dispatch(accepted, this.selector.select(info), info);
  }

  /** The listener side of an internal connection: the same filters and chains as a network one. */
  acceptInternal(socket: InternalSocket): void {
    this.stats.downstream_cx_total.value++;
    const accepted = socket as unknown as net.Socket;
    const info = new ConnectionInfo(accepted, true, socket.dynamicMetadata);
    if (this.listenerFilters !== null) return this.listenerFilters.run(accepted, info, this.afterFilters);
    this.dispatch(accepted, this.selector.select(info), info);
  }

  private readonly afterFilters = (socket: net.Socket, info: ConnectionInfo): void => {
    this.dispatch(socket, this.selector.select(info), info);
  };

  private dispatch(accepted: net.Socket, chain: FilterChain | null, info: ConnectionInfo | null): void {
    const st = this.stats;
    if (chain === null) {
      st.no_filter_chain_match.value++;
      accepted.destroy();
      return;
    }
    const socket = chain.newConnection(accepted, info);
    st.downstream_cx_active.value++;
    this.active++;
    socket.once('close', () => {
      st.downstream_cx_active.value--;
      st.downstream_cx_destroy.value++;
      this.active--;
    });
  }

  get activeConnections(): number {
    return this.active;
  }

  /** Stops accepting; existing connections finish their current request and close. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    if (this.server !== null) this.server.close();
    else internalListeners.unregister(this.snap.name, this);
    for (const c of this.chains) c.drain();
    this.defaultChain?.drain();
  }
}
