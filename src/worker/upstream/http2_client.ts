// One multiplexed upstream HTTP/2 connection (node:http2 client session, h2c or TLS with ALPN h2)
// and the streams it carries. Each stream is the UpstreamConnection its router request writes to:
// the HTTP/1.1 head the router built becomes HTTP/2 header fields, chunk-framed bodies are
// unframed, and the response (with trailers) goes back through the same UpstreamStream callbacks
// an HTTP/1.1 connection uses.
import type http2 from 'node:http2';
import net from 'node:net';
import type tls from 'node:tls';
import { parseRequestHead, RequestHead, ResponseHead } from '../http/http1/parser.ts';
import { ChunkedDecoder, type PayloadSink } from '../http/http2/chunked_decoder.ts';
import { isGrpcContentType } from '../http/grpc.ts';
import { inReadBuffer } from '../net/read_buffer.ts';
import { ResetReason, type UpstreamStream } from './http1_client.ts';
import type { UpstreamConnection } from './upstream_connection.ts';
import type { Http2ConnPool } from './http2_conn_pool.ts';
import { TLS_READY, type UpstreamTls } from '../tls/upstream_tls.ts';
import { http2Module, H2 } from '../lazy_modules.ts';

const EMPTY = Buffer.alloc(0);

/** A response from an HTTP/2 upstream: trailers may follow its body. */
export class Http2ResponseHead extends ResponseHead {
  readonly http2 = true;
}
const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, HTTP2_HEADER_STATUS } = H2;
const STREAM = Symbol('orion.h2up');

/** Request headers HTTP/2 forbids or that only frame HTTP/1.1 (the router already dropped most). */
function skipRequestHeader(n: string): boolean {
  switch (n) {
    case 'host':
    case 'connection':
    case 'keep-alive':
    case 'proxy-connection':
    case 'transfer-encoding':
    case 'upgrade':
    case 'te':
      return true;
    default:
      return false;
  }
}

export class Http2ClientConnection {
  readonly pool: Http2ConnPool;
  readonly socket: net.Socket;
  session: http2.ClientHttp2Session | null = null;
  connected = false;
  /** Streams open on this connection; at most `maxConcurrent`. */
  active = 0;
  /** Streams ever opened (max_requests_per_connection). */
  streams = 0;
  maxConcurrent: number;
  /** GOAWAY received or sent: no new streams. */
  draining = false;
  closed = false;
  private readonly scheme: string;
  private connectTimer: NodeJS.Timeout | null = null;

  constructor(pool: Http2ConnPool, address: string, port: number, tlsCtx: UpstreamTls | null, alpn: string[], connectTimeoutMs: number, maxConcurrent: number) {
    this.pool = pool;
    this.maxConcurrent = maxConcurrent;
    this.scheme = tlsCtx === null ? 'http' : 'https';
    const s = (this.socket = tlsCtx === null ? net.connect({ host: address, port, noDelay: true }) : tlsCtx.connect(address, port, alpn, null));
    s.once(tlsCtx === null ? 'connect' : TLS_READY, () => this.onTransportReady());
    s.on('error', () => {});
    s.once('close', () => this.onClose());
    if (connectTimeoutMs > 0) this.connectTimer = setTimeout(() => this.onConnectTimeout(), connectTimeoutMs);
  }

  /** Whether another stream may start here now. */
  get available(): boolean {
    return this.connected && !this.draining && this.active < this.maxConcurrent;
  }

  private onTransportReady(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    const alpn = (this.socket as tls.TLSSocket).alpnProtocol;
    if (this.scheme === 'https' && alpn !== 'h2') {
      // ALPN chose HTTP/1.1 (auto_config) or nothing: this host does not speak HTTP/2 over TLS.
      this.pool.onAlpnHttp1(this);
      this.socket.destroy();
      return;
    }
    const session = (this.session = http2Module().connect(`${this.scheme}://${this.pool.host.key}`, {
      createConnection: () => this.socket,
      settings: this.pool.settings,
      maxSessionMemory: 64,
      // Until the server's SETTINGS arrive (nghttp2's default assumption is 100).
      peerMaxConcurrentStreams: this.maxConcurrent,
    }));
    session.on('error', () => {});
    session.on('remoteSettings', (st) => {
      if (st.maxConcurrentStreams !== undefined) this.maxConcurrent = Math.min(this.pool.maxConcurrentStreams, st.maxConcurrentStreams);
      this.pool.onCapacity(this);
    });
    session.on('goaway', () => {
      this.draining = true;
      this.pool.onDraining(this);
    });
    const win = this.pool.connectionWindow;
    if (win > 65535) session.once('connect', () => session.setLocalWindowSize(win));
    this.connected = true;
    this.pool.onConnected(this);
  }

  private onConnectTimeout(): void {
    this.connectTimer = null;
    this.pool.onConnectTimeout(this);
    this.socket.destroy();
  }

  /** Starts `us` on this connection (the pool checked `available`). */
  attach(us: UpstreamStream): void {
    this.active++;
    this.streams++;
    new Http2UpstreamStream(this, us, this.scheme).ready();
  }

  streamClosed(): void {
    this.active--;
    this.pool.onStreamClosed(this);
  }

  /** No new streams; the connection closes once its streams are done. */
  drain(): void {
    this.draining = true;
    if (this.active === 0) this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    if (this.session !== null && !this.session.destroyed) this.session.destroy();
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.draining = true;
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    // Open streams see their own 'close' (session destroyed) and reset their requests.
    if (this.session !== null && !this.session.destroyed) this.session.destroy();
    this.pool.onClosed(this);
  }

  request(headers: http2.OutgoingHttpHeaders, endStream: boolean): http2.ClientHttp2Stream {
    return this.session!.request(headers, { endStream });
  }
}

/** One request on an upstream HTTP/2 connection: the router's UpstreamConnection for it. */
class Http2UpstreamStream implements UpstreamConnection, PayloadSink {
  readonly requests: number;
  readonly socket: { pause(): void; resume(): void; end(): void };
  private readonly conn: Http2ClientConnection;
  private readonly us: UpstreamStream;
  private readonly scheme: string;
  private h2: http2.ClientHttp2Stream | null = null;
  private head: http2.OutgoingHttpHeaders | null = null;
  /** Body bytes written before the HEADERS went out (they follow right after). */
  private early: Buffer[] | null = null;
  private bodyDecoder: ChunkedDecoder | null = null;
  private ended = false;
  private writeOk = true;
  private responded = false;
  private complete = false;
  private trailers: string[] | null = null;
  private aborted = false;

  constructor(conn: Http2ClientConnection, us: UpstreamStream, scheme: string) {
    this.conn = conn;
    this.us = us;
    this.scheme = scheme;
    this.requests = conn.streams;
    this.socket = this;
  }

  ready(): void {
    this.us.onPoolReady(this);
    // Not complete yet (a streamed body): the HEADERS go now, the body as it arrives.
    if (this.h2 === null && !this.aborted) this.open(false);
  }

  get requestEnded(): boolean {
    return this.ended;
  }

  set requestEnded(v: boolean) {
    if (!v || this.ended) return;
    this.ended = true;
    if (this.aborted) return;
    if (this.h2 === null) this.open(true);
    else if (!this.h2.destroyed) this.h2.end();
  }

  write(data: string | Uint8Array): boolean {
    if (this.aborted) return true;
    if (typeof data === 'string') {
      this.head = toHttp2Request(data, this.scheme, this);
      return true;
    }
    if (data.length === 0) return true;
    const b = data as Buffer;
    if (this.bodyDecoder !== null) {
      this.writeOk = true;
      this.bodyDecoder.decode(b, 0, b.length, this);
      return this.writeOk;
    }
    return this.send(b, 0, b.length);
  }

  /** PayloadSink: request bytes without their chunked framing. */
  payload(buf: Buffer, start: number, end: number): void {
    if (!this.send(buf, start, end)) this.writeOk = false;
  }

  private send(buf: Buffer, start: number, end: number): boolean {
    let data = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
    if (inReadBuffer(data)) data = Buffer.from(data);
    if (this.h2 === null) {
      (this.early ??= []).push(data);
      return true;
    }
    return this.h2.destroyed ? true : this.h2.write(data);
  }

  /** The request body was chunk-framed (HTTP/1.1 client or unknown length): unframe it. */
  unframeBody(): void {
    this.bodyDecoder = new ChunkedDecoder();
  }

  private open(endStream: boolean): void {
    const head = this.head;
    if (head === null) return this.fail(ResetReason.PROTOCOL_ERROR);
    const early = this.early;
    this.early = null;
    let h2: http2.ClientHttp2Stream;
    try {
      h2 = this.h2 = this.conn.request(head, endStream && early === null);
    } catch {
      return this.fail(ResetReason.CONNECTION_TERMINATION);
    }
    (h2 as unknown as Record<symbol, Http2UpstreamStream>)[STREAM] = this;
    h2.on('response', onResponse);
    h2.on('data', onData);
    h2.on('trailers', onTrailers);
    h2.once('end', onEnd);
    h2.once('close', onClose);
    h2.on('drain', onDrain);
    h2.on('error', () => {});
    if (early !== null) {
      for (const b of early) h2.write(b);
      if (endStream) h2.end();
    }
  }

  /** The stream could not start: give the request back as a reset. */
  private fail(reason: (typeof ResetReason)[keyof typeof ResetReason]): void {
    if (this.aborted) return;
    this.aborted = true;
    this.conn.streamClosed();
    this.us.onReset(reason, false);
  }

  // ---- flow control (the router's `conn.socket`)
  pause(): void {
    this.h2?.pause();
  }
  resume(): void {
    this.h2?.resume();
  }
  end(): void {
    this.requestEnded = true;
  }

  resetStream(): void {
    if (this.aborted) return;
    this.aborted = true;
    const h2 = this.h2;
    if (h2 === null) this.conn.streamClosed();
    else if (!h2.destroyed) h2.close(NGHTTP2_CANCEL);
  }

  // ---- response
  onResponse(headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader, flags: number): void {
    if (this.aborted) return;
    this.responded = true;
    const res = new Http2ResponseHead();
    res.status = Number(headers[HTTP2_HEADER_STATUS]);
    for (const [n, v] of Object.entries(headers)) {
      if (n.charCodeAt(0) === 58 || v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) res.headers.push(n, x);
      else res.headers.push(n, String(v));
      if (n === 'content-length') res.contentLength = Number(v);
    }
    const endStream = (flags & H2.NGHTTP2_FLAG_END_STREAM) !== 0;
    if (endStream) this.complete = true;
    this.us.onResponseHead(res, EMPTY, 0, 0, endStream);
  }

  onData(d: Buffer): void {
    if (!this.aborted && !this.complete) this.us.onResponseData(d, 0, d.length);
  }

  onTrailers(t: http2.IncomingHttpHeaders): void {
    const flat: string[] = [];
    for (const [n, v] of Object.entries(t)) {
      if (n.charCodeAt(0) === 58 || v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) flat.push(n, x);
      else flat.push(n, String(v));
    }
    this.trailers = flat;
  }

  onEnd(): void {
    if (this.aborted || this.complete || !this.responded) return;
    this.complete = true;
    const t = this.trailers;
    if (t !== null && this.us.onResponseTrailers !== undefined) this.us.onResponseTrailers(t);
    else this.us.onResponseEnd();
  }

  onUpstreamDrain(): void {
    if (!this.aborted) this.us.onUpstreamDrain();
  }

  onClose(): void {
    this.conn.streamClosed();
    if (this.aborted) return;
    this.aborted = true;
    if (this.complete) return;
    // Reset before the response completed: the stream, the connection or GOAWAY ended it.
    const refused = this.h2 !== null && this.h2.rstCode === NGHTTP2_REFUSED_STREAM;
    this.us.onReset(ResetReason.CONNECTION_TERMINATION, this.responded && !refused);
  }
}

/** The router's HTTP/1.1 request head as HTTP/2 header fields. */
function toHttp2Request(headString: string, scheme: string, s: Http2UpstreamStream): http2.OutgoingHttpHeaders | null {
  const head = new RequestHead();
  if (parseRequestHead(headString, head, 10_000) !== 0) return null;
  const h: http2.OutgoingHttpHeaders = { ':method': head.method, ':scheme': scheme };
  if (head.method === 'CONNECT') h[':authority'] = head.target;
  else {
    h[':path'] = head.target;
    h[':authority'] = head.host;
  }
  const hs = head.headers;
  let grpc = false;
  for (let i = 0; i < hs.length; i += 2) {
    const n = hs[i];
    if (skipRequestHeader(n)) continue;
    if (n === 'content-type' && isGrpcContentType(hs[i + 1])) grpc = true;
    const prev = h[n];
    h[n] = prev === undefined ? hs[i + 1] : Array.isArray(prev) ? [...prev, hs[i + 1]] : [String(prev), hs[i + 1]];
  }
  // gRPC servers expect `te: trailers` (the one TE value HTTP/2 allows); the router drops TE.
  if (grpc) h.te = 'trailers';
  if (head.chunked) s.unframeBody();
  return h;
}

type Owned = { [STREAM]: Http2UpstreamStream };

function onResponse(this: http2.ClientHttp2Stream, headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader, flags: number): void {
  (this as unknown as Owned)[STREAM].onResponse(headers, flags);
}
function onData(this: http2.ClientHttp2Stream, d: Buffer): void {
  (this as unknown as Owned)[STREAM].onData(d);
}
function onTrailers(this: http2.ClientHttp2Stream, t: http2.IncomingHttpHeaders): void {
  (this as unknown as Owned)[STREAM].onTrailers(t);
}
function onEnd(this: http2.ClientHttp2Stream): void {
  (this as unknown as Owned)[STREAM].onEnd();
}
function onClose(this: http2.ClientHttp2Stream): void {
  (this as unknown as Owned)[STREAM].onClose();
}
function onDrain(this: http2.ClientHttp2Stream): void {
  (this as unknown as Owned)[STREAM].onUpstreamDrain();
}
