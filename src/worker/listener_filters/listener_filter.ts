// The listener filter contract (Envoy's Network::ListenerFilter): each filter looks at the bytes
// read so far and either continues, asks for more, or rejects the connection. Filters that
// consume bytes (PROXY protocol, Kmesh TLV) drop them through `consume`; peeking filters (TLS and
// HTTP inspectors) leave them for the network filter.
import type { ConnectionInfo } from '../listener/connection_info.ts';

export const FilterStatus = {
  CONTINUE: 0,
  NEED_MORE: 1,
  CLOSE: 2,
} as const;
export type FilterStatusValue = (typeof FilterStatus)[keyof typeof FilterStatus];

export interface ListenerFilterState {
  readonly info: ConnectionInfo;
  /** Drops the first `n` bytes of what was read (the next filter and the network filter never see them). */
  consume(n: number): void;
}

export interface ListenerFilter {
  /** Most bytes the filter ever needs before it can decide; 0: it decides without reading. */
  readonly maxReadBytes: number;
  /**
   * `data` holds every unconsumed byte read so far (empty before the first read); `ended` is set
   * once the peer closed its side. NEED_MORE with `data.length >= maxReadBytes` is a CLOSE.
   */
  onData(st: ListenerFilterState, data: Buffer, ended: boolean): FilterStatusValue;
}
