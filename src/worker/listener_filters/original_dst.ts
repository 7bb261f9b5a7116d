// envoy.filters.listener.original_dst. Node.js has no getsockopt, so SO_ORIGINAL_DST (the address
// an iptables REDIRECT rewrote) cannot be read: the accepted socket's local address stays the
// original destination. That is right for connections that were not NATed, and for TPROXY-style
// setups; docs/l4.md explains why no native addon is built for it.
import { FilterStatus, type ListenerFilter, type FilterStatusValue } from './listener_filter.ts';

export class OriginalDstFilter implements ListenerFilter {
  readonly maxReadBytes = 0;

  onData(): FilterStatusValue {
    return FilterStatus.CONTINUE;
  }
}
