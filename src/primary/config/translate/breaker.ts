// Orion's breaker state machine (proto/orion/extensions/upstreams/circuit_breaker/v1), a cluster
// extension carried in typed_extension_protocol_options.
import type { BreakerSnap } from '../../../shared/snapshot.ts';
import { checkRest, durationMs, join, num, obj, str, type Ctx, type Obj } from './context.ts';
import { registerClusterExtension } from './registry.ts';

export const BREAKER_TYPE = 'orion.extensions.upstreams.circuit_breaker.v1.CircuitBreaker';

export function breaker(c: Obj, path: string, ctx: Ctx): BreakerSnap {
  checkRest(ctx, c, path, ['consecutive_failures', 'failure_rate', 'open_duration', 'half_open_max_requests', 'success_threshold', 'failure_status_codes', 'message']);
  const fr = obj(c.failure_rate);
  checkRest(ctx, fr, join(path, 'failure_rate'), ['threshold', 'minimum_requests', 'window']);
  const rate = num(fr.threshold, 0);
  if (rate < 0 || rate > 100) ctx.issues.error(join(join(path, 'failure_rate'), 'threshold'), 'must be a percentage in (0, 100]');
  const consecutive = num(c.consecutive_failures, 5);
  if (consecutive === 0 && rate <= 0) ctx.issues.error(path, 'the breaker can never open: set consecutive_failures or failure_rate.threshold');
  const halfOpen = Math.max(1, num(c.half_open_max_requests, 1));
  const codes = Array.isArray(c.failure_status_codes) ? (c.failure_status_codes as number[]) : [];
  codes.forEach((s, i) => {
    if (s < 100 || s > 599) ctx.issues.error(join(join(path, 'failure_status_codes'), i), `${s} is not an HTTP status`);
  });
  return {
    consecutiveFailures: consecutive,
    failureRateThreshold: rate,
    minimumRequests: num(fr.minimum_requests, 20),
    windowMs: durationMs(fr.window, 10_000) || 10_000,
    openDurationMs: durationMs(c.open_duration, 30_000) || 30_000,
    halfOpenMaxRequests: halfOpen,
    successThreshold: Math.max(1, num(c.success_threshold, halfOpen)),
    failureStatuses: codes,
    message: str(c.message, 'upstream circuit breaker is open'),
  };
}

registerClusterExtension(BREAKER_TYPE, {
  translate: (config, path, ctx) => ({ breaker: breaker(config, path, ctx) }),
});
