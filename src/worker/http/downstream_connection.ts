// What an ActiveStream needs from the downstream connection it belongs to, whatever the codec.
// The HTTP/1.1 connection is one (a stream owns the connection while it runs); an HTTP/2 stream
// gets a per-stream view of its session, so pausing one request body leaves the others flowing.
import type net from 'node:net';
import type { HttpConnectionManager } from './connection_manager.ts';
import type { ConnectionInfo } from '../listener/connection_info.ts';
import type { ActiveStream } from './active_stream.ts';

export interface DownstreamConnection {
  readonly hcm: HttpConnectionManager;
  /** The transport socket (TLS or TCP). HTTP/1 writes responses to it; HTTP/2 streams never do. */
  readonly socket: net.Socket;
  readonly info: ConnectionInfo | null;
  /** 'https' when the connection is TLS (x-forwarded-proto, redirects). */
  readonly scheme: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Flow control of the request body: the upstream is not keeping up / caught up. */
  pauseReading(): void;
  resumeReading(): void;
  /** The stream's response is complete. */
  streamDone(s: ActiveStream): void;
  /** HTTP/1.1 upgrade (101): raw bytes from now on. */
  startTunnel(): void;
}
