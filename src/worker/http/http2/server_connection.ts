// The downstream HTTP/2 codec of one client connection (Envoy's Http2::ServerConnectionImpl), on
// the raw socket: frames (RFC 9113) are parsed straight from the worker's shared read buffer and
// HPACK (hpack.ts) turns header blocks into the proxy's request heads, with no per-stream stream
// objects or events in between. Each request stream becomes an Http2ServerStream (an ActiveStream:
// the connection manager, filters and router see it as any request); CONNECT streams go to the
// connection manager's CONNECT termination (h2_connect.ts) through a small stream adapter.
//
// Writing: every frame of one event-loop turn is put into one buffer per connection, and the
// buffers of all connections are written once the turn's I/O callbacks have run (setImmediate):
// many responses, one write. Flow control both ways (RFC 9113 §5.2, §6.9): response data beyond
// the client's windows waits in its stream; request data is credited back as the upstream takes
// it, and no longer while the stream is paused (its upstream is not keeping up).
import type http2 from 'node:http2';
import type net from 'node:net';
import type { Http2OptionsSnap } from '../../../shared/snapshot.ts';
import type { HttpConnectionManager } from '../connection_manager.ts';
import type { ConnectionInfo } from '../../listener/connection_info.ts';
import type { TimerList, TimerNode } from '../../timer_list.ts';
import type { DownstreamConnection } from '../downstream_connection.ts';
import type { ActiveStream } from '../active_stream.ts';
import { DownstreamAddresses } from '../downstream_addresses.ts';
import { RequestHead } from '../http1/parser.ts';
import { adoptAccepted } from '../../net/read_buffer.ts';
import { LocalBody } from '../local_reply.ts';
import { log } from '../../log.ts';
import { stats, type Counter } from '../../stats/store.ts';
import {
  HpackDecoder, HpackEncoder, HPACK_ERROR, V_BAD, V_NOT_TOKEN,
  K_REGULAR, K_METHOD, K_SCHEME, K_AUTHORITY, K_PATH, K_COOKIE, K_HOST, K_CONTENT_LENGTH, K_TE, K_EXPECT,
} from './hpack.ts';
import { Http2ServerStream } from './server_stream.ts';
import { H2TunnelStream } from './tunnel_stream.ts';

// Frame types and flags (RFC 9113 §6).
const DATA = 0;
const HEADERS = 1;
const PRIORITY = 2;
const RST_STREAM = 3;
const SETTINGS = 4;
const PUSH_PROMISE = 5;
const PING = 6;
const GOAWAY = 7;
const WINDOW_UPDATE = 8;
const CONTINUATION = 9;
const F_END_STREAM = 1;
const F_ACK = 1;
const F_END_HEADERS = 4;
const F_PADDED = 8;
const F_PRIORITY = 0x20;

// Error codes (RFC 9113 §7).
export const E_NO_ERROR = 0;
export const E_PROTOCOL_ERROR = 1;
export const E_INTERNAL_ERROR = 2;
export const E_FLOW_CONTROL_ERROR = 3;
export const E_STREAM_CLOSED = 5;
export const E_FRAME_SIZE_ERROR = 6;
export const E_REFUSED_STREAM = 7;
export const E_CANCEL = 8;
export const E_COMPRESSION_ERROR = 9;
export const E_CONNECT_ERROR = 10;
export const E_ENHANCE_YOUR_CALM = 11;

const MAX_WINDOW = 0x7fffffff;
/** SETTINGS_MAX_FRAME_SIZE we accept: the protocol's default. */
const LOCAL_MAX_FRAME = 16384;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * A stream's window is what a paused stream may hold beyond what its upstream took (Envoy would
 * stop reading at its buffer limit instead), so the per-stream window is capped.
 */
const MAX_STREAM_WINDOW = 16 * 1024 * 1024;
/**
 * Request payload is handed on at once (nothing waits in the codec); what a paused stream was given
 * is credited back, to the stream and to the connection, only once it resumes. So the connection
 * window bounds what the upstream sockets of paused streams may hold for one connection.
 */
const MAX_CONN_WINDOW = 64 * 1024 * 1024;
/** Unwritten bytes (ours and the socket's) beyond which streams are told to stop producing. */
const HIGH_WATER = 1024 * 1024;

/**
 * Envoy's http2 codec stats (`http2.*`, one set per worker, made when the first HTTP/2 connection
 * opens): flood detections, resets each way, header lists over the limit, malformed messages.
 */
class H2CodecStats {
  readonly header_overflow = stats.counter('http2.header_overflow');
  readonly inbound_empty_frames_flood = stats.counter('http2.inbound_empty_frames_flood');
  readonly inbound_priority_frames_flood = stats.counter('http2.inbound_priority_frames_flood');
  readonly inbound_window_update_frames_flood = stats.counter('http2.inbound_window_update_frames_flood');
  readonly outbound_flood = stats.counter('http2.outbound_flood');
  readonly outbound_control_flood = stats.counter('http2.outbound_control_flood');
  readonly rx_messaging_error = stats.counter('http2.rx_messaging_error');
  readonly rx_reset = stats.counter('http2.rx_reset');
  readonly tx_reset = stats.counter('http2.tx_reset');
  readonly trailers = stats.counter('http2.trailers');
}
let codecStats: H2CodecStats | null = null;

/**
 * Rapid reset (CVE-2023-44487), as Envoy's connection manager does: once at least this many
 * streams closed, a connection where half of them were "premature" (closed within
 * PREMATURE_LIFETIME_MS of opening without a response started) is closed (with fewer closed, half
 * of this many premature ones suffice).
 */
const PREMATURE_RESET_TOTAL = 500;
/** Envoy compares whole seconds of lifetime with its 1 s minimum: anything under 2 s counts. */
const PREMATURE_LIFETIME_MS = 2000;

/** Envoy's http2_protocol_options defaults (snapshots always carry them; older ones may not). */
const ENVOY_DEFAULTS: Http2OptionsSnap = { maxConcurrentStreams: 2147483647, initialStreamWindowSize: 268435456, initialConnectionWindowSize: 268435456, hpackTableSize: 4096 };

/** Session settings for a connection manager, built once per HCM. */
export function sessionOptions(given: Http2OptionsSnap | undefined, maxHeaderBytes: number, maxHeaders: number): http2.ServerSessionOptions {
  const o = given ?? ENVOY_DEFAULTS;
  return {
    settings: {
      maxConcurrentStreams: Math.min(o.maxConcurrentStreams, 2 ** 32 - 1),
      initialWindowSize: Math.min(o.initialStreamWindowSize, MAX_STREAM_WINDOW),
      headerTableSize: o.hpackTableSize,
      maxHeaderListSize: maxHeaderBytes,
    },
    // Pseudo-headers and cookie crumbs count as fields too.
    maxHeaderListPairs: maxHeaders + 32,
    maxSessionMemory: 64,
  };
}

/** What a stream's owner (request stream or CONNECT tunnel) hears from the codec. */
export interface H2StreamHandler {
  /** Request payload: `buf` may be the shared read buffer (copy what is kept). */
  onStreamData(buf: Buffer, start: number, end: number): void;
  /** END_STREAM from the client (request trailers, if any, are dropped). */
  onStreamEnd(): void;
  /** Data written while blocked has gone out: more may be written. */
  onStreamWritable(): void;
  /** The stream is gone: `reset` when it did not end normally (RST_STREAM either way, connection lost). */
  onStreamClose(reset: boolean): void;
}

/**
 * The codec's state of one stream, and the stream's view of its connection (what an ActiveStream
 * calls its DownstreamConnection): pausing reads pauses this stream's window, not the socket.
 */
export class H2Stream implements DownstreamConnection {
  readonly c: Http2ServerConnection;
  readonly id: number;
  handler: H2StreamHandler | null = null;
  /** What we may still send (the client's window for this stream). */
  sendWindow: number;
  /** What the client may still send. */
  recvWindow: number;
  /** Bytes taken by the handler and not yet credited back to the client. */
  recvUnacked = 0;
  /** Of those, bytes taken while paused: the connection window gets them back on resume. */
  connOwed = 0;
  paused = false;
  headersSent = false;
  localEnded = false;
  remoteEnded = false;
  closed = false;
  /** CONNECT: each direction ends on its own (no reset when the response ends first). */
  tunnel = false;
  /** content-length of the request still to come, -1 without one. */
  expectLength = -1;
  /** Response data waiting for window (copies), and what ends the stream after it. */
  queue: Buffer[] | null = null;
  queueHead = 0;
  queueEnd = false;
  queueTrailers: string[] | null = null;
  /** The handler was told "stop" and waits for onStreamWritable. */
  wantWritable = false;
  inBlocked = false;
  /** Date.now() when it opened (rapid-reset accounting). */
  openedAt = 0;

  constructor(c: Http2ServerConnection, id: number, sendWindow: number, recvWindow: number) {
    this.c = c;
    this.id = id;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  // ---- DownstreamConnection
  get hcm(): HttpConnectionManager {
    return this.c.hcm;
  }
  get socket(): net.Socket {
    return this.c.socket;
  }
  get info(): ConnectionInfo | null {
    return this.c.info;
  }
  get scheme(): string {
    return this.c.scheme;
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
    this.paused = true;
  }
  resumeReading(): void {
    if (!this.paused) return;
    this.paused = false;
    this.c.resumeStream(this);
  }
  streamDone(_s: ActiveStream): void {
    // The codec closes the stream when both directions have ended.
  }
  startTunnel(): void {
    // HTTP/1.1 upgrades do not exist in HTTP/2.
  }
}

// ---- one write per connection per event-loop turn

const OUT_SIZE = 32 * 1024;
const outPool: Buffer[] = [];
let dirty: Http2ServerConnection[] = [];
let spare: Http2ServerConnection[] = [];
let flushScheduled = false;

function takeOut(min: number): Buffer {
  if (min <= OUT_SIZE) return outPool.pop() ?? Buffer.allocUnsafe(OUT_SIZE);
  return Buffer.allocUnsafe(min);
}

function flushAll(): void {
  flushScheduled = false;
  const list = dirty;
  dirty = spare;
  spare = list;
  for (let i = 0; i < list.length; i++) {
    // One connection's trouble must not keep the others' output (or end the worker).
    try {
      list[i].flush();
    } catch (err) {
      log.error({ err }, 'HTTP/2 downstream: flush failed');
      list[i].socket.destroy();
    }
  }
  list.length = 0;
}

export class Http2ServerConnection extends DownstreamAddresses implements TimerNode {
  readonly hcm: HttpConnectionManager;
  readonly socket: net.Socket;
  readonly info: ConnectionInfo | null;
  readonly scheme: string;
  /** Streams opened and not yet closed. */
  active = 0;
  private readonly streams = new Map<number, H2Stream>();
  private opened = 0;
  private lastStreamId = 0;
  /** GOAWAY sent or received: no new streams; the connection closes when the last one does. */
  private closing = false;
  /** A connection error was sent, or the socket is gone: nothing more is read. */
  private failed = false;
  private socketClosed = false;
  private ended = false;
  // Our settings.
  private readonly maxConcurrent: number;
  private readonly localWindow: number;
  private readonly maxHeaderListSize: number;
  private readonly maxHeaderFields: number;
  private readonly connWindow: number;
  // Flood limits (Envoy's http2_protocol_options) and what they count.
  private readonly maxOutFrames: number;
  private readonly maxOutCtrl: number;
  private readonly maxEmptyRun: number;
  private readonly maxPrioPerStream: number;
  private readonly maxWuPerData: number;
  private readonly st: H2CodecStats;
  /** Consecutive DATA/HEADERS/CONTINUATION frames with an empty payload (and no END_STREAM). */
  private emptyRun = 0;
  private prioFrames = 0;
  private wuFrames = 0;
  /** Streams the client opened (accepted or not): the base of the PRIORITY and WINDOW_UPDATE budgets. */
  private streamsSeen = 0;
  private dataFramesSent = 0;
  /** Frames (all; PING/SETTINGS/RST_STREAM) written this turn, not yet handed to the socket. */
  private turnFrames = 0;
  private turnCtrl = 0;
  /** Frames handed to the socket and not yet written by it, per flush: [end offset, frames, control]. */
  private marks: number[] | null = null;
  private marksHead = 0;
  private sockFrames = 0;
  private sockCtrl = 0;
  /** Bytes handed to socket.write. */
  private bytesOut = 0;
  // Rapid reset.
  private closedStreams = 0;
  private prematureResets = 0;
  private recvWindow = 65535;
  private recvUnacked = 0;
  // The client's settings.
  private peerInitialWindow = 65535;
  private peerMaxFrame = 16384;
  private sendWindow = 65535;
  // Reading.
  /** The start of a frame that has not fully arrived (pendLen bytes), copied out of the read buffer. */
  private pending: Buffer | null = null;
  private pendLen = 0;
  private prefaceAt = 0;
  private gotSettings = false;
  /** Inside a DATA frame: its stream (null: discarded), payload and padding still to come. */
  private dataStream: H2Stream | null = null;
  private dataLeft = 0;
  private padLeft = 0;
  private dataEnd = false;
  /** A header block continues in CONTINUATION frames of this stream. */
  private hbId = 0;
  private hbEnd = false;
  private hbBuf: Buffer | null = null;
  private hbLen = 0;
  private readonly decoder: HpackDecoder;
  private readonly encoder = new HpackEncoder();
  // Writing.
  private out: Buffer | null = null;
  private outStart = 0;
  private outLen = 0;
  private parts: Buffer[] | null = null;
  private partsBytes = 0;
  private hbStart = 0;
  queued = false;
  /** Streams waiting for the connection window. */
  private blocked: H2Stream[] = [];
  /** Streams waiting for the socket to catch up. */
  private waiters: H2Stream[] = [];
  private closeTimer: NodeJS.Timeout | null = null;
  // TimerNode: the connection idle timeout while no stream is open.
  tPrev: TimerNode | null = null;
  tNext: TimerNode | null = null;
  tDeadline = 0;
  tList: TimerList | null = null;

  /**
   * `accepted`: the client connection (adopted here into a socket reading the shared buffer), or,
   * with `fromHttp1`, the socket the HTTP/1.1 codec reads, whose reads the manager redirects to
   * onData. `initial`: bytes already read (the sniffed preface, listener filters' bytes).
   */
  constructor(hcm: HttpConnectionManager, accepted: net.Socket, info: ConnectionInfo | null, initial: Buffer | null, fromHttp1 = false) {
    super();
    this.hcm = hcm;
    this.info = info;
    const settings = hcm.http2Options!.settings!;
    this.maxConcurrent = settings.maxConcurrentStreams ?? 100;
    this.localWindow = settings.initialWindowSize ?? 65535;
    this.maxHeaderListSize = settings.maxHeaderListSize ?? 65536;
    this.maxHeaderFields = hcm.http2Options!.maxHeaderListPairs ?? 128;
    this.connWindow = Math.max(65535, Math.min(hcm.snap.http2?.initialConnectionWindowSize ?? 65535, MAX_CONN_WINDOW));
    this.decoder = new HpackDecoder(Math.max(settings.headerTableSize ?? 4096, 4096));
    // Fields beyond the limit are decoded (the dynamic table) but not kept: the request gets 431.
    this.decoder.maxFields = this.maxHeaderFields + 1;
    const o = hcm.snap.http2;
    this.maxOutFrames = o?.maxOutboundFrames ?? 10000;
    this.maxOutCtrl = o?.maxOutboundControlFrames ?? 1000;
    this.maxEmptyRun = o?.maxConsecutiveInboundFramesWithEmptyPayload ?? 1;
    this.maxPrioPerStream = o?.maxInboundPriorityFramesPerStream ?? 100;
    this.maxWuPerData = o?.maxInboundWindowUpdateFramesPerDataFrameSent ?? 10;
    this.st = codecStats ??= new H2CodecStats();
    const socket = (this.socket = fromHttp1 ? accepted : adoptAccepted(accepted, (b) => this.onData(b)));
    this.scheme = (socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
    socket.on('drain', () => this.onSocketDrain());
    socket.on('end', () => this.onSocketEnd());
    socket.on('error', noop);
    socket.on('close', () => this.onSocketClose());
    this.sendSettings(settings.headerTableSize ?? 4096);
    hcm.http2ConnectionOpened(this, fromHttp1);
    if (initial !== null && initial.length > 0) this.onData(initial);
  }

  // ------------------------------------------------------------------ reading

  /** Bytes from the socket: `chunk` is the shared read buffer, valid during this call only. */
  onData(chunk: Buffer): void {
    if (this.failed) return;
    // Nothing a client sends may throw into the event loop (that would end the worker).
    try {
      this.parse(chunk);
    } catch (err) {
      this.internalError(err);
    }
  }

  private parse(chunk: Buffer): void {
    let b = chunk;
    if (this.pending !== null) {
      // Parsed only once what the frame needs is here: a frame arriving a few bytes per read
      // must not be copied over and over.
      if (this.pendLen + chunk.length < this.pendingNeed(chunk)) return this.stash(chunk, 0, chunk.length);
      b = Buffer.concat([this.pending.subarray(0, this.pendLen), chunk]);
      this.pending = null;
      this.pendLen = 0;
    }
    const len = b.length;
    let i = 0;
    if (this.prefaceAt < PREFACE.length) {
      while (i < len && this.prefaceAt < PREFACE.length) {
        if (b[i++] !== PREFACE[this.prefaceAt++]) return this.connectionError(E_PROTOCOL_ERROR, 'bad connection preface');
      }
      if (i === len) return;
    }
    while (!this.failed) {
      if (this.dataLeft > 0 || this.padLeft > 0) {
        i = this.continueData(b, i, len);
        if (this.dataLeft > 0 || this.padLeft > 0) return;
        continue;
      }
      if (len - i < 9) break;
      const flen = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
      const type = b[i + 3];
      const flags = b[i + 4];
      const id = ((b[i + 5] & 0x7f) << 24) | (b[i + 6] << 16) | (b[i + 7] << 8) | b[i + 8];
      if (flen > LOCAL_MAX_FRAME) return this.connectionError(E_FRAME_SIZE_ERROR, 'frame too large');
      if (this.hbId !== 0 && type !== CONTINUATION) return this.connectionError(E_PROTOCOL_ERROR, 'expected CONTINUATION');
      if (!this.gotSettings && type !== SETTINGS) return this.connectionError(E_PROTOCOL_ERROR, 'expected SETTINGS');
      if (type <= HEADERS || type === CONTINUATION) {
        // max_consecutive_inbound_frames_with_empty_payload: empty frames cost us, not the client.
        if (flen === 0 && (type === CONTINUATION || (flags & F_END_STREAM) === 0)) {
          if (++this.emptyRun > this.maxEmptyRun) return this.inboundFlood(this.st.inbound_empty_frames_flood, 'empty frames');
        } else {
          this.emptyRun = 0;
        }
      }
      if (type === DATA) {
        // Payload is handed on as it arrives, not gathered into whole frames.
        const padded = (flags & F_PADDED) !== 0;
        if (padded) {
          // Without a payload there is no Pad Length octet.
          if (flen === 0) return this.connectionError(E_FRAME_SIZE_ERROR, 'DATA padding');
          if (len - i < 10) break;
        }
        this.startData(b, i, flen, flags, id);
        i += padded ? 10 : 9;
        continue;
      }
      if (len - i - 9 < flen) break;
      this.frame(b, i + 9, i + 9 + flen, type, flags, id);
      i += 9 + flen;
    }
    if (!this.failed && i < len) this.stash(b, i, len);
  }

  /** Keeps b[from, to) after what is pending. */
  private stash(b: Buffer, from: number, to: number): void {
    const want = this.pendLen + to - from;
    let p = this.pending;
    if (p === null || p.length < want) {
      // Doubling, up to a whole frame (a stash never holds more than one frame).
      const next = Buffer.allocUnsafe(Math.max(want, Math.min(want * 2 + 64, 9 + LOCAL_MAX_FRAME)));
      if (p !== null) p.copy(next, 0, 0, this.pendLen);
      this.pending = p = next;
    }
    b.copy(p, this.pendLen, from, to);
    this.pendLen = want;
  }

  /**
   * Bytes the pending frame needs before it can be parsed (pending bytes, then `chunk`): its
   * header, then all of it (DATA: its header and Pad Length; the payload streams).
   */
  private pendingNeed(chunk: Buffer): number {
    const have = this.pendLen;
    if (have + chunk.length < 9) return 9;
    const flen = (this.pendAt(0, chunk) << 16) | (this.pendAt(1, chunk) << 8) | this.pendAt(2, chunk);
    const type = this.pendAt(3, chunk);
    // Errors are found by the parser: let it see the header at once.
    if (flen > LOCAL_MAX_FRAME || (this.hbId !== 0 && type !== CONTINUATION)) return 9;
    if (type === DATA) return (this.pendAt(4, chunk) & F_PADDED) !== 0 && flen > 0 ? 10 : 9;
    return 9 + flen;
  }

  private pendAt(k: number, chunk: Buffer): number {
    return k < this.pendLen ? this.pending![k] : chunk[k - this.pendLen];
  }

  private frame(b: Buffer, p: number, end: number, type: number, flags: number, id: number): void {
    switch (type) {
      case HEADERS:
        return this.onHeadersFrame(b, p, end, flags, id);
      case CONTINUATION:
        return this.onContinuation(b, p, end, flags, id);
      case SETTINGS:
        return this.onSettings(b, p, end, flags, id);
      case WINDOW_UPDATE:
        return this.onWindowUpdate(b, p, end, id);
      case RST_STREAM:
        return this.onRstStream(b, p, end, id);
      case PING:
        if (end - p !== 8) return this.connectionError(E_FRAME_SIZE_ERROR, 'PING size');
        if (id !== 0) return this.connectionError(E_PROTOCOL_ERROR, 'PING on a stream');
        if ((flags & F_ACK) === 0) {
          this.room(17);
          this.frameHead(8, PING, F_ACK, 0);
          b.copy(this.out!, this.outLen, p, end);
          this.outLen += 8;
          this.turnCtrl++;
          this.checkOutbound();
        }
        return;
      case PRIORITY:
        if (id === 0) return this.connectionError(E_PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (++this.prioFrames > this.maxPrioPerStream * (1 + this.streamsSeen)) return this.inboundFlood(this.st.inbound_priority_frames_flood, 'PRIORITY frames');
        if (end - p !== 5) return this.streamError(id, E_FRAME_SIZE_ERROR);
        // A stream cannot depend on itself (RFC 9113 §5.3.1).
        if ((b.readUInt32BE(p) & MAX_WINDOW) === id) return this.streamError(id, E_PROTOCOL_ERROR);
        return;
      case GOAWAY:
        if (id !== 0) return this.connectionError(E_PROTOCOL_ERROR, 'GOAWAY on a stream');
        if (end - p < 8) return this.connectionError(E_FRAME_SIZE_ERROR, 'GOAWAY size');
        this.closing = true;
        if (this.tList !== null) this.tList.remove(this);
        if (this.active === 0) this.closeSocket();
        return;
      case PUSH_PROMISE:
        return this.connectionError(E_PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      default:
        // Unknown frame types are ignored (RFC 9113 §4.1).
        return;
    }
  }

  private onSettings(b: Buffer, p: number, end: number, flags: number, id: number): void {
    if (id !== 0) return this.connectionError(E_PROTOCOL_ERROR, 'SETTINGS on a stream');
    if ((flags & F_ACK) !== 0) {
      if (end !== p) return this.connectionError(E_FRAME_SIZE_ERROR, 'SETTINGS ACK with payload');
      // Our table size is in force from here on.
      this.decoder.limit = this.hcm.http2Options!.settings!.headerTableSize ?? 4096;
      return;
    }
    if ((end - p) % 6 !== 0) return this.connectionError(E_FRAME_SIZE_ERROR, 'SETTINGS size');
    this.gotSettings = true;
    // The window change applies once per frame (its last value): a frame full of alternating
    // values must not walk every stream thousands of times.
    let initialWindow = -1;
    for (let q = p; q < end; q += 6) {
      const key = b.readUInt16BE(q);
      const v = b.readUInt32BE(q + 2);
      switch (key) {
        case 1: // HEADER_TABLE_SIZE
          this.encoder.setLimit(v);
          break;
        case 2: // ENABLE_PUSH
          if (v > 1) return this.connectionError(E_PROTOCOL_ERROR, 'ENABLE_PUSH');
          break;
        case 4: // INITIAL_WINDOW_SIZE
          if (v > MAX_WINDOW) return this.connectionError(E_FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE');
          initialWindow = v;
          break;
        case 5: // MAX_FRAME_SIZE
          if (v < 16384 || v > 16777215) return this.connectionError(E_PROTOCOL_ERROR, 'MAX_FRAME_SIZE');
          this.peerMaxFrame = v;
          break;
        default:
          // MAX_CONCURRENT_STREAMS (we open none), MAX_HEADER_LIST_SIZE (advisory), unknown: ignored.
          break;
      }
    }
    if (initialWindow >= 0 && initialWindow !== this.peerInitialWindow) {
      const delta = initialWindow - this.peerInitialWindow;
      this.peerInitialWindow = initialWindow;
      for (const s of this.streams.values()) {
        s.sendWindow += delta;
        if (s.sendWindow > MAX_WINDOW) return this.connectionError(E_FLOW_CONTROL_ERROR, 'window overflow');
      }
      if (delta > 0) for (const s of this.streams.values()) if (s.queue !== null) this.pump(s);
    }
    this.room(9);
    this.frameHead(0, SETTINGS, F_ACK, 0);
    this.turnCtrl++;
    this.checkOutbound();
  }

  private onWindowUpdate(b: Buffer, p: number, end: number, id: number): void {
    if (end - p !== 4) return this.connectionError(E_FRAME_SIZE_ERROR, 'WINDOW_UPDATE size');
    // max_inbound_window_update_frames_per_data_frame_sent, with Envoy's allowance.
    if (++this.wuFrames > 5 + 2 * (this.streamsSeen + this.maxWuPerData * this.dataFramesSent)) return this.inboundFlood(this.st.inbound_window_update_frames_flood, 'WINDOW_UPDATE frames');
    const inc = b.readUInt32BE(p) & MAX_WINDOW;
    if (id === 0) {
      if (inc === 0) return this.connectionError(E_PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += inc;
      if (this.sendWindow > MAX_WINDOW) return this.connectionError(E_FLOW_CONTROL_ERROR, 'window overflow');
      const list = this.blocked;
      this.blocked = [];
      for (let k = 0; k < list.length; k++) {
        const s = list[k];
        s.inBlocked = false;
        if (!s.closed && s.queue !== null) this.pump(s);
      }
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined) {
      if (id > this.lastStreamId) return this.connectionError(E_PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream');
      return;
    }
    if (inc === 0) return this.resetStream(s, E_PROTOCOL_ERROR);
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) return this.resetStream(s, E_FLOW_CONTROL_ERROR);
    if (s.queue !== null) this.pump(s);
  }

  private onRstStream(b: Buffer, p: number, end: number, id: number): void {
    if (id === 0) return this.connectionError(E_PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (end - p !== 4) return this.connectionError(E_FRAME_SIZE_ERROR, 'RST_STREAM size');
    if (id > this.lastStreamId) return this.connectionError(E_PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
    this.st.rx_reset.value++;
    const s = this.streams.get(id);
    if (s !== undefined) this.closeStream(s, true);
  }

  // ---- DATA

  private startData(b: Buffer, i: number, flen: number, flags: number, id: number): void {
    if (id === 0) return this.connectionError(E_PROTOCOL_ERROR, 'DATA on stream 0');
    let pad = 0;
    let payload = flen;
    if ((flags & F_PADDED) !== 0) {
      pad = b[i + 9];
      if (pad >= flen) return this.connectionError(E_PROTOCOL_ERROR, 'DATA padding');
      payload = flen - 1 - pad;
    }
    if (flen > this.recvWindow) return this.connectionError(E_FLOW_CONTROL_ERROR, 'connection window exceeded');
    this.recvWindow -= flen;
    // Padding (and its length octet) is flow-controlled but never delivered: credited now.
    this.recvUnacked += flen - payload;
    this.dataLeft = payload;
    this.padLeft = pad;
    this.dataEnd = (flags & F_END_STREAM) !== 0;
    const s = this.streams.get(id);
    let ok = s !== undefined && !s.remoteEnded;
    if (!ok) {
      if (id > this.lastStreamId) return this.connectionError(E_PROTOCOL_ERROR, 'DATA on an idle stream');
      if (s !== undefined) this.resetStream(s, E_STREAM_CLOSED);
      // A stream we closed or reset: its data is dropped (the connection window still counts it).
    } else if (flen > s!.recvWindow) {
      this.resetStream(s!, E_FLOW_CONTROL_ERROR);
      ok = false;
    } else {
      s!.recvWindow -= flen;
      s!.recvUnacked += flen - payload;
      if (s!.expectLength >= 0) {
        s!.expectLength -= payload;
        if (s!.expectLength < 0 || (this.dataEnd && s!.expectLength !== 0)) {
          // RFC 9113 §8.1.1: a body that disagrees with content-length is malformed.
          this.resetStream(s!, E_PROTOCOL_ERROR);
          ok = false;
        }
      }
    }
    this.dataStream = ok ? s! : null;
    if (payload === 0 && pad === 0) this.endData();
  }

  private continueData(b: Buffer, i: number, len: number): number {
    if (this.dataLeft > 0) {
      const n = Math.min(this.dataLeft, len - i);
      this.dataLeft -= n;
      const s = this.dataStream;
      if (s !== null && !s.closed) {
        s.handler!.onStreamData(b, i, i + n);
        this.creditStream(s, n);
      } else {
        this.recvUnacked += n;
      }
      i += n;
    }
    if (this.dataLeft === 0 && this.padLeft > 0) {
      const n = Math.min(this.padLeft, len - i);
      this.padLeft -= n;
      i += n;
    }
    if (this.dataLeft === 0 && this.padLeft === 0) this.endData();
    return i;
  }

  private endData(): void {
    const s = this.dataStream;
    this.dataStream = null;
    if (s !== null && this.dataEnd && !s.closed) this.remoteEnd(s);
    else this.creditConnection();
  }

  /** `n` payload bytes were taken by the stream: credit them back when enough have gathered. */
  creditStream(s: H2Stream, n: number): void {
    if (s.paused && !s.closed) {
      s.connOwed += n;
    } else {
      this.recvUnacked += n;
      this.creditConnection();
    }
    if (s.remoteEnded || s.closed || (this.dataEnd && this.dataStream === s)) return;
    s.recvUnacked += n;
    if (s.paused || s.recvUnacked < this.localWindow >> 1) return;
    const inc = s.recvUnacked;
    s.recvUnacked = 0;
    s.recvWindow += inc;
    this.windowUpdate(s.id, inc);
  }

  /** A paused stream resumed: what it took meanwhile is credited back. */
  resumeStream(s: H2Stream): void {
    if (s.closed) return;
    this.releaseOwed(s);
    this.creditStream(s, 0);
  }

  private releaseOwed(s: H2Stream): void {
    if (s.connOwed === 0) return;
    this.recvUnacked += s.connOwed;
    s.connOwed = 0;
    if (!this.failed) this.creditConnection();
  }

  private creditConnection(): void {
    if (this.recvUnacked < this.connWindow >> 1) return;
    const inc = this.recvUnacked;
    this.recvUnacked = 0;
    this.recvWindow += inc;
    this.windowUpdate(0, inc);
  }

  private remoteEnd(s: H2Stream): void {
    s.remoteEnded = true;
    s.handler!.onStreamEnd();
    if (s.localEnded && !s.closed) this.closeStream(s, false);
  }

  // ---- HEADERS / CONTINUATION

  private onHeadersFrame(b: Buffer, p: number, end: number, flags: number, id: number): void {
    if (id === 0) return this.connectionError(E_PROTOCOL_ERROR, 'HEADERS on stream 0');
    if ((flags & F_PADDED) !== 0) {
      // An empty padded frame has no Pad Length octet (b[p] would be the next frame's).
      if (p === end) return this.connectionError(E_FRAME_SIZE_ERROR, 'HEADERS padding');
      const pad = b[p++];
      if (pad > end - p) return this.connectionError(E_PROTOCOL_ERROR, 'HEADERS padding');
      end -= pad;
    }
    if ((flags & F_PRIORITY) !== 0) {
      if (end - p < 5) return this.connectionError(E_FRAME_SIZE_ERROR, 'HEADERS priority');
      p += 5;
    }
    const endStream = (flags & F_END_STREAM) !== 0;
    if ((flags & F_END_HEADERS) !== 0) return this.headerBlock(id, b, p, end, endStream);
    this.hbId = id;
    this.hbEnd = endStream;
    this.hbLen = 0;
    this.appendBlock(b, p, end);
  }

  private onContinuation(b: Buffer, p: number, end: number, flags: number, id: number): void {
    if (this.hbId === 0 || id !== this.hbId) return this.connectionError(E_PROTOCOL_ERROR, 'unexpected CONTINUATION');
    this.appendBlock(b, p, end);
    if (this.failed || (flags & F_END_HEADERS) === 0) return;
    const block = this.hbBuf!;
    const n = this.hbLen;
    this.hbId = 0;
    this.hbBuf = null;
    this.hbLen = 0;
    this.headerBlock(id, block, 0, n, this.hbEnd);
  }

  private appendBlock(b: Buffer, p: number, end: number): void {
    const n = end - p;
    // A block is bounded (a CONTINUATION flood must not grow memory without limit).
    if (this.hbLen + n > this.maxHeaderListSize + 65536) return this.connectionError(E_ENHANCE_YOUR_CALM, 'header block too large');
    if (this.hbBuf === null || this.hbBuf.length < this.hbLen + n) {
      const next = Buffer.allocUnsafe(Math.max(4096, (this.hbLen + n) * 2));
      if (this.hbBuf !== null) this.hbBuf.copy(next, 0, 0, this.hbLen);
      this.hbBuf = next;
    }
    b.copy(this.hbBuf, this.hbLen, p, end);
    this.hbLen += n;
  }

  /** A complete header block of stream `id`. */
  private headerBlock(id: number, b: Buffer, p: number, end: number, endStream: boolean): void {
    const d = this.decoder;
    // Decoded whatever happens to the stream: the dynamic table must stay in step with the client's.
    if (d.decode(b, p, end) === HPACK_ERROR) return this.connectionError(E_COMPRESSION_ERROR, 'HPACK');
    if (id <= this.lastStreamId) return this.trailers(id, endStream);
    if ((id & 1) === 0) return this.connectionError(E_PROTOCOL_ERROR, 'even stream id');
    this.lastStreamId = id;
    this.streamsSeen++;
    if (this.closing || this.active >= this.maxConcurrent) {
      this.writeRst(id, E_REFUSED_STREAM);
      return this.checkOutbound();
    }
    const hcm = this.hcm;
    if (d.count > this.maxHeaderFields || d.listSize > this.maxHeaderListSize) {
      // RFC 9113 §10.5.1: 431, as the HTTP/1.1 codec answers.
      this.st.header_overflow.value++;
      hcm.stats.downstream_rq_total.value++;
      hcm.stats.downstream_rq_http2_total.value++;
      hcm.countResponse(431);
      return this.replyAndReset(id, 431, LocalBody.HEADERS_TOO_LARGE, endStream);
    }
    const head = requestHead(d, endStream);
    if (head === null) {
      this.st.rx_messaging_error.value++;
      this.writeRst(id, E_PROTOCOL_ERROR);
      return this.checkOutbound();
    }
    const s = new H2Stream(this, id, this.peerInitialWindow, this.localWindow);
    s.remoteEnded = endStream;
    s.expectLength = head.contentLength;
    this.streams.set(id, s);
    this.active++;
    this.opened++;
    if (this.tList !== null) this.tList.remove(this);
    if (head.method === 'CONNECT') {
      s.tunnel = true;
      s.openedAt = Date.now();
      // Without allow_connect (or a CONNECT upgrade config) the codec refuses CONNECT, as Envoy's does.
      if (hcm.h2Connect !== null) H2TunnelStream.serve(s, head, hcm.h2Connect);
      else this.resetStream(s, E_PROTOCOL_ERROR);
    } else {
      const rs = new Http2ServerStream(s, head, requestScheme);
      s.openedAt = rs.startTime;
      rs.start(endStream);
    }
    // max_requests_per_connection: this was the last stream the connection takes.
    if (hcm.maxRequestsPerConnection > 0 && this.opened >= hcm.maxRequestsPerConnection) this.drain();
  }

  /** A header block on a stream already seen: trailers (dropped) end the request. */
  private trailers(id: number, endStream: boolean): void {
    const s = this.streams.get(id);
    // A stream already closed (we reset it): ignored.
    if (s === undefined) return;
    if (s.remoteEnded) return this.resetStream(s, E_STREAM_CLOSED);
    const d = this.decoder;
    let pseudo = false;
    const kept = Math.min(d.count, d.maxFields);
    for (let k = 0; k < kept; k++) if (d.names[k].charCodeAt(0) === 58) pseudo = true;
    if (!endStream || pseudo || s.expectLength > 0) {
      this.st.rx_messaging_error.value++;
      return this.resetStream(s, E_PROTOCOL_ERROR);
    }
    this.st.trailers.value++;
    this.remoteEnd(s);
  }

  // ------------------------------------------------------------------ writing

  private schedule(): void {
    if (this.queued) return;
    this.queued = true;
    dirty.push(this);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushAll);
    }
  }

  /** Makes room for `n` more bytes at outLen. */
  private room(n: number): void {
    const out = this.out;
    if (out === null) {
      this.out = takeOut(n);
      this.outStart = 0;
      this.outLen = 0;
      this.schedule();
      return;
    }
    if (this.outLen + n <= out.length) return;
    if (this.outLen > this.outStart) {
      (this.parts ??= []).push(out.subarray(this.outStart, this.outLen));
      this.partsBytes += this.outLen - this.outStart;
    }
    this.out = takeOut(n);
    this.outStart = 0;
    this.outLen = 0;
  }

  private frameHead(len: number, type: number, flags: number, id: number): void {
    const o = this.out!;
    let p = this.outLen;
    o[p++] = len >>> 16;
    o[p++] = (len >>> 8) & 0xff;
    o[p++] = len & 0xff;
    o[p++] = type;
    o[p++] = flags;
    o[p++] = id >>> 24;
    o[p++] = (id >>> 16) & 0xff;
    o[p++] = (id >>> 8) & 0xff;
    o[p++] = id & 0xff;
    this.outLen = p;
    this.turnFrames++;
  }

  /** Writes what this turn produced (called once per turn, or before closing). */
  flush(): void {
    this.queued = false;
    const out = this.out;
    if (out === null) return;
    this.out = null;
    const sock = this.socket;
    if (this.socketClosed || this.ended || sock.destroyed) {
      this.parts = null;
      this.partsBytes = 0;
      return;
    }
    const last = this.outLen > this.outStart ? out.subarray(this.outStart, this.outLen) : null;
    let ok = true;
    const parts = this.parts;
    this.bytesOut += this.outLen - this.outStart + this.partsBytes;
    if (parts === null) {
      if (last !== null) ok = sock.write(last);
    } else {
      this.parts = null;
      this.partsBytes = 0;
      sock.cork();
      for (let k = 0; k < parts.length; k++) ok = sock.write(parts[k]);
      if (last !== null) ok = sock.write(last);
      sock.uncork();
    }
    // Written at once: the buffer is free again (otherwise the socket holds it until written).
    const unwritten = sock.writableLength;
    if (unwritten === 0) {
      if (out.length === OUT_SIZE && outPool.length < 16) outPool.push(out);
      if (this.sockFrames !== 0) this.writtenAll();
    } else {
      this.pendingFrames(unwritten);
      if (this.sockFrames > this.maxOutFrames || this.sockCtrl > this.maxOutCtrl) return this.outboundFlood();
    }
    this.turnFrames = 0;
    this.turnCtrl = 0;
    if (ok && this.waiters.length > 0) this.wakeWaiters();
  }

  /** The socket has written everything: no frame of ours is pending. */
  private writtenAll(): void {
    this.sockFrames = 0;
    this.sockCtrl = 0;
    this.marksHead = 0;
    if (this.marks !== null) this.marks.length = 0;
  }

  /**
   * The frames of this turn went to a socket that still holds `unwritten` bytes: what it wrote
   * since is released, this turn's frames are added (max_outbound_frames counts frames not yet
   * written, as Envoy's does).
   */
  private pendingFrames(unwritten: number): void {
    const marks = (this.marks ??= []);
    const written = this.bytesOut - unwritten;
    let h = this.marksHead;
    while (h < marks.length && marks[h] <= written) {
      this.sockFrames -= marks[h + 1];
      this.sockCtrl -= marks[h + 2];
      h += 3;
    }
    if (h === marks.length) {
      marks.length = 0;
      h = 0;
    } else if (h >= 3072 && h * 2 >= marks.length) {
      // A socket that never quite empties: drop what was released.
      marks.splice(0, h);
      h = 0;
    }
    this.marksHead = h;
    marks.push(this.bytesOut, this.turnFrames, this.turnCtrl);
    this.sockFrames += this.turnFrames;
    this.sockCtrl += this.turnCtrl;
  }

  /**
   * A check where frames are produced for frames received: replies piling up unread (PING,
   * SETTINGS, RST_STREAM floods) end the connection before they take memory.
   */
  private checkOutbound(): void {
    if (this.sockFrames + this.turnFrames > this.maxOutFrames || this.sockCtrl + this.turnCtrl > this.maxOutCtrl) this.outboundFlood();
  }

  private outboundFlood(): void {
    if (this.failed) return;
    if (this.sockCtrl + this.turnCtrl > this.maxOutCtrl) this.st.outbound_control_flood.value++;
    else this.st.outbound_flood.value++;
    log.debug({ frames: this.sockFrames + this.turnFrames, control: this.sockCtrl + this.turnCtrl }, 'HTTP/2 downstream: too many frames not written (client not reading)');
    this.abort();
  }

  /** An inbound flood: GOAWAY (ENHANCE_YOUR_CALM) and close. */
  private inboundFlood(c: Counter, why: string): void {
    c.value++;
    this.connectionError(E_ENHANCE_YOUR_CALM, why);
  }

  /** Closes at once, writing nothing more (floods, rapid reset). */
  private abort(): void {
    if (this.socketClosed) return;
    this.failed = true;
    this.closing = true;
    this.pending = null;
    this.pendLen = 0;
    this.hbBuf = null;
    this.out = null;
    this.parts = null;
    this.partsBytes = 0;
    if (this.tList !== null) this.tList.remove(this);
    for (const s of [...this.streams.values()]) this.closeStream(s, true);
    this.socket.destroy();
  }

  /** A throw out of the codec or a stream handler: this connection ends, the worker goes on. */
  private internalError(err: unknown): void {
    log.error({ err }, 'HTTP/2 downstream: unexpected exception; connection closed');
    try {
      this.connectionError(E_INTERNAL_ERROR, 'internal error');
    } catch {
      this.socket.destroy();
    }
  }

  /** Unwritten bytes: ours and the socket's. */
  private backlog(): number {
    return this.socket.writableLength + this.partsBytes + (this.out === null ? 0 : this.outLen - this.outStart);
  }

  private onSocketDrain(): void {
    if (this.sockFrames !== 0 && this.socket.writableLength === 0) this.writtenAll();
    if (this.waiters.length === 0) return;
    try {
      this.wakeWaiters();
    } catch (err) {
      this.internalError(err);
    }
  }

  private wakeWaiters(): void {
    const list = this.waiters;
    this.waiters = [];
    for (let k = 0; k < list.length; k++) {
      const s = list[k];
      if (!s.wantWritable || (s.queue !== null && !s.closed)) continue;
      // Told even when the stream has closed meanwhile: its producer (an upstream connection
      // going back to its pool) must not stay paused.
      s.wantWritable = false;
      s.handler?.onStreamWritable();
    }
  }

  private sendSettings(tableSize: number): void {
    const entries: [number, number][] = [
      [3, this.maxConcurrent],
      [4, this.localWindow],
      [6, this.maxHeaderListSize],
    ];
    if (tableSize !== 4096) entries.push([1, tableSize]);
    this.room(9 + 6 * entries.length + 13);
    this.frameHead(6 * entries.length, SETTINGS, 0, 0);
    const o = this.out!;
    for (const [k, v] of entries) {
      o.writeUInt16BE(k, this.outLen);
      o.writeUInt32BE(Math.min(v, 0xffffffff), this.outLen + 2);
      this.outLen += 6;
    }
    if (this.connWindow > 65535) {
      this.recvWindow = this.connWindow;
      this.frameHead(4, WINDOW_UPDATE, 0, 0);
      o.writeUInt32BE(this.connWindow - 65535, this.outLen);
      this.outLen += 4;
    }
  }

  private windowUpdate(id: number, inc: number): void {
    this.room(13);
    this.frameHead(4, WINDOW_UPDATE, 0, id);
    this.out!.writeUInt32BE(inc, this.outLen);
    this.outLen += 4;
  }

  private writeRst(id: number, code: number): void {
    this.st.tx_reset.value++;
    this.turnCtrl++;
    this.room(13);
    this.frameHead(4, RST_STREAM, 0, id);
    this.out!.writeUInt32BE(code, this.outLen);
    this.outLen += 4;
  }

  // ---- header blocks: begin, fields, end (nothing else is written in between)

  beginHeaders(): void {
    this.room(9 + 64);
    this.hbStart = this.outLen;
    this.outLen = this.encoder.begin(this.out!, this.outLen + 9);
  }

  status(code: number): void {
    this.blockRoom(16);
    this.outLen = this.encoder.status(this.out!, this.outLen, code);
  }

  field(name: string, value: string): void {
    this.blockRoom(HpackEncoder.fieldRoom(name, value));
    this.outLen = this.encoder.field(this.out!, this.outLen, name, value);
  }

  /** Room inside a header block being written: the block moves to a bigger buffer if need be. */
  private blockRoom(n: number): void {
    const out = this.out!;
    if (this.outLen + n <= out.length) return;
    const next = Buffer.allocUnsafe(Math.max(OUT_SIZE, (this.outLen - this.hbStart) * 2 + n));
    out.copy(next, 0, this.hbStart, this.outLen);
    if (this.hbStart > this.outStart) {
      (this.parts ??= []).push(out.subarray(this.outStart, this.hbStart));
      this.partsBytes += this.hbStart - this.outStart;
    }
    this.outLen -= this.hbStart;
    this.hbStart = 0;
    this.outStart = 0;
    this.out = next;
  }

  endHeaders(s: H2Stream, endStream: boolean, final = true): void {
    const len = this.outLen - this.hbStart - 9;
    const flags = endStream ? F_END_STREAM : 0;
    if (len <= this.peerMaxFrame) {
      const at = this.outLen;
      this.outLen = this.hbStart;
      this.frameHead(len, HEADERS, flags | F_END_HEADERS, s.id);
      this.outLen = at;
    } else {
      // Larger than a frame: HEADERS, then CONTINUATION frames.
      const block = Buffer.from(this.out!.subarray(this.hbStart + 9, this.outLen));
      this.outLen = this.hbStart;
      let p = 0;
      let type = HEADERS;
      while (p < block.length) {
        const n = Math.min(this.peerMaxFrame, block.length - p);
        const lastFrame = p + n === block.length;
        this.room(9 + n);
        this.frameHead(n, type, (type === HEADERS ? flags : 0) | (lastFrame ? F_END_HEADERS : 0), s.id);
        block.copy(this.out!, this.outLen, p, p + n);
        this.outLen += n;
        p += n;
        type = CONTINUATION;
      }
    }
    if (final) s.headersSent = true;
    if (endStream) this.localEnd(s);
  }

  /** 1xx informational headers (100 Continue). */
  informational(s: H2Stream, status: number): void {
    if (s.closed) return;
    this.beginHeaders();
    this.status(status);
    this.endHeaders(s, false, false);
  }

  /**
   * Response payload: frames within the client's windows; the rest waits in the stream. False when
   * the producer should pause (window exhausted, or the connection is backed up): onStreamWritable
   * follows.
   */
  sendData(s: H2Stream, b: Uint8Array, start: number, end: number, endStream: boolean): boolean {
    if (s.closed || s.localEnded) return true;
    const n = end - start;
    if (s.queue !== null) {
      if (n > 0) this.enqueue(s, b, start, end);
      if (endStream) s.queueEnd = true;
      s.wantWritable = true;
      return false;
    }
    const allow = Math.min(s.sendWindow, this.sendWindow);
    if (n > allow) {
      const now = allow > 0 ? allow : 0;
      if (now > 0) this.dataFrames(s, b, start, start + now, false);
      this.enqueue(s, b, start + now, end);
      s.queueEnd = endStream;
      s.wantWritable = true;
      if (!s.inBlocked && this.sendWindow <= 0) {
        s.inBlocked = true;
        this.blocked.push(s);
      }
      return false;
    }
    this.dataFrames(s, b, start, end, endStream);
    if (endStream) {
      this.localEnd(s);
      return true;
    }
    if (this.backlog() > HIGH_WATER) {
      if (!s.wantWritable) {
        s.wantWritable = true;
        this.waiters.push(s);
      }
      return false;
    }
    return true;
  }

  /** Response trailers end the stream (after any queued data). */
  sendTrailers(s: H2Stream, trailers: string[]): void {
    if (s.closed || s.localEnded) return;
    if (trailers.length === 0) {
      this.sendData(s, EMPTY, 0, 0, true);
      return;
    }
    if (s.queue !== null) {
      s.queueTrailers = trailers;
      return;
    }
    this.writeTrailers(s, trailers);
  }

  private writeTrailers(s: H2Stream, t: string[]): void {
    this.beginHeaders();
    for (let k = 0; k < t.length; k += 2) this.field(t[k], t[k + 1]);
    this.endHeaders(s, true);
  }

  private dataFrames(s: H2Stream, b: Uint8Array, start: number, end: number, endStream: boolean): void {
    const n = end - start;
    this.dataFramesSent++;
    s.sendWindow -= n;
    this.sendWindow -= n;
    if (n === 0) {
      this.room(9);
      this.frameHead(0, DATA, endStream ? F_END_STREAM : 0, s.id);
      return;
    }
    const max = this.peerMaxFrame;
    while (start < end) {
      const k = Math.min(end - start, max);
      const last = start + k === end;
      this.room(9 + k);
      this.frameHead(k, DATA, last && endStream ? F_END_STREAM : 0, s.id);
      const o = this.out!;
      if (k < 64) {
        for (let q = 0; q < k; q++) o[this.outLen + q] = b[start + q];
      } else {
        o.set(b.subarray(start, start + k), this.outLen);
      }
      this.outLen += k;
      start += k;
    }
  }

  private enqueue(s: H2Stream, b: Uint8Array, start: number, end: number): void {
    if (end <= start) return;
    (s.queue ??= []).push(Buffer.from(b.subarray(start, end)));
  }

  /** Sends what the windows now allow of a stream's queued data. */
  private pump(s: H2Stream): void {
    const q = s.queue!;
    while (s.queueHead < q.length) {
      const allow = Math.min(s.sendWindow, this.sendWindow);
      if (allow <= 0) {
        if (this.sendWindow <= 0 && !s.inBlocked) {
          s.inBlocked = true;
          this.blocked.push(s);
        }
        return;
      }
      const buf = q[s.queueHead];
      if (buf.length <= allow) {
        this.dataFrames(s, buf, 0, buf.length, false);
        s.queueHead++;
      } else {
        this.dataFrames(s, buf, 0, allow, false);
        q[s.queueHead] = buf.subarray(allow);
      }
    }
    s.queue = null;
    s.queueHead = 0;
    if (s.queueTrailers !== null) {
      const t = s.queueTrailers;
      s.queueTrailers = null;
      this.writeTrailers(s, t);
    } else if (s.queueEnd) {
      s.queueEnd = false;
      this.dataFrames(s, EMPTY, 0, 0, true);
      this.localEnd(s);
    }
    // Told even when the END_STREAM just sent closed the stream (see wakeWaiters).
    if (!s.wantWritable) return;
    if (this.backlog() > HIGH_WATER) {
      this.waiters.push(s);
      return;
    }
    s.wantWritable = false;
    s.handler?.onStreamWritable();
  }

  private localEnd(s: H2Stream): void {
    s.localEnded = true;
    if (s.remoteEnded) return this.closeStream(s, false);
    // The response is complete before the request: the client may stop sending (RFC 9113 §8.1).
    if (!s.tunnel) {
      this.writeRst(s.id, E_NO_ERROR);
      this.closeStream(s, false);
    }
  }

  /** We reset a stream. */
  resetStream(s: H2Stream, code: number): void {
    if (s.closed) return;
    if (!this.failed) this.writeRst(s.id, code);
    this.closeStream(s, true);
  }

  private streamError(id: number, code: number): void {
    const s = this.streams.get(id);
    if (s !== undefined) this.resetStream(s, code);
    else this.writeRst(id, code);
    this.checkOutbound();
  }

  private closeStream(s: H2Stream, reset: boolean): void {
    if (s.closed) return;
    s.closed = true;
    s.queue = null;
    s.queueTrailers = null;
    this.streams.delete(s.id);
    this.active--;
    this.closedStreams++;
    this.releaseOwed(s);
    s.handler?.onStreamClose(reset);
    if (!s.headersSent && Date.now() - s.openedAt < PREMATURE_LIFETIME_MS && !this.failed) {
      // Rapid reset: streams opened and reset (by the client, or by us for its protocol errors)
      // before any response, over and over.
      this.prematureResets++;
      if (this.prematureResets * 2 >= (this.closedStreams < PREMATURE_RESET_TOTAL ? PREMATURE_RESET_TOTAL : this.closedStreams)) {
        stats.counter(`http.${this.hcm.snap.statPrefix}.downstream_rq_too_many_premature_resets`).value++;
        log.debug({ closed: this.closedStreams, premature: this.prematureResets }, 'HTTP/2 downstream: too many premature resets');
        return this.abort();
      }
    }
    if (this.active > 0 || this.failed) return;
    if (this.closing) this.closeSocket();
    else if (!this.socketClosed) this.hcm.idleTimer?.add(this, Date.now());
  }

  /** A local reply straight from the codec (no stream was made), then the stream is done. */
  private replyAndReset(id: number, status: number, body: string, endStream: boolean): void {
    const s = new H2Stream(this, id, this.peerInitialWindow, 0);
    s.remoteEnded = true;
    s.closed = true;
    const b = Buffer.from(body, 'latin1');
    // Without window for the body, the headers alone end the stream (and say no length).
    const fits = b.length <= Math.min(this.sendWindow, this.peerInitialWindow);
    this.beginHeaders();
    this.status(status);
    if (fits) {
      this.field('content-type', 'text/plain');
      this.field('content-length', String(b.length));
    }
    if (this.hcm.serverName !== '') this.field('server', this.hcm.serverName);
    this.endHeaders(s, !fits);
    if (fits) this.dataFrames(s, b, 0, b.length, true);
    if (!endStream) this.writeRst(id, E_NO_ERROR);
  }

  // ------------------------------------------------------------------ lifecycle

  /** Idle timeout. */
  onTimeout(): void {
    if (this.active === 0) this.drain();
  }

  /** GOAWAY: no new streams; open ones finish, then the connection closes. */
  drain(): void {
    if (this.closing || this.failed) return;
    this.closing = true;
    if (this.tList !== null) this.tList.remove(this);
    if (this.socketClosed) return;
    this.goaway(E_NO_ERROR);
    if (this.active === 0) this.closeSocket();
  }

  private goaway(code: number): void {
    this.room(17);
    this.frameHead(8, GOAWAY, 0, 0);
    const o = this.out!;
    o.writeUInt32BE(this.lastStreamId, this.outLen);
    o.writeUInt32BE(code, this.outLen + 4);
    this.outLen += 8;
  }

  /** A connection error (RFC 9113 §5.4.1): GOAWAY with the code, streams reset, socket closed. */
  connectionError(code: number, why: string): void {
    if (this.failed) return;
    this.hcm.stats.downstream_cx_protocol_error.value++;
    log.debug({ code, why }, 'HTTP/2 downstream connection error');
    if (!this.socketClosed) this.goaway(code);
    this.failed = true;
    this.closing = true;
    this.pending = null;
    this.pendLen = 0;
    this.hbBuf = null;
    for (const s of [...this.streams.values()]) this.closeStream(s, true);
    this.closeSocket();
  }

  /** Flushes, half-closes, and closes for good once the client does (or after a grace period). */
  private closeSocket(): void {
    if (this.ended || this.socketClosed) return;
    if (this.tList !== null) this.tList.remove(this);
    this.flush();
    this.ended = true;
    const sock = this.socket;
    sock.end();
    this.closeTimer = setTimeout(destroySocket, 2000, sock);
    this.closeTimer.unref();
  }

  private onSocketEnd(): void {
    // The client will send nothing more: streams still open finish their responses.
    if (this.ended) {
      this.socket.destroy();
      return;
    }
    this.closing = true;
    if (this.active === 0) this.closeSocket();
  }

  private onSocketClose(): void {
    if (this.socketClosed) return;
    this.socketClosed = true;
    this.closing = true;
    this.failed = true;
    this.pending = null;
    this.pendLen = 0;
    this.out = null;
    this.parts = null;
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    if (this.tList !== null) this.tList.remove(this);
    for (const s of [...this.streams.values()]) this.closeStream(s, true);
    this.hcm.http2ConnectionClosed(this);
  }
}

const EMPTY = Buffer.alloc(0);

function noop(): void {}

function destroySocket(s: net.Socket): void {
  s.destroy();
}

/** The :scheme of the request built last (requestHead's second result, without an allocation). */
let requestScheme = '';

/**
 * The proxy's request head from a decoded request header block; null when the request is
 * malformed (RFC 9113 §8.1.1, §8.2, §8.3): a stream error of type PROTOCOL_ERROR.
 */
function requestHead(d: HpackDecoder, endStream: boolean): RequestHead | null {
  const head = new RequestHead();
  const hs = head.headers;
  const names = d.names;
  const values = d.values;
  const kinds = d.kinds;
  const vflags = d.vflags;
  let method = '';
  let path = '';
  let authority = '';
  let scheme = '';
  let seen = 0;
  let regular = false;
  let cookies: string | null = null;
  let cl = -1;
  for (let k = 0; k < d.count; k++) {
    const v = values[k];
    const vf = vflags[k];
    if ((vf & V_BAD) !== 0) return null;
    const kind = kinds[k];
    if (kind === K_REGULAR) {
      regular = true;
      hs.push(names[k], v);
      continue;
    }
    if (kind <= K_PATH) {
      // A pseudo-header: before the regular fields, once each.
      const bit = 1 << kind;
      if (regular || (seen & bit) !== 0) return null;
      seen |= bit;
      if (kind === K_METHOD) {
        if (v === '' || (vf & V_NOT_TOKEN) !== 0) return null;
        method = v;
      } else if (kind === K_PATH) {
        if (v === '' || (vf & V_NOT_TOKEN) !== 0) return null;
        path = v;
      } else if (kind === K_AUTHORITY) {
        if ((vf & V_NOT_TOKEN) !== 0) return null;
        authority = v;
      } else {
        scheme = v;
      }
      continue;
    }
    regular = true;
    switch (kind) {
      case K_COOKIE:
        // RFC 9113 §8.2.3: crumbs are joined again for an HTTP/1.1 hop.
        cookies = cookies === null ? v : cookies + '; ' + v;
        break;
      case K_HOST:
        if ((vf & V_NOT_TOKEN) !== 0) return null;
        if (authority === '') authority = v;
        break;
      case K_CONTENT_LENGTH: {
        const n = contentLength(v);
        if (n < 0 || (cl >= 0 && n !== cl)) return null;
        if (cl < 0) hs.push(names[k], v);
        cl = n;
        break;
      }
      case K_TE:
        if (v !== 'trailers' && v.toLowerCase() !== 'trailers') return null;
        hs.push(names[k], v);
        break;
      case K_EXPECT:
        if (v.length === 12 && v.toLowerCase() === '100-continue') head.expectContinue = true;
        hs.push(names[k], v);
        break;
      default:
        // Other pseudo-headers, connection-specific fields, invalid names.
        return null;
    }
  }
  if (cookies !== null) hs.push('cookie', cookies);
  if (method === 'CONNECT') {
    // RFC 9113 §8.5: :authority only.
    if (authority === '' || (seen & ((1 << K_SCHEME) | (1 << K_PATH))) !== 0) return null;
    path = authority;
  } else if (method === '' || path === '' || scheme === '') {
    return null;
  } else if (path.charCodeAt(0) !== 47 /* / */ && (path !== '*' || method !== 'OPTIONS')) {
    // RFC 9113 §8.3.1: origin form, or '*' for OPTIONS.
    return null;
  }
  if (endStream && cl > 0) return null;
  head.method = method;
  head.target = path;
  head.host = authority;
  head.contentLength = cl;
  // A body of unknown length is carried chunked inside the proxy.
  head.chunked = !endStream && cl < 0;
  requestScheme = scheme;
  return head;
}

function contentLength(v: string): number {
  const n = v.length;
  if (n === 0 || n > 15) return -1;
  let x = 0;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x;
}
