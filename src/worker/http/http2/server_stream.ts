// One request stream of a downstream HTTP/2 connection. It is an ActiveStream — the connection
// manager, HTTP filters and router treat it like an HTTP/1.1 request — whose codec-specific half
// (reading the request, writing the response) goes through the connection's HTTP/2 codec
// (server_connection.ts). Request bodies without content-length travel through the proxy in
// HTTP/1.1 chunked framing (the internal body representation, see chunked_decoder.ts); HTTP/2
// bodies in either direction are unframed here.
import { ActiveStream } from '../active_stream.ts';
import type { RequestHead, ResponseHead } from '../http1/parser.ts';
import { reasonPhrase } from '../local_reply.ts';
import { ChunkedDecoder, frameChunk, lastChunk, type PayloadSink } from './chunked_decoder.ts';
import { grpcMessage, grpcStatusFor, isGrpcContentType } from '../grpc.ts';
import { E_INTERNAL_ERROR, type H2Stream, type H2StreamHandler } from './server_connection.ts';

const EMPTY = Buffer.alloc(0);

/** Response headers HTTP/2 forbids (RFC 9113 §8.2.2) or that belong to HTTP/1.1 framing. */
export function isConnectionSpecific(n: string): boolean {
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

export class Http2ServerStream extends ActiveStream implements H2StreamHandler, PayloadSink {
  private readonly s: H2Stream;
  readonly grpc: boolean;
  /** The upstream response body is chunk-framed (an HTTP/1.1 upstream): strip the framing. */
  private resDecoder: ChunkedDecoder | null = null;
  private writeOk = true;

  constructor(s: H2Stream, head: RequestHead, scheme: string) {
    super(s, head);
    this.s = s;
    s.handler = this;
    if (scheme !== '') this.scheme = scheme;
    this.grpc = isGrpcContentType(this.requestHeader('content-type'));
  }

  start(endStream: boolean): void {
    this.hcm.stats.downstream_rq_http2_total.value++;
    // As the HTTP/1.1 codec does: the body is wanted, so the client need not wait for a 100.
    if (!endStream && this.head.expectContinue) this.s.c.informational(this.s, 100);
    this.decodeHeaders(endStream);
  }

  override get protocol(): string {
    return 'HTTP/2';
  }

  // ---- request body (H2StreamHandler)
  onStreamData(buf: Buffer, start: number, end: number): void {
    if (end <= start) return;
    if (this.head.chunked) {
      const b = frameChunk(buf.subarray(start, end));
      this.decodeData(b, 0, b.length, false);
    } else {
      this.decodeData(buf, start, end, false);
    }
  }

  onStreamEnd(): void {
    if (this.requestComplete) return;
    const b = this.head.chunked ? lastChunk() : EMPTY;
    this.decodeData(b, 0, b.length, true);
  }

  onStreamWritable(): void {
    this.onDownstreamDrain();
  }

  onStreamClose(reset: boolean): void {
    this.clearDuration();
    // Reset before our response was complete: by the client, or the connection went away.
    if (reset && !this.done) this.downstreamReset();
  }

  // ---- response
  protected override encodeHead(res: ResponseHead, chunk: Buffer, start: number, end: number, complete: boolean, serviceMs: number): void {
    const s = this.s;
    if (res.status === 101 || s.closed) return this.resetDownstream();
    const c = s.c;
    const hcm = this.hcm;
    c.beginHeaders();
    c.status(res.status);
    const hs = res.headers;
    const tokens = res.connTokens;
    let sawServer = false;
    for (let i = 0; i < hs.length; i += 2) {
      const n = hs[i];
      if (isConnectionSpecific(n) || (tokens !== null && tokens.includes(n))) continue;
      if (n === 'content-length' && res.chunked) continue;
      if (n === 'server') {
        sawServer = true;
        if (hcm.serverTransform === 'overwrite') continue;
      }
      c.field(n, hs[i + 1]);
    }
    if (hcm.serverName !== '' && (hcm.serverTransform === 'overwrite' || (hcm.serverTransform === 'append_if_absent' && !sawServer))) c.field('server', hcm.serverName);
    c.field('x-envoy-upstream-service-time', String(serviceMs));
    const hasBody = end > start;
    c.endHeaders(s, complete && !hasBody);
    if (res.chunked) this.resDecoder = new ChunkedDecoder();
    if (hasBody) {
      if (complete && this.resDecoder === null) {
        // The whole response at once: its data frame ends the stream.
        this.finishResponse();
        c.sendData(s, chunk, start, end, true);
        return;
      }
      this.encodeData(chunk, start, end);
    }
    if (complete) this.encodeEnd();
  }

  override encodeData(chunk: Buffer, start: number, end: number): boolean {
    if (end <= start || this.done) return true;
    if (this.resDecoder === null) return this.s.c.sendData(this.s, chunk, start, end, false);
    this.writeOk = true;
    this.resDecoder.decode(chunk, start, end, this);
    return this.writeOk;
  }

  /** PayloadSink: de-chunked response bytes. */
  payload(buf: Buffer, start: number, end: number): void {
    if (!this.s.c.sendData(this.s, buf, start, end, false)) this.writeOk = false;
  }

  override encodeEnd(): void {
    if (this.done) return;
    this.finishResponse();
    this.s.c.sendData(this.s, EMPTY, 0, 0, true);
  }

  override encodeTrailers(trailers: string[]): void {
    if (this.done) return;
    this.finishResponse();
    this.s.c.sendTrailers(this.s, trailers);
  }

  /** Local replies: a gRPC client gets HTTP 200 with grpc-status (trailers-only), as from Envoy. */
  protected override writeLocal(status: number, body: string, extra: string, flag: string): void {
    this.responseFlag = flag;
    this.responseStarted = true;
    const s = this.s;
    if (s.closed || s.headersSent) return this.finishResponse();
    const c = s.c;
    const grpc = this.grpc;
    this.status = grpc ? 200 : status;
    c.beginHeaders();
    c.status(this.status);
    if (grpc) {
      c.field('content-type', 'application/grpc');
      c.field('grpc-status', String(grpcStatusFor(status, flag)));
      c.field('grpc-message', grpcMessage(body !== '' ? body : reasonPhrase(status)));
      body = '';
    } else if (body !== '') {
      c.field('content-type', 'text/plain');
      c.field('content-length', String(Buffer.byteLength(body, 'latin1')));
    }
    if (this.hcm.serverName !== '') c.field('server', this.hcm.serverName);
    if (extra !== '') addExtraHeaders(c, extra);
    c.endHeaders(s, body === '');
    this.finishResponse();
    if (body !== '') {
      const b = Buffer.from(body, 'latin1');
      c.sendData(s, b, 0, b.length, true);
    }
  }

  /** The response cannot be completed: reset this stream only (the connection carries others). */
  override resetDownstream(): void {
    if (this.done) return;
    this.done = true;
    this.clearDuration();
    if (this.tList !== null) this.tList.remove(this);
    this.hcm.streamReset(this);
    this.s.c.resetStream(this.s, E_INTERNAL_ERROR);
  }

  protected override finishResponse(): void {
    this.clearDuration();
    super.finishResponse();
  }
}

/** `extra`: pre-rendered HTTP/1.1 header lines ("name: value\r\n"), as the router passes them. */
function addExtraHeaders(c: H2Stream['c'], extra: string): void {
  for (const line of extra.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const n = line.slice(0, colon).trim().toLowerCase();
    if (!isConnectionSpecific(n)) c.field(n, line.slice(colon + 1).trim());
  }
}
