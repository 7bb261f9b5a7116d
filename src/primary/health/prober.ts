// One kind of active health check (HTTP, TCP, gRPC) against one host. A prober may keep its
// connection between probes (reuse_connection); the checker owns timeouts and thresholds.

/** What one probe found. */
export const ProbeResult = {
  /** Passed. */
  OK: 0,
  /** Passed, but the host asked to be treated as degraded (x-envoy-degraded). */
  DEGRADED: 1,
  /** Failed in a way that counts towards unhealthy_threshold (retriable status, bad reply). */
  FAIL: 2,
  /** Connection refused or reset; counts towards the threshold and as a network failure. */
  NETWORK: 3,
  /** Failed so clearly that Envoy marks the host unhealthy at once (an unexpected HTTP status). */
  IMMEDIATE: 4,
  /** The host asked to be excluded at once (x-envoy-immediate-health-check-fail). */
  EXCLUDE: 5,
} as const;
export type ProbeResultValue = (typeof ProbeResult)[keyof typeof ProbeResult];

export interface Prober {
  /** Starts a probe; `done` is called at most once. */
  probe(done: (r: ProbeResultValue) => void): void;
  /** Abandons the probe in flight (timeout) and drops any kept connection. */
  cancel(): void;
  close(): void;
}

export interface ProbeTarget {
  address: string;
  port: number;
  /** Host / :authority when the config names none: the cluster name, as in Envoy. */
  clusterName: string;
  reuseConnection: boolean;
}
