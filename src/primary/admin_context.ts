// Wires the admin API to the running server: what /server_info, /clusters, /listeners and
// /config_dump show comes from the current snapshot and the bootstrap as loaded.
import os from 'node:os';
import type { Server } from './server.ts';
import type { AdminCluster, AdminContext, ConfigDumpJson } from './admin/context.ts';
import { hostsFromSnap } from './admin/clusters_render.ts';
import { mergeDump } from '../shared/stats.ts';
import { dynamicDump, jsonSafe, redactSecret, type DynamicDump } from './xds/config_dump.ts';

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
      node: { ...server.servingSnapshot().node, user_agent_name: 'orion-proxy', hostname: os.hostname() },
      commandLineOptions: {
        concurrency: supervisor.workerCount,
        config_path: opts.configPath ?? '',
        log_level: server.log.level,
        drain_time: `${opts.drainTimeS}s`,
        mode: opts.mode === 'validate' ? 'Validate' : 'Serve',
        worker_pids: supervisor.pids(),
      },
    }),
    // The primary's own stats (xDS) join the workers' sums.
    collectStats: async () => {
      const d = mergeDump(await supervisor.collectStats(), server.health.stats.dump());
      return server.xds === null ? d : mergeDump(d, server.xds.store.stats.dump());
    },
    listeners: () => server.servingSnapshot().listeners,
    clusters: () => {
      const dynamic = server.xds?.store.entries.cds;
      // Clusters with health checks or outlier detection show the primary's live host view.
      return server.servingSnapshot().clusters.map((snap): AdminCluster => ({ snap, hosts: server.health.adminHosts(snap.name) ?? hostsFromSnap(snap), addedViaApi: dynamic?.has(snap.name) === true }));
    },
    configDump: (o) => configDump(server.current.bootstrapDump, loadedAt, server.xds === null ? null : dynamicDump(server.xds.store, o.includeEds)),
    quit: () => server.shutdown('/quitquitquit'),
    drainListeners: (o) => server.drainListeners(o.inboundOnly),
    logLevels: () => ({ orion: envoyLevel(server.log.level) }),
    setLogLevel: (level) => server.setLogLevel(level),
  };
}

function configDump(bootstrap: unknown, lastUpdated: string, dynamic: DynamicDump | null): ConfigDumpJson {
  const b = (bootstrap ?? {}) as { static_resources?: { listeners?: unknown[]; clusters?: unknown[]; secrets?: unknown[] } };
  const sr = b.static_resources ?? {};
  const clusters: Record<string, unknown> = {
    '@type': ADMIN_TYPE + 'ClustersConfigDump',
    static_clusters: (sr.clusters ?? []).map((cluster) => ({ cluster: typed('envoy.config.cluster.v3.Cluster', cluster), last_updated: lastUpdated })),
  };
  const listeners: Record<string, unknown> = {
    '@type': ADMIN_TYPE + 'ListenersConfigDump',
    static_listeners: (sr.listeners ?? []).map((listener) => ({ listener: typed('envoy.config.listener.v3.Listener', listener), last_updated: lastUpdated })),
  };
  if (dynamic === null) return { configs: [{ '@type': ADMIN_TYPE + 'BootstrapConfigDump', bootstrap, last_updated: lastUpdated }, clusters, listeners] };
  // With xDS, the dump has Envoy's full shape: dynamic resources, endpoints (?include_eds), routes, secrets.
  const configs: Record<string, unknown>[] = [
    { '@type': ADMIN_TYPE + 'BootstrapConfigDump', bootstrap: jsonSafe(bootstrap), last_updated: lastUpdated },
    nonEmpty({ ...clusters, ...dynamic.clusters }),
  ];
  if (dynamic.endpoints.dynamic_endpoint_configs.length > 0) configs.push({ '@type': ADMIN_TYPE + 'EndpointsConfigDump', ...dynamic.endpoints });
  configs.push(nonEmpty({ ...listeners, ...dynamic.listeners }));
  configs.push(nonEmpty({ '@type': ADMIN_TYPE + 'RoutesConfigDump', ...dynamic.routes }));
  const staticSecrets = (sr.secrets ?? []).map((secret) => ({
    name: (secret as { name?: string }).name ?? '',
    secret: redactSecret(typed('envoy.extensions.transport_sockets.tls.v3.Secret', jsonSafe(secret))),
    last_updated: lastUpdated,
  }));
  configs.push(nonEmpty({ '@type': ADMIN_TYPE + 'SecretsConfigDump', static_secrets: staticSecrets, ...dynamic.secrets }));
  return { configs };
}

/** Proto JSON leaves out empty repeated fields and empty strings. */
function nonEmpty(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (!(Array.isArray(v) && v.length === 0) && v !== '') out[k] = v;
  return out;
}

function typed(type: string, v: unknown): Record<string, unknown> {
  return { '@type': `type.googleapis.com/${type}`, ...(v as Record<string, unknown>) };
}

function envoyLevel(pinoLevel: string): string {
  return pinoLevel === 'warn' ? 'warning' : pinoLevel === 'fatal' ? 'critical' : pinoLevel === 'silent' ? 'off' : pinoLevel;
}
