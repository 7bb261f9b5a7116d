// Secret (SDS) → SecretSnap. Key material is resolved to bytes here only when it is inline or
// comes from an environment variable; files stay file names so a worker reads the current file.
import type { DataSourceSnap, SecretSnap } from '../../../shared/snapshot.ts';
import { bool, checkRest, join, list, obj, stableHash, str, strList, type Ctx, type Obj } from './context.ts';
import { stringMatcher } from './route_match.ts';

const SAN_TYPES: Record<string, SecretSnap['matchSubjectAltNames'][number]['sanType']> = {
  DNS: 'dns',
  URI: 'uri',
  EMAIL: 'email',
  IP_ADDRESS: 'ip_address',
  OTHER_NAME: 'other',
};

export function secret(s: Obj, path: string, ctx: Ctx): SecretSnap {
  checkRest(ctx, s, path, ['name', 'tls_certificate', 'validation_context', 'session_ticket_keys', 'generic_secret']);
  let snap: SecretSnap;
  if (s.tls_certificate !== undefined) {
    snap = tlsCertificateSecret(obj(s.tls_certificate), join(path, 'tls_certificate'), ctx, SDS_CERT_EXTRAS);
  } else if (s.validation_context !== undefined) {
    snap = validationContextSecret(obj(s.validation_context), join(path, 'validation_context'), ctx, SDS_VALIDATION_EXTRAS);
  } else if (s.session_ticket_keys !== undefined) {
    snap = sessionTicketKeys(obj(s.session_ticket_keys), join(path, 'session_ticket_keys'), ctx);
  } else if (s.generic_secret !== undefined) {
    const g = obj(s.generic_secret);
    checkRest(ctx, g, join(path, 'generic_secret'), ['secret']);
    snap = emptySecret('generic_secret');
    snap.genericSecret = dataSource(g.secret, join(join(path, 'generic_secret'), 'secret'), ctx);
  } else {
    ctx.issues.error(path, 'a secret needs one of tls_certificate, validation_context, session_ticket_keys or generic_secret');
    snap = emptySecret('generic_secret');
  }
  snap.name = str(s.name);
  snap.hash = stableHash({ ...snap, hash: '' });
  return snap;
}

/** Fields an SDS secret may carry that do not change what is served (accepted without a warning). */
const SDS_CERT_EXTRAS = ['watched_directory', 'ocsp_staple', 'signed_certificate_timestamp'];
const SDS_VALIDATION_EXTRAS = ['watched_directory', 'only_verify_leaf_cert_crl', 'max_verify_depth', 'require_signed_certificate_timestamp'];

function sessionTicketKeys(k: Obj, kp: string, ctx: Ctx): SecretSnap {
  checkRest(ctx, k, kp, ['keys']);
  const snap = emptySecret('session_ticket_keys');
  list(k.keys).forEach((d, i) => {
    const ds = dataSource(d, join(join(kp, 'keys'), i), ctx);
    if (ds !== null) snap.sessionTicketKeys.push(ds);
  });
  return snap;
}

export function emptySecret(kind: SecretSnap['kind']): SecretSnap {
  return {
    name: '',
    kind,
    certificateChain: null,
    privateKey: null,
    password: null,
    trustedCa: null,
    crl: null,
    verifyCertificateSpki: [],
    verifyCertificateHash: [],
    matchSubjectAltNames: [],
    allowExpiredCertificate: false,
    trustChainVerification: 'verify_trust_chain',
    sessionTicketKeys: [],
    genericSecret: null,
    hash: '',
  };
}

/** A TlsCertificate (inline in a TLS context, or an SDS secret) as a tls_certificate SecretSnap. */
export function tlsCertificateSecret(t: Obj, path: string, ctx: Ctx, alsoHandled: string[] = []): SecretSnap {
  checkRest(ctx, t, path, ['certificate_chain', 'private_key', 'password', ...alsoHandled], {
    pkcs12: 'PKCS#12 certificates are not supported; use PEM certificate_chain and private_key',
    private_key_provider: 'private key providers are not supported',
  });
  const s = emptySecret('tls_certificate');
  s.certificateChain = dataSource(t.certificate_chain, join(path, 'certificate_chain'), ctx);
  s.privateKey = dataSource(t.private_key, join(path, 'private_key'), ctx);
  s.password = dataSource(t.password, join(path, 'password'), ctx);
  if (s.certificateChain === null) ctx.issues.error(join(path, 'certificate_chain'), 'is required');
  if (s.privateKey === null) ctx.issues.error(join(path, 'private_key'), 'is required');
  return s;
}

/** A CertificateValidationContext (inline or SDS) as a validation_context SecretSnap. */
export function validationContextSecret(v: Obj, path: string, ctx: Ctx, alsoHandled: string[] = []): SecretSnap {
  checkRest(ctx, v, path, [
    'trusted_ca', 'crl', 'verify_certificate_spki', 'verify_certificate_hash', 'match_typed_subject_alt_names', 'match_subject_alt_names',
    'allow_expired_certificate', 'trust_chain_verification', ...alsoHandled,
  ], {
    ca_certificate_provider_instance: 'certificate provider instances are not supported',
    custom_validator_config: 'custom certificate validators (e.g. SPIFFE) are not supported',
    system_root_certs: 'system root certificates are not supported; give trusted_ca',
  });
  const s = emptySecret('validation_context');
  s.trustedCa = dataSource(v.trusted_ca, join(path, 'trusted_ca'), ctx);
  s.crl = dataSource(v.crl, join(path, 'crl'), ctx);
  s.verifyCertificateSpki = strList(v.verify_certificate_spki);
  s.verifyCertificateHash = strList(v.verify_certificate_hash).map((h) => h.replace(/:/g, '').toLowerCase());
  s.allowExpiredCertificate = bool(v.allow_expired_certificate, false);
  s.trustChainVerification = str(v.trust_chain_verification) === 'ACCEPT_UNTRUSTED' ? 'accept_untrusted' : 'verify_trust_chain';
  list(v.match_typed_subject_alt_names).forEach((m, i) => {
    const mp = join(join(path, 'match_typed_subject_alt_names'), i);
    const sm = stringMatcher(obj(m.matcher), join(mp, 'matcher'), ctx);
    if (sm !== null) s.matchSubjectAltNames.push({ sanType: SAN_TYPES[str(m.san_type)] ?? 'any', match: sm });
  });
  list(v.match_subject_alt_names).forEach((m, i) => {
    const sm = stringMatcher(m, join(join(path, 'match_subject_alt_names'), i), ctx);
    if (sm !== null) s.matchSubjectAltNames.push({ sanType: 'any', match: sm });
  });
  return s;
}

export function dataSource(v: unknown, path: string, ctx: Ctx): DataSourceSnap | null {
  if (v === undefined) return null;
  const d = obj(v);
  checkRest(ctx, d, path, ['filename', 'inline_bytes', 'inline_string', 'environment_variable'], { watched_directory: 'watched DataSource directories are not supported' });
  if (typeof d.filename === 'string') return { filename: d.filename, inline: null };
  if (d.inline_bytes instanceof Uint8Array) return { filename: null, inline: new Uint8Array(d.inline_bytes) };
  if (typeof d.inline_string === 'string') return { filename: null, inline: new Uint8Array(Buffer.from(d.inline_string)) };
  if (typeof d.environment_variable === 'string') {
    const value = process.env[d.environment_variable];
    if (value === undefined) ctx.issues.error(join(path, 'environment_variable'), `environment variable ${d.environment_variable} is not set`);
    return { filename: null, inline: new Uint8Array(Buffer.from(value ?? '')) };
  }
  return { filename: null, inline: new Uint8Array(0) };
}
