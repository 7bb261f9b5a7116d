// Worker side of outlier detection: each host counts the outcomes of its requests here, and the
// counts go to the primary in one `upstream_report` message per worker shortly after they change
// (20 ms after a failure, 200 ms after successes only). The primary merges every worker's counts
// and makes the ejection decisions for the whole proxy (src/primary/health/outlier_detector.ts).
import type { HostOutcomes, ToPrimary, UpstreamReport } from '../../shared/ipc.ts';
import type { Host } from './host.ts';

const FAILURE_FLUSH_MS = 20;
const SUCCESS_FLUSH_MS = 200;

const K5XX = 0;
const KGW = 4;
const KLOCAL = 8;

/** Outcome kinds of a request that got no response. */
export const LocalOutcome = {
  CONNECT_FAILURE: 1,
  RESET: 2,
  TIMEOUT: 3,
} as const;

export class HostOutcomeCounter {
  total = 0;
  failed = 0;
  localTotal = 0;
  localFailed = 0;
  /** [broken, head, longest, tail] for 5xx, gateway and local-origin runs. */
  readonly runs = new Int32Array(12);

  private fail(k: number): void {
    this.runs[k + 3]++;
  }

  private succeed(k: number): void {
    const r = this.runs;
    if (r[k] === 0) {
      r[k] = 1;
      r[k + 1] = r[k + 3];
    } else if (r[k + 3] > r[k + 2]) {
      r[k + 2] = r[k + 3];
    }
    r[k + 3] = 0;
  }

  /** An upstream response. With split errors it is also a local-origin success. */
  response(status: number, split: boolean): boolean {
    this.total++;
    if (split) {
      this.localTotal++;
      this.succeed(KLOCAL);
    }
    if (status >= 500) {
      this.failed++;
      this.fail(K5XX);
      if (status === 502 || status === 503 || status === 504) this.fail(KGW);
      else this.succeed(KGW);
      return true;
    }
    this.succeed(K5XX);
    this.succeed(KGW);
    return false;
  }

  /** No response: connect failure, reset or timeout. Unsplit, Envoy counts it as a 503/504. */
  localFailure(split: boolean): void {
    if (split) {
      this.localTotal++;
      this.localFailed++;
      this.fail(KLOCAL);
      return;
    }
    this.total++;
    this.failed++;
    this.fail(K5XX);
    this.fail(KGW);
  }

  /** The report entry, resetting the counts. */
  take(key: string): HostOutcomes {
    const out: HostOutcomes = {
      key,
      total: this.total,
      failed: this.failed,
      localTotal: this.localTotal,
      localFailed: this.localFailed,
      runs: Array.from(this.runs),
    };
    this.total = this.failed = this.localTotal = this.localFailed = 0;
    this.runs.fill(0);
    return out;
  }

  get empty(): boolean {
    return this.total === 0 && this.localTotal === 0;
  }
}

/** What the reporter needs from a cluster. */
export interface ReportingCluster {
  readonly name: string;
  readonly sawTraffic: boolean;
  reportableHosts(): Iterable<Host>;
}

const dirty = new Set<ReportingCluster>();
let timer: NodeJS.Timeout | null = null;
let due = 0;

/** Schedules a report for `c`; failures are reported sooner than successes. */
export function markDirty(c: ReportingCluster, failure: boolean): void {
  dirty.add(c);
  const at = Date.now() + (failure ? FAILURE_FLUSH_MS : SUCCESS_FLUSH_MS);
  if (timer !== null) {
    if (at >= due) return;
    clearTimeout(timer);
  }
  due = at;
  timer = setTimeout(flush, at - Date.now());
  timer.unref();
}

export function flush(): void {
  timer = null;
  if (dirty.size === 0) return;
  const clusters: UpstreamReport[] = [];
  for (const c of dirty) {
    const hosts: HostOutcomes[] = [];
    for (const h of c.reportableHosts()) if (h.outcomes !== null && !h.outcomes.empty) hosts.push(h.outcomes.take(h.key));
    clusters.push({ cluster: c.name, traffic: c.sawTraffic, hosts });
  }
  dirty.clear();
  const m: ToPrimary = { t: 'upstream_report', clusters };
  process.send?.(m);
}
