// Listener → ListenerSnap.
import type { FilterChainMatchSnap, FilterChainSnap, ListenerSnap } from '../../../shared/snapshot.ts';
import { addressStatName, socketAddress } from './address.ts';
import { anyType, checkRest, join, list, num, obj, stableHash, str, unsupported, type Ctx, type Obj } from './context.ts';
import { filterChain } from './filter_chain.ts';

const HANDLED = ['name', 'address', 'stat_prefix', 'filter_chains', 'default_filter_chain', 'per_connection_buffer_limit_bytes', 'listener_filters', 'bind_to_port'];
const REJECTED = {
  additional_addresses: 'additional_addresses is not supported; use one listener per address',
  filter_chain_matcher: 'filter_chain_matcher (the matcher tree) is not supported; use filter_chain_match',
  udp_listener_config: 'UDP listeners are not supported',
  api_listener: 'API listeners are not supported',
  internal_listener: 'internal listeners are not supported',
};

/** Listener filters that only inspect traffic; without them SNI/ALPN matches simply never match. */
const INSPECTORS = new Set([
  'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  'envoy.extensions.filters.listener.http_inspector.v3.HttpInspector',
  'envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
]);

export const DEFAULT_BUFFER_LIMIT = 1024 * 1024;

export function listener(l: Obj, path: string, ctx: Ctx, index: number): ListenerSnap | null {
  checkRest(ctx, l, path, HANDLED, REJECTED);
  if (l.bind_to_port === false) ctx.issues.error(join(path, 'bind_to_port'), 'bind_to_port: false is not supported');
  listenerFilters(list(l.listener_filters), join(path, 'listener_filters'), ctx);
  const address = socketAddress(obj(l.address), join(path, 'address'), ctx, { requireIp: true });
  if (address === null) return null;
  const name = str(l.name) || `listener_${index}`;
  const chains = list(l.filter_chains).map((fc, i) => filterChain(fc, join(join(path, 'filter_chains'), i), ctx, `${name}/${i}`));
  checkUniqueMatches(chains, join(path, 'filter_chains'), ctx);
  const defaultFilterChain = l.default_filter_chain === undefined ? null : filterChain(obj(l.default_filter_chain), join(path, 'default_filter_chain'), ctx, `${name}/default`);
  if (chains.length === 0 && defaultFilterChain === null) ctx.issues.error(join(path, 'filter_chains'), 'a listener needs at least one filter chain or a default_filter_chain');
  const snap: Omit<ListenerSnap, 'hash'> = {
    name,
    address,
    statPrefix: str(l.stat_prefix) || addressStatName(address),
    filterChains: chains,
    defaultFilterChain,
    perConnectionBufferLimitBytes: num(l.per_connection_buffer_limit_bytes, DEFAULT_BUFFER_LIMIT),
  };
  return { ...snap, hash: stableHash(snap) };
}

function listenerFilters(filters: Obj[], path: string, ctx: Ctx): void {
  filters.forEach((f, i) => {
    const fp = join(path, i);
    const type = anyType(f.typed_config);
    if (type === 'envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol') {
      ctx.issues.error(fp, 'the PROXY protocol listener filter is not supported (the header would reach the HTTP parser)');
    } else if (INSPECTORS.has(type)) {
      unsupported(ctx, fp, `listener filter ${str(f.name) || type} is not supported yet and is ignored`);
    } else {
      ctx.issues.error(fp, `listener filter "${str(f.name)}"${type ? ` (${type})` : ''} is not supported`);
    }
  });
}

const NO_MATCH: FilterChainMatchSnap = {
  destinationPort: null,
  serverNames: [],
  transportProtocol: '',
  applicationProtocols: [],
  sourceType: 'any',
  prefixRanges: [],
  sourcePrefixRanges: [],
  sourcePorts: [],
};

/** Envoy refuses two filter chains with identical match criteria. */
function checkUniqueMatches(chains: FilterChainSnap[], path: string, ctx: Ctx): void {
  const seen = new Map<string, number>();
  chains.forEach((c, i) => {
    const key = JSON.stringify(c.match ?? NO_MATCH);
    const prev = seen.get(key);
    if (prev === undefined) seen.set(key, i);
    else ctx.issues.error(join(path, i), `filter chain has the same filter_chain_match as filter_chains[${prev}]`);
  });
}
