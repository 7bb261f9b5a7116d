// tcp_proxy's tunneling_config: the TCP payload rides in an HTTP CONNECT (or POST) stream to
// the upstream — HTTP/2 when the cluster speaks HTTP/2 (node:http2 client, one session per host
// shared by all tunnels to it, as Envoy's pool does; HBONE's shape), HTTP/1.1 CONNECT otherwise.
// A non-2xx answer is a failed connect (tcp_proxy retries or closes the downstream).
import type http2 from 'node:http2';
import type net from 'node:net';
import type { TunnelingConfigSnap } from '../../shared/snapshot.ts';
import type { Host } from '../upstream/host.ts';
import type { ConnectionInfo } from '../listener/connection_info.ts';
import { compileHeaderValue, type FormatContext, type HeaderValue } from '../router/formatter.ts';
import { findHeadEnd } from '../http/http1/parser.ts';
import { writeShared } from '../net/read_buffer.ts';
import { log } from '../log.ts';
import { http2Module, H2 } from '../lazy_modules.ts';

/** What tcp_proxy (or a terminated CONNECT) hears from its upstream, whatever carries it. */
export interface UpstreamCallbacks {
  onUpstreamConnected(): void;
  /** May be the shared read buffer: valid only during the call. */
  onUpstreamData(chunk: Buffer): void;
  onUpstreamEnd(): void;
  onUpstreamDrain(): void;
  onUpstreamClose(): void;
}

/** tcp_proxy's upstream side: a raw connection or a tunnel. */
export interface TcpUpstream {
  readonly writableLength: number;
  /** `data` may be the shared read buffer. */
  write(data: Buffer): boolean;
  /** Calls fn once everything written so far is flushed. */
  flushed(fn: () => void): void;
  end(): void;
  pause(): void;
  resume(): void;
  closeAfterFlush(): void;
  destroy(): void;
}

const EMPTY = Buffer.alloc(0);

/** Compiled per tunneling config: hostname and extra headers may use %DOWNSTREAM_…% substitutions. */
const compiled = new WeakMap<TunnelingConfigSnap, { hostname: HeaderValue; headers: [string, HeaderValue][] }>();

function compile(cfg: TunnelingConfigSnap): { hostname: HeaderValue; headers: [string, HeaderValue][] } {
  let c = compiled.get(cfg);
  if (c === undefined) {
    c = { hostname: compileHeaderValue(cfg.hostname), headers: cfg.headersToAdd.map((h) => [h.name, compileHeaderValue(h.value)]) };
    compiled.set(cfg, c);
  }
  return c;
}

function render(v: HeaderValue, ctx: FormatContext): string {
  return typeof v === 'string' ? v : v(ctx);
}

export function newTunnel(host: Host, cfg: TunnelingConfigSnap, cb: UpstreamCallbacks, ctx: FormatContext): TcpUpstream {
  const c = compile(cfg);
  const authority = render(c.hostname, ctx);
  const headers: [string, string][] = [];
  for (const [n, v] of c.headers) {
    const value = render(v, ctx);
    if (value !== '') headers.push([n, value]);
  }
  if (host.cluster.snap.upstreamProtocol === 'http2') return new H2Tunnel(host, cfg, authority, headers, cb);
  if (cfg.usePost) warnPostOnce();
  return new H1ConnectTunnel(host, authority, headers, cb);
}

let postWarned = false;
function warnPostOnce(): void {
  if (postWarned) return;
  postWarned = true;
  log.warn('tunneling_config.use_post needs an HTTP/2 cluster; HTTP/1.1 CONNECT is used instead');
}

// ---------------------------------------------------------------- HTTP/2

const sessions = new WeakMap<Host, http2.ClientHttp2Session>();

function sessionFor(host: Host): http2.ClientHttp2Session {
  const cur = sessions.get(host);
  if (cur !== undefined && !cur.closed && !cur.destroyed) return cur;
  const internal = host.internalConnector;
  const s = internal === null
    ? http2Module().connect(`http://${host.key}`)
    : http2Module().connect('http://internal.invalid', { createConnection: () => internal.open() as unknown as net.Socket });
  s.on('error', () => {}); // each stream reports its own failure
  s.on('goaway', () => {
    // The peer is draining: no new tunnels on this session; it closes once its streams end.
    if (sessions.get(host) === s) sessions.delete(host);
    s.close();
  });
  s.on('close', () => {
    if (sessions.get(host) === s) sessions.delete(host);
  });
  // An idle shared session must not keep a draining worker alive.
  s.unref();
  sessions.set(host, s);
  return s;
}

class H2Tunnel implements TcpUpstream {
  private readonly stream: http2.ClientHttp2Stream;

  constructor(host: Host, cfg: TunnelingConfigSnap, authority: string, extra: [string, string][], cb: UpstreamCallbacks) {
    const headers: http2.OutgoingHttpHeaders = cfg.usePost
      ? { ':method': 'POST', ':authority': authority, ':scheme': 'http', ':path': cfg.postPath }
      : { ':method': 'CONNECT', ':authority': authority };
    for (const [n, v] of extra) headers[n] = v;
    const s = (this.stream = sessionFor(host).request(headers, { endStream: false }));
    s.once('response', (h) => {
      const status = Number(h[':status']);
      if (status >= 200 && status < 300) cb.onUpstreamConnected();
      else s.close(H2.NGHTTP2_CANCEL);
    });
    s.on('data', (d: Buffer) => cb.onUpstreamData(d));
    s.on('end', () => cb.onUpstreamEnd());
    s.on('drain', () => cb.onUpstreamDrain());
    s.on('error', () => {});
    s.on('close', () => cb.onUpstreamClose());
  }

  get writableLength(): number {
    return this.stream.writableLength;
  }

  write(data: Buffer): boolean {
    // nghttp2 reads the bytes later: give it its own copy rather than pinning the read buffer.
    return this.stream.write(Buffer.from(data));
  }

  flushed(fn: () => void): void {
    this.stream.write(EMPTY, fn);
  }

  end(): void {
    if (!this.stream.writableEnded) this.stream.end();
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  closeAfterFlush(): void {
    this.end();
    // The peer answers our END_STREAM with its own, or the session's close takes the stream.
    this.stream.once('finish', () => setTimeout(() => this.destroy(), 1000).unref());
  }

  destroy(): void {
    if (!this.stream.destroyed) this.stream.close(H2.NGHTTP2_CANCEL);
  }
}

// ---------------------------------------------------------------- HTTP/1.1

const MAX_RESPONSE_HEAD = 64 * 1024;

/**
 * Sends our FIN. When the peer's FIN already arrived and nothing is queued, closing the socket
 * sends the same FIN as shutdown(SHUT_WR) and saves a syscall and its completion callback per
 * connection (the common order when a server closes first).
 */
export function endOrClose(socket: net.Socket): void {
  if (socket.writableEnded) return;
  if (socket.readableEnded && socket.writableLength === 0) socket.destroy();
  else socket.end();
}

/** A TCP upstream carried by a socket (plain, TLS or internal): the relay calls map one to one. */
abstract class SocketUpstream implements TcpUpstream {
  protected abstract readonly socket: net.Socket;

  get writableLength(): number {
    return this.socket.writableLength;
  }

  write(data: Buffer): boolean {
    return writeShared(this.socket, data);
  }

  flushed(fn: () => void): void {
    this.socket.write(EMPTY, fn);
  }

  end(): void {
    endOrClose(this.socket);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  closeAfterFlush(): void {
    this.socket.destroySoon();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

class H1ConnectTunnel extends SocketUpstream {
  protected readonly socket: net.Socket;
  private readonly cb: UpstreamCallbacks;
  private head: Buffer | null = null;
  private established = false;

  constructor(host: Host, authority: string, extra: [string, string][], cb: UpstreamCallbacks) {
    super();
    this.cb = cb;
    let req = `CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n`;
    for (const [n, v] of extra) req += `${n}: ${v}\r\n`;
    req += '\r\n';
    const s = (this.socket = host.connect((c) => this.onData(c)));
    s.once(host.connectEvent, () => s.write(req, 'latin1'));
    s.on('end', () => (this.established ? cb.onUpstreamEnd() : s.destroy()));
    s.on('drain', () => cb.onUpstreamDrain());
    s.on('error', () => {});
    s.on('close', () => cb.onUpstreamClose());
  }

  private onData(chunk: Buffer): void {
    if (this.established) return this.cb.onUpstreamData(chunk);
    const data = this.head === null ? chunk : Buffer.concat([this.head, chunk]);
    const end = findHeadEnd(data, 0);
    if (end < 0) {
      if (data.length > MAX_RESPONSE_HEAD) return void this.socket.destroy();
      this.head = data === chunk ? Buffer.from(chunk) : data;
      return;
    }
    this.head = null;
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(data.latin1Slice(0, Math.min(end, 16)));
    const status = m === null ? 0 : Number(m[1]);
    if (status < 200 || status >= 300) return void this.socket.destroy();
    this.established = true;
    this.cb.onUpstreamConnected();
    if (end < data.length) this.cb.onUpstreamData(data.subarray(end));
  }
}

/** A plain (network or internal) connection to the host, read into the shared buffer. */
export class RawUpstream extends SocketUpstream {
  protected readonly socket: net.Socket;

  constructor(host: Host, cb: UpstreamCallbacks) {
    super();
    const s = (this.socket = host.connect((c) => cb.onUpstreamData(c)));
    // TLS clusters: connected once the handshake and server validation succeeded.
    s.once(host.connectEvent, () => cb.onUpstreamConnected());
    s.on('end', () => cb.onUpstreamEnd());
    s.on('drain', () => cb.onUpstreamDrain());
    s.on('error', () => {});
    s.on('close', () => cb.onUpstreamClose());
  }
}

/** Header substitutions on a TCP connection (no request): addresses, metadata, SNI. */
export class ConnectionFormatContext implements FormatContext {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly startTime = Date.now();
  readonly protocol = '';
  readonly upstreamHost: string;
  private readonly info: ConnectionInfo | null;

  constructor(down: net.Socket, info: ConnectionInfo | null, upstreamHost: string) {
    this.info = info;
    this.remoteAddress = info?.remoteAddress ?? down.remoteAddress ?? '';
    this.remotePort = info?.remotePort ?? down.remotePort ?? 0;
    this.localAddress = info?.localAddress ?? down.localAddress ?? '';
    this.localPort = info?.localPort ?? down.localPort ?? 0;
    this.upstreamHost = upstreamHost;
  }

  requestHeader(): string | null {
    return null;
  }

  dynamicMetadata(ns: string, path: string[]): unknown {
    return this.info?.metadataValue(ns, path);
  }
}
