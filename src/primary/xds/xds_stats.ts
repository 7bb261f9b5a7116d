// Stats the primary keeps for xDS (workers know nothing of it): Envoy's subscription stats per
// scope (cluster_manager.cds., listener_manager.lds., http.<prefix>.rds.<name>., cluster.<name>.
// for EDS, sds.<name>.), the control-plane connection and the managers' resource gauges.
import { createHash } from 'node:crypto';
import { emptyDump, type StatsDump } from '../../shared/stats.ts';

export class PrimaryStats {
  private readonly counters = new Map<string, number>();
  private readonly gauges = new Map<string, number>();

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
    this.inc(prefix + 'update_success');
    this.set(prefix + 'version', version);
    this.set(prefix + 'update_time', now);
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
