// A TLS context of one filter chain or cluster: the SecureContext OpenSSL handshakes with and the
// validator applied to the peer, built from inline/file key material and SDS secrets. It rebuilds
// when a secret it uses changes (certificate rotation) and keeps the last good build when a new one
// fails, as Envoy keeps serving with the previous secret.
import fs from 'node:fs';
import type tls from 'node:tls';
import { constants } from 'node:crypto';
import type { DataSourceSnap, DownstreamTlsSnap, SecretSnap, TlsContextSnap } from '../../shared/snapshot.ts';
import { CertValidator } from './cert_validator.ts';
import { getSecret, secretsGeneration } from './secrets.ts';
import { log } from '../log.ts';
import { tlsModule } from '../lazy_modules.ts';

export interface TlsMaterial {
  readonly secureContext: tls.SecureContext;
  /** null: the peer is not validated (no validation context). */
  readonly validator: CertValidator | null;
}

export class TlsContext {
  readonly snap: TlsContextSnap;
  private readonly isServer: boolean;
  private readonly what: string;
  private material: TlsMaterial | null = null;
  private builtGen = -1;
  /** Hashes of the secrets the current material was built from. */
  private secretKey = '';

  constructor(snap: TlsContextSnap, isServer: boolean, what: string) {
    this.snap = snap;
    this.isServer = isServer;
    this.what = what;
  }

  /** The material for a new connection; null while a referenced secret is missing or never built. */
  current(): TlsMaterial | null {
    if (this.builtGen !== secretsGeneration()) this.refresh();
    return this.material;
  }

  private refresh(): void {
    this.builtGen = secretsGeneration();
    const s = this.snap;
    const certs = s.certificates.slice();
    const missing: string[] = [];
    for (const name of s.certificateSecrets) {
      const sec = getSecret(name);
      if (sec === undefined || sec.kind !== 'tls_certificate') missing.push(name);
      else certs.push(sec);
    }
    let validation = s.validation;
    if (s.validationSecret !== '') {
      const sec = getSecret(s.validationSecret);
      if (sec === undefined || sec.kind !== 'validation_context') missing.push(s.validationSecret);
      else validation = validation === null ? sec : mergeValidation(validation, sec);
    }
    const key = [...s.certificateSecrets, s.validationSecret].map((n) => getSecret(n)?.hash ?? '-').join(',');
    if (this.material !== null && key === this.secretKey) return;
    if (missing.length > 0) {
      if (this.material === null) log.warn({ tls: this.what, secrets: missing }, 'TLS secrets not available yet');
      return;
    }
    try {
      this.material = build(s, certs, validation, this.isServer);
      this.secretKey = key;
    } catch (err) {
      log.error({ tls: this.what, err: String(err) }, 'TLS context build failed; keeping the previous one');
    }
  }
}

function build(s: TlsContextSnap, certs: SecretSnap[], v: SecretSnap | null, isServer: boolean): TlsMaterial {
  const opts: tls.SecureContextOptions = { minVersion: s.minVersion, maxVersion: s.maxVersion };
  if (certs.length > 0) {
    opts.cert = certs.map((c) => read(c.certificateChain));
    opts.key = certs.map((c) => ({ pem: read(c.privateKey), passphrase: c.password === null ? undefined : read(c.password).toString() }));
  }
  const ca = v?.trustedCa ?? null;
  if (ca !== null) opts.ca = read(ca);
  if (v?.crl != null) opts.crl = read(v.crl);
  if (s.cipherSuites.length > 0) opts.ciphers = s.cipherSuites.join(':');
  if (s.ecdhCurves.length > 0) opts.ecdhCurve = s.ecdhCurves.join(':');
  if (s.signatureAlgorithms.length > 0) opts.sigalgs = s.signatureAlgorithms.join(':');
  if (isServer) {
    opts.sessionIdContext = 'orion';
    const d = s as Partial<DownstreamTlsSnap>;
    if (d.sessionTimeoutMs !== undefined && d.sessionTimeoutMs > 0) opts.sessionTimeout = Math.ceil(d.sessionTimeoutMs / 1000);
    if (d.disableStatelessSessionResumption === true) opts.secureOptions = constants.SSL_OP_NO_TICKET;
  }
  return { secureContext: tlsModule().createSecureContext(opts), validator: v === null ? null : new CertValidator(v, ca !== null) };
}

/** SDS validation over the default one (combined_validation_context): set fields win, lists add up. */
function mergeValidation(def: SecretSnap, sds: SecretSnap): SecretSnap {
  return {
    ...def,
    trustedCa: sds.trustedCa ?? def.trustedCa,
    crl: sds.crl ?? def.crl,
    verifyCertificateSpki: [...def.verifyCertificateSpki, ...sds.verifyCertificateSpki],
    verifyCertificateHash: [...def.verifyCertificateHash, ...sds.verifyCertificateHash],
    matchSubjectAltNames: [...def.matchSubjectAltNames, ...sds.matchSubjectAltNames],
    allowExpiredCertificate: def.allowExpiredCertificate || sds.allowExpiredCertificate,
    trustChainVerification: sds.trustChainVerification === 'accept_untrusted' ? 'accept_untrusted' : def.trustChainVerification,
  };
}

/** DataSource bytes: files are read when the context is built, so a rotated file is read again on rebuild. */
function read(d: DataSourceSnap | null): Buffer {
  if (d === null) return Buffer.alloc(0);
  if (d.inline !== null) return Buffer.from(d.inline);
  return fs.readFileSync(d.filename!);
}
