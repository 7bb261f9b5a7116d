// Cluster circuit_breakers → per-priority thresholds (Envoy's defaults: 1024/1024/1024/3).
import type { CircuitBreakerThresholdsSnap } from '../../../shared/snapshot.ts';
import { bool, checkRest, join, list, num, obj, str, type Ctx, type Obj } from './context.ts';

export const CB_DEFAULTS = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };

const FIELDS = ['priority', 'max_connections', 'max_pending_requests', 'max_requests', 'max_retries', 'retry_budget', 'track_remaining'];

export function circuitBreakers(cb: Obj, path: string, ctx: Ctx): CircuitBreakerThresholdsSnap[] {
  checkRest(ctx, cb, path, ['thresholds']);
  const seen = new Set<string>();
  const out = list(cb.thresholds).map((t, i): CircuitBreakerThresholdsSnap => {
    const p = join(join(path, 'thresholds'), i);
    checkRest(ctx, t, p, FIELDS);
    const priority = str(t.priority, 'DEFAULT') === 'HIGH' ? 'high' : 'default';
    if (seen.has(priority)) ctx.issues.warn(join(p, 'priority'), `a second ${priority.toUpperCase()} threshold; Envoy uses the last one`);
    seen.add(priority);
    return {
      priority,
      maxConnections: num(t.max_connections, CB_DEFAULTS.maxConnections),
      maxPendingRequests: num(t.max_pending_requests, CB_DEFAULTS.maxPendingRequests),
      maxRequests: num(t.max_requests, CB_DEFAULTS.maxRequests),
      maxRetries: num(t.max_retries, CB_DEFAULTS.maxRetries),
      // Optional fields stay absent when unset, keeping snapshots of plain configs unchanged.
      ...(t.retry_budget !== undefined ? { retryBudget: retryBudget(obj(t.retry_budget), join(p, 'retry_budget'), ctx) } : {}),
      ...(bool(t.track_remaining, false) ? { trackRemaining: true } : {}),
    };
  });
  const last = (prio: string) => out.filter((t) => t.priority === prio).pop();
  const result: CircuitBreakerThresholdsSnap[] = [last('default') ?? { priority: 'default', ...CB_DEFAULTS }];
  const high = last('high');
  if (high !== undefined) result.push(high);
  return result;
}

function retryBudget(b: Obj, path: string, ctx: Ctx): { budgetPercent: number; minRetryConcurrency: number } {
  checkRest(ctx, b, path, ['budget_percent', 'min_retry_concurrency']);
  const pct = b.budget_percent === undefined ? 20 : num(obj(b.budget_percent).value, 0);
  return { budgetPercent: pct, minRetryConcurrency: num(b.min_retry_concurrency, 3) };
}
