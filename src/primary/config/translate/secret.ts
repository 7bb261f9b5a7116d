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
  const snap: Omit<SecretSnap, 'hash'> = {
    name: str(s.name),
    kind: 'generic_secret',
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
  };
  if (s.tls_certificate !== undefined) {
    const t = obj(s.tls_certificate);
    const tp = join(path, 'tls_certificate');
    checkRest(ctx, t, tp, ['certificate_chain', 'private_key', 'password', 'watched_directory', 'ocsp_staple', 'signed_certificate_timestamp'], {
      pkcs12: 'PKCS#12 certificates are not supported; use PEM certificate_chain and private_key',
      private_key_provider: 'private key providers are not supported',
    });
    snap.kind = 'tls_certificate';
    snap.certificateChain = dataSource(t.certificate_chain, join(tp, 'certificate_chain'), ctx);
    snap.privateKey = dataSource(t.private_key, join(tp, 'private_key'), ctx);
    snap.password = dataSource(t.password, join(tp, 'password'), ctx);
    if (snap.certificateChain === null) ctx.issues.error(join(tp, 'certificate_chain'), 'is required');
    if (snap.privateKey === null) ctx.issues.error(join(tp, 'private_key'), 'is required');
  } else if (s.validation_context !== undefined) {
    const v = obj(s.validation_context);
    const vp = join(path, 'validation_context');
    checkRest(ctx, v, vp, [
      'trusted_ca', 'crl', 'verify_certificate_spki', 'verify_certificate_hash', 'match_typed_subject_alt_names',
      'match_subject_alt_names', 'allow_expired_certificate', 'trust_chain_verification', 'watched_directory',
      'only_verify_leaf_cert_crl', 'max_verify_depth', 'require_signed_certificate_timestamp',
    ], {
      ca_certificate_provider_instance: 'certificate provider instances are not supported',
      custom_validator_config: 'custom certificate validators are not supported',
    });
    snap.kind = 'validation_context';
    snap.trustedCa = dataSource(v.trusted_ca, join(vp, 'trusted_ca'), ctx);
    snap.crl = dataSource(v.crl, join(vp, 'crl'), ctx);
    snap.verifyCertificateSpki = strList(v.verify_certificate_spki);
    snap.verifyCertificateHash = strList(v.verify_certificate_hash).map((h) => h.replace(/:/g, '').toLowerCase());
    snap.allowExpiredCertificate = bool(v.allow_expired_certificate, false);
    snap.trustChainVerification = str(v.trust_chain_verification) === 'ACCEPT_UNTRUSTED' ? 'accept_untrusted' : 'verify_trust_chain';
    list(v.match_typed_subject_alt_names).forEach((m, i) => {
      const mp = join(join(vp, 'match_typed_subject_alt_names'), i);
      const sm = stringMatcher(obj(m.matcher), join(mp, 'matcher'), ctx);
      if (sm !== null) snap.matchSubjectAltNames.push({ sanType: SAN_TYPES[str(m.san_type)] ?? 'any', match: sm });
    });
    list(v.match_subject_alt_names).forEach((m, i) => {
      const sm = stringMatcher(m, join(join(vp, 'match_subject_alt_names'), i), ctx);
      if (sm !== null) snap.matchSubjectAltNames.push({ sanType: 'any', match: sm });
    });
  } else if (s.session_ticket_keys !== undefined) {
    const k = obj(s.session_ticket_keys);
    const kp = join(path, 'session_ticket_keys');
    checkRest(ctx, k, kp, ['keys']);
    snap.kind = 'session_ticket_keys';
    list(k.keys).forEach((d, i) => {
      const ds = dataSource(d, join(join(kp, 'keys'), i), ctx);
      if (ds !== null) snap.sessionTicketKeys.push(ds);
    });
  } else if (s.generic_secret !== undefined) {
    const g = obj(s.generic_secret);
    checkRest(ctx, g, join(path, 'generic_secret'), ['secret']);
    snap.genericSecret = dataSource(g.secret, join(join(path, 'generic_secret'), 'secret'), ctx);
  } else {
    ctx.issues.error(path, 'a secret needs one of tls_certificate, validation_context, session_ticket_keys or generic_secret');
  }
  return { ...snap, hash: stableHash(snap) };
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
