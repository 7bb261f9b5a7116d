// Cluster outlier_detection → OutlierDetectionSnap with Envoy's defaults. Workers report
// outcomes; the primary's detector (src/primary/health/outlier_detector.ts) decides ejections.
import type { OutlierDetectionSnap } from '../../../shared/snapshot.ts';
import { bool, checkRest, durationMs, join, num, type Ctx, type Obj } from './context.ts';

const PERCENTS = [
  'max_ejection_percent', 'enforcing_consecutive_5xx', 'enforcing_success_rate', 'enforcing_consecutive_gateway_failure',
  'enforcing_consecutive_local_origin_failure', 'enforcing_local_origin_success_rate', 'failure_percentage_threshold',
  'enforcing_failure_percentage', 'enforcing_failure_percentage_local_origin',
];
const HANDLED = [
  ...PERCENTS, 'consecutive_5xx', 'interval', 'base_ejection_time', 'success_rate_minimum_hosts', 'success_rate_request_volume',
  'success_rate_stdev_factor', 'consecutive_gateway_failure', 'split_external_local_origin_errors', 'consecutive_local_origin_failure',
  'failure_percentage_minimum_hosts', 'failure_percentage_request_volume', 'max_ejection_time', 'max_ejection_time_jitter',
  'successful_active_health_check_uneject_host', 'always_eject_one_host',
];

export function outlierDetection(o: Obj, path: string, ctx: Ctx): OutlierDetectionSnap {
  checkRest(ctx, o, path, HANDLED);
  for (const f of PERCENTS) {
    const v = num(o[f], 0);
    if (v > 100) ctx.issues.error(join(path, f), `${v} is not a percentage (0-100)`);
  }
  const base = durationMs(o.base_ejection_time, 30_000);
  return {
    intervalMs: durationMs(o.interval, 10_000) || 10_000,
    baseEjectionTimeMs: base || 30_000,
    // Envoy never ejects for less than the base time, whatever max_ejection_time says.
    maxEjectionTimeMs: Math.max(base, durationMs(o.max_ejection_time, 300_000)),
    maxEjectionTimeJitterMs: durationMs(o.max_ejection_time_jitter, 0),
    maxEjectionPercent: num(o.max_ejection_percent, 10),
    consecutive5xx: num(o.consecutive_5xx, 5),
    enforcingConsecutive5xx: num(o.enforcing_consecutive_5xx, 100),
    consecutiveGatewayFailure: num(o.consecutive_gateway_failure, 5),
    enforcingConsecutiveGatewayFailure: num(o.enforcing_consecutive_gateway_failure, 0),
    splitExternalLocalOriginErrors: bool(o.split_external_local_origin_errors, false),
    consecutiveLocalOriginFailure: num(o.consecutive_local_origin_failure, 5),
    enforcingConsecutiveLocalOriginFailure: num(o.enforcing_consecutive_local_origin_failure, 100),
    enforcingSuccessRate: num(o.enforcing_success_rate, 100),
    enforcingLocalOriginSuccessRate: num(o.enforcing_local_origin_success_rate, 100),
    successRateMinimumHosts: num(o.success_rate_minimum_hosts, 5),
    successRateRequestVolume: num(o.success_rate_request_volume, 100),
    successRateStdevFactor: num(o.success_rate_stdev_factor, 1900),
    failurePercentageThreshold: num(o.failure_percentage_threshold, 85),
    enforcingFailurePercentage: num(o.enforcing_failure_percentage, 0),
    enforcingFailurePercentageLocalOrigin: num(o.enforcing_failure_percentage_local_origin, 0),
    failurePercentageMinimumHosts: num(o.failure_percentage_minimum_hosts, 5),
    failurePercentageRequestVolume: num(o.failure_percentage_request_volume, 50),
    successfulActiveHealthCheckUnejectHost: bool(o.successful_active_health_check_uneject_host, true),
    alwaysEjectOneHost: bool(o.always_eject_one_host, false),
  };
}
