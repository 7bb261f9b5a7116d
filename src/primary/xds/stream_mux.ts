// What SotW and delta xDS streams share: one gRPC stream with reconnects, per-type interest, the
// connection state reported to the store, and responses applied one at a time so that requests
// for other types wait until the current response is answered (as Envoy orders them).
import type { ClusterSnap } from '../../shared/snapshot.ts';
import type { ApiSourceSpec } from '../config/translate/config_source.ts';
import type { Obj } from '../config/translate/context.ts';
import { GrpcStream } from './grpc_stream.ts';
import { sameInterest, type Interest, type XdsMux, type XdsSink, type XdsUpdate } from './mux.ts';
import { TYPE_ORDER, TYPES } from './resource_types.ts';

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

export interface BaseTypeState {
  interest: Interest;
  /** A request went out for this type on the current stream. */
  requested: boolean;
  /** The interest changed while a response was being processed. */
  dirty: boolean;
}

export abstract class StreamMux<T extends BaseTypeState> implements XdsMux {
  readonly source: string;
  protected readonly opts: MuxOptions;
  protected readonly stream: GrpcStream;
  protected readonly types = new Map<string, T>();
  protected nodeSent = false;
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

  /** The per-type state for a first interest in a type. */
  protected abstract newState(interest: Interest): T;
  /** Forget what the previous stream was told; the next request re-subscribes. */
  protected abstract resetForNewStream(st: T): void;
  /** Decodes one response into the store's update and the type it is for; null if undecodable. */
  protected abstract decode(b: Buffer): { typeUrl: string; update: XdsUpdate; ack: (error: string | null) => void } | null;
  protected abstract request(typeUrl: string, st: T): void;
  /** The interest of a type changed (delta forgets versions of names no longer wanted). */
  protected interestChanged(_st: T): void {}

  start(): void {
    this.stream.start();
  }

  stop(): void {
    this.stream.stop();
  }

  setInterest(typeUrl: string, interest: Interest): void {
    let st = this.types.get(typeUrl);
    if (st === undefined) {
      st = this.newState(interest);
      this.types.set(typeUrl, st);
    } else if (sameInterest(st.interest, interest)) {
      return;
    } else {
      st.interest = interest;
    }
    this.interestChanged(st);
    if (this.processing) st.dirty = true;
    else this.request(typeUrl, st);
  }

  private onOpen(): void {
    this.nodeSent = false;
    for (const url of TYPE_ORDER) {
      const st = this.types.get(url);
      if (st === undefined) continue;
      st.requested = false;
      this.resetForNewStream(st);
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
    const t0 = performance.now();
    const d = this.decode(b);
    if (d === null) return;
    this.opts.log.debug({ source: this.source, type: TYPES[d.typeUrl]?.short, bytes: b.length, resources: d.update.resources.length, ms: Math.round(performance.now() - t0) }, 'xDS response decoded');
    this.stream.healthy();
    if (!this.connected) {
      this.connected = true;
      this.opts.sink.onConnection(this.source, true);
    }
    if (!this.types.has(d.typeUrl) || TYPES[d.typeUrl] === undefined) {
      this.opts.log.warn({ source: this.source, typeUrl: d.typeUrl }, 'response for a type that was not requested ignored');
      return;
    }
    this.processing = true;
    let error: string | null;
    try {
      error = await this.opts.sink.onUpdate(d.update);
    } catch (e) {
      error = `internal error: ${(e as Error).message}`;
    } finally {
      this.processing = false;
    }
    d.ack(error);
    for (const url of TYPE_ORDER) {
      const other = this.types.get(url);
      // A SotW ACK already carried the type's current interest (and cleared dirty); delta did not.
      if (other !== undefined && other.dirty) this.request(url, other);
    }
  }
}
