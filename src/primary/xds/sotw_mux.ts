// State-of-the-world xDS over one gRPC stream (ADS, or one resource type per stream). Per type:
// the last accepted version and the last nonce; each response is ACKed with its version or
// NACKed with the previous one, and requests for other types wait until that answer is sent.
import type { ClusterSnap } from '../../shared/snapshot.ts';
import type { ApiSourceSpec } from '../config/translate/config_source.ts';
import type { Obj } from '../config/translate/context.ts';
import { GrpcStream } from './grpc_stream.ts';
import { sameInterest, type Interest, type XdsMux, type XdsSink } from './mux.ts';
import { TYPE_ORDER, TYPES } from './resource_types.ts';
import { GRPC_INTERNAL, decodeResponse, encodeRequest, type DiscoveryResponse } from './wire.ts';

interface TypeState {
  interest: Interest;
  /** Last accepted version_info ('' before the first ACK). */
  version: string;
  /** Nonce of the last response seen on the current stream. */
  nonce: string;
  /** A request went out for this type on the current stream. */
  requested: boolean;
  /** The interest changed while a response was being processed. */
  dirty: boolean;
}

export interface MuxOptions {
  source: string;
  api: ApiSourceSpec;
  /** gRPC method path (ADS or the type's own service). */
  method: string;
  node: Obj;
  clusters: ClusterSnap[];
  sink: XdsSink;
  log: { warn(o: object, m: string): void; debug(o: object, m: string): void };
}

export class SotwMux implements XdsMux {
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
      st = { interest, version: '', nonce: '', requested: false, dirty: false };
      this.types.set(typeUrl, st);
    } else if (sameInterest(st.interest, interest)) {
      return;
    } else {
      st.interest = interest;
    }
    if (this.processing) st.dirty = true;
    else this.request(typeUrl, st);
  }

  private onOpen(): void {
    this.nodeSent = false;
    for (const url of TYPE_ORDER) {
      const st = this.types.get(url);
      if (st === undefined) continue;
      st.nonce = '';
      st.requested = false;
      // The first request on a new stream carries the version already held, so an unchanged
      // control plane need not resend everything (it usually does anyway).
      this.request(url, st);
    }
  }

  private onClose(reason: string): void {
    if (this.connected) this.opts.log.warn({ source: this.source, reason }, 'xDS stream closed; keeping the last good config and reconnecting');
    else this.opts.log.debug({ source: this.source, reason }, 'xDS stream failed');
    this.connected = false;
    this.opts.sink.onConnection(this.source, false);
    this.opts.sink.onFailure(this.source, [...this.types.keys()], reason);
  }

  private async process(b: Buffer): Promise<void> {
    let res: DiscoveryResponse;
    try {
      res = decodeResponse(b);
    } catch (e) {
      this.opts.log.warn({ source: this.source, err: String(e) }, 'undecodable DiscoveryResponse ignored');
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
    st.nonce = res.nonce;
    this.processing = true;
    let error: string | null;
    try {
      error = await this.opts.sink.onUpdate({
        typeUrl: res.type_url,
        source: this.source,
        delta: false,
        version: res.version_info,
        resources: res.resources,
        removed: [],
        complete: TYPES[res.type_url].sotwComplete,
      });
    } catch (e) {
      error = `internal error: ${(e as Error).message}`;
    } finally {
      this.processing = false;
    }
    if (error === null) st.version = res.version_info;
    this.request(res.type_url, st, error);
    for (const url of TYPE_ORDER) {
      const other = this.types.get(url);
      if (other !== undefined && other.dirty && other !== st) this.request(url, other);
    }
  }

  private request(typeUrl: string, st: TypeState, error: string | null = null): void {
    st.dirty = false;
    if (!this.stream.isOpen) return;
    const names = st.interest === '*' ? [] : [...st.interest];
    // An empty list asks for everything, so a named type with no names yet is not requested.
    if (st.interest !== '*' && names.length === 0 && !st.requested) return;
    const withNode = !this.nodeSent || !this.opts.api.setNodeOnFirstMessageOnly;
    this.stream.send(encodeRequest({
      version_info: st.version,
      node: withNode ? this.opts.node : undefined,
      resource_names: names,
      type_url: typeUrl,
      response_nonce: st.nonce,
      error_detail: error === null ? undefined : { code: GRPC_INTERNAL, message: error },
    }));
    this.nodeSent = true;
    st.requested = true;
  }
}
