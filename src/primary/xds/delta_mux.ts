// Incremental (delta) xDS over one gRPC stream. Per type the client tracks what it asked for and
// the version of every resource it holds: a new stream re-subscribes and sends those versions
// (initial_resource_versions) so the control plane sends only what changed meanwhile.
import type { Interest, XdsUpdate } from './mux.ts';
import { StreamMux, type BaseTypeState } from './stream_mux.ts';
import { GRPC_INTERNAL, decodeDeltaResponse, encodeDeltaRequest, type DeltaDiscoveryResponse } from './wire.ts';

interface TypeState extends BaseTypeState {
  /** Names the control plane has been told about on the current stream. */
  subscribed: Set<string>;
  wildcardSent: boolean;
  versions: Map<string, string>;
}

export class DeltaMux extends StreamMux<TypeState> {
  protected newState(interest: Interest): TypeState {
    return { interest, subscribed: new Set(), wildcardSent: false, versions: new Map(), requested: false, dirty: false };
  }

  protected override interestChanged(st: TypeState): void {
    const interest = st.interest;
    if (interest !== '*') for (const n of [...st.versions.keys()]) if (!interest.has(n)) st.versions.delete(n);
  }

  protected resetForNewStream(st: TypeState): void {
    st.subscribed = new Set();
    st.wildcardSent = false;
  }

  protected decode(b: Buffer): { typeUrl: string; update: XdsUpdate; ack: (error: string | null) => void } | null {
    let res: DeltaDiscoveryResponse;
    try {
      res = decodeDeltaResponse(b);
    } catch (e) {
      this.opts.log.warn({ source: this.source, err: String(e) }, 'undecodable DeltaDiscoveryResponse ignored');
      return null;
    }
    const update: XdsUpdate = {
      typeUrl: res.type_url,
      source: this.source,
      delta: true,
      version: res.system_version_info,
      resources: res.resources,
      removed: res.removed_resources,
      complete: false,
    };
    return { typeUrl: res.type_url, update, ack: (error) => this.ack(res, error) };
  }

  private ack(res: DeltaDiscoveryResponse, error: string | null): void {
    const st = this.types.get(res.type_url)!;
    if (error === null) {
      for (const r of res.resources) if (r.bytes !== null) st.versions.set(r.name, r.version);
      for (const n of res.removed_resources) st.versions.delete(n);
    }
    this.send({
      type_url: res.type_url,
      resource_names_subscribe: [],
      resource_names_unsubscribe: [],
      initial_resource_versions: {},
      response_nonce: res.nonce,
      error_detail: error === null ? undefined : { code: GRPC_INTERNAL, message: error },
    });
  }

  /** Sends the difference between what is wanted and what the control plane was told. */
  protected request(typeUrl: string, st: TypeState): void {
    st.dirty = false;
    if (!this.stream.isOpen) return;
    const subscribe: string[] = [];
    const unsubscribe: string[] = [];
    if (st.interest === '*') {
      if (st.wildcardSent) return;
    } else {
      for (const n of st.interest) if (!st.subscribed.has(n)) subscribe.push(n);
      for (const n of st.subscribed) if (!st.interest.has(n)) unsubscribe.push(n);
      // An empty first request would be a (legacy) wildcard subscription.
      if (subscribe.length === 0 && (unsubscribe.length === 0 || !st.requested)) return;
    }
    const first = !st.requested;
    this.send({
      type_url: typeUrl,
      resource_names_subscribe: subscribe,
      resource_names_unsubscribe: unsubscribe,
      initial_resource_versions: first ? Object.fromEntries(st.versions) : {},
      response_nonce: '',
    });
    st.requested = true;
    if (st.interest === '*') st.wildcardSent = true;
    else st.subscribed = new Set(st.interest);
  }

  private send(m: Parameters<typeof encodeDeltaRequest>[0]): void {
    // Envoy sends the node only in the first message of a delta stream.
    if (!this.nodeSent) m.node = this.opts.node;
    this.nodeSent = true;
    this.stream.send(encodeDeltaRequest(m));
  }
}
