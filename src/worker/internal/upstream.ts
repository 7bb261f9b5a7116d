// The upstream end of internal connections: hosts whose endpoint is an envoy_internal_address
// connect through the registry, carrying the internal_upstream transport socket's passthrough
// metadata (host or cluster filter_metadata namespaces) into the listener side's dynamic metadata.
import type net from 'node:net';
import type { ClusterSnap } from '../../shared/snapshot.ts';
import type { ReadCallback } from '../net/read_buffer.ts';
import { stats, type Counter } from '../stats/store.ts';
import type { DynamicMetadata, InternalSocket } from './internal_socket.ts';
import { internalListeners } from './registry.ts';

export interface InternalTarget {
  serverListenerName: string;
  endpointId: string;
}

/** Everything an internal host needs to open connections, resolved once when the host is built. */
export class InternalConnector {
  readonly target: InternalTarget;
  private readonly cluster: ClusterSnap;
  private readonly hostMetadata: Record<string, unknown>;
  private readonly noMetadata: Counter | null;

  constructor(target: InternalTarget, cluster: ClusterSnap, hostMetadata: Record<string, unknown>) {
    this.target = target;
    this.cluster = cluster;
    this.hostMetadata = hostMetadata;
    this.noMetadata = cluster.internalUpstream ? stats.counter(`cluster.${cluster.statName}.internal_upstream.no_metadata`) : null;
  }

  /** A raw internal connection (for clients that read it as a stream, e.g. node:http2). */
  open(): InternalSocket {
    return internalListeners.connect(this.target.serverListenerName, this.target.endpointId, this.metadata());
  }

  /** Same contract as connectShared(): `cb` gets each chunk read. */
  connect(cb: ReadCallback): net.Socket {
    return this.open().adopt(cb);
  }

  private metadata(): DynamicMetadata | null {
    const cfg = this.cluster.internalUpstream;
    if (cfg === null || cfg === undefined) return null;
    let out: DynamicMetadata | null = null;
    for (const m of cfg.passthroughMetadata) {
      const src = m.kind === 'host' ? this.hostMetadata : (this.cluster.metadata ?? {});
      const v = src[m.name];
      if (typeof v !== 'object' || v === null) {
        this.noMetadata!.value++;
        continue;
      }
      // A copy: listener filters on the other side may add keys to the connection's namespaces.
      (out ??= {})[m.name] = { ...(v as Record<string, unknown>) };
    }
    return out;
  }
}

/** Envoy's address string for an internal endpoint, used as the host key. */
export function internalKey(t: InternalTarget): string {
  return `envoy://${t.serverListenerName}/${t.endpointId}`;
}
