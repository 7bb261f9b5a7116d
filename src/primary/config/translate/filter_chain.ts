// Filter chains: their match criteria and network filters (resolved through the registry).
import { isIP } from 'node:net';
import type { CidrSnap, FilterChainMatchSnap, FilterChainSnap, NetworkFilterSnap } from '../../../shared/snapshot.ts';
import { anyBody, anyType, checkRest, join, list, num, obj, str, strList, type Ctx, type Obj } from './context.ts';
import { LEGACY_NAMES, networkFilters } from './registry.ts';
import { downstreamTls, transportSocketKind } from './tls.ts';

const CHAIN_HANDLED = ['name', 'filters', 'filter_chain_match', 'transport_socket'];

export function filterChain(fc: Obj, path: string, ctx: Ctx, scope: string): FilterChainSnap {
  checkRest(ctx, fc, path, CHAIN_HANDLED, { on_demand_configuration: 'on-demand filter chains are not supported' });
  const tls = downstreamTls(fc.transport_socket, join(path, 'transport_socket'), ctx);
  const filters = networkFilterList(list(fc.filters), join(path, 'filters'), ctx, scope);
  return {
    name: str(fc.name),
    match: fc.filter_chain_match === undefined ? null : chainMatch(obj(fc.filter_chain_match), join(path, 'filter_chain_match'), ctx),
    filters,
    tls,
  };
}

/**
 * raw_buffer and TLS (which the caller translates with tls.ts) are served; any other transport
 * socket would carry bytes we cannot frame correctly, so it is an error.
 */
export function transportSocket(ts: unknown, path: string, ctx: Ctx): void {
  if (transportSocketKind(ts) !== 'other') return;
  ctx.issues.error(path, `transport socket ${anyType(obj(ts).typed_config) || str(obj(ts).name)} is not supported`);
}

function networkFilterList(given: Obj[], path: string, ctx: Ctx, scope: string): NetworkFilterSnap[] {
  if (given.length === 0) ctx.issues.warn(path, 'no network filters: connections on this chain are closed');
  const out: NetworkFilterSnap[] = [];
  given.forEach((f, i) => {
    const fp = join(path, i);
    checkRest(ctx, f, fp, ['name', 'typed_config'], { config_discovery: 'filter config discovery (ECDS) is not supported' });
    const name = str(f.name);
    const type = f.typed_config !== undefined ? anyType(f.typed_config) : (LEGACY_NAMES[name] ?? '');
    const t = networkFilters.get(type);
    if (t === undefined) {
      ctx.issues.error(fp, `network filter "${name}"${type !== '' ? ` (${type})` : ''} is not supported`);
      return;
    }
    if (t.terminal && i !== given.length - 1) ctx.issues.error(fp, `terminal filter "${name}" must be the last network filter`);
    const snap = t.translate({ name, config: anyBody(f.typed_config), path: join(fp, 'typed_config'), ctx, scope: `${scope}/${i}` });
    if (snap !== null) out.push(snap);
  });
  return out;
}

const MATCH_HANDLED = [
  'destination_port', 'prefix_ranges', 'source_type', 'source_prefix_ranges', 'source_ports', 'server_names', 'transport_protocol',
  'application_protocols', 'direct_source_prefix_ranges',
];
const MATCH_REJECTED = {
  address_suffix: 'address_suffix is not supported',
  suffix_len: 'suffix_len is not supported',
};
const SOURCE_TYPES: Record<string, FilterChainMatchSnap['sourceType']> = { ANY: 'any', SAME_IP_OR_LOOPBACK: 'local', EXTERNAL: 'external' };

function chainMatch(m: Obj, path: string, ctx: Ctx): FilterChainMatchSnap {
  checkRest(ctx, m, path, MATCH_HANDLED, MATCH_REJECTED);
  const serverNames = strList(m.server_names).map((s) => s.toLowerCase());
  serverNames.forEach((n, i) => {
    // Envoy: a wildcard only as a whole leading label ("*.example.com"), never "*" alone.
    if (n.includes('*') && !(n.startsWith('*.') && n.indexOf('*', 1) < 0)) ctx.issues.error(join(join(path, 'server_names'), i), `"${n}": only a leading "*." wildcard is allowed`);
  });
  return {
    destinationPort: typeof m.destination_port === 'number' ? m.destination_port : null,
    serverNames,
    transportProtocol: str(m.transport_protocol),
    applicationProtocols: strList(m.application_protocols),
    sourceType: SOURCE_TYPES[str(m.source_type, 'ANY')] ?? 'any',
    prefixRanges: cidrs(m.prefix_ranges, join(path, 'prefix_ranges'), ctx),
    sourcePrefixRanges: cidrs(m.source_prefix_ranges, join(path, 'source_prefix_ranges'), ctx),
    sourcePorts: Array.isArray(m.source_ports) ? (m.source_ports as number[]) : [],
    directSourcePrefixRanges: cidrs(m.direct_source_prefix_ranges, join(path, 'direct_source_prefix_ranges'), ctx),
  };
}

/** Most combinations examined per chain for the overlap check (configs beyond it are not checked further). */
const MAX_COMBOS = 4096;

/** One key per combination of listed values: two chains sharing a key match the same connections equally. */
export function chainMatchCombos(m: FilterChainMatchSnap): string[] {
  const cidr = (c: CidrSnap): string => `${c.address}/${c.prefixLen}`;
  const axes: string[][] = [
    [String(m.destinationPort ?? '')],
    m.prefixRanges.map(cidr),
    m.serverNames,
    [m.transportProtocol],
    m.applicationProtocols,
    (m.directSourcePrefixRanges ?? []).map(cidr),
    [m.sourceType],
    m.sourcePrefixRanges.map(cidr),
    m.sourcePorts.map(String),
  ].map((a) => (a.length === 0 ? [''] : a));
  let out = [''];
  for (const axis of axes) {
    const next: string[] = [];
    for (const prefix of out) for (const v of axis) if (next.length < MAX_COMBOS) next.push(`${prefix}|${v}`);
    out = next;
  }
  return out;
}

function cidrs(v: unknown, path: string, ctx: Ctx): CidrSnap[] {
  return list(v).map((c, i) => {
    const address = str(c.address_prefix);
    const prefixLen = num(c.prefix_len, 0);
    const family = isIP(address);
    const p = join(path, i);
    if (family === 0) ctx.issues.error(join(p, 'address_prefix'), `"${address}" is not an IP address`);
    else if (prefixLen > (family === 4 ? 32 : 128)) ctx.issues.error(join(p, 'prefix_len'), `prefix length ${prefixLen} is too long for ${address}`);
    return { address, prefixLen };
  });
}
