// Envoy's certificate validation beyond the chain: subject-alt-name matchers, certificate hash and
// SPKI pins, and which chain errors are tolerated (allow_expired_certificate, ACCEPT_UNTRUSTED).
// OpenSSL verifies the chain against trusted_ca; this judges the outcome and the peer's names.
import { createHash, X509Certificate } from 'node:crypto';
import type tls from 'node:tls';
import type { SecretSnap } from '../../shared/snapshot.ts';
import { compileStringMatch, type StringPredicate } from '../router/string_matcher.ts';

type SanType = SecretSnap['matchSubjectAltNames'][number]['sanType'];

interface SanMatcher {
  type: SanType;
  /** Exact DNS matchers accept wildcard certificates (`*.example.com` matches `a.example.com`). */
  exactDns: string | null;
  match: StringPredicate;
}

/** Stable failure reasons (they end up in logs and stats). */
export const TlsFailure = {
  NO_CERTIFICATE: 'peer did not present a certificate',
  UNTRUSTED: 'certificate chain verification failed',
  SAN_MISMATCH: 'no subject alt name matched',
  PIN_MISMATCH: 'certificate hash/SPKI pin mismatch',
} as const;

export class CertValidator {
  readonly hasCa: boolean;
  readonly allowExpired: boolean;
  readonly acceptUntrusted: boolean;
  private readonly sans: SanMatcher[];
  private readonly hashes: string[];
  private readonly spkis: string[];

  constructor(v: SecretSnap, hasCa: boolean) {
    this.hasCa = hasCa;
    this.allowExpired = v.allowExpiredCertificate;
    this.acceptUntrusted = v.trustChainVerification === 'accept_untrusted';
    this.sans = v.matchSubjectAltNames.map((m) => ({
      type: m.sanType,
      exactDns: (m.sanType === 'dns' || m.sanType === 'any') && m.match.kind === 'exact' && !m.match.ignoreCase ? m.match.value : null,
      match: compileStringMatch(m.match),
    }));
    this.hashes = v.verifyCertificateHash;
    this.spkis = v.verifyCertificateSpki;
  }

  /** True when OpenSSL itself may reject untrusted chains (nothing for us to tolerate). */
  get strictChain(): boolean {
    return this.hasCa && !this.allowExpired && !this.acceptUntrusted;
  }

  /** null when the peer is acceptable; else the reason. `authError` is Node's authorizationError. */
  check(socket: tls.TLSSocket): string | null {
    const cert = socket.getPeerX509Certificate();
    if (cert === undefined) return TlsFailure.NO_CERTIFICATE;
    if (this.hasCa && !this.acceptUntrusted && !socket.authorized) {
      const err = String(socket.authorizationError ?? '');
      if (!(this.allowExpired && err === 'CERT_HAS_EXPIRED')) return TlsFailure.UNTRUSTED;
    }
    if ((this.hashes.length > 0 || this.spkis.length > 0) && !this.pinned(cert)) return TlsFailure.PIN_MISMATCH;
    if (this.sans.length > 0 && !this.sanMatches(cert)) return TlsFailure.SAN_MISMATCH;
    return null;
  }

  private pinned(cert: X509Certificate): boolean {
    if (this.hashes.length > 0 && this.hashes.includes(cert.fingerprint256.replace(/:/g, '').toLowerCase())) return true;
    if (this.spkis.length > 0) {
      const spki = createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
      if (this.spkis.includes(spki)) return true;
    }
    return false;
  }

  private sanMatches(cert: X509Certificate): boolean {
    const names = parseSans(cert.subjectAltName ?? '');
    for (const m of this.sans) {
      for (const [type, value] of names) {
        if (m.type !== 'any' && m.type !== type) continue;
        if (m.exactDns !== null && type === 'dns' ? dnsMatch(m.exactDns, value) : m.match(value)) return true;
      }
    }
    return false;
  }
}

const SAN_PREFIX: Record<string, SanType> = { DNS: 'dns', URI: 'uri', email: 'email', 'IP Address': 'ip_address', othername: 'other' };

/** Node's subjectAltName text ("DNS:a, IP Address:1.2.3.4, URI:spiffe://…"); values with commas are quoted. */
export function parseSans(text: string): [SanType, string][] {
  const out: [SanType, string][] = [];
  const re = /(DNS|URI|email|IP Address|othername):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (let m = re.exec(text); m !== null && m[0] !== ''; m = re.exec(text)) {
    const raw = m[2];
    out.push([SAN_PREFIX[m[1]], raw.startsWith('"') ? (JSON.parse(raw) as string) : raw]);
  }
  return out;
}

/** RFC 6125 wildcard: `*.example.com` in the certificate covers exactly one leftmost label. */
function dnsMatch(want: string, san: string): boolean {
  const w = want.toLowerCase();
  const s = san.toLowerCase();
  if (w === s) return true;
  if (!s.startsWith('*.')) return false;
  const dot = w.indexOf('.');
  return dot > 0 && w.slice(dot) === s.slice(1);
}
