// TLS sockets (downstream and upstream) reading decrypted bytes into the worker's shared read
// buffer, as plain sockets do through net.Socket's `onread` option: no Buffer per read and no
// Readable stream push / 'data' event in between (tls-h1: ~4 us CPU less per request).
//
// A TLSSocket built on an existing socket ignores `onread`, so the same net.Socket fields are set
// here (found once by their symbols' descriptions) and the TLSWrap handle, a StreamBase like a TCP
// handle, is pointed at the buffer with useUserBuffer. Without those internals (another Node) the
// caller falls back to 'data'.
import type tls from 'node:tls';
import { onread, type ReadCallback } from '../net/read_buffer.ts';

interface UserBufferKeys {
  buffer: symbol;
  cb: symbol;
  gen: symbol;
}
let userBufferKeys: UserBufferKeys | null | undefined;

function findUserBufferKeys(t: tls.TLSSocket): UserBufferKeys | null {
  const find = (d: string): symbol | undefined => Object.getOwnPropertySymbols(t).find((s) => s.description === d);
  const buffer = find('kBuffer');
  const cb = find('kBufferCb');
  const gen = find('kBufferGen');
  return buffer !== undefined && cb !== undefined && gen !== undefined ? { buffer, cb, gen } : null;
}

type UserBufferSocket = tls.TLSSocket & Record<symbol, unknown> & {
  _handle: { reading?: boolean; useUserBuffer?(b: Uint8Array): void } | null;
};

/**
 * TLSWrap decrypts everything a read brought in one loop and may hand over several chunks, even
 * after the reader paused (net.Socket's pause only stops the TCP reads): those are copied and
 * delivered on resume, so a paused reader sees nothing, as with a plain socket.
 */
class TlsReader {
  private readonly socket: UserBufferSocket;
  private readonly cb: ReadCallback;
  private readonly deliver: (n: number, buf: Uint8Array) => boolean;
  private held: Buffer[] | null = null;

  constructor(socket: UserBufferSocket, cb: ReadCallback, deliver: (n: number, buf: Uint8Array) => boolean) {
    this.socket = socket;
    this.cb = cb;
    this.deliver = deliver;
  }

  readonly onRead = (n: number, buf: Uint8Array): boolean => {
    const h = this.socket._handle;
    if (this.held === null && (h === null || h.reading !== false)) return this.deliver(n, buf);
    (this.held ??= []).push(Buffer.from(buf.subarray(0, n)));
    return true;
  };

  /** After net.Socket's resume: hands over what arrived while paused, unless paused again. */
  flush(): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    for (let i = 0; i < held.length; i++) {
      const h = this.socket._handle;
      if (this.socket.destroyed) return;
      if (h !== null && h.reading === false) {
        this.held = held.slice(i);
        return;
      }
      this.cb(held[i]);
    }
  }
}

const kReader = Symbol('orion.tlsReader');

function resumeTls(this: UserBufferSocket & { [kReader]: TlsReader }): UserBufferSocket {
  (Object.getPrototypeOf(this) as { resume(): unknown }).resume.call(this);
  this[kReader].flush();
  return this;
}

/**
 * From now on `t` hands decrypted bytes to `cb`, in the shared read buffer (valid during the
 * call only). False when this Node's internals do not allow it: the caller reads 'data' instead.
 */
export function readIntoSharedBuffer(t: tls.TLSSocket, cb: ReadCallback): boolean {
  const u = t as UserBufferSocket;
  if (userBufferKeys === undefined) userBufferKeys = findUserBufferKeys(t);
  const k = userBufferKeys;
  const h = u._handle;
  if (k === null || h === null || typeof h.useUserBuffer !== 'function') return false;
  const opts = onread(cb);
  const gen = opts.buffer as () => Uint8Array;
  const reader = new TlsReader(u, cb, opts.callback);
  (u as unknown as { [kReader]: TlsReader })[kReader] = reader;
  u.resume = resumeTls as unknown as typeof u.resume;
  const first = gen();
  u[k.gen] = gen;
  u[k.buffer] = first;
  u[k.cb] = reader.onRead;
  h.useUserBuffer(first);
  // Anything the Readable already holds (none in practice: a server adopts on 'secure', a client
  // before its handshake).
  if (t.readableLength > 0) {
    let c: Buffer | null;
    while ((c = t.read() as Buffer | null) !== null) cb(c);
  }
  return true;
}
