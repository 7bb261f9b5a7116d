// envoy.filters.listener.proxy_protocol: reads and consumes a PROXY protocol v1 (text) or v2
// (binary) header; the addresses it carries replace the connection's remote (source) and local
// (destination) addresses for chain matching, x-forwarded-for and logs. v2 TLVs can become
// dynamic metadata (rules) and be kept for an upstream PROXY header (pass_through_tlvs).
import net from 'node:net';
import type { ProxyProtocolFilterSnap } from '../../shared/snapshot.ts';
import { stats, type Counter } from '../stats/store.ts';
import { ipv4String, ipv6String } from './addr.ts';
import { FilterStatus, type FilterStatusValue, type ListenerFilter, type ListenerFilterState } from './listener_filter.ts';

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The longest valid v1 line, CRLF included (the spec's 107 bytes). */
const V1_MAX = 107;
const V2_HEADER = 16;

class VersionStats {
  readonly found: Counter;
  readonly error: Counter;
  readonly disallowed: Counter;

  constructor(p: string) {
    this.found = stats.counter(p + 'found');
    this.error = stats.counter(p + 'error');
    this.disallowed = stats.counter(p + 'disallowed');
  }
}

export class ProxyProtocolFilter implements ListenerFilter {
  readonly maxReadBytes = V2_HEADER + 0xffff;
  private readonly snap: ProxyProtocolFilterSnap;
  private readonly v1: VersionStats;
  private readonly v2: VersionStats;
  private readonly notFoundAllowed: Counter;
  private readonly notFoundDisallowed: Counter;

  constructor(snap: ProxyProtocolFilterSnap) {
    this.snap = snap;
    const p = snap.statPrefix === '' ? 'proxy_proto.' : `proxy_proto.${snap.statPrefix}.`;
    this.v1 = new VersionStats(p + 'versions.v1.');
    this.v2 = new VersionStats(p + 'versions.v2.');
    this.notFoundAllowed = stats.counter(p + 'not_found_allowed');
    this.notFoundDisallowed = stats.counter(p + 'not_found_disallowed');
  }

  onData(st: ListenerFilterState, data: Buffer, ended: boolean): FilterStatusValue {
    if (data.length === 0) return ended ? this.notFound() : FilterStatus.NEED_MORE;
    const b0 = data[0];
    if (b0 === V2_SIGNATURE[0]) {
      const n = Math.min(data.length, V2_SIGNATURE.length);
      if (data.compare(V2_SIGNATURE, 0, n, 0, n) !== 0) return this.notFound();
      if (data.length < V2_HEADER) return ended ? this.fail(this.v2) : FilterStatus.NEED_MORE;
      return this.v2Header(st, data, ended);
    }
    if (b0 === V1_PREFIX[0]) {
      const n = Math.min(data.length, V1_PREFIX.length);
      if (data.compare(V1_PREFIX, 0, n, 0, n) !== 0) return this.notFound();
      return this.v1Line(st, data, ended);
    }
    return this.notFound();
  }

  private notFound(): FilterStatusValue {
    if (this.snap.allowRequestsWithoutProxyProtocol) {
      this.notFoundAllowed.value++;
      return FilterStatus.CONTINUE;
    }
    this.notFoundDisallowed.value++;
    return FilterStatus.CLOSE;
  }

  private fail(v: VersionStats): FilterStatusValue {
    v.error.value++;
    return FilterStatus.CLOSE;
  }

  private disallowed(version: number, v: VersionStats): boolean {
    if (!this.snap.disallowedVersions.includes(version)) return false;
    v.disallowed.value++;
    return true;
  }

  /** `PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n` or `PROXY UNKNOWN ...\r\n`. */
  private v1Line(st: ListenerFilterState, data: Buffer, ended: boolean): FilterStatusValue {
    const scan = Math.min(data.length, V1_MAX);
    const eol = data.subarray(0, scan).indexOf('\r\n', 0, 'latin1');
    if (eol < 0) return data.length >= V1_MAX || ended ? this.fail(this.v1) : FilterStatus.NEED_MORE;
    if (this.disallowed(1, this.v1)) return FilterStatus.CLOSE;
    const parts = data.latin1Slice(V1_PREFIX.length, eol).split(' ');
    const proto = parts[0];
    if (proto === 'UNKNOWN') {
      st.consume(eol + 2);
      this.v1.found.value++;
      return FilterStatus.CONTINUE;
    }
    if ((proto !== 'TCP4' && proto !== 'TCP6') || parts.length !== 5) return this.fail(this.v1);
    const family = proto === 'TCP4' ? 4 : 6;
    const [, src, dst, sp, dp] = parts;
    const sport = port(sp);
    const dport = port(dp);
    if (net.isIP(src) !== family || net.isIP(dst) !== family || sport < 0 || dport < 0) return this.fail(this.v1);
    setAddresses(st, src, sport, dst, dport);
    st.consume(eol + 2);
    this.v1.found.value++;
    return FilterStatus.CONTINUE;
  }

  private v2Header(st: ListenerFilterState, data: Buffer, ended: boolean): FilterStatusValue {
    const verCmd = data[12];
    const len = data.readUInt16BE(14);
    if (verCmd >> 4 !== 2) return this.fail(this.v2);
    const cmd = verCmd & 0x0f;
    if (cmd > 1) return this.fail(this.v2);
    if (data.length < V2_HEADER + len) return ended ? this.fail(this.v2) : FilterStatus.NEED_MORE;
    if (this.disallowed(2, this.v2)) return FilterStatus.CLOSE;
    const body = data.subarray(V2_HEADER, V2_HEADER + len);
    if (cmd === 0) {
      // LOCAL (health checks from the proxy itself): the real addresses stand, TLVs are ignored.
      st.consume(V2_HEADER + len);
      this.v2.found.value++;
      return FilterStatus.CONTINUE;
    }
    const fam = data[13];
    let addrLen = 0;
    if (fam === 0x11 || fam === 0x12) addrLen = 12;
    else if (fam === 0x21 || fam === 0x22) addrLen = 36;
    else if (fam === 0x31 || fam === 0x32) addrLen = 216;
    else if (fam !== 0x00) return this.fail(this.v2);
    if (body.length < addrLen) return this.fail(this.v2);
    if (addrLen === 12) {
      setAddresses(st, ipv4String(body, 0), body.readUInt16BE(8), ipv4String(body, 4), body.readUInt16BE(10));
    } else if (addrLen === 36) {
      setAddresses(st, ipv6String(body, 0), body.readUInt16BE(32), ipv6String(body, 16), body.readUInt16BE(34));
    }
    if (!this.tlvs(st, body.subarray(addrLen))) return this.fail(this.v2);
    st.consume(V2_HEADER + len);
    this.v2.found.value++;
    return FilterStatus.CONTINUE;
  }

  /** Each TLV: type (1), length (2, big-endian), value. A truncated TLV is an error. */
  private tlvs(st: ListenerFilterState, b: Buffer): boolean {
    const pass = this.snap.passThroughTlvs;
    let i = 0;
    while (i < b.length) {
      if (i + 3 > b.length) return false;
      const type = b[i];
      const n = b.readUInt16BE(i + 1);
      if (i + 3 + n > b.length) return false;
      const value = b.subarray(i + 3, i + 3 + n);
      for (const r of this.snap.rules) if (r.tlvType === type) st.info.setMetadata(r.namespace, r.key, value.toString('utf8'));
      if (pass !== null && (pass.all || pass.types.includes(type))) (st.info.proxyProtocolTlvs ??= []).push({ type, value: Buffer.from(value) });
      i += 3 + n;
    }
    return true;
  }
}

function setAddresses(st: ListenerFilterState, src: string, sport: number, dst: string, dport: number): void {
  const info = st.info;
  info.remoteAddress = src;
  info.remotePort = sport;
  info.localAddress = dst;
  info.localPort = dport;
}

function port(s: string): number {
  if (!/^\d{1,5}$/.test(s)) return -1;
  const n = Number(s);
  return n <= 65535 ? n : -1;
}
