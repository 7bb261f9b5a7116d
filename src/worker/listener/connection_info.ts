// What is known about a downstream connection beyond its socket: the addresses listener filters
// restored (PROXY protocol, Kmesh TLV), what the inspectors saw (SNI, ALPN, transport protocol),
// the dynamic metadata it carries (PROXY TLV rules, internal_upstream passthrough) and the bytes
// already read that the network filter must see first. Only connections that went through
// listener filters, chain matching or an internal listener have one; plain ones pay nothing.
import type net from 'node:net';
import type { DynamicMetadata } from '../internal/internal_socket.ts';

export class ConnectionInfo {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** The socket's own peer, kept when PROXY protocol replaces remoteAddress (direct_source_prefix_ranges). */
  readonly directRemoteAddress: string;
  /** Requested server name (SNI), lower-cased; '' when none. */
  serverName = '';
  /** 'tls' when a ClientHello was seen, '' otherwise (matches as raw_buffer). */
  transportProtocol = '';
  /** ALPN offered by a TLS client, or what http_inspector detected ('http/1.1', 'h2c'…). */
  applicationProtocols: string[] = [];
  dynamicMetadata: DynamicMetadata | null;
  /** Bytes read from the socket and not consumed by listener filters: the network filter's first input. */
  initial: Buffer | null = null;
  /** PROXY protocol v2 TLVs kept for an upstream PROXY header (pass_through_tlvs). */
  proxyProtocolTlvs: { type: number; value: Buffer }[] | null = null;
  /** The connection came from an internal upstream of this worker. */
  readonly internal: boolean;

  constructor(socket: net.Socket, internal: boolean, metadata: DynamicMetadata | null) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = socket.localAddress ?? '';
    this.localPort = socket.localPort ?? 0;
    this.directRemoteAddress = this.remoteAddress;
    this.internal = internal;
    this.dynamicMetadata = metadata;
  }

  setMetadata(ns: string, key: string, value: unknown): void {
    const md = (this.dynamicMetadata ??= {});
    (md[ns] ??= {})[key] = value;
  }

  /** `%DYNAMIC_METADATA(ns:key)%`: '' when absent; non-strings as JSON, as Envoy renders them. */
  metadataValue(ns: string, path: string[]): unknown {
    let v: unknown = this.dynamicMetadata?.[ns];
    for (const k of path) {
      if (typeof v !== 'object' || v === null) return undefined;
      v = (v as Record<string, unknown>)[k];
    }
    return v;
  }
}
