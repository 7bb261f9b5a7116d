// The Kmesh TLV listener filter: Kmesh's eBPF redirect prefixes the stream with TLV records that
// name the service the client really dialled. Records are read from the start of the stream and
// consumed: [type 1 byte][length u32 big-endian][value]; type 0x01 is the service address (IPv4 or
// IPv6 address then port, big-endian), 0xfe ends the records. That address becomes the
// connection's original destination (chain matching, ORIGINAL_DST clusters). Anything else —
// another type, a bad length, or more than 256 bytes before the end record — closes the connection.
import { stats, type Counter } from '../stats/store.ts';
import { ipv4String, ipv6String } from './addr.ts';
import { FilterStatus, type FilterStatusValue, type ListenerFilter, type ListenerFilterState } from './listener_filter.ts';

const TYPE_SERVICE = 0x01;
const TYPE_END = 0xfe;
const HEADER = 5;
/** Most bytes of records allowed before the end record. */
const MAX_RECORDS = 256;

let found: Counter | null = null;
let error: Counter | null = null;

export class KmeshTlvFilter implements ListenerFilter {
  readonly maxReadBytes = MAX_RECORDS + HEADER;

  constructor() {
    found ??= stats.counter('kmesh_tlv.found');
    error ??= stats.counter('kmesh_tlv.error');
  }

  onData(st: ListenerFilterState, data: Buffer, ended: boolean): FilterStatusValue {
    let i = 0;
    let addr: string | null = null;
    let port = 0;
    for (;;) {
      if (i > MAX_RECORDS) return fail();
      if (data.length < i + HEADER) return ended ? fail() : FilterStatus.NEED_MORE;
      const type = data[i];
      const len = data.readUInt32BE(i + 1);
      if (type === TYPE_END) {
        if (len !== 0) return fail();
        if (addr !== null) {
          st.info.localAddress = addr;
          st.info.localPort = port;
        }
        st.consume(i + HEADER);
        found!.value++;
        return FilterStatus.CONTINUE;
      }
      if (type !== TYPE_SERVICE || (len !== 6 && len !== 18)) return fail();
      if (data.length < i + HEADER + len) return ended ? fail() : FilterStatus.NEED_MORE;
      const v = data.subarray(i + HEADER, i + HEADER + len);
      addr = len === 6 ? ipv4String(v, 0) : ipv6String(v, 0);
      port = v.readUInt16BE(len - 2);
      i += HEADER + len;
    }
  }
}

function fail(): FilterStatusValue {
  error!.value++;
  return FilterStatus.CLOSE;
}
