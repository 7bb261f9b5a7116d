// Envoy's circuit-breaker thresholds for one priority of one cluster: connections, pending
// requests, active requests and retries, each with its `circuit_breakers.<prio>.*_open` gauge
// (and remaining_* with track_remaining). Workers share nothing, so each enforces its share of
// every limit: ceil(limit / workers) (see docs/upstream.md).
import type { CircuitBreakerThresholdsSnap } from '../../shared/snapshot.ts';
import { stats, type Gauge, type GroupSchema } from '../stats/store.ts';

export const WORKER_COUNT = Math.max(1, Number(process.env.ORION_WORKER_COUNT) || 1);

/** This worker's share of a proxy-wide limit. */
export function workerShare(limit: number, workers = WORKER_COUNT): number {
  if (limit <= 0) return 0;
  return Math.ceil(limit / workers);
}

export class ResourceLimit {
  max: number;
  current = 0;
  private readonly open: Gauge;
  private readonly remaining: Gauge | null;

  constructor(max: number, open: Gauge, remaining: Gauge | null) {
    this.max = max;
    this.open = open;
    this.remaining = remaining;
    this.publish();
  }

  canCreate(): boolean {
    return this.current < this.max;
  }

  inc(): void {
    this.current++;
    this.publish();
  }

  dec(): void {
    if (this.current > 0) this.current--;
    this.publish();
  }

  private publish(): void {
    this.open.value = this.current >= this.max ? 1 : 0;
    if (this.remaining !== null) this.remaining.value = Math.max(0, this.max - this.current);
  }
}

/** The gauges of one priority's breakers (one stat group per cluster and priority). */
const SCHEMA: GroupSchema = {
  id: 'circuit_breakers',
  counters: [],
  // Envoy publishes cx_pool_open too; pools are never limited here, so it stays 0.
  gauges: ['cx_open', 'cx_pool_open', 'rq_pending_open', 'rq_open', 'rq_retry_open'],
  histograms: [],
};

/** With track_remaining: the remaining_* gauges as well. */
const SCHEMA_REMAINING: GroupSchema = {
  id: 'circuit_breakers_remaining',
  counters: [],
  gauges: [...SCHEMA.gauges, 'remaining_cx', 'remaining_pending', 'remaining_rq', 'remaining_retries'],
  histograms: [],
};

export class ResourceManager {
  readonly connections: ResourceLimit;
  readonly pendingRequests: ResourceLimit;
  readonly requests: ResourceLimit;
  readonly retries: ResourceLimit;
  private readonly budget: { budgetPercent: number; minRetryConcurrency: number } | null;

  constructor(t: CircuitBreakerThresholdsSnap, statName: string, workers = WORKER_COUNT) {
    const track = t.trackRemaining === true;
    const g = stats.group(`cluster.${statName}.circuit_breakers.${t.priority}.`, track ? SCHEMA_REMAINING : SCHEMA).gauges;
    this.connections = new ResourceLimit(workerShare(t.maxConnections, workers), g[0], track ? g[5] : null);
    this.pendingRequests = new ResourceLimit(workerShare(t.maxPendingRequests, workers), g[2], track ? g[6] : null);
    this.requests = new ResourceLimit(workerShare(t.maxRequests, workers), g[3], track ? g[7] : null);
    this.retries = new ResourceLimit(workerShare(t.maxRetries, workers), g[4], track ? g[8] : null);
    this.budget = t.retryBudget ?? null;
  }

  /** A retry may start: max_retries, or the retry budget when one is configured. */
  canRetry(): boolean {
    if (this.budget !== null) {
      const active = this.requests.current + this.pendingRequests.current;
      this.retries.max = Math.max(this.budget.minRetryConcurrency, Math.floor((this.budget.budgetPercent / 100) * active));
    }
    return this.retries.canCreate();
  }
}
