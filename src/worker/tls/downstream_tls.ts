// TLS termination for a filter chain (DownstreamTlsContext): wraps an accepted socket in a server
// TLSSocket, enforces Envoy's client-certificate rules once the handshake is done, and hands the
// secure socket to the chain's network filter. Each handshake takes the context current at that
// moment, so certificate rotation never touches established connections.
import type net from 'node:net';
import type tls from 'node:tls';
import type { DownstreamTlsSnap } from '../../shared/snapshot.ts';
import { TlsContext } from './tls_context.ts';
import { onSecretsChange } from './secrets.ts';
import { TlsFailure, type CertValidator } from './cert_validator.ts';
import { stats, type Counter } from '../stats/store.ts';
import type { ReadCallback } from '../net/read_buffer.ts';
import { readIntoSharedBuffer } from './tls_reader.ts';
import { tlsModule } from '../lazy_modules.ts';

/** A client that never completes its handshake is closed after this (Envoy's TLS inspector default). */
const HANDSHAKE_TIMEOUT_MS = 15_000;

class SslStats {
  readonly handshake: Counter;
  readonly connection_error: Counter;
  readonly no_certificate: Counter;
  readonly fail_verify_no_cert: Counter;
  readonly fail_verify_error: Counter;
  readonly fail_verify_san: Counter;
  readonly fail_verify_cert_hash: Counter;

  constructor(prefix: string) {
    const p = prefix + 'ssl.';
    this.handshake = stats.counter(p + 'handshake');
    this.connection_error = stats.counter(p + 'connection_error');
    this.no_certificate = stats.counter(p + 'no_certificate');
    this.fail_verify_no_cert = stats.counter(p + 'fail_verify_no_cert');
    this.fail_verify_error = stats.counter(p + 'fail_verify_error');
    this.fail_verify_san = stats.counter(p + 'fail_verify_san');
    this.fail_verify_cert_hash = stats.counter(p + 'fail_verify_cert_hash');
  }
}

export class DownstreamTls {
  readonly snap: DownstreamTlsSnap;
  private readonly ctx: TlsContext;
  private readonly stats: SslStats;
  private readonly alpn: string[] | undefined;

  /** `statPrefix` like `listener.0.0.0.0_443.` (Envoy counts TLS per listener). */
  constructor(snap: DownstreamTlsSnap, statPrefix: string, what: string) {
    this.snap = snap;
    this.ctx = new TlsContext(snap, true, what);
    this.stats = new SslStats(statPrefix);
    this.alpn = snap.alpn.length > 0 ? snap.alpn : undefined;
    // Build now: key material is read (and a bad one reported) with the config, not on a first handshake.
    this.ctx.current();
  }

  /**
   * Starts the handshake on `socket`; `initial` holds bytes listener filters already read (the
   * ClientHello). `onSecure` gets the TLS socket once the peer is accepted. Returns the socket that
   * carries the connection from now on (closed on any failure).
   */
  wrap(socket: net.Socket, initial: Buffer | null, onSecure: (s: tls.TLSSocket) => void): net.Socket {
    const m = this.ctx.current();
    if (m === null) return this.awaitSecrets(socket, initial, onSecure);
    if (initial !== null && initial.length > 0) socket.unshift(initial);
    const v = m.validator;
    const t = new (tlsModule().TLSSocket)(socket, {
      isServer: true,
      secureContext: m.secureContext,
      ALPNProtocols: this.alpn,
      requestCert: v !== null,
      // Let OpenSSL refuse (with a proper alert) what Envoy always refuses; the rest is judged below.
      rejectUnauthorized: v !== null && this.snap.requireClientCertificate && v.strictChain,
    });
    const timer = setTimeout(() => t.destroy(), HANDSHAKE_TIMEOUT_MS);
    t.once('secure', () => {
      clearTimeout(timer);
      if (v !== null) settleAuthorization(t);
      const err = this.verify(t, v);
      if (err !== null) {
        t.destroy();
        return;
      }
      this.stats.handshake.value++;
      // A standalone server TLSSocket never clears this; node:http2 waits on it otherwise.
      (t as unknown as { secureConnecting: boolean }).secureConnecting = false;
      (t as AdoptableTls).adopt = adoptTls;
      onSecure(t);
    });
    t.on('error', () => {
      clearTimeout(timer);
      if (!t.destroyed) t.destroy();
    });
    t.once('close', () => {
      clearTimeout(timer);
      if (!(t as { _secureEstablished?: boolean })._secureEstablished) this.stats.connection_error.value++;
    });
    return t;
  }

  /**
   * An SDS secret has not arrived yet (Envoy keeps such a listener warming): the connection waits,
   * up to the handshake timeout, and the handshake starts once the secrets change.
   */
  private awaitSecrets(socket: net.Socket, initial: Buffer | null, onSecure: (s: tls.TLSSocket) => void): net.Socket {
    const timer = setTimeout(() => {
      this.stats.connection_error.value++;
      socket.destroy();
    }, HANDSHAKE_TIMEOUT_MS);
    const retry = (): void => {
      if (socket.destroyed) return clearTimeout(timer);
      if (this.ctx.current() === null) return onSecretsChange(retry);
      clearTimeout(timer);
      // The listener keeps watching `socket`: it closes with the TLS socket wrapping it.
      this.wrap(socket, initial, onSecure);
    };
    onSecretsChange(retry);
    return socket;
  }

  private verify(t: tls.TLSSocket, v: CertValidator | null): string | null {
    const s = this.snap;
    if (s.requireSni && !t.servername) return 'no SNI';
    if (v === null) return null;
    const err = v.check(t);
    if (err === TlsFailure.NO_CERTIFICATE) {
      this.stats.no_certificate.value++;
      if (!s.requireClientCertificate) return null;
      this.stats.fail_verify_no_cert.value++;
      return err;
    }
    if (err === TlsFailure.UNTRUSTED) this.stats.fail_verify_error.value++;
    else if (err === TlsFailure.SAN_MISMATCH) this.stats.fail_verify_san.value++;
    else if (err === TlsFailure.PIN_MISMATCH) this.stats.fail_verify_cert_hash.value++;
    return err;
  }
}

type AdoptableTls = tls.TLSSocket & { adopt?: (cb: ReadCallback) => net.Socket };

/**
 * `authorized` / `authorizationError` as tls.Server sets them: a standalone server TLSSocket is
 * never told OpenSSL's verdict on the client chain, so it is read from the TLS handle here.
 */
function settleAuthorization(t: tls.TLSSocket): void {
  const h = (t as unknown as { _handle?: { verifyError?(): (Error & { code?: string }) | null } })._handle;
  const err = h?.verifyError?.() ?? null;
  t.authorized = err === null;
  if (err !== null) t.authorizationError = (err.code ?? err.message) as unknown as Error;
}

/** read_buffer's adoptAccepted hook: decrypted bytes go to the shared read buffer. */
function adoptTls(this: AdoptableTls, cb: ReadCallback): net.Socket {
  if (!readIntoSharedBuffer(this, cb)) this.on('data', cb);
  return this;
}
