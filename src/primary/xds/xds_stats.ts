// Stats the primary keeps for xDS (workers know nothing of it): Envoy's subscription stats per
// scope (cluster_manager.cds., listener_manager.lds., http.<prefix>.rds.<name>., cluster.<name>.
// for EDS, sds.<name>.), the control-plane connection and the managers' resource gauges.
import { createHash } from 'node:crypto';
import { emptyDump, type StatsDump } from '../../shared/stats.ts';

/** The full names of a subscription scope's stats, made once per scope. */
interface ScopeNames {
  attempt: string;
  success: string;
  rejected: string;
  empty: string;
  version: string;
  time: string;
}

export class PrimaryStats {
  private readonly counters = new Map<string, number>();
  private readonly gauges = new Map<string, number>();
  /** An EDS push of 10,000 assignments counts in 10,000 `cluster.<name>.` scopes. */
  private readonly scopeNames = new Map<string, ScopeNames>();

  inc(name: string, by = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + by);
  }

  set(name: string, v: number): void {
    this.gauges.set(name, v);
  }

  counter(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  gauge(name: string): number {
    return this.gauges.get(name) ?? 0;
  }

  /** Registers a subscription scope so its stats show (at 0) before the first update. */
  scope(prefix: string): void {
    for (const c of ['update_attempt', 'update_success', 'update_rejected', 'update_failure', 'update_empty', 'init_fetch_timeout']) {
      if (!this.counters.has(prefix + c)) this.counters.set(prefix + c, 0);
    }
    for (const g of ['version', 'update_time']) if (!this.gauges.has(prefix + g)) this.gauges.set(prefix + g, 0);
  }

  /** An accepted update; `version` is versionHash(version_info) (computed once per update). */
  accepted(prefix: string, version: number, now: number): void {
    const n = this.names(prefix);
    this.inc(n.success);
    this.set(n.version, version);
    this.set(n.time, now);
  }

  /** Counts an update received for a scope (`empty`: it had no resources and no removals). */
  attempted(prefix: string, empty: boolean): void {
    const n = this.names(prefix);
    this.inc(n.attempt);
    if (empty) this.inc(n.empty);
  }

  rejected(prefix: string): void {
    this.inc(this.names(prefix).rejected);
  }

  private names(prefix: string): ScopeNames {
    let n = this.scopeNames.get(prefix);
    if (n === undefined) {
      n = { attempt: prefix + 'update_attempt', success: prefix + 'update_success', rejected: prefix + 'update_rejected', empty: prefix + 'update_empty', version: prefix + 'version', time: prefix + 'update_time' };
      this.scopeNames.set(prefix, n);
    }
    return n;
  }

  dump(): StatsDump {
    const d = emptyDump();
    for (const [k, v] of this.counters) d.counters[k] = v;
    for (const [k, v] of this.gauges) d.gauges[k] = v;
    return d;
  }
}

/** Envoy's `version` gauge is a 64-bit hash of version_info; 52 bits keep it exact in JSON. */
export function versionHash(v: string): number {
  if (v === '') return 0;
  return Number.parseInt(createHash('sha1').update(v).digest('hex').slice(0, 13), 16);
}
