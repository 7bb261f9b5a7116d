// Orion's breaker state machine for one cluster in one worker (the cluster extension in
// proto/orion/extensions/upstreams/circuit_breaker/v1). closed → open after N consecutive
// failures or a failure rate over a minimum request volume; open → half-open after the cooldown;
// half-open admits a few probes: enough successes close it, any failure opens it again.
// Each worker trips on its own traffic, with no IPC on the request path (see docs/upstream.md).
import type { BreakerSnap } from '../../shared/snapshot.ts';
import { stats, type Counter, type Gauge } from '../stats/store.ts';

export const BreakerState = { CLOSED: 0, OPEN: 1, HALF_OPEN: 2 } as const;

const BUCKETS = 10;

export class BreakerStateMachine {
  readonly cfg: BreakerSnap;
  state: number = BreakerState.CLOSED;
  private consecutive = 0;
  private openUntil = 0;
  private probes = 0;
  private probeSuccesses = 0;
  private readonly totals = new Float64Array(BUCKETS);
  private readonly failures = new Float64Array(BUCKETS);
  private bucket = 0;
  private readonly bucketMs: number;
  private readonly stOpened: Counter;
  private readonly stHalfOpened: Counter;
  private readonly stClosed: Counter;
  private readonly stRejected: Counter;
  private readonly stState: Gauge;
  /** The JSON 503 body, rendered once. */
  readonly body: string;

  constructor(cfg: BreakerSnap, statName: string) {
    this.cfg = cfg;
    this.bucketMs = Math.max(1, cfg.windowMs / BUCKETS);
    const p = `cluster.${statName}.breaker.`;
    this.stOpened = stats.counter(p + 'opened');
    this.stHalfOpened = stats.counter(p + 'half_opened');
    this.stClosed = stats.counter(p + 'closed');
    this.stRejected = stats.counter(p + 'rq_rejected');
    this.stState = stats.gauge(p + 'state');
    this.stState.value = 0;
    // Local replies are written as latin1: escape anything beyond ASCII so the JSON stays intact.
    this.body = JSON.stringify({ error: 'Service Unavailable', message: cfg.message }).replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  }

  /** May a request go upstream now? A false answer has been counted as rejected. */
  allow(now: number): boolean {
    const s = this.state;
    if (s === BreakerState.CLOSED) return true;
    if (s === BreakerState.OPEN) {
      if (now < this.openUntil) return this.reject();
      this.toHalfOpen();
    }
    if (this.probes >= this.cfg.halfOpenMaxRequests) return this.reject();
    this.probes++;
    return true;
  }

  /** Seconds a rejected client should wait (the Retry-After header). */
  retryAfterSeconds(now: number): number {
    if (this.state !== BreakerState.OPEN) return 1;
    return Math.max(1, Math.ceil((this.openUntil - now) / 1000));
  }

  isFailureStatus(status: number): boolean {
    const codes = this.cfg.failureStatuses;
    return codes.length === 0 ? status >= 500 : codes.includes(status);
  }

  /** The outcome of an admitted request. */
  record(failed: boolean, now: number): void {
    const s = this.state;
    if (s === BreakerState.HALF_OPEN) {
      if (failed) return this.toOpen(now);
      if (++this.probeSuccesses >= this.cfg.successThreshold) this.toClosed();
      return;
    }
    if (s === BreakerState.OPEN) return; // a straggler admitted before the breaker opened
    this.consecutive = failed ? this.consecutive + 1 : 0;
    if (this.cfg.consecutiveFailures > 0 && this.consecutive >= this.cfg.consecutiveFailures) return this.toOpen(now);
    if (this.cfg.failureRateThreshold > 0 && this.countInWindow(failed, now)) this.toOpen(now);
  }

  /** An admitted request finished (with or without an outcome): frees its probe slot. */
  released(): void {
    if (this.probes > 0) this.probes--;
  }

  private countInWindow(failed: boolean, now: number): boolean {
    const b = Math.floor(now / this.bucketMs);
    if (b !== this.bucket) {
      // Clear the buckets skipped since the last request (all of them after a long pause).
      for (let i = Math.max(this.bucket + 1, b - BUCKETS + 1); i <= b; i++) {
        this.totals[i % BUCKETS] = 0;
        this.failures[i % BUCKETS] = 0;
      }
      this.bucket = b;
    }
    const i = b % BUCKETS;
    this.totals[i]++;
    if (failed) this.failures[i]++;
    let total = 0;
    let fails = 0;
    for (let k = 0; k < BUCKETS; k++) {
      total += this.totals[k];
      fails += this.failures[k];
    }
    return total >= this.cfg.minimumRequests && (fails * 100) / total >= this.cfg.failureRateThreshold;
  }

  private reject(): false {
    this.stRejected.value++;
    return false;
  }

  private toOpen(now: number): void {
    this.state = BreakerState.OPEN;
    this.openUntil = now + this.cfg.openDurationMs;
    this.consecutive = 0;
    this.totals.fill(0);
    this.failures.fill(0);
    this.stOpened.value++;
    this.stState.value = BreakerState.OPEN;
  }

  private toHalfOpen(): void {
    this.state = BreakerState.HALF_OPEN;
    this.probes = 0;
    this.probeSuccesses = 0;
    this.stHalfOpened.value++;
    this.stState.value = BreakerState.HALF_OPEN;
  }

  private toClosed(): void {
    this.state = BreakerState.CLOSED;
    this.consecutive = 0;
    this.stClosed.value++;
    this.stState.value = BreakerState.CLOSED;
  }
}
