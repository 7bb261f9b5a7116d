// One upstream HTTP/1.1 connection: writes a stream's request head and body, parses the response
// head, and relays body bytes as they arrive (chunked bodies stay chunked). It serves one stream at
// a time and goes back to its pool when a response completes on a reusable connection.
import type net from 'node:net';
import { findHeadEnd, parseResponseHead, ResponseHead } from '../http/http1/parser.ts';
import { ChunkedScanner } from '../http/http1/body.ts';
import type { Http1ConnPool } from './http1_conn_pool.ts';
import type { UpstreamConnection } from './upstream_connection.ts';
import { writeShared } from '../net/read_buffer.ts';

/** Why a stream could not get, or lost, its upstream connection. */
export const ResetReason = {
  CONNECT_FAILURE: 'connection failure',
  CONNECT_TIMEOUT: 'connection timeout',
  CONNECTION_TERMINATION: 'connection termination',
  PROTOCOL_ERROR: 'protocol error',
  OVERFLOW: 'overflow',
  LOCAL_RESET: 'local reset',
} as const;
export type ResetReasonValue = (typeof ResetReason)[keyof typeof ResetReason];

/** What a connection calls back on the stream it serves (the router's upstream request). */
export interface UpstreamStream {
  /** Request head (request line, headers, blank line) as latin1. */
  readonly headString: string;
  readonly isHeadRequest: boolean;
  /** Called once the stream owns `conn`: send the head, then any request body. */
  onPoolReady(conn: UpstreamConnection): void;
  onPoolFailure(reason: ResetReasonValue): void;
  /** `complete` when the whole response (head and body) was in this chunk. */
  onResponseHead(res: ResponseHead, chunk: Buffer, start: number, end: number, complete: boolean): void;
  onResponseData(chunk: Buffer, start: number, end: number): void;
  onResponseEnd(): void;
  /** HTTP/2 upstreams: the response ended with trailers (gRPC status); without it they are dropped. */
  onResponseTrailers?(trailers: string[]): void;
  onReset(reason: ResetReasonValue, receivedBytes: boolean): void;
  onUpstreamDrain(): void;
}

const ST_IDLE = 0;
const ST_HEAD = 1;
const ST_BODY_LENGTH = 2;
const ST_BODY_CHUNKED = 3;
const ST_BODY_CLOSE = 4;
/** After 101 Switching Protocols: raw bytes until either side closes. */
const ST_TUNNEL = 5;

const MAX_RESPONSE_HEAD = 96 * 1024;

export class Http1ClientConnection implements UpstreamConnection {
  readonly socket: net.Socket;
  readonly pool: Http1ConnPool;
  stream: UpstreamStream | null = null;
  connected = false;
  /** Requests this connection has been given, for max_requests_per_connection and reuse retries. */
  requests = 0;
  /** Set when the request body has been completely written. */
  requestEnded = false;
  private state = ST_IDLE;
  private remaining = 0;
  private buf: Buffer | null = null;
  private receivedBytes = false;
  private reusable = true;
  private closed = false;
  private readonly chunked = new ChunkedScanner();
  private connectTimer: NodeJS.Timeout | null = null;

  constructor(pool: Http1ConnPool, address: string, port: number, connectTimeoutMs: number) {
    this.pool = pool;
    const s = (this.socket = pool.host.connect((c) => this.onData(c)));
    s.on(pool.host.connectEvent, () => this.onConnect());
    s.on('drain', () => this.stream?.onUpstreamDrain());
    s.on('end', () => this.onEnd());
    s.on('error', () => {});
    s.on('close', () => this.onClose());
    if (connectTimeoutMs > 0) {
      this.connectTimer = setTimeout(() => this.onConnectTimeout(), connectTimeoutMs);
    }
  }

  /** Gives the connection a stream; the stream writes its head and body via write(). */
  assign(stream: UpstreamStream): void {
    this.stream = stream;
    this.state = ST_HEAD;
    this.receivedBytes = false;
    this.requestEnded = false;
    this.requests++;
    stream.onPoolReady(this);
  }

  write(data: string | Uint8Array): boolean {
    return typeof data === 'string' ? this.socket.write(data, 'latin1') : writeShared(this.socket, data);
  }

  /** The stream gives up (downstream reset, timeout): the connection cannot be reused. */
  resetStream(): void {
    this.stream = null;
    this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.reusable = false;
    this.socket.destroy();
  }

  /** Closes when idle; otherwise after the current response. */
  drain(): void {
    this.reusable = false;
    if (this.stream === null) this.destroy();
  }

  private onConnect(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.connected = true;
    this.pool.onConnected(this);
  }

  private onConnectTimeout(): void {
    this.connectTimer = null;
    this.pool.onConnectTimeout(this);
    this.socket.destroy();
  }

  /** `chunk` is the worker's shared read buffer: valid only during this call. */
  private onData(chunk: Buffer): void {
    this.pool.rxBytes(chunk.length);
    const st = this.state;
    if (st === ST_HEAD) this.onHeadData(chunk);
    else if (st === ST_BODY_LENGTH) this.onLengthBody(chunk, 0);
    else if (st === ST_BODY_CHUNKED) this.onChunkedBody(chunk, 0);
    else if (st === ST_BODY_CLOSE || st === ST_TUNNEL) this.stream?.onResponseData(chunk, 0, chunk.length);
    else this.protocolError(); // bytes with no request outstanding
  }

  private onHeadData(chunk: Buffer): void {
    this.receivedBytes = true;
    let data = chunk;
    if (this.buf !== null) {
      data = Buffer.concat([this.buf, chunk]);
      this.buf = null;
    }
    const headEnd = findHeadEnd(data, 0);
    if (headEnd < 0) {
      if (data.length > MAX_RESPONSE_HEAD) return this.protocolError();
      this.buf = data === chunk ? Buffer.from(data) : data; // chunk is the shared read buffer
      return;
    }
    const res = new ResponseHead();
    if (parseResponseHead(data.latin1Slice(0, headEnd), res, 1000) !== 0) return this.protocolError();
    if (res.status < 200 && res.status !== 101) {
      // 1xx informational (100 Continue was answered by us downstream): skip it.
      if (headEnd < data.length) this.onHeadData(data.subarray(headEnd));
      return;
    }
    this.startBody(res, data, headEnd);
  }

  private startBody(res: ResponseHead, data: Buffer, headEnd: number): void {
    const stream = this.stream!;
    if (res.status === 101) {
      this.state = ST_TUNNEL;
      this.reusable = false;
      stream.onResponseHead(res, data, headEnd, data.length, false);
      return;
    }
    if (res.connClose || res.minor === 0 && !res.connKeepAlive) this.reusable = false;
    const noBody = stream.isHeadRequest || res.status === 204 || res.status === 304;
    if (noBody || (!res.chunked && res.contentLength === 0)) {
      if (headEnd < data.length) this.reusable = false;
      stream.onResponseHead(res, data, headEnd, headEnd, true);
      return this.finish();
    }
    if (res.chunked) {
      this.state = ST_BODY_CHUNKED;
      this.chunked.reset();
      stream.onResponseHead(res, data, headEnd, headEnd, false);
      if (this.stream === stream && headEnd < data.length) this.onChunkedBody(data, headEnd);
      return;
    }
    if (res.contentLength > 0) return this.startLengthBody(res, data, headEnd);
    this.state = ST_BODY_CLOSE;
    this.reusable = false;
    stream.onResponseHead(res, data, headEnd, data.length, false);
  }

  private startLengthBody(res: ResponseHead, data: Buffer, headEnd: number): void {
    const stream = this.stream!;
    const avail = data.length - headEnd;
    if (avail >= res.contentLength) {
      if (avail > res.contentLength) this.reusable = false;
      stream.onResponseHead(res, data, headEnd, headEnd + res.contentLength, true);
      return this.finish();
    }
    this.state = ST_BODY_LENGTH;
    this.remaining = res.contentLength - avail;
    stream.onResponseHead(res, data, headEnd, data.length, false);
  }

  private onLengthBody(chunk: Buffer, start: number): void {
    const n = chunk.length - start;
    const stream = this.stream!;
    if (n < this.remaining) {
      this.remaining -= n;
      stream.onResponseData(chunk, start, chunk.length);
      return;
    }
    const end = start + this.remaining;
    if (end < chunk.length) this.reusable = false; // bytes past the response: the upstream broke framing
    this.remaining = 0;
    stream.onResponseData(chunk, start, end);
    this.completeBody();
  }

  private onChunkedBody(chunk: Buffer, start: number): void {
    const end = this.chunked.scan(chunk, start, chunk.length);
    if (end < 0) return this.protocolError();
    const stream = this.stream!;
    stream.onResponseData(chunk, start, end);
    if (!this.chunked.done) return;
    if (end < chunk.length) this.reusable = false;
    this.completeBody();
  }

  private completeBody(): void {
    const stream = this.stream!;
    this.finish();
    stream.onResponseEnd();
  }

  /** The response is complete: hand the connection back, or close it. */
  private finish(): void {
    this.stream = null;
    this.state = ST_IDLE;
    if (!this.requestEnded) this.reusable = false;
    if (!this.reusable || this.closed) return this.destroy();
    // The last body bytes may have met downstream backpressure and paused reading; the
    // downstream's drain no longer reaches this connection, so the next request would hang.
    if (this.socket.isPaused()) this.socket.resume();
    this.pool.release(this);
  }

  private onEnd(): void {
    if ((this.state === ST_BODY_CLOSE || this.state === ST_TUNNEL) && this.stream !== null) {
      const stream = this.stream;
      this.stream = null;
      this.state = ST_IDLE;
      stream.onResponseEnd();
    }
    this.destroy();
  }

  private protocolError(): void {
    this.pool.protocolError();
    const s = this.stream;
    this.stream = null;
    this.destroy();
    s?.onReset(ResetReason.PROTOCOL_ERROR, this.receivedBytes);
  }

  private onClose(): void {
    this.closed = true;
    this.reusable = false;
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    const s = this.stream;
    this.stream = null;
    this.pool.onClosed(this);
    if (s !== null) s.onReset(this.connected ? ResetReason.CONNECTION_TERMINATION : ResetReason.CONNECT_FAILURE, this.receivedBytes);
  }
}
