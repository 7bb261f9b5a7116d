// One end of an internal connection: an in-memory duplex pair standing in for a TCP connection
// between an internal upstream (a cluster host) and an internal listener of the same worker.
// Socket semantics the network filters rely on are kept: bytes arrive on a later tick (never
// re-entrantly inside the writer's call), end() is a FIN the peer sees as 'end', destroy() is a
// close the peer sees as EOF and then EPIPE on write, and each direction buffers at most the
// configured size (Envoy's buffer_size_kb) before the writer sees backpressure.
import { Duplex } from 'node:stream';
import type net from 'node:net';
import type { ReadCallback } from '../net/read_buffer.ts';

/** Dynamic metadata of a connection: namespace → fields. */
export type DynamicMetadata = Record<string, Record<string, unknown>>;

type WriteCb = (err?: Error | null) => void;

function epipe(): Error {
  return Object.assign(new Error('write EPIPE (internal connection closed)'), { code: 'EPIPE' });
}

function deliver(from: InternalSocket, to: InternalSocket, data: Buffer, cb: WriteCb): void {
  from.inFlight = 0;
  if (to.destroyed || to.eofPushed) return cb(epipe());
  // Hold the writer's callback while the reader's buffer is full: that is the backpressure.
  if (to.push(data)) cb();
  else to.writerCb = cb;
}

function deliverEnd(to: InternalSocket): void {
  if (to.destroyed || to.eofPushed) return;
  to.eofPushed = true;
  to.push(null);
}

function peerClosed(to: InternalSocket): void {
  deliverEnd(to);
  to.writerCb = null; // a write of the closed side: nobody waits for it any more
}

export class InternalSocket extends Duplex {
  peer: InternalSocket | null = null;
  remoteAddress: string;
  remotePort = 0;
  localAddress: string;
  localPort = 0;
  /** Until the listener accepted (client side); http2 waits for 'connect' while this is set. */
  connecting = false;
  /** Set on the listener side: what the internal upstream passed through (internal_upstream). */
  dynamicMetadata: DynamicMetadata | null = null;
  /** The peer's pending write callback, released when this side reads on. */
  writerCb: WriteCb | null = null;
  eofPushed = false;
  /** Bytes of the write being delivered: already copied, so not the caller's to protect. */
  inFlight = 0;

  constructor(bufferBytes: number, localAddress: string, remoteAddress: string) {
    super({ allowHalfOpen: true, readableHighWaterMark: bufferBytes, writableHighWaterMark: bufferBytes, decodeStrings: true });
    this.localAddress = localAddress;
    this.remoteAddress = remoteAddress;
  }

  override _read(): void {
    const cb = this.writerCb;
    if (cb !== null) {
      this.writerCb = null;
      cb();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: WriteCb): void {
    const p = this.peer;
    if (p === null) return cb(epipe());
    // The chunk may be a view of the worker's shared read buffer: the peer keeps a copy.
    this.inFlight = chunk.length;
    process.nextTick(deliver, this, p, Buffer.from(chunk), cb);
  }

  override _final(cb: WriteCb): void {
    if (this.peer !== null) process.nextTick(deliverEnd, this.peer);
    cb();
  }

  override _destroy(err: Error | null, cb: WriteCb): void {
    const p = this.peer;
    if (p !== null) process.nextTick(peerClosed, p);
    const held = this.writerCb;
    this.writerCb = null;
    if (held !== null) held(epipe());
    cb(err);
  }

  /** Attaches the reader a network filter uses (the counterpart of adopting a socket handle). */
  adopt(cb: ReadCallback): net.Socket {
    this.removeAllListeners('data');
    this.on('data', cb);
    this.resume();
    return this as unknown as net.Socket;
  }

  /**
   * Another reader (node:http2 on a connection the HTTP/1 codec sniffed) takes over: the adopted
   * reader goes and the stream pauses, so bytes put back with unshift() wait for the new reader.
   */
  releaseReader(): void {
    this.removeAllListeners('data');
    this.pause();
  }

  /** net.Socket's: close once what was written is flushed. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

// writeShared() holds its write slab while a socket's writableLength is non-zero, because
// the queued bytes may still point into it. Here the write in delivery is a copy: only bytes
// queued behind it are the caller's, so only those count.
Object.defineProperty(InternalSocket.prototype, 'writableLength', {
  get(this: InternalSocket): number {
    return (this as unknown as { _writableState: { length: number } })._writableState.length - this.inFlight;
  },
});

/** A connected pair: [client side, listener side]. */
export function internalPair(bufferBytes: number, listenerAddress: string): [InternalSocket, InternalSocket] {
  const client = new InternalSocket(bufferBytes, INTERNAL_CLIENT_ADDRESS, listenerAddress);
  const server = new InternalSocket(bufferBytes, listenerAddress, INTERNAL_CLIENT_ADDRESS);
  client.peer = server;
  server.peer = client;
  return [client, server];
}

/** Envoy's address for the client end of internal connections. */
export const INTERNAL_CLIENT_ADDRESS = 'envoy://internal_client_address/';
