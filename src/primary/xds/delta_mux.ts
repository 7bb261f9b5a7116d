// Incremental (delta) xDS over one gRPC stream. Per type the client tracks what it asked for and
// the version of every resource it holds: a new stream re-subscribes and sends those versions
// (initial_resource_versions) so the control plane sends only what changed meanwhile.
import { GrpcStream } from './grpc_stream.ts';
import { sameInterest, type Interest, type XdsMux } from './mux.ts';
import type { MuxOptions } from './sotw_mux.ts';
import { TYPE_ORDER, TYPES } from './resource_types.ts';
import { GRPC_INTERNAL, decodeDeltaResponse, encodeDeltaRequest, type DeltaDiscoveryResponse } from './wire.ts';

interface TypeState {
  interest: Interest;
  /** Names the control plane has been told about on the current stream. */
  subscribed: Set<string>;
  wildcardSent: boolean;
  versions: Map<string, string>;
  requested: boolean;
  dirty: boolean;
}

export class DeltaMux implements XdsMux {
  readonly source: string;
  private readonly opts: MuxOptions;
  private readonly stream: GrpcStream;
  private readonly types = new Map<string, TypeState>();
  private nodeSent = false;
  private processing = false;
  private queue: Promise<void> = Promise.resolve();
  private connected = false;

  constructor(opts: MuxOptions) {
    this.opts = opts;
    this.source = opts.source;
    this.stream = new GrpcStream(opts.api.service, opts.clusters, opts.method, {
      onOpen: () => this.onOpen(),
      onMessage: (b) => {
        this.queue = this.queue.then(() => this.process(b));
      },
      onClose: (reason) => this.onClose(reason),
    });
  }

  start(): void {
    this.stream.start();
  }

  stop(): void {
    this.stream.stop();
  }

  setInterest(typeUrl: string, interest: Interest): void {
    let st = this.types.get(typeUrl);
    if (st === undefined) {
      st = { interest, subscribed: new Set(), wildcardSent: false, versions: new Map(), requested: false, dirty: false };
      this.types.set(typeUrl, st);
    } else if (sameInterest(st.interest, interest)) {
      return;
    } else {
      st.interest = interest;
    }
    if (interest !== '*') for (const n of [...st.versions.keys()]) if (!interest.has(n)) st.versions.delete(n);
    if (this.processing) st.dirty = true;
    else this.request(typeUrl, st);
  }

  private onOpen(): void {
    this.nodeSent = false;
    for (const url of TYPE_ORDER) {
      const st = this.types.get(url);
      if (st === undefined) continue;
      st.subscribed = new Set();
      st.wildcardSent = false;
      st.requested = false;
      this.request(url, st);
    }
  }

  private onClose(reason: string): void {
    if (this.connected) this.opts.log.warn({ source: this.source, reason }, 'delta xDS stream closed; keeping the last good config and reconnecting');
    else this.opts.log.debug({ source: this.source, reason }, 'delta xDS stream failed');
    this.connected = false;
    this.opts.sink.onConnection(this.source, false);
    this.opts.sink.onFailure(this.source, [...this.types.keys()], reason);
  }

  private async process(b: Buffer): Promise<void> {
    let res: DeltaDiscoveryResponse;
    try {
      res = decodeDeltaResponse(b);
    } catch (e) {
      this.opts.log.warn({ source: this.source, err: String(e) }, 'undecodable DeltaDiscoveryResponse ignored');
      return;
    }
    this.stream.healthy();
    if (!this.connected) {
      this.connected = true;
      this.opts.sink.onConnection(this.source, true);
    }
    const st = this.types.get(res.type_url);
    if (st === undefined || TYPES[res.type_url] === undefined) {
      this.opts.log.warn({ source: this.source, typeUrl: res.type_url }, 'response for a type that was not requested ignored');
      return;
    }
    this.processing = true;
    let error: string | null;
    try {
      error = await this.opts.sink.onUpdate({
        typeUrl: res.type_url,
        source: this.source,
        delta: true,
        version: res.system_version_info,
        resources: res.resources,
        removed: res.removed_resources,
        complete: false,
      });
    } catch (e) {
      error = `internal error: ${(e as Error).message}`;
    } finally {
      this.processing = false;
    }
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
    for (const url of TYPE_ORDER) {
      const other = this.types.get(url);
      if (other !== undefined && other.dirty) this.request(url, other);
    }
  }

  /** Sends the difference between what is wanted and what the control plane was told. */
  private request(typeUrl: string, st: TypeState): void {
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
