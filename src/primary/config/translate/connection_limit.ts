// envoy.filters.network.connection_limit → ConnectionLimitFilterSnap.
import type { ConnectionLimitFilterSnap } from '../../../shared/snapshot.ts';
import { checkRest, durationMs, join, num, str, unsupported, type Ctx, type Obj } from './context.ts';
import { registerNetworkFilter } from './registry.ts';

export const CONNECTION_LIMIT_TYPE = 'envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit';

export function connectionLimit(name: string, c: Obj, path: string, ctx: Ctx): ConnectionLimitFilterSnap {
  checkRest(ctx, c, path, ['stat_prefix', 'max_connections', 'delay', 'runtime_enabled']);
  if (c.runtime_enabled !== undefined) unsupported(ctx, join(path, 'runtime_enabled'), 'runtime flags are not supported; the filter is always enabled');
  const maxConnections = num(c.max_connections, 0);
  if (maxConnections < 1) ctx.issues.error(join(path, 'max_connections'), 'must be at least 1');
  return { kind: 'connection_limit', name, statPrefix: str(c.stat_prefix), maxConnections, delayMs: durationMs(c.delay, 0) };
}

registerNetworkFilter(CONNECTION_LIMIT_TYPE, {
  terminal: false,
  translate: ({ name, config, path, ctx }) => connectionLimit(name, config, path, ctx),
});
