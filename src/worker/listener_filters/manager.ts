// Runs a listener's filters on an accepted connection before its filter chain is chosen. The
// connection is read (into a private buffer) only while some filter asks for bytes; when all have
// continued, reading stops, the unconsumed bytes go to ConnectionInfo.initial and the paused
// socket is handed on: the network filter adopts it and processes those bytes first.
// A listener without listener filters never comes here.
import type net from 'node:net';
import type { ListenerFilterSnap } from '../../shared/snapshot.ts';
import type { ConnectionInfo } from '../listener/connection_info.ts';
import { adoptAccepted } from '../net/read_buffer.ts';
import { stats, type Counter, type Gauge } from '../stats/store.ts';
import { timerList, type TimerList, type TimerNode } from '../timer_list.ts';
import { FilterStatus, type ListenerFilter, type ListenerFilterState } from './listener_filter.ts';
import { ProxyProtocolFilter } from './proxy_protocol.ts';
import { TlsInspectorFilter } from './tls_inspector.ts';
import { HttpInspectorFilter } from './http_inspector.ts';
import { KmeshTlvFilter } from './kmesh_tlv.ts';
import { OriginalDstFilter } from './original_dst.ts';

export function createListenerFilter(s: ListenerFilterSnap): ListenerFilter {
  switch (s.kind) {
    case 'proxy_protocol':
      return new ProxyProtocolFilter(s);
    case 'tls_inspector':
      return new TlsInspectorFilter(s.maxClientHelloBytes);
    case 'http_inspector':
      return new HttpInspectorFilter();
    case 'kmesh_tlv':
      return new KmeshTlvFilter();
    case 'original_dst':
      return new OriginalDstFilter();
  }
}

/** Listener-level stats of the pre-connection phase (Envoy's downstream_pre_cx_* and filter errors). */
export class ListenerFilterStats {
  readonly preActive: Gauge;
  readonly preTimeout: Counter;
  readonly filterError: Counter;
  readonly remoteClose: Counter;

  constructor(listenerPrefix: string) {
    const p = `listener.${listenerPrefix}.`;
    this.preActive = stats.gauge(p + 'downstream_pre_cx_active');
    this.preTimeout = stats.counter(p + 'downstream_pre_cx_timeout');
    this.filterError = stats.counter(p + 'downstream_listener_filter_error');
    this.remoteClose = stats.counter(p + 'downstream_listener_filter_remote_close');
  }
}

export type AcceptDone = (socket: net.Socket, info: ConnectionInfo) => void;

export class ListenerFilterChain {
  readonly filters: ListenerFilter[];
  readonly stats: ListenerFilterStats;
  readonly timeout: TimerList | null;
  readonly continueOnTimeout: boolean;

  constructor(snaps: ListenerFilterSnap[], statPrefix: string, timeoutMs: number, continueOnTimeout: boolean) {
    this.filters = snaps.map(createListenerFilter);
    this.stats = new ListenerFilterStats(statPrefix);
    this.timeout = timeoutMs > 0 ? timerList(timeoutMs) : null;
    this.continueOnTimeout = continueOnTimeout;
  }

  /** Runs the filters; `done` gets a paused socket unless the connection was rejected (then it is closed). */
  run(accepted: net.Socket, info: ConnectionInfo, done: AcceptDone): void {
    new ActiveAccept(this, accepted, info, done).step();
  }
}

const EMPTY = Buffer.alloc(0);

class ActiveAccept implements ListenerFilterState, TimerNode {
  readonly info: ConnectionInfo;
  private readonly chain: ListenerFilterChain;
  private readonly done: AcceptDone;
  private socket: net.Socket;
  private reading = false;
  private ended = false;
  private finished = false;
  private idx = 0;
  private buf: Buffer = EMPTY;
  tPrev: TimerNode | null = null;
  tNext: TimerNode | null = null;
  tDeadline = 0;
  tList: TimerList | null = null;

  constructor(chain: ListenerFilterChain, accepted: net.Socket, info: ConnectionInfo, done: AcceptDone) {
    this.chain = chain;
    this.socket = accepted;
    this.info = info;
    this.done = done;
    chain.stats.preActive.value++;
    chain.timeout?.add(this, Date.now());
  }

  consume(n: number): void {
    this.buf = n >= this.buf.length ? EMPTY : this.buf.subarray(n);
  }

  step(): void {
    const filters = this.chain.filters;
    while (!this.finished && this.idx < filters.length) {
      const f = filters[this.idx];
      const st = f.onData(this, this.buf, this.ended);
      if (st === FilterStatus.CONTINUE) {
        this.idx++;
        continue;
      }
      if (st === FilterStatus.CLOSE || this.ended || this.buf.length >= f.maxReadBytes) return this.reject(this.ended && st !== FilterStatus.CLOSE);
      this.startReading();
      return;
    }
    if (!this.finished) this.finish();
  }

  private startReading(): void {
    if (this.reading) return;
    this.reading = true;
    // The filters' own copy of the bytes: the shared read buffer is only valid during the callback.
    const s = (this.socket = adoptAccepted(this.socket, (c) => this.onRead(c)));
    s.on('end', () => this.onEnd());
    s.on('error', () => {});
    s.on('close', () => this.onClose());
  }

  private onRead(c: Buffer): void {
    if (this.finished) return;
    this.buf = this.buf.length === 0 ? Buffer.from(c) : Buffer.concat([this.buf, c]);
    this.step();
  }

  private onEnd(): void {
    if (this.finished) return;
    this.ended = true;
    this.step();
  }

  private onClose(): void {
    if (this.finished) return;
    this.chain.stats.remoteClose.value++;
    this.end();
  }

  onTimeout(): void {
    if (this.finished) return;
    this.chain.stats.preTimeout.value++;
    if (this.chain.continueOnTimeout) return this.finish();
    this.end();
    this.socket.destroy();
  }

  private reject(remoteClosed: boolean): void {
    if (remoteClosed) this.chain.stats.remoteClose.value++;
    else this.chain.stats.filterError.value++;
    this.end();
    this.socket.destroy();
  }

  private finish(): void {
    this.end();
    const s = this.socket;
    if (this.reading) {
      s.pause();
      s.removeAllListeners('end');
      s.removeAllListeners('error');
      s.removeAllListeners('close');
    }
    this.info.initial = this.buf.length > 0 ? this.buf : null;
    this.done(s, this.info);
  }

  private end(): void {
    this.finished = true;
    this.chain.stats.preActive.value--;
    if (this.tList !== null) this.tList.remove(this);
  }
}
