// Envoy's internal listeners: the bootstrap extension that enables them (and sizes their
// in-memory buffers), and the internal_upstream transport socket that carries metadata across.
import type { ClusterSnap, InternalListenerSnap, InternalUpstreamSnap, ListenerSnap } from '../../../shared/snapshot.ts';
import { anyBody, anyType, checkRest, join, list, num, obj, str, unsupported, type Ctx, type Obj } from './context.ts';
import { transportSocket } from './filter_chain.ts';

export const INTERNAL_LISTENER_TYPE = 'envoy.extensions.bootstrap.internal_listener.v3.InternalListener';
const INTERNAL_UPSTREAM_TYPE = 'envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport';
const RAW_BUFFER_TYPE = 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
/** Envoy's default buffer_size_kb. */
const DEFAULT_BUFFER_KB = 1024;

/** bootstrap_extensions: only the internal listener one changes what is served. */
export function bootstrapExtensions(v: unknown, path: string, ctx: Ctx): InternalListenerSnap | null {
  let out: InternalListenerSnap | null = null;
  list(v).forEach((e, i) => {
    const ep = join(path, i);
    checkRest(ctx, e, ep, ['name', 'typed_config']);
    const type = anyType(e.typed_config);
    if (type !== INTERNAL_LISTENER_TYPE && !(type === '' && str(e.name) === 'envoy.bootstrap.internal_listener')) {
      unsupported(ctx, ep, `bootstrap extension ${type || str(e.name)} is not supported and is ignored`);
      return;
    }
    const c = anyBody(e.typed_config);
    checkRest(ctx, c, join(ep, 'typed_config'), ['buffer_size_kb']);
    out = { bufferSizeBytes: num(c.buffer_size_kb, DEFAULT_BUFFER_KB) * 1024 };
  });
  return out;
}

/**
 * A cluster's transport_socket: raw_buffer (null) or internal_upstream wrapping raw_buffer; any
 * other kind goes to the generic check, which refuses what cannot be served.
 */
export function upstreamTransportSocket(ts: unknown, path: string, ctx: Ctx): InternalUpstreamSnap | null {
  if (ts === undefined || anyType(obj(ts).typed_config) !== INTERNAL_UPSTREAM_TYPE) {
    transportSocket(ts, path, ctx);
    return null;
  }
  const cp = join(path, 'typed_config');
  const c = anyBody(obj(ts).typed_config);
  checkRest(ctx, c, cp, ['passthrough_metadata', 'transport_socket']);
  const inner = obj(c.transport_socket);
  const innerType = anyType(inner.typed_config);
  if (innerType !== RAW_BUFFER_TYPE && !(innerType === '' && str(inner.name) === 'envoy.transport_sockets.raw_buffer')) {
    ctx.issues.error(join(cp, 'transport_socket'), `internal_upstream must wrap raw_buffer, not ${innerType || str(inner.name) || 'nothing'}`);
  }
  const passthroughMetadata: InternalUpstreamSnap['passthroughMetadata'] = [];
  list(c.passthrough_metadata).forEach((m, i) => {
    const mp = join(join(cp, 'passthrough_metadata'), i);
    checkRest(ctx, m, mp, ['kind', 'name']);
    const kind = obj(m.kind);
    // Envoy only passes host and cluster metadata through; request and route metadata do not exist yet at connect time.
    if (kind.host !== undefined) passthroughMetadata.push({ kind: 'host', name: str(m.name) });
    else if (kind.cluster !== undefined) passthroughMetadata.push({ kind: 'cluster', name: str(m.name) });
    else ctx.issues.error(join(mp, 'kind'), `metadata kind ${Object.keys(kind)[0] ?? '(none)'} is not supported by internal_upstream (host or cluster only)`);
  });
  return { passthroughMetadata };
}

/** Internal listeners and internal endpoints need the bootstrap extension; endpoints name a listener. */
export function checkInternalUse(internal: InternalListenerSnap | null, listeners: ListenerSnap[], clusters: ClusterSnap[], listenerPaths: string[], ctx: Ctx): void {
  const names = new Set(listeners.filter((l) => l.internal === true).map((l) => l.name));
  listeners.forEach((l, i) => {
    if (l.internal === true && internal === null) {
      ctx.issues.error(join(listenerPaths[i], 'internal_listener'), 'internal listeners need the envoy.bootstrap.internal_listener bootstrap extension');
    }
  });
  clusters.forEach((c, ci) => {
    const targets = c.localities.flatMap((l) => l.endpoints.flatMap((e) => (e.internal ? [e.internal.serverListenerName] : [])));
    if (targets.length === 0) return;
    const path = join(join('static_resources', 'clusters'), ci);
    if (internal === null) ctx.issues.error(join(path, 'load_assignment'), 'envoy_internal_address endpoints need the envoy.bootstrap.internal_listener bootstrap extension');
    for (const t of new Set(targets)) {
      if (!names.has(t)) ctx.issues.warn(join(path, 'load_assignment'), `no internal listener named "${t}" (yet): connections fail until one exists`);
    }
  });
}

export function clusterMetadata(c: Obj): Record<string, unknown> {
  return { ...obj(obj(c.metadata).filter_metadata) };
}
