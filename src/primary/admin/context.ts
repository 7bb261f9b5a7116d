// What the admin server needs from the primary. The admin code never reaches into primary
// internals: everything it shows or changes goes through this one interface, so tests can hand
// it a plain object and the primary can wire it however it likes.
import type { StatsDump } from '../../shared/stats.ts';
import type { ClusterSnap, ListenerSnap } from '../../shared/snapshot.ts';

/** Init-manager state; the admin server reports DRAINING itself while health checks are failed. */
export type ServerState = 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING' | 'INITIALIZING';

export interface AdminServerInfo {
  /** Full version string, e.g. `orion/0.1.0/Clean/RELEASE`. */
  version: string;
  uptimeCurrentEpochSeconds: number;
  uptimeAllEpochsSeconds: number;
  /** `disabled` when there is no hot restart (always, for now). */
  hotRestartVersion: string;
  /** admin.v3 node JSON (config.core.v3.Node field names): at least id and cluster. */
  node: { id: string; cluster: string } & Record<string, unknown>;
  /** admin.v3.CommandLineOptions JSON field names (concurrency, config_path, log_level, ...). */
  commandLineOptions: Record<string, unknown>;
}

/** One upstream host as /clusters shows it. */
export interface AdminHost {
  address: string;
  port: number;
  hostname?: string;
  /** Envoy health flag names without the slash (`failed_active_hc`, `failed_eds_health`, ...); [] = healthy. */
  healthFlags: string[];
  weight: number;
  priority: number;
  locality?: { region: string; zone: string; subZone: string };
  /** Per-host stats summed over workers: cx_active, cx_total, rq_total, rq_error, ... */
  stats?: Record<string, number>;
  /** Outlier detection's success rate (percent) over the last interval; -1 or absent: not computed. */
  successRate?: number;
  localOriginSuccessRate?: number;
}

export interface AdminCluster {
  snap: ClusterSnap;
  hosts: AdminHost[];
  addedViaApi?: boolean;
  edsServiceName?: string;
}

/** Bootstrap `stats_config` tag settings (config.metrics.v3.StatsConfig). */
export interface StatsTagsConfig {
  /** Default true, as in Envoy. */
  useAllDefaultTags?: boolean;
  /** Custom tags: a regex (Envoy/ECMAScript syntax; `[[:digit:]]` classes allowed) or a fixed value. */
  statsTags?: { tagName: string; regex?: string; fixedValue?: string }[];
}

/** admin.v3.ConfigDump as JSON: each config carries its `@type`. */
export interface ConfigDumpJson {
  configs: Record<string, unknown>[];
}

export interface DrainOptions {
  inboundOnly: boolean;
  /** Keep accepting for the drain period before the listeners stop. */
  graceful: boolean;
  /** Don't stop the listeners (only meaningful with graceful in Envoy's old behaviour). */
  skipExit: boolean;
}

export interface AdminContext {
  state(): ServerState;
  healthCheckFailed(): boolean;
  /** Flip the health_check filter's answer on every worker (POST /healthcheck/fail|ok). */
  setHealthCheckFailed(failed: boolean): void;
  serverInfo(): AdminServerInfo;
  /** Stats summed over all workers (and the primary's own). */
  collectStats(): Promise<StatsDump>;
  /** Read once when the admin server starts; absent means Envoy's default tags only. */
  statsTagsConfig?(): StatsTagsConfig;
  listeners(): ListenerSnap[];
  clusters(): AdminCluster[];
  /** Full dump; the admin server applies ?resource, ?mask and ?name_regex itself. */
  configDump(opts: { includeEds: boolean }): ConfigDumpJson;
  /** Called after the /quitquitquit response has been sent. */
  quit(): void;
  drainListeners(opts: DrainOptions): void;
  /** Logger name -> level (Envoy spellings: trace debug info warning error critical off). */
  logLevels(): Record<string, string>;
  /** Sets every logger when `logger` is absent; false for an unknown logger name. */
  setLogLevel(level: string, logger?: string): boolean;
}
