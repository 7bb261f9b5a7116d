// Listener filters → ListenerFilterSnap: PROXY protocol, TLS and HTTP inspectors, Kmesh TLV and
// original_dst. They run on each accepted connection before a filter chain is chosen.
import type { ListenerFilterSnap, ProxyProtocolFilterSnap } from '../../../shared/snapshot.ts';
import { anyBody, anyType, checkRest, join, list, num, obj, str, unsupported, type Ctx, type Obj } from './context.ts';

export const PROXY_PROTOCOL_TYPE = 'envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol';
export const TLS_INSPECTOR_TYPE = 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
export const HTTP_INSPECTOR_TYPE = 'envoy.extensions.filters.listener.http_inspector.v3.HttpInspector';
export const ORIGINAL_DST_TYPE = 'envoy.extensions.filters.listener.original_dst.v3.OriginalDst';
export const KMESH_TLV_TYPE = 'envoy.extensions.filters.listener.kmesh_tlv.v3.KmeshTlv';

/** Envoy's well-known names, for listener filters configured without typed_config. */
const LEGACY: Record<string, string> = {
  'envoy.filters.listener.proxy_protocol': PROXY_PROTOCOL_TYPE,
  'envoy.listener.proxy_protocol': PROXY_PROTOCOL_TYPE,
  'envoy.filters.listener.tls_inspector': TLS_INSPECTOR_TYPE,
  'envoy.listener.tls_inspector': TLS_INSPECTOR_TYPE,
  'envoy.filters.listener.http_inspector': HTTP_INSPECTOR_TYPE,
  'envoy.listener.http_inspector': HTTP_INSPECTOR_TYPE,
  'envoy.filters.listener.original_dst': ORIGINAL_DST_TYPE,
  'envoy.listener.original_dst': ORIGINAL_DST_TYPE,
  'envoy.filters.listener.kmesh_tlv': KMESH_TLV_TYPE,
};

const PP_NAMESPACE = 'envoy.filters.listener.proxy_protocol';
/** Envoy's default TLS inspector buffer (max ClientHello it looks at). */
const MAX_CLIENT_HELLO = 16 * 1024;

export function listenerFilters(filters: Obj[], path: string, ctx: Ctx): ListenerFilterSnap[] {
  const out: ListenerFilterSnap[] = [];
  filters.forEach((f, i) => {
    const fp = join(path, i);
    checkRest(ctx, f, fp, ['name', 'typed_config', 'filter_disabled'], { config_discovery: 'listener filter config discovery (ECDS) is not supported' });
    if (f.filter_disabled !== undefined) unsupported(ctx, join(fp, 'filter_disabled'), 'filter_disabled matchers are not supported; the filter always runs');
    const name = str(f.name);
    const type = f.typed_config !== undefined ? anyType(f.typed_config) : (LEGACY[name] ?? '');
    const snap = listenerFilter(name, type, anyBody(f.typed_config), join(fp, 'typed_config'), fp, ctx);
    if (snap !== null) out.push(snap);
  });
  return out;
}

function listenerFilter(name: string, type: string, c: Obj, path: string, fp: string, ctx: Ctx): ListenerFilterSnap | null {
  switch (type) {
    case PROXY_PROTOCOL_TYPE:
      return proxyProtocol(name, c, path, ctx);
    case TLS_INSPECTOR_TYPE: {
      checkRest(ctx, c, path, ['initial_read_buffer_size', 'enable_ja3_fingerprinting']);
      if (c.enable_ja3_fingerprinting === true) unsupported(ctx, join(path, 'enable_ja3_fingerprinting'), 'JA3 fingerprinting is not supported and is ignored');
      return { kind: 'tls_inspector', name, maxClientHelloBytes: Math.max(MAX_CLIENT_HELLO, num(c.initial_read_buffer_size, 0)) };
    }
    case HTTP_INSPECTOR_TYPE:
      checkRest(ctx, c, path, []);
      return { kind: 'http_inspector', name };
    case KMESH_TLV_TYPE:
      checkRest(ctx, c, path, []);
      return { kind: 'kmesh_tlv', name };
    case ORIGINAL_DST_TYPE:
      checkRest(ctx, c, path, []);
      // Node cannot read SO_ORIGINAL_DST (see docs/l4.md): the socket's own local address stays the destination.
      unsupported(ctx, fp, 'original_dst cannot read SO_ORIGINAL_DST on Node.js; the local address is used as the original destination (see docs/l4.md)');
      return { kind: 'original_dst', name };
    default:
      ctx.issues.error(fp, `listener filter "${name}"${type ? ` (${type})` : ''} is not supported`);
      return null;
  }
}

function proxyProtocol(name: string, c: Obj, path: string, ctx: Ctx): ProxyProtocolFilterSnap {
  checkRest(ctx, c, path, ['rules', 'allow_requests_without_proxy_protocol', 'pass_through_tlvs', 'disallowed_versions', 'stat_prefix']);
  const rules = list(c.rules).map((r, i) => {
    const rp = join(join(path, 'rules'), i);
    checkRest(ctx, r, rp, ['tlv_type', 'on_tlv_present']);
    const kv = obj(r.on_tlv_present);
    checkRest(ctx, kv, join(rp, 'on_tlv_present'), ['metadata_namespace', 'key']);
    return { tlvType: num(r.tlv_type, 0), namespace: str(kv.metadata_namespace) || PP_NAMESPACE, key: str(kv.key) };
  });
  let passThroughTlvs: ProxyProtocolFilterSnap['passThroughTlvs'] = null;
  if (c.pass_through_tlvs !== undefined) {
    const pt = obj(c.pass_through_tlvs);
    checkRest(ctx, pt, join(path, 'pass_through_tlvs'), ['match_type', 'tlv_type']);
    passThroughTlvs = { all: str(pt.match_type, 'INCLUDE_ALL') === 'INCLUDE_ALL', types: Array.isArray(pt.tlv_type) ? (pt.tlv_type as number[]) : [] };
  }
  const disallowed = (Array.isArray(c.disallowed_versions) ? c.disallowed_versions : []).map((v) => (v === 'V2' || v === 1 ? 2 : 1));
  if (disallowed.includes(1) && disallowed.includes(2)) ctx.issues.error(join(path, 'disallowed_versions'), 'disallowing both V1 and V2 would refuse every PROXY header');
  return {
    kind: 'proxy_protocol',
    name,
    rules,
    allowRequestsWithoutProxyProtocol: c.allow_requests_without_proxy_protocol === true,
    passThroughTlvs,
    disallowedVersions: [...new Set(disallowed)],
    statPrefix: str(c.stat_prefix),
  };
}
