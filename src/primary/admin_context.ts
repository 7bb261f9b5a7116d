// Wires the admin API to the running server: what /server_info, /clusters, /listeners and
// /config_dump show comes from the current snapshot and the bootstrap as loaded.
import os from 'node:os';
import type { Server } from './server.ts';
import type { AdminCluster, AdminContext, ConfigDumpJson } from './admin/context.ts';
import { hostsFromSnap } from './admin/clusters_render.ts';

const ADMIN_TYPE = 'type.googleapis.com/envoy.admin.v3.';

export function buildAdminContext(server: Server): AdminContext {
  const { supervisor, opts } = server.deps;
  const loadedAt = new Date().toISOString();
  return {
    state: () => server.state,
    healthCheckFailed: () => server.healthCheckFailed,
    setHealthCheckFailed: (failed) => {
      server.healthCheckFailed = failed;
    },
    serverInfo: () => ({
      version: `orion-proxy/${server.deps.version}/Clean/RELEASE/Node-${process.version}`,
      uptimeCurrentEpochSeconds: Math.floor((Date.now() - server.startedAt) / 1000),
      uptimeAllEpochsSeconds: Math.floor((Date.now() - server.startedAt) / 1000),
      hotRestartVersion: 'disabled',
      node: { ...server.current.snapshot.node, user_agent_name: 'orion-proxy', hostname: os.hostname() },
      commandLineOptions: {
        concurrency: supervisor.workerCount,
        config_path: opts.configPath ?? '',
        log_level: server.log.level,
        drain_time: `${opts.drainTimeS}s`,
        mode: opts.mode === 'validate' ? 'Validate' : 'Serve',
        worker_pids: supervisor.pids(),
      },
    }),
    collectStats: () => supervisor.collectStats(),
    listeners: () => server.current.snapshot.listeners,
    clusters: () => server.current.snapshot.clusters.map((snap) => ({ snap, hosts: hostsFromSnap(snap) })),
    configDump: () => configDump(server.current.bootstrapDump, loadedAt),
    quit: () => server.shutdown('/quitquitquit'),
    drainListeners: (o) => server.drainListeners(o.inboundOnly),
    logLevels: () => ({ orion: envoyLevel(server.log.level) }),
    setLogLevel: (level) => server.setLogLevel(level),
  };
}

function configDump(bootstrap: unknown, lastUpdated: string): ConfigDumpJson {
  const b = (bootstrap ?? {}) as { static_resources?: { listeners?: unknown[]; clusters?: unknown[] } };
  const sr = b.static_resources ?? {};
  return {
    configs: [
      { '@type': ADMIN_TYPE + 'BootstrapConfigDump', bootstrap, last_updated: lastUpdated },
      {
        '@type': ADMIN_TYPE + 'ClustersConfigDump',
        static_clusters: (sr.clusters ?? []).map((cluster) => ({ cluster: typed('envoy.config.cluster.v3.Cluster', cluster), last_updated: lastUpdated })),
      },
      {
        '@type': ADMIN_TYPE + 'ListenersConfigDump',
        static_listeners: (sr.listeners ?? []).map((listener) => ({ listener: typed('envoy.config.listener.v3.Listener', listener), last_updated: lastUpdated })),
      },
    ],
  };
}

function typed(type: string, v: unknown): Record<string, unknown> {
  return { '@type': `type.googleapis.com/${type}`, ...(v as Record<string, unknown>) };
}

function envoyLevel(pinoLevel: string): string {
  return pinoLevel === 'warn' ? 'warning' : pinoLevel === 'fatal' ? 'critical' : pinoLevel === 'silent' ? 'off' : pinoLevel;
}
