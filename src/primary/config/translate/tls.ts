// transport_socket envoy.transport_sockets.tls → DownstreamTlsSnap / UpstreamTlsSnap.
// Inline and file certificates become SecretSnap-shaped values, so workers build a secure context
// the same way whether key material came inline, from a file or over SDS (secrets by name).
import type { ClusterSnap, DownstreamTlsSnap, TlsContextSnap, TlsVersion, UpstreamTlsSnap } from '../../../shared/snapshot.ts';
import { anyBody, anyType, bool, checkRest, durationMs, join, list, obj, str, strList, type Ctx, type Obj } from './context.ts';
import { configSource } from './config_source.ts';
import { tlsCertificateSecret as tlsCertificate, validationContextSecret as validationContext } from './secret.ts';

export const DOWNSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const UPSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const RAW_BUFFER = 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
const LEGACY_TLS = 'envoy.transport_sockets.tls';

const VERSIONS: Record<string, TlsVersion> = { TLSv1_0: 'TLSv1', TLSv1_1: 'TLSv1.1', TLSv1_2: 'TLSv1.2', TLSv1_3: 'TLSv1.3' };

/** What a transport_socket holds: raw bytes, a TLS context of the expected direction, or something else. */
export function transportSocketKind(ts: unknown): 'raw' | 'tls' | 'other' {
  if (ts === undefined) return 'raw';
  const o = obj(ts);
  const type = anyType(o.typed_config);
  if (type === RAW_BUFFER || (type === '' && str(o.name) === 'envoy.transport_sockets.raw_buffer')) return 'raw';
  if (type === DOWNSTREAM_TLS || type === UPSTREAM_TLS) return 'tls';
  return 'other';
}

/** A filter chain's transport socket; null for raw_buffer. Other kinds are errors. */
export function downstreamTls(ts: unknown, path: string, ctx: Ctx): DownstreamTlsSnap | null {
  const body = tlsBody(ts, DOWNSTREAM_TLS, path, ctx);
  if (body === null) return null;
  const p = join(path, 'typed_config');
  checkRest(ctx, body, p, ['common_tls_context', 'require_client_certificate', 'require_sni', 'session_timeout', 'disable_stateless_session_resumption']);
  const common = commonTlsContext(obj(body.common_tls_context), join(p, 'common_tls_context'), ctx, 'TLSv1.3');
  if (common.certificates.length === 0 && common.certificateSecrets.length === 0) {
    ctx.issues.error(join(p, 'common_tls_context'), 'a DownstreamTlsContext needs a certificate (tls_certificates or tls_certificate_sds_secret_configs)');
  }
  const requireClientCertificate = bool(body.require_client_certificate, false);
  if (requireClientCertificate && common.validation === null && common.validationSecret === '') {
    ctx.issues.error(join(p, 'require_client_certificate'), 'requiring a client certificate needs a validation_context with trusted_ca');
  }
  return {
    ...common,
    requireClientCertificate,
    requireSni: bool(body.require_sni, false),
    sessionTimeoutMs: durationMs(body.session_timeout, 0),
    disableStatelessSessionResumption: bool(body.disable_stateless_session_resumption, false),
  };
}

/** A cluster's (or transport_socket_matches entry's) transport socket; null for raw_buffer. */
export function upstreamTls(ts: unknown, path: string, ctx: Ctx): UpstreamTlsSnap | null {
  const body = tlsBody(ts, UPSTREAM_TLS, path, ctx);
  if (body === null) return null;
  const p = join(path, 'typed_config');
  checkRest(ctx, body, p, ['common_tls_context', 'sni'], { allow_renegotiation: 'TLS renegotiation is not supported' });
  return { ...commonTlsContext(obj(body.common_tls_context), join(p, 'common_tls_context'), ctx, 'TLSv1.2'), sni: str(body.sni), autoSni: false, autoSanValidation: false };
}

function tlsBody(ts: unknown, want: string, path: string, ctx: Ctx): Obj | null {
  const kind = transportSocketKind(ts);
  if (kind === 'raw') return null;
  const o = obj(ts);
  const type = anyType(o.typed_config);
  if (kind === 'other') {
    const legacy = type === '' && str(o.name) === LEGACY_TLS;
    ctx.issues.error(path, legacy ? 'the TLS transport socket needs a typed_config' : `transport socket ${type || str(o.name)} is not supported`);
    return null;
  }
  if (type !== want) {
    ctx.issues.error(join(path, 'typed_config'), `expected ${want.slice(want.lastIndexOf('.') + 1)}, got ${type.slice(type.lastIndexOf('.') + 1)}`);
    return null;
  }
  return anyBody(o.typed_config);
}

const COMMON_HANDLED = [
  'tls_params', 'tls_certificates', 'tls_certificate_sds_secret_configs', 'validation_context', 'validation_context_sds_secret_config',
  'combined_validation_context', 'alpn_protocols',
];
const COMMON_REJECTED = {
  tls_certificate_provider_instance: 'certificate provider instances are not supported',
  tls_certificate_certificate_provider: 'certificate providers are not supported',
  tls_certificate_certificate_provider_instance: 'certificate providers are not supported',
  validation_context_certificate_provider: 'certificate providers are not supported',
  validation_context_certificate_provider_instance: 'certificate providers are not supported',
  custom_handshaker: 'custom TLS handshakers are not supported',
};

function commonTlsContext(c: Obj, path: string, ctx: Ctx, defaultMax: TlsVersion): TlsContextSnap {
  checkRest(ctx, c, path, COMMON_HANDLED, COMMON_REJECTED);
  const out: TlsContextSnap = {
    certificates: [],
    certificateSecrets: [],
    validation: null,
    validationSecret: '',
    alpn: strList(c.alpn_protocols),
    minVersion: 'TLSv1.2',
    maxVersion: defaultMax,
    cipherSuites: [],
    ecdhCurves: [],
    signatureAlgorithms: [],
  };
  tlsParams(obj(c.tls_params), join(path, 'tls_params'), ctx, out);
  list(c.tls_certificates).forEach((t, i) => out.certificates.push(tlsCertificate(t, join(join(path, 'tls_certificates'), i), ctx)));
  list(c.tls_certificate_sds_secret_configs).forEach((s, i) => {
    const name = sdsSecret(s, join(join(path, 'tls_certificate_sds_secret_configs'), i), ctx);
    if (name !== '') out.certificateSecrets.push(name);
  });
  if (c.validation_context !== undefined) {
    out.validation = validationContext(obj(c.validation_context), join(path, 'validation_context'), ctx);
  } else if (c.validation_context_sds_secret_config !== undefined) {
    out.validationSecret = sdsSecret(obj(c.validation_context_sds_secret_config), join(path, 'validation_context_sds_secret_config'), ctx);
  } else if (c.combined_validation_context !== undefined) {
    const cv = obj(c.combined_validation_context);
    const cp = join(path, 'combined_validation_context');
    checkRest(ctx, cv, cp, ['default_validation_context', 'validation_context_sds_secret_config'], {
      validation_context_certificate_provider: 'certificate providers are not supported',
      validation_context_certificate_provider_instance: 'certificate providers are not supported',
    });
    out.validation = validationContext(obj(cv.default_validation_context), join(cp, 'default_validation_context'), ctx);
    out.validationSecret = sdsSecret(obj(cv.validation_context_sds_secret_config), join(cp, 'validation_context_sds_secret_config'), ctx);
  }
  return out;
}

function tlsParams(t: Obj, path: string, ctx: Ctx, out: TlsContextSnap): void {
  checkRest(ctx, t, path, ['tls_minimum_protocol_version', 'tls_maximum_protocol_version', 'cipher_suites', 'ecdh_curves', 'signature_algorithms'], {
    compliance_policies: 'TLS compliance policies are not supported',
  });
  const min = VERSIONS[str(t.tls_minimum_protocol_version)];
  const max = VERSIONS[str(t.tls_maximum_protocol_version)];
  if (min !== undefined) out.minVersion = min;
  if (max !== undefined) out.maxVersion = max;
  if (out.minVersion > out.maxVersion) ctx.issues.error(path, `tls_minimum_protocol_version ${out.minVersion} is above tls_maximum_protocol_version ${out.maxVersion}`);
  // Envoy's BoringSSL alternatives "[A|B]" have no OpenSSL equivalent; each member is kept.
  out.cipherSuites = strList(t.cipher_suites).flatMap((s) => s.replace(/[[\]]/g, '').split('|')).filter((s) => s !== '');
  out.ecdhCurves = strList(t.ecdh_curves);
  out.signatureAlgorithms = strList(t.signature_algorithms);
}

/** An SdsSecretConfig: the secret's name; with sds_config it is fetched over SDS, else it is a static secret. */
function sdsSecret(s: Obj, path: string, ctx: Ctx): string {
  checkRest(ctx, s, path, ['name', 'sds_config']);
  const name = str(s.name);
  if (name === '') {
    ctx.issues.error(join(path, 'name'), 'an SDS secret needs a name');
    return '';
  }
  if (s.sds_config !== undefined) {
    const source = configSource(obj(s.sds_config), join(path, 'sds_config'), ctx);
    if (source !== null && !ctx.xds.sds.some((r) => r.name === name)) ctx.xds.sds.push({ name, source });
  }
  return name;
}

/** A cluster's TLS: transport_socket (when TLS) and transport_socket_matches. */
export function clusterTls(c: Obj, path: string, ctx: Ctx): Pick<ClusterSnap, 'tls' | 'tlsMatches'> {
  const tsPath = join(path, 'transport_socket');
  const tls = transportSocketKind(c.transport_socket) === 'tls' ? upstreamTls(c.transport_socket, tsPath, ctx) : null;
  const tlsMatches: NonNullable<ClusterSnap['tlsMatches']> = [];
  list(c.transport_socket_matches).forEach((m, i) => {
    const mp = join(join(path, 'transport_socket_matches'), i);
    checkRest(ctx, m, mp, ['name', 'match', 'transport_socket']);
    tlsMatches.push({ name: str(m.name), match: obj(m.match), tls: upstreamTls(m.transport_socket, join(mp, 'transport_socket'), ctx) });
  });
  return tlsMatches.length > 0 ? { tls, tlsMatches } : { tls };
}
