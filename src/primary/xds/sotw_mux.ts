// State-of-the-world xDS over one gRPC stream (ADS, or one resource type per stream). Per type:
// the last accepted version and the last nonce; each response is ACKed with its version or
// NACKed with the previous one, and requests for other types wait until that answer is sent.
import type { Interest, XdsUpdate } from './mux.ts';
import { TYPES } from './resource_types.ts';
import { StreamMux, type BaseTypeState, type MuxOptions } from './stream_mux.ts';
import { GRPC_INTERNAL, decodeResponse, encodeRequest, type DiscoveryResponse } from './wire.ts';

interface TypeState extends BaseTypeState {
  /** Last accepted version_info ('' before the first ACK). */
  version: string;
  /** Nonce of the last response seen on the current stream. */
  nonce: string;
}

export type { MuxOptions };

export class SotwMux extends StreamMux<TypeState> {
  protected newState(interest: Interest): TypeState {
    return { interest, version: '', nonce: '', requested: false, dirty: false };
  }

  protected resetForNewStream(st: TypeState): void {
    // The first request on a new stream carries the version already held, so an unchanged
    // control plane need not resend everything (it usually does anyway).
    st.nonce = '';
  }

  protected decode(b: Buffer): { typeUrl: string; update: XdsUpdate; ack: (error: string | null) => void } | null {
    let res: DiscoveryResponse;
    try {
      res = decodeResponse(b);
    } catch (e) {
      this.opts.log.warn({ source: this.source, err: String(e) }, 'undecodable DiscoveryResponse ignored');
      return null;
    }
    const update: XdsUpdate = {
      typeUrl: res.type_url,
      source: this.source,
      delta: false,
      version: res.version_info,
      resources: res.resources,
      removed: [],
      complete: TYPES[res.type_url]?.sotwComplete ?? false,
    };
    const st = this.types.get(res.type_url);
    if (st !== undefined) st.nonce = res.nonce;
    return {
      typeUrl: res.type_url,
      update,
      ack: (error) => {
        if (error === null) st!.version = res.version_info;
        this.sendRequest(res.type_url, st!, error);
      },
    };
  }

  protected request(typeUrl: string, st: TypeState): void {
    this.sendRequest(typeUrl, st, null);
  }

  private sendRequest(typeUrl: string, st: TypeState, error: string | null): void {
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
