// Envoy's cluster.<name>.* stats, resolved to counter objects once per cluster.
import { stats, type Counter, type Gauge, type GroupSchema, type Histogram } from '../stats/store.ts';

/** Every cluster's fixed stats; the class fields below carry the same names. */
const SCHEMA: GroupSchema = {
  id: 'cluster',
  counters: [
    'upstream_rq_total',
    'upstream_rq_pending_total',
    'upstream_rq_completed',
    'upstream_rq_timeout',
    'upstream_cx_total',
    'upstream_cx_http1_total',
    'upstream_cx_http2_total',
    'upstream_cx_connect_fail',
    'upstream_cx_connect_timeout',
    'upstream_cx_destroy',
    'upstream_cx_destroy_remote',
    'upstream_cx_destroy_local',
    'upstream_cx_protocol_error',
    'upstream_rq_pending_failure_eject',
    'upstream_rq_pending_overflow',
    'upstream_rq_retry',
    'upstream_rq_retry_success',
    'upstream_rq_retry_limit_exceeded',
    'upstream_rq_retry_overflow',
    'upstream_rq_per_try_timeout',
    'upstream_cx_overflow',
    'upstream_cx_none_healthy',
    'upstream_cx_rx_bytes_total',
    'upstream_cx_tx_bytes_total',
    'lb_healthy_panic',
  ],
  gauges: [
    'upstream_rq_active',
    'upstream_rq_pending_active',
    'upstream_cx_active',
    'membership_total',
    'membership_healthy',
    'membership_degraded',
    'membership_excluded',
  ],
  histograms: [
    'upstream_rq_time',
  ],
};

export class ClusterStats {
  readonly prefix: string;
  readonly upstream_rq_total!: Counter;
  readonly upstream_rq_active!: Gauge;
  readonly upstream_rq_pending_total!: Counter;
  readonly upstream_rq_pending_active!: Gauge;
  readonly upstream_rq_completed!: Counter;
  readonly upstream_rq_timeout!: Counter;
  readonly upstream_rq_time!: Histogram;
  readonly upstream_cx_total!: Counter;
  readonly upstream_cx_active!: Gauge;
  readonly upstream_cx_http1_total!: Counter;
  readonly upstream_cx_http2_total!: Counter;
  readonly upstream_cx_connect_fail!: Counter;
  readonly upstream_cx_connect_timeout!: Counter;
  readonly upstream_cx_destroy!: Counter;
  readonly upstream_cx_destroy_remote!: Counter;
  readonly upstream_cx_destroy_local!: Counter;
  readonly upstream_cx_protocol_error!: Counter;
  readonly upstream_rq_pending_failure_eject!: Counter;
  readonly upstream_rq_pending_overflow!: Counter;
  readonly upstream_rq_retry!: Counter;
  readonly upstream_rq_retry_success!: Counter;
  readonly upstream_rq_retry_limit_exceeded!: Counter;
  readonly upstream_rq_retry_overflow!: Counter;
  readonly upstream_rq_per_try_timeout!: Counter;
  readonly upstream_cx_overflow!: Counter;
  readonly upstream_cx_none_healthy!: Counter;
  readonly upstream_cx_rx_bytes_total!: Counter;
  readonly upstream_cx_tx_bytes_total!: Counter;
  readonly membership_total!: Gauge;
  readonly membership_healthy!: Gauge;
  readonly membership_degraded!: Gauge;
  readonly membership_excluded!: Gauge;
  readonly lb_healthy_panic!: Counter;
  private readonly codes: Counter[] = [];
  private readonly classes: Counter[] = [];

  constructor(statName: string) {
    const p = (this.prefix = `cluster.${statName}.`);
    // One registration per cluster; the named fields are views of the group's stat objects.
    const g = stats.group(p, SCHEMA);
    const self = this as unknown as Record<string, Counter | Gauge | Histogram>;
    SCHEMA.counters.forEach((n, k) => (self[n] = g.counters[k]));
    SCHEMA.gauges.forEach((n, k) => (self[n] = g.gauges[k]));
    SCHEMA.histograms.forEach((n, k) => (self[n] = g.histograms[k]));
  }

  /** Counts a response: upstream_rq_<code> and upstream_rq_<N>xx. */
  response(code: number): void {
    let c = this.codes[code];
    if (c === undefined) c = this.codes[code] = stats.counter(this.prefix + 'upstream_rq_' + code);
    c.value++;
    const k = (code / 100) | 0;
    let x = this.classes[k];
    if (x === undefined) x = this.classes[k] = stats.counter(this.prefix + 'upstream_rq_' + k + 'xx');
    x.value++;
  }
}
