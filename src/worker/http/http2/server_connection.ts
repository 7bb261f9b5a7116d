// The downstream HTTP/2 codec of one client connection (Envoy's Http2::ServerConnectionImpl), on
// node:http2's session (nghttp2). Each request stream becomes an Http2ServerStream, which the
// connection manager, filters and router see as any ActiveStream. CONNECT streams go to the
// CONNECT termination of the connection manager (h2_connect.ts).
import type http2 from 'node:http2';
import type net from 'node:net';
import type { Http2OptionsSnap } from '../../../shared/snapshot.ts';
import type { HttpConnectionManager } from '../connection_manager.ts';
import type { ConnectionInfo } from '../../listener/connection_info.ts';
import type { TimerList, TimerNode } from '../../timer_list.ts';
import { Http2ServerStream } from './server_stream.ts';
import { log } from '../../log.ts';
import { http2Module, H2 } from '../../lazy_modules.ts';
import { DownstreamAddresses } from '../downstream_addresses.ts';

const OWNER = Symbol('orion.h2conn');
/** On each stream: its connection (a destroyed stream no longer knows its session). */
const CONN = Symbol('orion.h2conn.stream');
const { NGHTTP2_REFUSED_STREAM, NGHTTP2_NO_ERROR, NGHTTP2_PROTOCOL_ERROR } = H2;

/**
 * node:http2 keeps a stream's whole window in memory while the stream is paused (Envoy would stop
 * reading the socket at its buffer limit instead), so the per-stream window is capped.
 */
const MAX_STREAM_WINDOW = 16 * 1024 * 1024;

/** Envoy's http2_protocol_options defaults (snapshots always carry them; older ones may not). */
const ENVOY_DEFAULTS: Http2OptionsSnap = { maxConcurrentStreams: 2147483647, initialStreamWindowSize: 268435456, initialConnectionWindowSize: 268435456, hpackTableSize: 4096 };

/** Session options for a connection manager, built once per HCM. */
export function sessionOptions(given: Http2OptionsSnap | undefined, maxHeaderBytes: number, maxHeaders: number): http2.ServerSessionOptions {
  const o = given ?? ENVOY_DEFAULTS;
  return {
    settings: {
      maxConcurrentStreams: Math.min(o.maxConcurrentStreams, 2 ** 32 - 1),
      initialWindowSize: Math.min(o.initialStreamWindowSize, MAX_STREAM_WINDOW),
      headerTableSize: o.hpackTableSize,
      maxHeaderListSize: maxHeaderBytes,
    },
    // Pseudo-headers and cookie crumbs count as pairs for nghttp2.
    maxHeaderListPairs: maxHeaders + 32,
    // In MiB: many concurrent streams each holding buffered frames need more than Node's 10.
    maxSessionMemory: 64,
  };
}

export class Http2ServerConnection extends DownstreamAddresses implements TimerNode {
  readonly hcm: HttpConnectionManager;
  readonly socket: net.Socket;
  readonly info: ConnectionInfo | null;
  readonly scheme: string;
  readonly session: http2.ServerHttp2Session;
  /** Streams opened and not yet closed. */
  active = 0;
  private streams = 0;
  private closing = false;
  // TimerNode: the connection idle timeout while no stream is open.
  tPrev: TimerNode | null = null;
  tNext: TimerNode | null = null;
  tDeadline = 0;
  tList: TimerList | null = null;

  /**
   * `preface`: bytes already read from the socket (the sniffed preface, listener filters' bytes);
   * `fromHttp1`: the HTTP/1.1 codec saw the preface and hands its connection over.
   */
  constructor(hcm: HttpConnectionManager, socket: net.Socket, info: ConnectionInfo | null, preface: Buffer | null, fromHttp1 = false) {
    super();
    this.hcm = hcm;
    this.socket = socket;
    this.info = info;
    this.scheme = (socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
    if (preface !== null && preface.length > 0) socket.unshift(preface);
    const session = (this.session = http2Module().performServerHandshake(socket, hcm.http2Options!));
    (session as unknown as Record<symbol, Http2ServerConnection>)[OWNER] = this;
    session.on('stream', onStream);
    session.on('error', onSessionError);
    session.once('close', onSessionClose);
    const win = hcm.snap.http2?.initialConnectionWindowSize ?? 0;
    if (win > 65535) {
      try {
        session.setLocalWindowSize(win);
      } catch {
        // The session may already be gone (peer closed at once).
      }
    }
    hcm.http2ConnectionOpened(this, fromHttp1);
  }

  onStream(h2: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): void {
    const hcm = this.hcm;
    if (this.closing) {
      h2.close(NGHTTP2_REFUSED_STREAM);
      return;
    }
    this.active++;
    this.streams++;
    if (this.tList !== null) this.tList.remove(this);
    (h2 as unknown as Record<symbol, Http2ServerConnection>)[CONN] = this;
    h2.once('close', onStreamClose);
    h2.on('error', noop);
    if (headers[':method'] === 'CONNECT') {
      // Without allow_connect (or a CONNECT upgrade config) the codec refuses CONNECT, as Envoy's does.
      if (hcm.h2Connect !== null) hcm.h2Connect.serveConnect(h2, headers, this.info);
      else h2.close(NGHTTP2_PROTOCOL_ERROR);
    } else {
      new Http2ServerStream(this, h2, rawHeaders).start();
    }
    // max_requests_per_connection: this was the last stream the connection takes.
    if (hcm.maxRequestsPerConnection > 0 && this.streams >= hcm.maxRequestsPerConnection) this.drain();
  }

  /** A stream closed (response sent and request read, or reset by either side). */
  streamClosed(): void {
    this.active--;
    if (this.active > 0) return;
    if (this.closing) {
      if (!this.session.closed) this.session.close();
    }
    else this.hcm.idleTimer?.add(this, Date.now());
  }

  /** Idle timeout. */
  onTimeout(): void {
    if (this.active === 0) this.drain();
  }

  /** GOAWAY: no new streams; open ones finish, then the connection closes. */
  drain(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.tList !== null) this.tList.remove(this);
    const s = this.session;
    if (s.closed || s.destroyed) return;
    try {
      s.goaway(NGHTTP2_NO_ERROR);
      s.close();
    } catch (err) {
      log.debug({ err: String(err) }, 'HTTP/2 GOAWAY failed');
      s.destroy();
    }
  }

  onClosed(): void {
    this.closing = true;
    if (this.tList !== null) this.tList.remove(this);
    this.hcm.http2ConnectionClosed(this);
  }
}

function noop(): void {}

function onStream(this: http2.ServerHttp2Session, h2: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]): void {
  (this as unknown as Record<symbol, Http2ServerConnection>)[OWNER].onStream(h2, headers, rawHeaders);
}

function onSessionError(this: http2.ServerHttp2Session, err: Error): void {
  const c = (this as unknown as Record<symbol, Http2ServerConnection>)[OWNER];
  c.hcm.stats.downstream_cx_protocol_error.value++;
  log.debug({ err: String(err) }, 'HTTP/2 downstream session error');
}

function onSessionClose(this: http2.ServerHttp2Session): void {
  (this as unknown as Record<symbol, Http2ServerConnection>)[OWNER].onClosed();
}

function onStreamClose(this: http2.ServerHttp2Stream): void {
  (this as unknown as Record<symbol, Http2ServerConnection>)[CONN].streamClosed();
}
