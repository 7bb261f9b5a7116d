// One request stream of a downstream HTTP/2 connection. It is an ActiveStream — the connection
// manager, HTTP filters and router treat it like an HTTP/1.1 request — whose codec-specific half
// (reading the request, writing the response) speaks HTTP/2 through node:http2. Request bodies
// without content-length travel through the proxy in HTTP/1.1 chunked framing (the internal body
// representation, see chunked_decoder.ts); HTTP/2 bodies in either direction are unframed here.
import type http2 from 'node:http2';
import type net from 'node:net';
import { ActiveStream } from '../active_stream.ts';
import { RequestHead, type ResponseHead } from '../http1/parser.ts';
import type { DownstreamConnection } from '../downstream_connection.ts';
import type { HttpConnectionManager } from '../connection_manager.ts';
import type { ConnectionInfo } from '../../listener/connection_info.ts';
import { ResponseFlag, reasonPhrase } from '../local_reply.ts';
import { inReadBuffer } from '../../net/read_buffer.ts';
import { ChunkedDecoder, frameChunk, lastChunk, type PayloadSink } from './chunked_decoder.ts';
import { grpcMessage, grpcStatusFor, isGrpcContentType } from '../grpc.ts';
import type { Http2ServerConnection } from './server_connection.ts';
import { Http2ResponseHead } from '../../upstream/http2_client.ts';
import { H2 } from '../../lazy_modules.ts';

const OWNER = Symbol('orion.h2stream');
const EMPTY = Buffer.alloc(0);
const { NGHTTP2_INTERNAL_ERROR } = H2;
/** Envoy's body for a stream that outlived max_stream_duration (or its grpc-timeout). */

/** Response headers HTTP/2 forbids (RFC 9113 §8.2.2) or that belong to HTTP/1.1 framing. */
function isConnectionSpecific(n: string): boolean {
  switch (n) {
    case 'connection':
    case 'keep-alive':
    case 'proxy-connection':
    case 'transfer-encoding':
    case 'upgrade':
    case 'te':
    case 'http2-settings':
      return true;
    default:
      return false;
  }
}

/** The stream's view of its connection: reading pauses per stream, not per connection. */
class StreamConnection implements DownstreamConnection {
  readonly hcm: HttpConnectionManager;
  readonly socket: net.Socket;
  readonly info: ConnectionInfo | null;
  readonly scheme: string;
  private readonly c: Http2ServerConnection;
  private readonly h2: http2.ServerHttp2Stream;

  constructor(c: Http2ServerConnection, h2: http2.ServerHttp2Stream) {
    this.c = c;
    this.h2 = h2;
    this.hcm = c.hcm;
    this.socket = c.socket;
    this.info = c.info;
    this.scheme = c.scheme;
  }

  get remoteAddress(): string {
    return this.c.remoteAddress;
  }
  get remotePort(): number {
    return this.c.remotePort;
  }
  get localAddress(): string {
    return this.c.localAddress;
  }
  get localPort(): number {
    return this.c.localPort;
  }
  pauseReading(): void {
    this.h2.pause();
  }
  resumeReading(): void {
    this.h2.resume();
  }
  streamDone(): void {
    // The connection counts streams by their 'close' (both directions finished).
  }
  startTunnel(): void {
    // HTTP/1.1 upgrades do not exist in HTTP/2.
  }
}

/** Builds the internal request head from HTTP/2 header fields (pseudo-headers resolved). */
function requestHead(raw: string[], endStream: boolean): [RequestHead, string] {
  const head = new RequestHead();
  let authority = '';
  let scheme = '';
  let cookies: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i];
    const v = raw[i + 1];
    if (n.charCodeAt(0) === 58 /* : */) {
      if (n === ':method') head.method = v;
      else if (n === ':path') head.target = v;
      else if (n === ':authority') authority = v;
      else if (n === ':scheme') scheme = v;
      continue;
    }
    if (n === 'cookie') {
      // RFC 9113 §8.2.3: crumbs are joined again for an HTTP/1.1 hop.
      cookies = cookies === null ? v : cookies + '; ' + v;
      continue;
    }
    if (n === 'host') {
      if (authority === '') authority = v;
      continue;
    }
    if (n === 'content-length') head.contentLength = Number(v);
    head.headers.push(n, v);
  }
  if (cookies !== null) head.headers.push('cookie', cookies);
  head.host = authority;
  if (head.method === 'CONNECT') head.target = authority;
  // A body of unknown length is carried chunked inside the proxy.
  head.chunked = !endStream && !(head.contentLength >= 0);
  return [head, scheme];
}

export class Http2ServerStream extends ActiveStream implements PayloadSink {
  private readonly h2: http2.ServerHttp2Stream;
  readonly grpc: boolean;
  /** The upstream response body is chunk-framed (an HTTP/1.1 upstream): strip the framing. */
  private resDecoder: ChunkedDecoder | null = null;
  private writeOk = true;
  /** The response was started with waitForTrailers: trailers (or an empty set) end it. */
  private wantTrailers = false;
  private trailers: http2.OutgoingHttpHeaders | null = null;

  constructor(c: Http2ServerConnection, h2: http2.ServerHttp2Stream, raw: string[]) {
    const [head, scheme] = requestHead(raw, h2.endAfterHeaders);
    super(new StreamConnection(c, h2), head);
    this.h2 = h2;
    if (scheme !== '') this.scheme = scheme;
    this.grpc = isGrpcContentType(this.requestHeader('content-type'));
    (h2 as unknown as Record<symbol, Http2ServerStream>)[OWNER] = this;
  }

  start(): void {
    const h2 = this.h2;
    const endStream = h2.endAfterHeaders;
    h2.once('close', onClose);
    h2.on('wantTrailers', onWantTrailers);
    h2.on('drain', onDrain);
    if (!endStream) {
      h2.on('data', onData);
      h2.once('end', onEnd);
    }
    this.hcm.stats.downstream_rq_http2_total.value++;
    // As the HTTP/1.1 codec does: the body is wanted, so the client need not wait for a 100.
    if (!endStream && this.requestHeader('expect')?.toLowerCase() === '100-continue') h2.additionalHeaders({ ':status': 100 });
    this.decodeHeaders(endStream);
  }

  override get protocol(): string {
    return 'HTTP/2';
  }

  // ---- request body
  onRequestData(d: Buffer): void {
    const b = this.head.chunked ? frameChunk(d) : d;
    this.decodeData(b, 0, b.length, false);
  }

  onRequestEnd(): void {
    if (this.requestComplete) return;
    const b = this.head.chunked ? lastChunk() : EMPTY;
    this.decodeData(b, 0, b.length, true);
  }

  // ---- response
  protected override encodeHead(res: ResponseHead, chunk: Buffer, start: number, end: number, complete: boolean, serviceMs: number): void {
    if (res.status === 101 || this.h2.destroyed) return this.resetDownstream();
    const h = this.responseHeaders(res);
    h['x-envoy-upstream-service-time'] = String(serviceMs);
    const endStream = complete && end <= start;
    // Only an HTTP/2 upstream can end with trailers; waiting for them costs a frame otherwise.
    this.wantTrailers = !endStream && (res instanceof Http2ResponseHead || this.grpc);
    if (res.chunked) this.resDecoder = new ChunkedDecoder();
    try {
      this.h2.respond(h, { endStream, waitForTrailers: this.wantTrailers });
    } catch {
      return this.resetDownstream();
    }
    if (end > start) this.encodeData(chunk, start, end);
    if (complete) {
      if (!endStream) this.h2.end();
      this.finishResponse();
    }
  }

  private responseHeaders(res: ResponseHead): http2.OutgoingHttpHeaders {
    const h: http2.OutgoingHttpHeaders = { ':status': res.status };
    const hs = res.headers;
    const tokens = res.connTokens;
    const hcm = this.hcm;
    let sawServer = false;
    for (let i = 0; i < hs.length; i += 2) {
      const n = hs[i];
      if (isConnectionSpecific(n) || (tokens !== null && tokens.includes(n))) continue;
      if (n === 'content-length' && res.chunked) continue;
      if (n === 'server') {
        sawServer = true;
        if (hcm.serverTransform === 'overwrite') continue;
      }
      const prev = h[n];
      h[n] = prev === undefined ? hs[i + 1] : Array.isArray(prev) ? [...prev, hs[i + 1]] : [String(prev), hs[i + 1]];
    }
    if (hcm.serverName !== '' && (hcm.serverTransform === 'overwrite' || (hcm.serverTransform === 'append_if_absent' && !sawServer))) h.server = hcm.serverName;
    return h;
  }

  override encodeData(chunk: Buffer, start: number, end: number): boolean {
    if (end <= start || this.done) return true;
    if (this.resDecoder === null) return this.write(chunk, start, end);
    this.writeOk = true;
    this.resDecoder.decode(chunk, start, end, this);
    return this.writeOk;
  }

  /** PayloadSink: de-chunked response bytes. */
  payload(buf: Buffer, start: number, end: number): void {
    if (!this.write(buf, start, end)) this.writeOk = false;
  }

  private write(buf: Buffer, start: number, end: number): boolean {
    const h2 = this.h2;
    if (h2.destroyed) return true;
    let data = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
    // nghttp2 sends later: bytes of the shared read buffer need their own copy.
    if (inReadBuffer(data)) data = Buffer.from(data);
    return h2.write(data);
  }

  override encodeEnd(): void {
    if (this.done) return;
    if (!this.h2.destroyed) this.h2.end();
    this.finishResponse();
  }

  override encodeTrailers(trailers: string[]): void {
    if (this.done) return;
    if (this.wantTrailers) {
      const t: http2.OutgoingHttpHeaders = {};
      for (let i = 0; i < trailers.length; i += 2) t[trailers[i]] = trailers[i + 1];
      this.trailers = t;
    }
    this.encodeEnd();
  }

  onWantTrailers(): void {
    const t = this.trailers ?? {};
    this.trailers = null;
    try {
      this.h2.sendTrailers(t);
    } catch {
      this.h2.close();
    }
  }

  /** Local replies: a gRPC client gets HTTP 200 with grpc-status (trailers-only), as from Envoy. */
  protected override writeLocal(status: number, body: string, extra: string, flag: string): void {
    this.responseFlag = flag;
    this.responseStarted = true;
    const h2 = this.h2;
    let h: http2.OutgoingHttpHeaders;
    if (this.grpc) {
      this.status = 200;
      h = {
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-status': String(grpcStatusFor(status, flag)),
        'grpc-message': grpcMessage(body !== '' ? body : reasonPhrase(status)),
      };
      body = '';
    } else {
      this.status = status;
      h = { ':status': status };
      if (body !== '') {
        h['content-type'] = 'text/plain';
        h['content-length'] = body.length;
      }
    }
    if (this.hcm.serverName !== '') h.server = this.hcm.serverName;
    addExtraHeaders(h, extra);
    if (!h2.destroyed && !h2.headersSent) {
      try {
        h2.respond(h, { endStream: body === '' });
        if (body !== '') h2.end(Buffer.from(body, 'latin1'));
      } catch {
        h2.close(NGHTTP2_INTERNAL_ERROR);
      }
    }
    this.finishResponse();
  }

  /** The response cannot be completed: reset this stream only (the connection carries others). */
  override resetDownstream(): void {
    if (this.done) return;
    this.done = true;
    this.clearDuration();
    if (this.tList !== null) this.tList.remove(this);
    this.hcm.streamReset(this);
    if (!this.h2.destroyed) this.h2.close(NGHTTP2_INTERNAL_ERROR);
  }

  protected override finishResponse(): void {
    this.clearDuration();
    super.finishResponse();
  }

  onStreamClose(): void {
    this.clearDuration();
    // Closed before our response was complete: the client reset it, or the connection went away.
    if (!this.done) this.downstreamReset();
  }
}

/** `extra`: pre-rendered HTTP/1.1 header lines ("name: value\r\n"), as the router passes them. */
function addExtraHeaders(h: http2.OutgoingHttpHeaders, extra: string): void {
  if (extra === '') return;
  for (const line of extra.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const n = line.slice(0, colon).trim().toLowerCase();
    if (!isConnectionSpecific(n)) h[n] = line.slice(colon + 1).trim();
  }
}

type Owned = { [OWNER]: Http2ServerStream };

function onData(this: http2.ServerHttp2Stream, d: Buffer): void {
  (this as unknown as Owned)[OWNER].onRequestData(d);
}
function onEnd(this: http2.ServerHttp2Stream): void {
  (this as unknown as Owned)[OWNER].onRequestEnd();
}
function onDrain(this: http2.ServerHttp2Stream): void {
  (this as unknown as Owned)[OWNER].onDownstreamDrain();
}
function onWantTrailers(this: http2.ServerHttp2Stream): void {
  (this as unknown as Owned)[OWNER].onWantTrailers();
}
function onClose(this: http2.ServerHttp2Stream): void {
  (this as unknown as Owned)[OWNER].onStreamClose();
}
