// An upstream host of a cluster: an address, its weight and health, and its connection pool.
import type { Cluster } from './cluster.ts';
import { Http1ConnPool } from './http1_conn_pool.ts';

export class Host {
  readonly cluster: Cluster;
  readonly address: string;
  readonly port: number;
  readonly hostname: string;
  readonly weight: number;
  readonly priority: number;
  readonly locality: { region: string; zone: string; subZone: string };
  /** `address:port`, as logged and shown in /clusters and %UPSTREAM_HOST%. */
  readonly key: string;
  healthy: boolean;
  private pool: Http1ConnPool | null = null;

  constructor(cluster: Cluster, address: string, port: number, opts: {
    hostname: string;
    weight: number;
    priority: number;
    healthy: boolean;
    locality: { region: string; zone: string; subZone: string };
  }) {
    this.cluster = cluster;
    this.address = address;
    this.port = port;
    this.hostname = opts.hostname;
    this.weight = opts.weight;
    this.priority = opts.priority;
    this.healthy = opts.healthy;
    this.locality = opts.locality;
    this.key = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  }

  http1Pool(): Http1ConnPool {
    return (this.pool ??= new Http1ConnPool(this));
  }

  /** Stops new streams; idle connections close now, busy ones after their response. */
  drain(): void {
    this.pool?.drain();
  }
}
