// One long-lived bidirectional gRPC stream to a control plane, re-opened with jittered back-off
// whenever it fails. Messages are raw protobuf bytes: encoding is the protocol's business.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { ClusterSnap, DataSourceSnap } from '../../shared/snapshot.ts';
import type { DataSourceSpec, GrpcServiceSpec } from '../config/translate/config_source.ts';
import { JitteredBackoff } from './backoff.ts';

export interface StreamHandler {
  /** A new stream is open: send the initial requests. */
  onOpen(): void;
  onMessage(bytes: Buffer): void;
  /** The stream ended or failed; a new one follows after the back-off delay. */
  onClose(reason: string): void;
}

const identity = (b: Buffer): Buffer => b;

export class GrpcStream {
  private client: grpc.Client | null = null;
  private readonly channel: { target: string; options: grpc.ChannelOptions; creds: grpc.ChannelCredentials };
  private readonly method: string;
  private readonly metadata: grpc.Metadata;
  private readonly handler: StreamHandler;
  private readonly backoff: JitteredBackoff;
  private call: grpc.ClientDuplexStream<Buffer, Buffer> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  readonly target: string;

  constructor(service: GrpcServiceSpec, clusters: ClusterSnap[], method: string, handler: StreamHandler) {
    const { target, options } = channelTarget(service, clusters);
    this.target = target;
    this.channel = { target, options, creds: credentials(service, clusters, options) };
    this.method = method;
    this.handler = handler;
    this.backoff = new JitteredBackoff(service.backoff.baseMs, service.backoff.maxMs);
    this.metadata = new grpc.Metadata();
    for (const m of service.initialMetadata) this.metadata.add(m.key, m.value);
  }

  start(): void {
    this.open();
  }

  get isOpen(): boolean {
    return this.call !== null;
  }

  send(bytes: Buffer): void {
    this.call?.write(bytes);
  }

  /** A response arrived: the control plane is healthy, so the next failure retries quickly. */
  healthy(): void {
    this.backoff.reset();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    const c = this.call;
    this.call = null;
    c?.cancel();
    this.client?.close();
  }

  private open(): void {
    if (this.stopped) return;
    // A fresh channel per attempt: the retry timing is ours (Envoy's back-off), not the channel's
    // own reconnect back-off, which grows to minutes and would delay noticing a returned server.
    this.client?.close();
    this.client = new grpc.Client(this.channel.target, this.channel.creds, this.channel.options);
    const call = this.client.makeBidiStreamRequest<Buffer, Buffer>(this.method, identity, identity, this.metadata);
    this.call = call;
    let closed = false;
    const close = (reason: string) => {
      if (closed) return;
      closed = true;
      if (this.call !== call) return;
      this.call = null;
      this.handler.onClose(reason);
      this.scheduleRetry();
    };
    call.on('data', (b: Buffer) => {
      if (this.call === call) this.handler.onMessage(b);
    });
    call.on('error', (e: grpc.ServiceError) => close(`${grpc.status[e.code] ?? e.code}: ${e.details || e.message}`));
    call.on('status', (s: grpc.StatusObject) => close(`stream closed by the control plane (${grpc.status[s.code] ?? s.code}${s.details ? `: ${s.details}` : ''})`));
    call.on('end', () => close('stream ended by the control plane'));
    this.handler.onOpen();
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delay);
    this.retryTimer.unref();
  }
}

/** Where to dial: google_grpc's target URI, or the first endpoint of an envoy_grpc static cluster. */
function channelTarget(s: GrpcServiceSpec, clusters: ClusterSnap[]): { target: string; options: grpc.ChannelOptions } {
  // Envoy sets no receive limit on xDS streams; a 10,000-cluster push is larger than gRPC's 4 MB default.
  const options: grpc.ChannelOptions = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };
  if (s.kind === 'google') return { target: s.targetUri, options };
  const c = clusters.find((x) => x.name === s.clusterName);
  const ep = c?.localities.flatMap((l) => l.endpoints)[0];
  if (ep === undefined) return { target: `dns:///${s.clusterName}.invalid:1`, options };
  const host = ep.address.host.includes(':') ? `[${ep.address.host}]` : ep.address.host;
  options['grpc.default_authority'] = s.authority;
  return { target: `dns:///${host}:${ep.address.port}`, options };
}

function credentials(s: GrpcServiceSpec, clusters: ClusterSnap[], options: grpc.ChannelOptions): grpc.ChannelCredentials {
  if (s.tls !== null) return grpc.credentials.createSsl(readData(s.tls.rootCerts), readData(s.tls.privateKey), readData(s.tls.certChain));
  // envoy_grpc: TLS as the static cluster's UpstreamTlsContext says (inline or file data; SDS
  // names resolve against static secrets only, as Envoy's bootstrap clusters do).
  const c = s.kind === 'envoy' ? clusters.find((x) => x.name === s.clusterName) : undefined;
  const tls = c?.tls;
  if (tls == null) return grpc.credentials.createInsecure();
  if (tls.sni !== '') options['grpc.ssl_target_name_override'] = tls.sni;
  const cert = tls.certificates[0];
  return grpc.credentials.createSsl(snapData(tls.validation?.trustedCa ?? null), snapData(cert?.privateKey ?? null), snapData(cert?.certificateChain ?? null));
}

function snapData(d: DataSourceSnap | null): Buffer | null {
  if (d === null) return null;
  if (d.inline !== null) return Buffer.from(d.inline);
  return d.filename !== null ? readFileSync(d.filename) : null;
}

function readData(d: DataSourceSpec | null): Buffer | null {
  if (d === null) return null;
  if (typeof d.filename === 'string') return readFileSync(d.filename);
  if (d.inline_bytes instanceof Uint8Array) return Buffer.from(d.inline_bytes);
  if (typeof d.inline_string === 'string') return Buffer.from(d.inline_string);
  if (typeof d.environment_variable === 'string') return Buffer.from(process.env[d.environment_variable] ?? '');
  return null;
}
