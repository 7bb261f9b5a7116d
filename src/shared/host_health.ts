// Envoy's host health flags as bits. Workers combine the flags from EDS (in the snapshot) with
// the ones the primary pushes (active health checks, outlier detection); /clusters prints them.

export const HealthFlag = {
  FAILED_ACTIVE_HC: 1,
  FAILED_OUTLIER_CHECK: 2,
  FAILED_EDS_HEALTH: 4,
  DEGRADED_ACTIVE_HC: 8,
  DEGRADED_EDS_HEALTH: 16,
  PENDING_DYNAMIC_REMOVAL: 32,
  PENDING_ACTIVE_HC: 64,
  EXCLUDED_VIA_IMMEDIATE_HC_FAIL: 128,
  ACTIVE_HC_TIMEOUT: 256,
  EDS_STATUS_DRAINING: 512,
} as const;

/** Any of these keeps a host out of load balancing (outside panic mode). */
export const UNHEALTHY_FLAGS =
  HealthFlag.FAILED_ACTIVE_HC | HealthFlag.FAILED_OUTLIER_CHECK | HealthFlag.FAILED_EDS_HEALTH |
  HealthFlag.EDS_STATUS_DRAINING | HealthFlag.EXCLUDED_VIA_IMMEDIATE_HC_FAIL;
export const DEGRADED_FLAGS = HealthFlag.DEGRADED_ACTIVE_HC | HealthFlag.DEGRADED_EDS_HEALTH;

/** Envoy's /clusters flag names, in Envoy's print order. */
const NAMES: [number, string][] = [
  [HealthFlag.FAILED_ACTIVE_HC, 'failed_active_hc'],
  [HealthFlag.FAILED_OUTLIER_CHECK, 'failed_outlier_check'],
  [HealthFlag.FAILED_EDS_HEALTH, 'failed_eds_health'],
  [HealthFlag.DEGRADED_ACTIVE_HC, 'degraded_active_hc'],
  [HealthFlag.DEGRADED_EDS_HEALTH, 'degraded_eds_health'],
  [HealthFlag.PENDING_DYNAMIC_REMOVAL, 'pending_dynamic_removal'],
  [HealthFlag.PENDING_ACTIVE_HC, 'pending_active_hc'],
  [HealthFlag.EXCLUDED_VIA_IMMEDIATE_HC_FAIL, 'excluded_via_immediate_hc_fail'],
  [HealthFlag.ACTIVE_HC_TIMEOUT, 'active_hc_timeout'],
  [HealthFlag.EDS_STATUS_DRAINING, 'eds_status_draining'],
];

export function healthFlagNames(flags: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of NAMES) if ((flags & bit) !== 0) out.push(name);
  return out;
}

/** Flags an EDS health status implies. */
export function edsHealthFlags(status: string): number {
  switch (status) {
    case 'unhealthy':
    case 'timeout':
      return HealthFlag.FAILED_EDS_HEALTH;
    case 'draining':
      return HealthFlag.EDS_STATUS_DRAINING;
    case 'degraded':
      return HealthFlag.DEGRADED_EDS_HEALTH;
    default:
      return 0;
  }
}

/** 0 healthy, 1 degraded, 2 unhealthy. */
export function hostHealth(flags: number): 0 | 1 | 2 {
  if ((flags & UNHEALTHY_FLAGS) !== 0) return 2;
  return (flags & DEGRADED_FLAGS) !== 0 ? 1 : 0;
}
