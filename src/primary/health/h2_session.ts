// The HTTP/2 session an HTTP or gRPC health checker keeps to its host between probes (Envoy
// reuses the connection unless reuse_connection is false), reopened after it closes or fails.
import http2 from 'node:http2';
import type { ProbeTarget } from './prober.ts';

export class ProbeSession {
  private readonly target: ProbeTarget;
  private session: http2.ClientHttp2Session | null = null;

  constructor(target: ProbeTarget) {
    this.target = target;
  }

  get(): http2.ClientHttp2Session {
    if (this.session !== null && !this.session.closed && !this.session.destroyed) return this.session;
    const host = this.target.address.includes(':') ? `[${this.target.address}]` : this.target.address;
    const s = http2.connect(`http://${host}:${this.target.port}`);
    s.on('error', () => {});
    s.on('close', () => {
      if (this.session === s) this.session = null;
    });
    s.unref();
    this.session = s;
    return s;
  }

  drop(): void {
    this.session?.destroy();
    this.session = null;
  }
}
