// HTTP/2 CONNECT termination for the HTTP connection manager (the HBONE shape: a client opens
// CONNECT streams on an h2c connection; each becomes a TCP or internal connection upstream).
// HTTP/2 is served by node:http2 — only CONNECT streams are: the HTTP/1.1 codec is this proxy's
// own, and other HTTP/2 requests get a 501 until a native HTTP/2 codec exists. With codec AUTO a
// connection is routed here when it opens with the HTTP/2 preface; others go to HTTP/1.1.
import http2 from 'node:http2';
import type net from 'node:net';
import type { HttpConnectionManager } from './connection_manager.ts';
import { ConnectionInfo } from '../listener/connection_info.ts';
import type { MatchInput } from '../router/header_matcher.ts';
import type { FormatContext } from '../router/formatter.ts';
import { RequestHead } from './http1/parser.ts';
import { adoptAccepted, adoptPlain } from '../net/read_buffer.ts';
import { connectMode, connectTarget, ConnectUpstream } from './connect_tunnel.ts';
import type { UpstreamCallbacks } from '../tcp/tunnel.ts';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export class H2ConnectServer {
  private readonly hcm: HttpConnectionManager;
  private readonly server: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly infos = new WeakMap<http2.ServerHttp2Session, ConnectionInfo | null>();
  private pendingInfo: ConnectionInfo | null = null;

  constructor(hcm: HttpConnectionManager) {
    this.hcm = hcm;
    this.server = http2.createServer();
    this.server.on('session', (s: http2.ServerHttp2Session) => {
      this.infos.set(s, this.pendingInfo);
      this.sessions.add(s);
      s.on('error', () => {});
      s.once('close', () => {
        this.sessions.delete(s);
        hcm.stats.downstream_cx_active.value--;
        hcm.stats.downstream_cx_destroy.value++;
      });
      hcm.stats.downstream_cx_total.value++;
      hcm.stats.downstream_cx_active.value++;
    });
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
  }

  /**
   * Takes an accepted connection. `h1` serves it when it turns out not to be HTTP/2 (codec AUTO);
   * null: it is HTTP/2 without looking. Returns the socket whose 'close' ends the connection.
   */
  newConnection(accepted: net.Socket, info: ConnectionInfo | null, h1: ((s: net.Socket, info: ConnectionInfo | null) => net.Socket) | null): net.Socket {
    const initial = info?.initial ?? null;
    const verdict = h1 === null ? true : isPreface(initial ?? Buffer.alloc(0));
    if (verdict !== undefined) return this.dispatch(accepted, info, initial, verdict ? null : h1);
    // Not enough bytes to tell yet: read until we can.
    let buf = initial;
    const sniff = adoptAccepted(accepted, (c) => {
      buf = buf === null ? Buffer.from(c) : Buffer.concat([buf, c]);
      const v = isPreface(buf);
      if (v === undefined) return;
      sniff.pause();
      sniff.removeAllListeners('end');
      const real = this.dispatch(sniff, info, buf, v ? null : h1);
      if (real !== sniff) real.once('close', () => sniff.emit('close'));
    });
    sniff.once('end', () => sniff.destroy());
    sniff.on('error', () => {});
    return sniff;
  }

  private dispatch(sock: net.Socket, info: ConnectionInfo | null, bytes: Buffer | null, h1: ((s: net.Socket, info: ConnectionInfo | null) => net.Socket) | null): net.Socket {
    if (h1 !== null) {
      if (info === null && bytes !== null) info = new ConnectionInfo(sock, false, null);
      if (info !== null) info.initial = bytes;
      return h1(sock, info);
    }
    const plain = adoptPlain(sock);
    if (bytes !== null && bytes.length > 0) plain.unshift(bytes);
    if (info !== null) info.initial = null;
    this.pendingInfo = info;
    this.server.emit('connection', plain);
    this.pendingInfo = null;
    return plain;
  }

  /** A CONNECT stream of a session the HTTP/2 codec (http2/server_connection.ts) serves. */
  serveConnect(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, info: ConnectionInfo | null): void {
    if (stream.session !== undefined) this.infos.set(stream.session as http2.ServerHttp2Session, info);
    this.onStream(stream, headers);
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const hcm = this.hcm;
    hcm.stats.downstream_rq_total.value++;
    stream.on('error', () => {});
    const method = String(headers[':method'] ?? '');
    if (method !== 'CONNECT') return reply(hcm, stream, 501);
    const authority = String(headers[':authority'] ?? '');
    const input = matchInput(headers, authority);
    const route = hcm.routeConfig.current?.route(input) ?? null;
    if (route === null) {
      hcm.stats.no_route.value++;
      return reply(hcm, stream, 404);
    }
    const a = route.action;
    if (a.kind === 'direct_response') return reply(hcm, stream, a.status, route.directBody);
    if (a.kind !== 'route') return reply(hcm, stream, 404);
    const mode = connectMode(hcm, a);
    if (mode === undefined) return reply(hcm, stream, 403);
    const t = connectTarget(hcm, a, input.head.headers);
    if (t === 'no_cluster') return reply(hcm, stream, a.clusterNotFoundResponseCode);
    if (typeof t === 'string') return reply(hcm, stream, 503);
    const info = this.infos.get(stream.session as http2.ServerHttp2Session) ?? null;
    new H2ConnectBridge(hcm, stream, info, t.cluster, t.host, mode, authority);
  }

  /** Graceful close: GOAWAY; open tunnels finish. */
  drain(): void {
    for (const s of this.sessions) s.close();
  }
}

/** true: HTTP/2 preface; false: not; undefined: too few bytes to tell. */
function isPreface(b: Buffer): boolean | undefined {
  const n = Math.min(b.length, PREFACE.length);
  if (b.compare(PREFACE, 0, n, 0, n) !== 0) return false;
  return n === PREFACE.length ? true : undefined;
}

function matchInput(headers: http2.IncomingHttpHeaders, authority: string): MatchInput {
  const head = new RequestHead();
  head.method = 'CONNECT';
  head.target = authority;
  head.host = authority;
  for (const [k, v] of Object.entries(headers)) {
    if (k.charCodeAt(0) === 58 || v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) head.headers.push(k, String(x));
  }
  return { head, authority, path: '', scheme: 'http' };
}

function reply(hcm: HttpConnectionManager, stream: http2.ServerHttp2Stream, status: number, body = ''): void {
  hcm.countResponse(status);
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ':status': status, server: hcm.serverName }, { endStream: body === '' });
  if (body !== '') stream.end(Buffer.from(body, 'latin1'));
}

class H2ConnectBridge implements UpstreamCallbacks, FormatContext {
  private readonly hcm: HttpConnectionManager;
  private readonly stream: http2.ServerHttp2Stream;
  private readonly info: ConnectionInfo | null;
  private readonly upstream: ConnectUpstream;
  private connected = false;
  readonly startTime = Date.now();
  readonly protocol = 'HTTP/2';
  readonly upstreamHost: string;

  constructor(hcm: HttpConnectionManager, stream: http2.ServerHttp2Stream, info: ConnectionInfo | null, cluster: ConnectUpstream['cluster'], host: ConnectUpstream['host'], mode: 'terminate' | 'forward', authority: string) {
    this.hcm = hcm;
    this.stream = stream;
    this.info = info;
    this.upstreamHost = host.key;
    this.upstream = new ConnectUpstream(cluster, host, mode, authority, this, this);
    stream.on('data', (d: Buffer) => {
      if (!this.upstream.up.write(d)) stream.pause();
    });
    stream.on('end', () => this.upstream.up.end());
    stream.on('drain', () => this.upstream.up.resume());
    stream.on('close', () => this.upstream.up.closeAfterFlush());
    // No payload is read until the upstream is there.
    stream.pause();
  }

  // ---- FormatContext (forwarded CONNECT headers)
  get remoteAddress(): string {
    return this.info?.remoteAddress ?? this.stream.session?.socket?.remoteAddress ?? '';
  }
  get remotePort(): number {
    return this.info?.remotePort ?? this.stream.session?.socket?.remotePort ?? 0;
  }
  get localAddress(): string {
    return this.info?.localAddress ?? this.stream.session?.socket?.localAddress ?? '';
  }
  get localPort(): number {
    return this.info?.localPort ?? this.stream.session?.socket?.localPort ?? 0;
  }
  requestHeader(): string | null {
    return null;
  }
  dynamicMetadata(ns: string, path: string[]): unknown {
    return this.info?.metadataValue(ns, path);
  }

  // ---- upstream callbacks
  onUpstreamConnected(): void {
    const s = this.stream;
    if (s.destroyed) return this.upstream.up.destroy();
    this.connected = true;
    this.hcm.countResponse(200);
    s.respond({ ':status': 200, server: this.hcm.serverName });
    s.resume();
  }

  onUpstreamData(chunk: Buffer): void {
    // nghttp2 sends later: the stream gets its own copy of the (shared) read buffer.
    if (!this.stream.destroyed && !this.stream.write(Buffer.from(chunk))) this.upstream.up.pause();
  }

  onUpstreamEnd(): void {
    if (!this.stream.destroyed && !this.stream.writableEnded) this.stream.end();
  }

  onUpstreamDrain(): void {
    this.stream.resume();
  }

  onUpstreamClose(): void {
    this.upstream.closed(this.connected);
    const s = this.stream;
    if (s.destroyed) return;
    if (!this.connected) return reply(this.hcm, s, 503);
    if (!s.writableEnded) s.close(http2.constants.NGHTTP2_CONNECT_ERROR);
  }
}
