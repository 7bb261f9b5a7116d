// TLS origination to a cluster's hosts (UpstreamTlsContext): SNI, ALPN, the client certificate
// (mTLS, as Istio sidecars do) and Envoy's server validation. Envoy checks nothing by default; with
// trusted_ca the chain, and with SAN matchers or pins the names, are verified before the connection
// counts as established — a failure is a connect failure, not a reset.
import net from 'node:net';
import type tls from 'node:tls';
import type { UpstreamTlsSnap } from '../../shared/snapshot.ts';
import { TlsContext } from './tls_context.ts';
import type { ReadCallback } from '../net/read_buffer.ts';
import { readIntoSharedBuffer } from './tls_reader.ts';
import { stats, type Counter } from '../stats/store.ts';
import { tlsModule } from '../lazy_modules.ts';

/** Emitted on the socket once the handshake and validation succeeded (plain sockets use 'connect'). */
export const TLS_READY = 'tlsReady';

export class UpstreamTls {
  readonly snap: UpstreamTlsSnap;
  private readonly ctx: TlsContext;
  private readonly handshakes: Counter;
  private readonly failures: Counter;
  /** The last session the upstream gave us: the next connection resumes it (Envoy's max_session_keys: 1). */
  private session: Buffer | null = null;
  private sessionContext: tls.SecureContext | null = null;

  /** `statPrefix`: `cluster.<name>.` (Envoy's cluster.<name>.ssl.*). */
  constructor(snap: UpstreamTlsSnap, statPrefix: string, what: string) {
    this.snap = snap;
    this.ctx = new TlsContext(snap, false, what);
    this.handshakes = stats.counter(statPrefix + 'ssl.handshake');
    this.failures = stats.counter(statPrefix + 'ssl.connection_error');
    this.ctx.current();
  }

  private keepSession(s: Buffer, ctx: tls.SecureContext): void {
    this.session = s;
    this.sessionContext = ctx;
  }

  /** ALPN to offer: the configured list, else what the codec needs (h2, http/1.1). */
  alpnFor(codec: string[]): string[] {
    return this.snap.alpn.length > 0 ? this.snap.alpn : codec;
  }

  /**
   * Opens a TLS connection. 'tlsReady' fires once the server is accepted; a failed handshake or
   * validation destroys the socket before that. `cb` receives the decrypted bytes in the shared read
   * buffer (null when the caller reads the socket itself, e.g. node:http2).
   */
  connect(host: string, port: number, alpn: string[], cb: ReadCallback | null): tls.TLSSocket {
    const raw = net.connect({ host, port, noDelay: true, allowHalfOpen: true });
    const m = this.ctx.current();
    const sni = this.snap.sni;
    const t = tlsModule().connect({
      socket: raw,
      secureContext: m?.secureContext,
      servername: sni !== '' && net.isIP(sni) === 0 ? sni : undefined,
      ALPNProtocols: alpn.length > 0 ? alpn : undefined,
      // Validation is Envoy's (below), not Node's default of the system roots plus the host name.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      // A session from a rotated context is not offered again.
      session: this.session !== null && this.sessionContext === m?.secureContext ? this.session : undefined,
    });
    if (m === null) {
      // A secret is missing (SDS not delivered yet): fail like a refused connection.
      process.nextTick(() => t.destroy(new Error('upstream TLS secrets not available')));
      return t;
    }
    // Only sessions of validated servers are kept (a TLS 1.2 ticket can arrive before the verdict).
    let validated = false;
    let pending: Buffer | null = null;
    t.on('session', (s: Buffer) => {
      if (validated) this.keepSession(s, m.secureContext);
      else pending = s;
    });
    t.once('secureConnect', () => {
      const v = m.validator;
      // A resumed session was validated when it was first established (with this same context).
      const err = v === null || t.isSessionReused() ? null : v.check(t);
      if (err !== null) {
        this.failures.value++;
        t.destroy(new Error(err));
        return;
      }
      validated = true;
      if (pending !== null) this.keepSession(pending, m.secureContext);
      this.handshakes.value++;
      t.emit(TLS_READY);
    });
    raw.on('error', () => {});
    if (cb !== null && !readIntoSharedBuffer(t, cb)) t.on('data', cb);
    return t;
  }
}
