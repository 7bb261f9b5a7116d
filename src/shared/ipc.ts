// Messages between the primary and its workers over node:cluster IPC ('advanced' serialization,
// so Uint8Array travels as bytes). Snapshots travel as msgpackr bytes.
import type { StatsDump } from './stats.ts';

export type ToWorker =
  | { t: 'snapshot'; bytes: Uint8Array }
  /** A SnapshotDelta (src/shared/snapshot_delta.ts) against the snapshot the worker has. */
  | { t: 'snapshot_delta'; bytes: Uint8Array }
  | { t: 'stats'; id: number }
  | { t: 'drain_listeners'; inboundOnly: boolean }
  | { t: 'shutdown'; drainTimeMs: number }
  | { t: 'log_level'; level: string }
  /** Health flags (src/shared/host_health.ts) the primary decided for a cluster's hosts, keyed by `address:port`; absent hosts have none. */
  | { t: 'host_health'; cluster: string; hosts: Record<string, number> };

export type ToPrimary =
  | { t: 'applied'; version: number; errors: string[] }
  | { t: 'stats'; id: number; dump: StatsDump }
  | { t: 'listen_error'; listener: string; message: string }
  /** Upstream outcomes since the last report, for cluster-wide outlier detection and health-check pacing. */
  | { t: 'upstream_report'; clusters: UpstreamReport[] };

export interface UpstreamReport {
  cluster: string;
  /** The cluster has carried traffic in this worker (health checks leave no_traffic_interval). */
  traffic: boolean;
  hosts: HostOutcomes[];
}

/** One host's outcomes in one worker since its last report. */
export interface HostOutcomes {
  key: string;
  /** Requests and failed ones for the success rate (external, or all when errors are not split). */
  total: number;
  failed: number;
  /** Local-origin attempts and failures (split_external_local_origin_errors). */
  localTotal: number;
  localFailed: number;
  /**
   * Consecutive-failure runs for 5xx, gateway and local-origin failures, four numbers each:
   * [broken (1 if a success ended a run), head (failures before the first success), longest run
   * between successes, tail (failures after the last success)].
   */
  runs: number[];
}
