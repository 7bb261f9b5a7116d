// The downstream addresses of a connection as the connection manager sees them: those listener
// filters restored (PROXY protocol, Kmesh TLV) when there are any, else the socket's own. They are
// asked of the kernel only when something needs them (XFF, formatters, logs): most requests don't,
// and a new connection per request would pay two syscalls for nothing.
import type net from 'node:net';
import type { ConnectionInfo } from '../listener/connection_info.ts';

export abstract class DownstreamAddresses {
  abstract readonly socket: net.Socket;
  abstract readonly info: ConnectionInfo | null;

  get remoteAddress(): string {
    return this.info !== null ? this.info.remoteAddress : (this.socket.remoteAddress ?? '');
  }
  get remotePort(): number {
    return this.info !== null ? this.info.remotePort : (this.socket.remotePort ?? 0);
  }
  get localAddress(): string {
    return this.info !== null ? this.info.localAddress : (this.socket.localAddress ?? '');
  }
  get localPort(): number {
    return this.info !== null ? this.info.localPort : (this.socket.localPort ?? 0);
  }
}
