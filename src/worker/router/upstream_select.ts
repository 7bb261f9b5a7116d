// What the router hands a cluster to pick a host with (the route's hash key, the original
// destination for ORIGINAL_DST clusters), and the fast-fail reply of an open breaker.
import type { HashPolicySnap } from '../../shared/snapshot.ts';
import type { ActiveStream } from '../http/active_stream.ts';
import { ResponseFlag } from '../http/local_reply.ts';
import type { Cluster } from '../upstream/cluster.ts';
import type { BreakerStateMachine } from '../upstream/breaker.ts';
import type { LbContext } from '../upstream/load_balancer.ts';
import { getHeader } from './header_mutation.ts';
import { hashKey } from './hash_policy.ts';

/** Picks are synchronous and a worker is single-threaded: one context object serves every pick. */
const scratch: LbContext = { hashKey: null, originalDst: null };

/** The pick context, or null when neither a hash policy nor ORIGINAL_DST needs one. */
export function lbContext(stream: ActiveStream, cluster: Cluster, policies: HashPolicySnap[] | null): LbContext | null {
  const od = cluster.snap.originalDst;
  if (policies === null && (od === undefined || od === null)) return null;
  scratch.hashKey = policies === null ? null : hashKey(stream, policies);
  scratch.originalDst = null;
  if (od !== undefined && od !== null) {
    const h = od.useHttpHeader ? getHeader(stream.head.headers, od.httpHeaderName) : null;
    scratch.originalDst = h ?? formatAddress(stream.localAddress, stream.localPort);
  }
  return scratch;
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** While the breaker is open: 503 with a JSON body and Retry-After, flagged UO. */
export function rejectOpenBreaker(stream: ActiveStream, b: BreakerStateMachine): void {
  const extra = 'content-type: application/json\r\nretry-after: ' + b.retryAfterSeconds(Date.now()) + '\r\n';
  stream.sendLocalReply(503, b.body, ResponseFlag.UPSTREAM_OVERFLOW, extra);
}
