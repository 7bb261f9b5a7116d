// Listener → ListenerSnap.
import type { FilterChainMatchSnap, FilterChainSnap, ListenerSnap } from '../../../shared/snapshot.ts';
import { addressStatName, socketAddress } from './address.ts';
import { bool, checkRest, durationMs, join, list, num, obj, stableHash, str, type Ctx, type Obj } from './context.ts';
import { chainMatchCombos, filterChain } from './filter_chain.ts';
import { listenerFilters } from './listener_filters.ts';

const HANDLED = [
  'name', 'address', 'stat_prefix', 'filter_chains', 'default_filter_chain', 'per_connection_buffer_limit_bytes', 'listener_filters',
  'bind_to_port', 'internal_listener', 'listener_filters_timeout', 'continue_on_listener_filters_timeout',
];
const REJECTED = {
  additional_addresses: 'additional_addresses is not supported; use one listener per address',
  filter_chain_matcher: 'filter_chain_matcher (the matcher tree) is not supported; use filter_chain_match',
  udp_listener_config: 'UDP listeners are not supported',
  api_listener: 'API listeners are not supported',
};

/** Envoy's listener_filters_timeout default. */
const LISTENER_FILTERS_TIMEOUT_MS = 15_000;

export const DEFAULT_BUFFER_LIMIT = 1024 * 1024;

export function listener(l: Obj, path: string, ctx: Ctx, index: number): ListenerSnap | null {
  checkRest(ctx, l, path, HANDLED, REJECTED);
  const internal = l.internal_listener !== undefined;
  if (internal) checkRest(ctx, obj(l.internal_listener), join(path, 'internal_listener'), []);
  if (l.bind_to_port === false && !internal) ctx.issues.error(join(path, 'bind_to_port'), 'bind_to_port: false is not supported');
  const filters = listenerFilters(list(l.listener_filters), join(path, 'listener_filters'), ctx);
  // An internal listener has no socket: an address, if given, is only a label.
  const address = internal ? { host: '', port: 0 } : socketAddress(obj(l.address), join(path, 'address'), ctx, { requireIp: true });
  if (address === null) return null;
  const name = str(l.name) || `listener_${index}`;
  if (internal && str(l.name) === '') ctx.issues.error(join(path, 'name'), 'an internal listener needs a name (endpoints reach it by server_listener_name)');
  const chains = list(l.filter_chains).map((fc, i) => filterChain(fc, join(join(path, 'filter_chains'), i), ctx, `${name}/${i}`));
  checkUniqueMatches(chains, join(path, 'filter_chains'), ctx);
  const defaultFilterChain = l.default_filter_chain === undefined ? null : filterChain(obj(l.default_filter_chain), join(path, 'default_filter_chain'), ctx, `${name}/default`);
  if (chains.length === 0 && defaultFilterChain === null) ctx.issues.error(join(path, 'filter_chains'), 'a listener needs at least one filter chain or a default_filter_chain');
  const snap: Omit<ListenerSnap, 'hash'> = {
    name,
    address,
    statPrefix: str(l.stat_prefix) || (internal ? name : addressStatName(address)),
    filterChains: chains,
    defaultFilterChain,
    perConnectionBufferLimitBytes: num(l.per_connection_buffer_limit_bytes, DEFAULT_BUFFER_LIMIT),
    internal,
    listenerFilters: filters,
    listenerFiltersTimeoutMs: durationMs(l.listener_filters_timeout, LISTENER_FILTERS_TIMEOUT_MS),
    continueOnListenerFiltersTimeout: bool(l.continue_on_listener_filters_timeout, false),
  };
  return { ...snap, hash: stableHash(snap) };
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

/**
 * Envoy refuses two filter chains that a connection could match equally: their criteria, expanded
 * into one combination per listed value, must not share a combination.
 */
function checkUniqueMatches(chains: FilterChainSnap[], path: string, ctx: Ctx): void {
  const seen = new Map<string, number>();
  chains.forEach((c, i) => {
    for (const key of chainMatchCombos(c.match ?? NO_MATCH)) {
      const prev = seen.get(key);
      if (prev === undefined) seen.set(key, i);
      else if (prev !== i) {
        ctx.issues.error(join(path, i), `filter chain has the same filter_chain_match as filter_chains[${prev}]`);
        return;
      }
    }
  });
}
