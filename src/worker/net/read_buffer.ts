// Every socket of a worker reads into one shared buffer (Node's `onread` mode), which skips the
// per-read allocation and the Readable stream machinery: the largest per-request saving on the
// data path. The price is a rule every reader follows: bytes of the read buffer are valid only
// until the read callback returns; anything kept longer is copied.
//
// Node hands each socket its read buffer once, when the socket is created: the buffer can never
// be swapped under live sockets. So a write must not leave the read buffer referenced by a
// queued (partial) write: writes of read-buffer bytes go out from a copy in a write slab. The
// copy is a memcpy into memory that is reused as soon as the write completes synchronously (the
// common case); a queued write keeps its slab until the socket has flushed it.
import net from 'node:net';

const SIZE = 64 * 1024;
const current: Buffer = Buffer.allocUnsafe(SIZE);
const nextBuffer = (): Buffer => current;

/** True when `b` lies in the shared read buffer: it must be copied to outlive the read callback. */
export function inReadBuffer(b: Uint8Array): boolean {
  return b.buffer === current.buffer;
}

const SLAB_SIZE = 1024 * 1024;
const MAX_SPARE_SLABS = 2;
const EMPTY = Buffer.alloc(0);

/** Bump-allocated copies of read-buffer bytes, while writes referencing them are queued. */
class WriteSlab {
  readonly buf = Buffer.allocUnsafe(SLAB_SIZE);
  used = 0;
  /** Queued writes not yet flushed. */
  pending = 0;
  /** Full: no new copies; reusable once `pending` drops to zero. */
  retired = false;
  /** A queued write on an ended socket reports nothing back: this slab is left to the GC. */
  abandoned = false;
  /** One callback per slab, counting flushed writes down. */
  readonly flushed = (): void => {
    if (--this.pending === 0 && this.retired) recycle(this);
  };
}

const spareSlabs: WriteSlab[] = [];
let slab: WriteSlab | null = null;

function recycle(s: WriteSlab): void {
  if (s.abandoned || spareSlabs.length >= MAX_SPARE_SLABS) return;
  s.used = 0;
  s.retired = false;
  spareSlabs.push(s);
}

function copyOut(data: Uint8Array): Buffer {
  let s = slab;
  if (s === null || s.used + data.length > SLAB_SIZE) {
    if (s !== null) {
      s.retired = true;
      if (s.pending === 0) recycle(s);
    }
    s = slab = spareSlabs.pop() ?? new WriteSlab();
  }
  const out = s.buf.subarray(s.used, s.used + data.length);
  out.set(data);
  s.used += data.length;
  return out;
}

/** After writing `copy` (the slab's last allocation): reuse it at once, or hold the slab until flushed. */
function settle(sock: net.Socket, copy: Buffer): void {
  const s = slab!;
  if (sock.writableLength === 0) {
    s.used -= copy.length;
    return;
  }
  if (sock.writableEnded) {
    s.abandoned = true;
    return;
  }
  s.pending++;
  sock.write(EMPTY, s.flushed);
}

/**
 * A TLS socket hands what write() gets to OpenSSL before write() returns, unless the write is
 * queued behind another: with nothing queued or corked, read-buffer bytes need no copy. (Its
 * writes complete asynchronously, so settle() would always hold the slab with an extra write.)
 */
function tlsIdle(sock: net.Socket): boolean {
  return sock.writableLength === 0 && sock.writableCorked === 0;
}

/** A TLS socket's queued copy: its own write callback releases the slab. */
function writeTlsCopy(sock: net.Socket, data: Uint8Array): boolean {
  const copy = copyOut(data);
  const s = slab!;
  s.pending++;
  return sock.write(copy, s.flushed);
}

const isTls = (sock: net.Socket): boolean => (sock as { encrypted?: boolean }).encrypted === true;

/** Writes bytes that may live in the shared read buffer. */
export function writeShared(sock: net.Socket, data: Uint8Array): boolean {
  if (data.buffer !== current.buffer) return sock.write(data);
  if (isTls(sock)) return tlsIdle(sock) ? sock.write(data) : writeTlsCopy(sock, data);
  const copy = copyOut(data);
  const ok = sock.write(copy);
  settle(sock, copy);
  return ok;
}

/** A head and bytes that may live in the shared read buffer, in one writev. */
export function writeWithHead(sock: net.Socket, head: string, data: Uint8Array): boolean {
  if (data.buffer !== current.buffer || (isTls(sock) && tlsIdle(sock))) {
    sock.cork();
    sock.write(head, 'latin1');
    const ok = sock.write(data);
    sock.uncork();
    return ok;
  }
  if (isTls(sock)) {
    sock.cork();
    sock.write(head, 'latin1');
    const ok = writeTlsCopy(sock, data);
    sock.uncork();
    return ok;
  }
  const copy = copyOut(data);
  sock.cork();
  sock.write(head, 'latin1');
  const ok = sock.write(copy);
  sock.uncork();
  settle(sock, copy);
  return ok;
}

export type ReadCallback = (data: Buffer) => void;

/** `onread` options reading into the shared buffer (also used by TLS sockets, src/worker/tls). */
export function onread(cb: ReadCallback): net.OnReadOpts {
  return { buffer: nextBuffer, callback: (n: number, buf: Uint8Array) => {
    cb((buf as Buffer).subarray(0, n));
    return true;
  } };
}

/**
 * Moves an accepted connection's handle (the server was created with pauseOnConnect) into a
 * socket that reads into the shared buffer.
 */
export function adoptAccepted(accepted: net.Socket, cb: ReadCallback): net.Socket {
  const s = accepted as unknown as { _handle: unknown; adopt?(cb: ReadCallback): net.Socket };
  // Internal connections (src/worker/internal, no handle) and TLS sockets (src/worker/tls, whose
  // handle is the TLS layer) attach the reader themselves.
  if (s.adopt !== undefined) return s.adopt(cb);
  const handle = s._handle;
  s._handle = null;
  // TCP_NODELAY was already set on the handle by the server's noDelay option.
  return new net.Socket({ handle, allowHalfOpen: true, onread: onread(cb) } as net.SocketConstructorOpts);
}

/**
 * Moves a paused accepted connection into a plain socket (no shared buffer) for a consumer that
 * reads the handle itself (node:http2). A connection without a handle (internal) is returned as is.
 */
export function adoptPlain(accepted: net.Socket): net.Socket {
  const s = accepted as unknown as { _handle: unknown };
  const handle = s._handle;
  if (handle === undefined || handle === null) return accepted;
  s._handle = null;
  return new net.Socket({ handle, allowHalfOpen: true } as net.SocketConstructorOpts);
}

/** An upstream connection reading into the shared buffer. */
export function connectShared(host: string, port: number, cb: ReadCallback): net.Socket {
  return net.connect({ host, port, noDelay: true, allowHalfOpen: true, onread: onread(cb) });
}
