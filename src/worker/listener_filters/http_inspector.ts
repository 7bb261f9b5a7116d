// envoy.filters.listener.http_inspector: peeks at the first bytes of a plaintext connection and
// records the HTTP version as the application protocol ('h2c' for the HTTP/2 preface,
// 'http/1.1' / 'http/1.0' for a request line) so chains can match application_protocols.
import { stats, type Counter } from '../stats/store.ts';
import { FilterStatus, type FilterStatusValue, type ListenerFilter, type ListenerFilterState } from './listener_filter.ts';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** Longest request line looked at. */
const MAX_LINE = 8 * 1024;
const REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/1\.([01])$/;

let counters: { http10: Counter; http11: Counter; http2: Counter; notFound: Counter } | null = null;

export class HttpInspectorFilter implements ListenerFilter {
  readonly maxReadBytes = MAX_LINE;

  constructor() {
    counters ??= {
      http10: stats.counter('http_inspector.http10_found'),
      http11: stats.counter('http_inspector.http11_found'),
      http2: stats.counter('http_inspector.http2_found'),
      notFound: stats.counter('http_inspector.http_not_found'),
    };
  }

  onData(st: ListenerFilterState, data: Buffer, ended: boolean): FilterStatusValue {
    const info = st.info;
    // A TLS connection's protocol is what its ALPN says, not something to sniff.
    if (info.transportProtocol !== '' && info.transportProtocol !== 'raw_buffer') return FilterStatus.CONTINUE;
    const c = counters!;
    if (data.length === 0) return ended ? notFound() : FilterStatus.NEED_MORE;
    const n = Math.min(data.length, PREFACE.length);
    if (data.compare(PREFACE, 0, n, 0, n) === 0) {
      if (n < PREFACE.length) return ended ? notFound() : FilterStatus.NEED_MORE;
      info.applicationProtocols = ['h2c'];
      c.http2.value++;
      return FilterStatus.CONTINUE;
    }
    const b0 = data[0];
    if (b0 < 0x41 || b0 > 0x5a) return notFound();
    const eol = data.indexOf('\r\n', 0, 'latin1');
    if (eol < 0) return data.length >= MAX_LINE || ended ? notFound() : FilterStatus.NEED_MORE;
    const m = REQUEST_LINE.exec(data.latin1Slice(0, eol));
    if (m === null) return notFound();
    info.applicationProtocols = [m[1] === '1' ? 'http/1.1' : 'http/1.0'];
    (m[1] === '1' ? c.http11 : c.http10).value++;
    return FilterStatus.CONTINUE;
  }
}

function notFound(): FilterStatusValue {
  counters!.notFound.value++;
  return FilterStatus.CONTINUE;
}
