// HTTP/2 CONNECT termination for the HTTP connection manager (the HBONE shape: a client opens
// CONNECT streams on an HTTP/2 connection; each becomes a TCP or internal connection upstream).
// The HTTP/2 codec (http2/server_connection.ts) hands CONNECT streams here when the manager
// allows CONNECT (http2_protocol_options.allow_connect or a CONNECT upgrade config); routing,
// the allow/terminate/forward decision and the upstream side are shared with HTTP/1.1
// (connect_tunnel.ts). Each stream has flow control and half-close (END_STREAM <-> FIN).
import type http2 from 'node:http2';
import type { HttpConnectionManager } from './connection_manager.ts';
import type { ConnectionInfo } from '../listener/connection_info.ts';
import type { MatchInput } from '../router/header_matcher.ts';
import type { FormatContext } from '../router/formatter.ts';
import { RequestHead } from './http1/parser.ts';
import { connectMode, connectTarget, ConnectUpstream } from './connect_tunnel.ts';
import type { UpstreamCallbacks } from '../tcp/tunnel.ts';
import { H2 } from '../lazy_modules.ts';

export class H2ConnectServer {
  private readonly hcm: HttpConnectionManager;

  constructor(hcm: HttpConnectionManager) {
    this.hcm = hcm;
  }

  /** A CONNECT stream of a session the HTTP/2 codec serves; `info` is its connection's. */
  serveConnect(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, info: ConnectionInfo | null): void {
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
    new H2ConnectBridge(hcm, stream, info, t.cluster, t.host, mode, authority);
  }
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
    if (!s.writableEnded) s.close(H2.NGHTTP2_CONNECT_ERROR);
  }
}
