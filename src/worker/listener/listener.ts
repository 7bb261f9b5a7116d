// A listener in one worker: its own SO_REUSEPORT socket (the kernel spreads connections across
// workers), and filter chain selection for each accepted connection.
import net from 'node:net';
import type { ListenerSnap } from '../../shared/snapshot.ts';
import { FilterChain, type FilterChainContext } from './filter_chain.ts';
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

export class Listener {
  readonly snap: ListenerSnap;
  private readonly chains: FilterChain[];
  private readonly defaultChain: FilterChain | null;
  private readonly stats: ListenerStats;
  private readonly server: net.Server;
  private active = 0;

  constructor(snap: ListenerSnap, ctx: FilterChainContext) {
    this.snap = snap;
    this.chains = snap.filterChains.map((c) => new FilterChain(c, ctx));
    this.defaultChain = snap.defaultFilterChain === null ? null : new FilterChain(snap.defaultFilterChain, ctx);
    this.stats = new ListenerStats(snap.statPrefix);
    // pauseOnConnect: the network filter adopts the handle into a socket reading the shared buffer.
    this.server = net.createServer({ noDelay: true, allowHalfOpen: true, pauseOnConnect: true }, (s) => this.onConnection(s));
  }

  listen(): Promise<void> {
    const { host, port } = this.snap.address;
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      // exclusive: each worker owns its socket instead of sharing the primary's (node:cluster default).
      this.server.listen({ host, port, reusePort: true, exclusive: true, backlog: 4096 }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  private onConnection(accepted: net.Socket): void {
    const st = this.stats;
    st.downstream_cx_total.value++;
    const chain = this.selectChain(accepted);
    if (chain === null) {
      st.no_filter_chain_match.value++;
      accepted.destroy();
      return;
    }
    const socket = chain.newConnection(accepted);
    st.downstream_cx_active.value++;
    this.active++;
    socket.once('close', () => {
      st.downstream_cx_active.value--;
      st.downstream_cx_destroy.value++;
      this.active--;
    });
  }

  private selectChain(socket: net.Socket): FilterChain | null {
    for (const c of this.chains) if (c.matches(socket)) return c;
    return this.defaultChain;
  }

  get activeConnections(): number {
    return this.active;
  }

  /** Stops accepting; existing connections finish their current request and close. */
  drain(): void {
    this.server.close();
    for (const c of this.chains) c.terminal?.drain();
    this.defaultChain?.terminal?.drain();
  }
}
