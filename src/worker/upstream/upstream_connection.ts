// What the router's upstream request writes to and controls, whatever the upstream codec: an
// HTTP/1.1 connection serving the request (http1_client.ts), or one HTTP/2 stream of a
// multiplexed connection (http2_client.ts). The request head arrives as HTTP/1.1 text (built once
// by the router); a chunked body stays chunk-framed, as everywhere inside the proxy.
import type { UpstreamStream } from './http1_client.ts';

export interface UpstreamConnection {
  /** Requests the underlying connection has been given (reuse retries look at it). */
  readonly requests: number;
  /** Set once the whole request body has been written. */
  requestEnded: boolean;
  /** The head (string) first, then body bytes; false when the transport is not keeping up. */
  write(data: string | Uint8Array): boolean;
  /** The request gives up: abandon the exchange. */
  resetStream(): void;
  /** Response flow control (pause/resume) and the half-close of an upgraded connection. */
  readonly socket: { pause(): unknown; resume(): unknown; end(): unknown };
}

/** A host's connection pool for one protocol and priority. */
export interface ConnPool {
  newStream(s: UpstreamStream): void;
  /** A stream no longer waits for a connection. */
  cancel(s: UpstreamStream): void;
  drain(): void;
  readonly activeConnections: number;
}
