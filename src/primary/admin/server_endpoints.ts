// Endpoints about the server process itself: readiness, info, health-check override, shutdown,
// draining, logging and memory.
import type { AdminContext, ServerState } from './context.ts';
import { flag, json, text, type Endpoint } from './endpoint.ts';
import { loggingEndpoint } from './logging_endpoint.ts';

/** Envoy reports a live server whose health checks were failed by hand as DRAINING. */
export function effectiveState(ctx: AdminContext): ServerState {
  const s = ctx.state();
  return s === 'LIVE' && ctx.healthCheckFailed() ? 'DRAINING' : s;
}

function ok(): ReturnType<typeof text> {
  return text('OK\n');
}

export function serverEndpoints(ctx: AdminContext): Endpoint[] {
  return [
    {
      path: '/ready',
      help: 'server state as text; 200 when LIVE, 503 otherwise',
      mutates: false,
      handle: () => {
        const s = effectiveState(ctx);
        return text(s + '\n', s === 'LIVE' ? 200 : 503);
      },
    },
    { path: '/server_info', help: 'version, state, uptime, node and command line', mutates: false, handle: () => json(serverInfo(ctx)) },
    {
      path: '/hot_restart_version',
      help: 'hot restart compatibility version',
      mutates: false,
      handle: () => text(ctx.serverInfo().hotRestartVersion),
    },
    {
      path: '/healthcheck/fail',
      help: 'make the health_check filter report failure',
      mutates: true,
      handle: () => (ctx.setHealthCheckFailed(true), ok()),
    },
    {
      path: '/healthcheck/ok',
      help: 'make the health_check filter report success again',
      mutates: true,
      handle: () => (ctx.setHealthCheckFailed(false), ok()),
    },
    { path: '/quitquitquit', help: 'shut the server down', mutates: true, handle: () => ({ ...ok(), after: () => ctx.quit() }) },
    drainEndpoint(ctx),
    loggingEndpoint(ctx),
    { path: '/memory', help: 'memory use of the primary process', mutates: false, handle: () => json(memory()) },
    { path: '/runtime', help: 'runtime layers and values (none)', mutates: false, handle: () => json({ layers: [], entries: {} }) },
    { path: '/certs', help: 'loaded TLS certificates (none)', mutates: false, handle: () => json({ certificates: [] }) },
  ];
}

function drainEndpoint(ctx: AdminContext): Endpoint {
  return {
    path: '/drain_listeners',
    help: 'stop accepting on listeners and drain their connections',
    mutates: true,
    params: [
      { name: 'inboundonly', help: 'only listeners with inbound traffic direction' },
      { name: 'graceful', help: 'keep accepting for the drain period before stopping' },
      { name: 'skip_exit', help: 'drain connections but leave the listeners running' },
    ],
    handle: (req) => {
      const q = req.query;
      ctx.drainListeners({ inboundOnly: flag(q, 'inboundonly'), graceful: flag(q, 'graceful'), skipExit: flag(q, 'skip_exit') });
      return ok();
    },
  };
}

// admin.v3.ServerInfo in proto field order; Durations print as "<seconds>s".
function serverInfo(ctx: AdminContext): Record<string, unknown> {
  const i = ctx.serverInfo();
  return {
    version: i.version,
    state: effectiveState(ctx),
    hot_restart_version: i.hotRestartVersion,
    command_line_options: i.commandLineOptions,
    node: i.node,
    uptime_current_epoch: `${Math.floor(i.uptimeCurrentEpochSeconds)}s`,
    uptime_all_epochs: `${Math.floor(i.uptimeAllEpochsSeconds)}s`,
  };
}

// admin.v3.Memory has tcmalloc fields; V8's heap numbers are the nearest equivalents. uint64
// fields print as strings in proto3 JSON.
function memory(): Record<string, string> {
  const m = process.memoryUsage();
  return {
    allocated: String(m.heapUsed + m.external),
    heap_size: String(m.heapTotal),
    pageheap_unmapped: '0',
    pageheap_free: '0',
    total_thread_cache: '0',
    total_physical_bytes: String(m.rss),
  };
}
