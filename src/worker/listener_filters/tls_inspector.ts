// envoy.filters.listener.tls_inspector: peeks at a TLS ClientHello without consuming it and
// records the transport protocol ('tls'), the requested server name (SNI) and the offered ALPN
// protocols, so filter chains can match server_names, transport_protocol and
// application_protocols. The handshake bytes stay for whoever serves the chain (a TLS-passthrough
// tcp_proxy forwards them untouched).
import { stats, type Counter } from '../stats/store.ts';
import { FilterStatus, type FilterStatusValue, type ListenerFilter, type ListenerFilterState } from './listener_filter.ts';

const CONTENT_HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;

interface Counters {
  tlsFound: Counter;
  tlsNotFound: Counter;
  sniFound: Counter;
  sniNotFound: Counter;
  alpnFound: Counter;
  alpnNotFound: Counter;
  tooLarge: Counter;
}
let counters: Counters | null = null;

export class TlsInspectorFilter implements ListenerFilter {
  readonly maxReadBytes: number;

  constructor(maxClientHelloBytes: number) {
    this.maxReadBytes = maxClientHelloBytes;
    counters ??= {
      tlsFound: stats.counter('tls_inspector.tls_found'),
      tlsNotFound: stats.counter('tls_inspector.tls_not_found'),
      sniFound: stats.counter('tls_inspector.sni_found'),
      sniNotFound: stats.counter('tls_inspector.sni_not_found'),
      alpnFound: stats.counter('tls_inspector.alpn_found'),
      alpnNotFound: stats.counter('tls_inspector.alpn_not_found'),
      tooLarge: stats.counter('tls_inspector.client_hello_too_large'),
    };
  }

  onData(st: ListenerFilterState, data: Buffer, ended: boolean): FilterStatusValue {
    const c = counters!;
    if (data.length === 0) return ended ? notTls() : FilterStatus.NEED_MORE;
    if (data[0] !== CONTENT_HANDSHAKE) return notTls();
    const hello = handshakeMessage(data);
    if (hello === null) return notTls();
    if (hello === 'more') {
      if (data.length >= this.maxReadBytes) {
        c.tooLarge.value++;
        return FilterStatus.CLOSE;
      }
      return ended ? notTls() : FilterStatus.NEED_MORE;
    }
    const parsed = parseClientHello(hello);
    if (parsed === null) return notTls();
    const info = st.info;
    info.transportProtocol = 'tls';
    c.tlsFound.value++;
    if (parsed.sni !== '') {
      info.serverName = parsed.sni.toLowerCase();
      c.sniFound.value++;
    } else c.sniNotFound.value++;
    if (parsed.alpn.length > 0) {
      info.applicationProtocols = parsed.alpn;
      c.alpnFound.value++;
    } else c.alpnNotFound.value++;
    return FilterStatus.CONTINUE;
  }
}

function notTls(): FilterStatusValue {
  counters!.tlsNotFound.value++;
  return FilterStatus.CONTINUE;
}

/**
 * The ClientHello body, reassembled from however many handshake records carry it; 'more' when
 * it is not complete yet; null when this is not a TLS handshake starting with a ClientHello.
 */
function handshakeMessage(data: Buffer): Buffer | 'more' | null {
  const parts: Buffer[] = [];
  let have = 0;
  let need = -1;
  let i = 0;
  while (need < 0 || have < need) {
    if (data.length < i + 5) return 'more';
    if (data[i] !== CONTENT_HANDSHAKE || data[i + 1] !== 3) return null;
    const len = data.readUInt16BE(i + 3);
    if (len === 0 || len > 16384 + 2048) return null;
    const end = i + 5 + Math.min(len, data.length - i - 5);
    parts.push(data.subarray(i + 5, end));
    have += end - i - 5;
    if (need < 0 && have >= 4) {
      const head = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      if (head[0] !== CLIENT_HELLO) return null;
      need = 4 + ((head[1] << 16) | (head[2] << 8) | head[3]);
    }
    if (end - i - 5 < len) return need >= 0 && have >= need ? body(parts, need) : 'more';
    i += 5 + len;
  }
  return body(parts, need);
}

function body(parts: Buffer[], need: number): Buffer {
  const all = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  return all.subarray(4, need);
}

/** SNI host_name and ALPN list of a ClientHello body; null when malformed. */
function parseClientHello(b: Buffer): { sni: string; alpn: string[] } | null {
  try {
    let i = 2 + 32; // legacy_version, random
    i += 1 + b[i]; // session id
    i += 2 + b.readUInt16BE(i); // cipher suites
    i += 1 + b[i]; // compression methods
    const out = { sni: '', alpn: [] as string[] };
    if (i === b.length) return out; // no extensions
    const extEnd = i + 2 + b.readUInt16BE(i);
    if (extEnd > b.length) return null;
    i += 2;
    while (i + 4 <= extEnd) {
      const type = b.readUInt16BE(i);
      const len = b.readUInt16BE(i + 2);
      const ext = b.subarray(i + 4, i + 4 + len);
      if (ext.length !== len) return null;
      if (type === EXT_SERVER_NAME) out.sni = serverName(ext);
      else if (type === EXT_ALPN) out.alpn = alpn(ext);
      i += 4 + len;
    }
    return out;
  } catch {
    return null; // a read past the end: truncated fields
  }
}

function serverName(e: Buffer): string {
  let i = 2;
  const end = Math.min(e.length, 2 + e.readUInt16BE(0));
  while (i + 3 <= end) {
    const type = e[i];
    const len = e.readUInt16BE(i + 1);
    if (type === 0) return e.latin1Slice(i + 3, Math.min(end, i + 3 + len));
    i += 3 + len;
  }
  return '';
}

function alpn(e: Buffer): string[] {
  const out: string[] = [];
  let i = 2;
  const end = Math.min(e.length, 2 + e.readUInt16BE(0));
  while (i < end) {
    const len = e[i];
    if (i + 1 + len > end) break;
    out.push(e.latin1Slice(i + 1, i + 1 + len));
    i += 1 + len;
  }
  return out;
}
