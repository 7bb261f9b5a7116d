// Envoy's cluster.<name>.* stats, resolved to counter objects once per cluster.
import { stats, type Counter, type Gauge, type Histogram } from '../stats/store.ts';

export class ClusterStats {
  readonly prefix: string;
  readonly upstream_rq_total: Counter;
  readonly upstream_rq_active: Gauge;
  readonly upstream_rq_pending_total: Counter;
  readonly upstream_rq_pending_active: Gauge;
  readonly upstream_rq_completed: Counter;
  readonly upstream_rq_timeout: Counter;
  readonly upstream_rq_time: Histogram;
  readonly upstream_cx_total: Counter;
  readonly upstream_cx_active: Gauge;
  readonly upstream_cx_http1_total: Counter;
  readonly upstream_cx_http2_total: Counter;
  readonly upstream_cx_connect_fail: Counter;
  readonly upstream_cx_connect_timeout: Counter;
  readonly upstream_cx_destroy: Counter;
  readonly upstream_cx_destroy_remote: Counter;
  readonly upstream_cx_destroy_local: Counter;
  readonly upstream_cx_protocol_error: Counter;
  readonly upstream_rq_pending_failure_eject: Counter;
  readonly upstream_rq_pending_overflow: Counter;
  readonly upstream_rq_retry: Counter;
  readonly upstream_rq_retry_success: Counter;
  readonly upstream_rq_retry_limit_exceeded: Counter;
  readonly upstream_rq_retry_overflow: Counter;
  readonly upstream_rq_per_try_timeout: Counter;
  readonly upstream_cx_overflow: Counter;
  readonly upstream_cx_none_healthy: Counter;
  readonly upstream_cx_rx_bytes_total: Counter;
  readonly upstream_cx_tx_bytes_total: Counter;
  readonly membership_total: Gauge;
  readonly membership_healthy: Gauge;
  readonly membership_degraded: Gauge;
  readonly membership_excluded: Gauge;
  readonly lb_healthy_panic: Counter;
  private readonly codes: Counter[] = [];
  private readonly classes: Counter[] = [];

  constructor(statName: string) {
    const p = (this.prefix = `cluster.${statName}.`);
    this.upstream_rq_total = stats.counter(p + 'upstream_rq_total');
    this.upstream_rq_active = stats.gauge(p + 'upstream_rq_active');
    this.upstream_rq_pending_total = stats.counter(p + 'upstream_rq_pending_total');
    this.upstream_rq_pending_active = stats.gauge(p + 'upstream_rq_pending_active');
    this.upstream_rq_completed = stats.counter(p + 'upstream_rq_completed');
    this.upstream_rq_timeout = stats.counter(p + 'upstream_rq_timeout');
    this.upstream_rq_time = stats.histogram(p + 'upstream_rq_time');
    this.upstream_cx_total = stats.counter(p + 'upstream_cx_total');
    this.upstream_cx_active = stats.gauge(p + 'upstream_cx_active');
    this.upstream_cx_http1_total = stats.counter(p + 'upstream_cx_http1_total');
    this.upstream_cx_http2_total = stats.counter(p + 'upstream_cx_http2_total');
    this.upstream_cx_connect_fail = stats.counter(p + 'upstream_cx_connect_fail');
    this.upstream_cx_connect_timeout = stats.counter(p + 'upstream_cx_connect_timeout');
    this.upstream_cx_destroy = stats.counter(p + 'upstream_cx_destroy');
    this.upstream_cx_destroy_remote = stats.counter(p + 'upstream_cx_destroy_remote');
    this.upstream_cx_destroy_local = stats.counter(p + 'upstream_cx_destroy_local');
    this.upstream_cx_protocol_error = stats.counter(p + 'upstream_cx_protocol_error');
    this.upstream_rq_pending_failure_eject = stats.counter(p + 'upstream_rq_pending_failure_eject');
    this.upstream_rq_pending_overflow = stats.counter(p + 'upstream_rq_pending_overflow');
    this.upstream_rq_retry = stats.counter(p + 'upstream_rq_retry');
    this.upstream_rq_retry_success = stats.counter(p + 'upstream_rq_retry_success');
    this.upstream_rq_retry_limit_exceeded = stats.counter(p + 'upstream_rq_retry_limit_exceeded');
    this.upstream_rq_retry_overflow = stats.counter(p + 'upstream_rq_retry_overflow');
    this.upstream_rq_per_try_timeout = stats.counter(p + 'upstream_rq_per_try_timeout');
    this.upstream_cx_overflow = stats.counter(p + 'upstream_cx_overflow');
    this.upstream_cx_none_healthy = stats.counter(p + 'upstream_cx_none_healthy');
    this.upstream_cx_rx_bytes_total = stats.counter(p + 'upstream_cx_rx_bytes_total');
    this.upstream_cx_tx_bytes_total = stats.counter(p + 'upstream_cx_tx_bytes_total');
    this.membership_total = stats.gauge(p + 'membership_total');
    this.membership_healthy = stats.gauge(p + 'membership_healthy');
    this.membership_degraded = stats.gauge(p + 'membership_degraded');
    this.membership_excluded = stats.gauge(p + 'membership_excluded');
    this.lb_healthy_panic = stats.counter(p + 'lb_healthy_panic');
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
