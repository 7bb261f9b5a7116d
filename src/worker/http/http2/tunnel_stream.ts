// A CONNECT stream of the HTTP/2 codec as the connection manager's CONNECT termination
// (h2_connect.ts) drives it: the part of node:http2's ServerHttp2Stream it uses (respond, write,
// end, close, pause/resume, and the data / end / drain / close events). CONNECT tunnels are
// long-lived and few, so plain events are fine here; request streams never pay for them.
import { EventEmitter } from 'node:events';
import type http2 from 'node:http2';
import type { RequestHead } from '../http1/parser.ts';
import type { H2ConnectServer } from '../h2_connect.ts';
import { E_CANCEL, E_NO_ERROR, type H2Stream, type H2StreamHandler } from './server_connection.ts';

export class H2TunnelStream extends EventEmitter implements H2StreamHandler {
  private readonly s: H2Stream;
  /** Payload that arrived while paused (copies), delivered on resume. */
  private held: Buffer[] | null = null;
  private endHeld = false;
  private isPaused = false;
  destroyed = false;
  writableEnded = false;

  /** Hands a CONNECT stream to the CONNECT termination. */
  static serve(s: H2Stream, head: RequestHead, connect: H2ConnectServer): void {
    const t = new H2TunnelStream(s);
    const headers: http2.IncomingHttpHeaders = { ':method': head.method, ':authority': head.host };
    const hs = head.headers;
    for (let i = 0; i < hs.length; i += 2) {
      const prev = headers[hs[i]];
      headers[hs[i]] = prev === undefined ? hs[i + 1] : Array.isArray(prev) ? [...prev, hs[i + 1]] : [prev, hs[i + 1]];
    }
    connect.serveConnect(t as unknown as http2.ServerHttp2Stream, headers, s.c.info);
  }

  private constructor(s: H2Stream) {
    super();
    this.s = s;
    s.handler = this;
  }

  get headersSent(): boolean {
    return this.s.headersSent;
  }

  /** For the bridge's addresses when the connection has no ConnectionInfo. */
  get session(): { socket: H2Stream['c']['socket'] } {
    return { socket: this.s.c.socket };
  }

  respond(headers: Record<string, string | number | undefined>, opts?: { endStream?: boolean }): void {
    const s = this.s;
    if (s.closed || s.headersSent) return;
    const c = s.c;
    c.beginHeaders();
    c.status(Number(headers[':status'] ?? 200));
    for (const k of Object.keys(headers)) {
      const v = headers[k];
      if (k.charCodeAt(0) === 58 || v === undefined || v === '') continue;
      c.field(k.toLowerCase(), String(v));
    }
    const end = opts?.endStream === true;
    c.endHeaders(s, end);
    if (!end) return;
    this.writableEnded = true;
    // A refused tunnel: the client need not half-close it (RFC 9113 §8.1).
    if (!s.closed) c.resetStream(s, E_NO_ERROR);
  }

  write(chunk: Uint8Array): boolean {
    if (this.s.closed || this.writableEnded) return true;
    return this.s.c.sendData(this.s, chunk, 0, chunk.length, false);
  }

  end(chunk?: Uint8Array): void {
    if (this.writableEnded) return;
    this.writableEnded = true;
    const s = this.s;
    if (s.closed) return;
    if (!s.headersSent) this.respond({ ':status': 200 });
    const b = chunk ?? EMPTY;
    s.c.sendData(s, b, 0, b.length, true);
  }

  close(code: number = E_CANCEL): void {
    if (this.s.closed) return;
    this.s.c.resetStream(this.s, code);
  }

  pause(): this {
    this.isPaused = true;
    this.s.pauseReading();
    return this;
  }

  resume(): this {
    if (!this.isPaused) return this;
    this.isPaused = false;
    const held = this.held;
    this.held = null;
    if (held !== null) for (const b of held) this.emit('data', b);
    if (this.endHeld) {
      this.endHeld = false;
      this.emit('end');
    }
    // The handler may have paused again while taking the held data.
    if (!this.isPaused) this.s.resumeReading();
    return this;
  }

  // ---- H2StreamHandler
  onStreamData(buf: Buffer, start: number, end: number): void {
    const b = Buffer.from(buf.subarray(start, end));
    if (this.isPaused) (this.held ??= []).push(b);
    else this.emit('data', b);
  }

  onStreamEnd(): void {
    if (this.isPaused) this.endHeld = true;
    else this.emit('end');
  }

  onStreamWritable(): void {
    this.emit('drain');
  }

  onStreamClose(): void {
    this.destroyed = true;
    process.nextTick(emitClose, this);
  }
}

const EMPTY = Buffer.alloc(0);

function emitClose(t: H2TunnelStream): void {
  t.emit('close');
}
