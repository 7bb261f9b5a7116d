// The downstream HTTP/1.1 codec of one client connection. It frames requests (head, then a
// content-length or chunked body relayed unchanged), runs one stream at a time and keeps later
// pipelined requests buffered until the current response is complete.
import type net from 'node:net';
import { findHeadEnd, parseRequestHead, RequestHead } from './parser.ts';
import { ChunkedScanner } from './body.ts';
import { ActiveStream } from '../active_stream.ts';
import type { HttpConnectionManager } from '../connection_manager.ts';
import { LocalBody, ResponseFlag, renderLocalReply } from '../local_reply.ts';
import type { TimerNode, TimerList } from '../../timer_list.ts';
import { adoptAccepted } from '../../net/read_buffer.ts';
import type { ConnectionInfo } from '../../listener/connection_info.ts';
import { DownstreamAddresses } from '../downstream_addresses.ts';

const BODY_NONE = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;
/** After a 101: every byte belongs to the upgraded protocol and is relayed as is. */
const BODY_TUNNEL = 3;

/** Pipelined bytes buffered beyond this pause reading from the client. */
const PIPELINE_HIGH_WATER = 64 * 1024;

export class Http1ServerConnection extends DownstreamAddresses implements TimerNode {
  readonly socket: net.Socket;
  readonly hcm: HttpConnectionManager;
  /** Addresses restored by listener filters, dynamic metadata; null for a plain connection. */
  readonly info: ConnectionInfo | null;
  /** 'https' over TLS (the chain terminated it), else 'http'. */
  readonly scheme: string;
  stream: ActiveStream | null = null;
  closing = false;
  private buf: Buffer | null = null;
  private bodyMode = BODY_NONE;
  private bodyRemaining = 0;
  private readonly chunked = new ChunkedScanner();
  private requests = 0;
  private readPaused = false;
  /** Part of a request head has arrived and request_headers_timeout is armed for it. */
  private awaitingHead = false;
  /** The connection became HTTP/2 (the preface arrived): its socket belongs to the HTTP/2 codec. */
  private switched = false;
  // TimerNode: connection idle timeout while no stream is active.
  tPrev: TimerNode | null = null;
  tNext: TimerNode | null = null;
  tDeadline = 0;
  tList: TimerList | null = null;

  constructor(hcm: HttpConnectionManager, accepted: net.Socket, info: ConnectionInfo | null = null) {
    super();
    this.hcm = hcm;
    this.info = info;
    const socket = (this.socket = adoptAccepted(accepted, (c) => this.onData(c)));
    this.scheme = (socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
    socket.on('drain', () => this.stream?.onDownstreamDrain());
    socket.on('end', () => this.onEnd());
    socket.on('error', () => {});
    socket.on('close', () => this.onClose());
    hcm.connectionOpened(this);
    // Bytes listener filters already read (after a PROXY header, or peeked by an inspector).
    if (info !== null && info.initial !== null) this.onData(info.initial);
  }

  /** `chunk` is the worker's shared read buffer: whatever is kept past this call is copied. */
  private onData(chunk: Buffer): void {
    if (this.closing) return;
    if (this.bodyMode === BODY_TUNNEL) return this.stream?.decodeData(chunk, 0, chunk.length, false);
    if (this.bodyMode !== BODY_NONE) return this.onBody(chunk, 0);
    if (this.stream !== null) return this.bufferPipelined(chunk);
    this.buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    this.processBuffer();
    if (this.buf === chunk || (this.buf !== null && this.buf.buffer === chunk.buffer)) this.buf = Buffer.from(this.buf);
  }

  private bufferPipelined(chunk: Buffer): void {
    this.buf = this.buf === null ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    if (this.buf.length > PIPELINE_HIGH_WATER) this.pauseReading();
  }

  /** Parses as many complete requests as the buffer holds while no stream is active. */
  private processBuffer(): void {
    while (this.buf !== null && this.stream === null && !this.closing) {
      const data = this.buf;
      const headEnd = findHeadEnd(data, 0);
      if (headEnd < 0) return this.awaitMoreHead(data);
      this.buf = headEnd < data.length ? data.subarray(headEnd) : null;
      if (!this.startRequest(data, headEnd)) return;
      if (this.bodyMode !== BODY_NONE && this.buf !== null) {
        const rest = this.buf;
        this.buf = null;
        this.onBody(rest, 0);
      }
    }
    if (this.stream === null && this.readPaused) this.resumeReading();
  }

  private awaitMoreHead(data: Buffer): void {
    if (data.length > this.hcm.maxRequestHeadersBytes) {
      this.buf = null;
      return this.protocolError(431, LocalBody.HEADERS_TOO_LARGE);
    }
    // request_headers_timeout runs from the first byte of a head until the head is complete.
    const t = this.hcm.requestHeadersTimer;
    if (t !== null && !this.awaitingHead) {
      this.awaitingHead = true;
      t.add(this, Date.now());
    }
  }

  private startRequest(data: Buffer, headEnd: number): boolean {
    const hcm = this.hcm;
    if (headEnd > hcm.maxRequestHeadersBytes) {
      this.protocolError(431, LocalBody.HEADERS_TOO_LARGE);
      return false;
    }
    const head = new RequestHead();
    const st = parseRequestHead(data.latin1Slice(0, headEnd), head, hcm.maxHeadersCount);
    if (st !== 0) {
      // codec_type AUTO: a connection opening with the HTTP/2 preface is handed to the HTTP/2 codec.
      if (head.method === 'PRI' && this.requests === 0 && hcm.http2Options !== null) return this.switchToHttp2(data);
      this.protocolError(st, st === 431 ? LocalBody.HEADERS_TOO_LARGE : st === 501 ? LocalBody.NOT_IMPLEMENTED : LocalBody.BAD_REQUEST);
      return false;
    }
    this.requests++;
    this.awaitingHead = false;
    if (this.tList !== null) this.tList.remove(this);
    if (head.chunked) {
      this.bodyMode = BODY_CHUNKED;
      this.chunked.reset();
    } else if (head.contentLength > 0) {
      this.bodyMode = BODY_LENGTH;
      this.bodyRemaining = head.contentLength;
    }
    const stream = (this.stream = new ActiveStream(this, head));
    if (hcm.maxRequestsPerConnection > 0 && this.requests >= hcm.maxRequestsPerConnection) stream.keepAlive = false;
    if (head.expectContinue && this.bodyMode !== BODY_NONE) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    hcm.stats.downstream_rq_http1_total.value++;
    stream.decodeHeaders(this.bodyMode === BODY_NONE);
    return true;
  }

  /** Prior-knowledge h2c: the socket and every byte read so far go to the HTTP/2 codec. */
  private switchToHttp2(data: Buffer): false {
    this.closing = true;
    this.switched = true;
    this.buf = null;
    if (this.tList !== null) this.tList.remove(this);
    this.hcm.switchToHttp2(this, Buffer.from(data));
    return false;
  }

  private onBody(chunk: Buffer, start: number): void {
    const stream = this.stream!;
    let end: number;
    if (this.bodyMode === BODY_LENGTH) {
      end = Math.min(chunk.length, start + this.bodyRemaining);
      this.bodyRemaining -= end - start;
      if (this.bodyRemaining === 0) this.bodyMode = BODY_NONE;
    } else {
      end = this.chunked.scan(chunk, start, chunk.length);
      if (end < 0) return this.bodyFramingError(stream);
      if (this.chunked.done) this.bodyMode = BODY_NONE;
    }
    stream.decodeData(chunk, start, end, this.bodyMode === BODY_NONE);
    if (end < chunk.length) {
      // The next pipelined request starts here; it waits for this response.
      this.buf = chunk.subarray(end);
      if (this.stream === null) this.processBuffer();
      if (this.buf !== null && this.buf.buffer === chunk.buffer) this.buf = Buffer.from(this.buf);
    }
  }

  private bodyFramingError(stream: ActiveStream): void {
    this.bodyMode = BODY_NONE;
    stream.downstreamProtocolError();
  }

  /** A malformed request: Envoy's status, never forwarded, connection closed after the reply. */
  protocolError(status: number, body: string): void {
    this.hcm.stats.downstream_cx_protocol_error.value++;
    this.hcm.countResponse(status);
    this.closing = true;
    this.socket.end(renderLocalReply(status, body, this.hcm.serverName, true, ''), 'latin1');
  }

  /** The upstream accepted an upgrade: relay raw bytes from now on (including any already read). */
  startTunnel(): void {
    this.bodyMode = BODY_TUNNEL;
    const early = this.buf;
    this.buf = null;
    // Reading may have stopped at the pipelining limit while the tunnel was being set up; resumed
    // first, so that backpressure from flushing the early bytes can pause it again.
    this.resumeReading();
    if (early !== null) this.stream?.decodeData(early, 0, early.length, false);
  }

  /** Called by the stream once its response is fully written. */
  streamDone(stream: ActiveStream): void {
    if (this.stream !== stream) return;
    this.stream = null;
    if (!stream.keepAlive || this.bodyMode !== BODY_NONE || this.hcm.draining) {
      this.bodyMode = BODY_NONE;
      this.closing = true;
      this.socket.end();
      return;
    }
    this.hcm.idleTimer?.add(this, Date.now());
    if (this.buf !== null) this.processBuffer();
    else if (this.readPaused) this.resumeReading();
  }

  pauseReading(): void {
    if (this.readPaused) return;
    this.readPaused = true;
    this.socket.pause();
  }

  resumeReading(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    this.socket.resume();
  }

  onTimeout(): void {
    if (this.stream !== null) return;
    if (this.awaitingHead) {
      this.hcm.stats.downstream_rq_header_timeout.value++;
      return this.protocolError(408, LocalBody.REQUEST_HEADER_TIMEOUT);
    }
    this.close();
  }

  /** Drain: close now when idle, after the current response otherwise. */
  drain(): void {
    if (this.stream === null) this.close();
  }

  close(): void {
    this.closing = true;
    this.socket.end();
    this.socket.destroySoon();
  }

  private onEnd(): void {
    // Half-close from the client: finish the current response, then close. (After our own
    // `connection: close` reply the write side is already ended; ending it again allocates an error.)
    if (this.switched) return;
    if (this.stream === null) {
      if (!this.socket.writableEnded) this.socket.end();
    } else if (this.bodyMode === BODY_TUNNEL) {
      this.stream.upstream?.endTunnel();
    }
    else this.stream.keepAlive = false;
  }

  private onClose(): void {
    if (this.switched) return;
    this.closing = true;
    if (this.tList !== null) this.tList.remove(this);
    const s = this.stream;
    this.stream = null;
    if (s !== null) s.downstreamReset();
    this.hcm.connectionClosed(this);
  }
}
