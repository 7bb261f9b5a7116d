// Envoy's filter chain selection. Criteria are examined in a fixed order — destination port,
// destination IP, server name, transport protocol, application protocols, direct source IP,
// source type, source IP, source port — and at each level only the chains with the most specific
// match for this connection go on (a chain without that criterion matches least specifically).
// There is no backtracking: a connection that fails a later level after a specific earlier match
// gets the default chain, exactly as Envoy's lookup tree behaves.
import type { CidrSnap, FilterChainMatchSnap } from '../../shared/snapshot.ts';
import type { ConnectionInfo } from './connection_info.ts';

interface Cidr {
  v4: boolean;
  bytes: Uint8Array;
  len: number;
}

interface Compiled<T> {
  chain: T;
  port: number | null;
  dst: Cidr[];
  sni: string[];
  transport: string;
  alpn: string[];
  direct: Cidr[];
  sourceType: FilterChainMatchSnap['sourceType'];
  src: Cidr[];
  srcPorts: number[];
}

type Level<T> = (c: Compiled<T>, k: Conn) => number;

/** The connection's values, parsed once per selection. */
interface Conn {
  info: ConnectionInfo;
  local: Uint8Array | null;
  remote: Uint8Array | null;
  direct: Uint8Array | null;
}

export class FilterChainSelector<T> {
  private readonly compiled: Compiled<T>[];
  private readonly fallback: T | null;
  /** No chain has criteria: the first chain takes every connection without looking at it. */
  readonly trivial: T | null;

  constructor(chains: { chain: T; match: FilterChainMatchSnap | null }[], fallback: T | null) {
    this.compiled = chains.map(({ chain, match }) => compile(chain, match));
    this.fallback = fallback;
    const anyCriteria = this.compiled.some(hasCriteria);
    this.trivial = !anyCriteria && this.compiled.length > 0 ? this.compiled[0].chain : null;
  }

  select(info: ConnectionInfo): T | null {
    if (this.trivial !== null) return this.trivial;
    const k: Conn = { info, local: parseIp(info.localAddress), remote: parseIp(info.remoteAddress), direct: parseIp(info.directRemoteAddress) };
    let cands = this.compiled;
    for (const level of LEVELS as Level<T>[]) {
      let best = -1;
      let next: Compiled<T>[] = [];
      for (const c of cands) {
        const s = level(c, k);
        if (s > best) {
          best = s;
          next = [c];
        } else if (s === best && s >= 0) {
          next.push(c);
        }
      }
      if (best < 0) return this.fallback;
      cands = next;
    }
    return cands.length > 0 ? cands[0].chain : this.fallback;
  }
}

const LEVELS: Level<unknown>[] = [
  (c, k) => (c.port === null ? 0 : c.port === k.info.localPort ? 1 : -1),
  (c, k) => cidrScore(c.dst, k.local),
  (c, k) => sniScore(c.sni, k.info.serverName),
  (c, k) => (c.transport === '' ? 0 : c.transport === (k.info.transportProtocol || 'raw_buffer') ? 1 : -1),
  (c, k) => alpnScore(c.alpn, k.info.applicationProtocols),
  (c, k) => cidrScore(c.direct, k.direct),
  (c, k) => sourceTypeScore(c.sourceType, k),
  (c, k) => cidrScore(c.src, k.remote),
  (c, k) => (c.srcPorts.length === 0 ? 0 : c.srcPorts.includes(k.info.remotePort) ? 1 : -1),
];

function compile<T>(chain: T, m: FilterChainMatchSnap | null): Compiled<T> {
  return {
    chain,
    port: m?.destinationPort ?? null,
    dst: (m?.prefixRanges ?? []).map(compileCidr),
    sni: m?.serverNames ?? [],
    transport: m?.transportProtocol ?? '',
    alpn: m?.applicationProtocols ?? [],
    direct: (m?.directSourcePrefixRanges ?? []).map(compileCidr),
    sourceType: m?.sourceType ?? 'any',
    src: (m?.sourcePrefixRanges ?? []).map(compileCidr),
    srcPorts: m?.sourcePorts ?? [],
  };
}

function hasCriteria(c: Compiled<unknown>): boolean {
  return c.port !== null || c.dst.length > 0 || c.sni.length > 0 || c.transport !== '' || c.alpn.length > 0 ||
    c.direct.length > 0 || c.sourceType !== 'any' || c.src.length > 0 || c.srcPorts.length > 0;
}

/** Longest matching prefix wins; a chain without ranges is the catch-all. */
function cidrScore(ranges: Cidr[], ip: Uint8Array | null): number {
  if (ranges.length === 0) return 0;
  let best = -1;
  if (ip === null) return best;
  for (const r of ranges) if (r.len + 1 > best && cidrContains(r, ip)) best = r.len + 1;
  return best;
}

/** Exact name first, then the longest "*.suffix", then chains without server names. */
function sniScore(names: string[], sni: string): number {
  if (names.length === 0) return 0;
  if (sni === '') return -1;
  let best = -1;
  for (const n of names) {
    if (n === sni) return 1 << 20;
    if (n.startsWith('*.') && sni.length > n.length - 1 && sni.endsWith(n.slice(1)) && n.length > best) best = n.length;
  }
  return best;
}

/** The first protocol the client offers that any chain lists decides. */
function alpnScore(listed: string[], offered: string[]): number {
  if (listed.length === 0) return 0;
  for (let i = 0; i < offered.length; i++) if (listed.includes(offered[i])) return 1 << (20 - Math.min(i, 19));
  return -1;
}

function sourceTypeScore(t: FilterChainMatchSnap['sourceType'], k: Conn): number {
  if (t === 'any') return 0;
  const local = isSameIpOrLoopback(k);
  return (t === 'local') === local ? 1 : -1;
}

function isSameIpOrLoopback(k: Conn): boolean {
  const r = k.remote;
  if (r === null) return false;
  if (r.length === 4 && r[0] === 127) return true;
  if (r.length === 16 && r.every((b, i) => b === (i === 15 ? 1 : 0))) return true;
  const l = k.local;
  return l !== null && l.length === r.length && l.every((b, i) => b === r[i]);
}

function compileCidr(c: CidrSnap): Cidr {
  const bytes = parseIp(c.address) ?? new Uint8Array(4);
  return { v4: bytes.length === 4, bytes, len: Math.min(c.prefixLen, bytes.length * 8) };
}

function cidrContains(r: Cidr, ip: Uint8Array): boolean {
  if (ip.length !== r.bytes.length) return false;
  let bits = r.len;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i] & mask) !== (r.bytes[i] & mask)) return false;
  }
  return true;
}

/** IPv4 → 4 bytes, IPv6 → 16 (IPv4-mapped IPv6, as dual-stack sockets report, → 4); else null. */
export function parseIp(s: string): Uint8Array | null {
  if (s === '') return null;
  if (s.includes(':')) {
    const v6 = parseIpv6(s);
    if (v6 !== null && v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff) return v6.slice(12);
    return v6;
  }
  return parseIpv4(s);
}

function parseIpv4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const n = Number(parts[i]);
    if (!/^\d{1,3}$/.test(parts[i]) || n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseIpv6(s: string): Uint8Array | null {
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (g.includes('.')) {
        const v4 = parseIpv4(g);
        if (v4 === null) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 1 && fill !== 0) || fill < 0) return null;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}
