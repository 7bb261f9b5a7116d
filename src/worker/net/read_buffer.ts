// Every socket of a worker reads into one shared buffer (Node's `onread` mode), which skips the
// per-read allocation and the Readable stream machinery: the largest per-request saving on the
// data path. The price is a rule every reader follows: bytes of the read buffer are valid only
// until the read callback returns. Anything kept longer is copied, and a write that could not
// complete synchronously pins the buffer, so later reads go to a fresh one.
import net from 'node:net';

const SIZE = 64 * 1024;
let current = Buffer.allocUnsafe(SIZE);
const nextBuffer = (): Buffer => current;

/** Called when the current buffer is referenced beyond the read callback. */
export function pinReadBuffer(): void {
  current = Buffer.allocUnsafe(SIZE);
}

/** True when `b` lies in the buffer reads currently go to: it must be copied to outlive the read callback. */
export function inReadBuffer(b: Uint8Array): boolean {
  return b.buffer === current.buffer;
}

/** Writes bytes that may live in the read buffer; pins it if the write was queued. */
export function writeShared(sock: net.Socket, data: Uint8Array): boolean {
  const ok = sock.write(data);
  if (sock.writableLength !== 0) pinReadBuffer();
  return ok;
}

export type ReadCallback = (data: Buffer) => void;

function onread(cb: ReadCallback): net.OnReadOpts {
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
