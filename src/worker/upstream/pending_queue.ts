// A stream that found no ready connection waits in its pool's pending queue, within the
// priority's max_pending_requests breaker; over it the stream fails at once with OVERFLOW (503 UO).
import { ResetReason, type UpstreamStream } from './http1_client.ts';
import type { ClusterStats } from './cluster_stats.ts';
import type { ResourceManager } from './resource_manager.ts';

/** Queues `s`; false when the breaker refused it (the stream has been failed). */
export function enqueuePending(s: UpstreamStream, pending: UpstreamStream[], res: ResourceManager, stats: ClusterStats): boolean {
  if (!res.pendingRequests.canCreate()) {
    stats.upstream_rq_pending_overflow.value++;
    s.onPoolFailure(ResetReason.OVERFLOW);
    return false;
  }
  pending.push(s);
  res.pendingRequests.inc();
  stats.upstream_rq_pending_total.value++;
  stats.upstream_rq_pending_active.value++;
  return true;
}
