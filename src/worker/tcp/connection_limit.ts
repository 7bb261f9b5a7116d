// envoy.filters.network.connection_limit: at most max_connections open connections on the chain;
// one more is closed (after `delay`, unread) and counted. Workers share nothing, so the limit
// holds per worker (Envoy's counter is shared by its threads): size it per worker.
import type net from 'node:net';
import type { ConnectionLimitFilterSnap } from '../../shared/snapshot.ts';
import { stats, type Counter, type Gauge } from '../stats/store.ts';

export class ConnectionLimit {
  private readonly max: number;
  private readonly delayMs: number;
  private readonly limited: Counter;
  private readonly activeGauge: Gauge;
  private active = 0;

  constructor(snap: ConnectionLimitFilterSnap) {
    this.max = snap.maxConnections;
    this.delayMs = snap.delayMs;
    const p = `connection_limit.${snap.statPrefix}.`;
    this.limited = stats.counter(p + 'limited_connections');
    this.activeGauge = stats.gauge(p + 'active_connections');
  }

  admit(): boolean {
    if (this.active >= this.max) return false;
    this.active++;
    this.activeGauge.value++;
    return true;
  }

  release(): void {
    this.active--;
    this.activeGauge.value--;
  }

  reject(socket: net.Socket): void {
    this.limited.value++;
    if (this.delayMs <= 0) return void socket.destroy();
    setTimeout(() => socket.destroy(), this.delayMs).unref();
  }
}
