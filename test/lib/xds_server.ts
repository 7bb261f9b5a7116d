// A small xDS control plane for tests, on a real gRPC server (@grpc/grpc-js) on 127.0.0.1:
// ADS and per-type services, state of the world and delta. Resources are given as protobufjs
// objects (snake_case, Durations as {seconds}, Any as {'@type', ...}); every request the proxy
// sends is recorded so tests can check ACKs, NACKs and subscriptions.
import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import protobuf from 'protobufjs';
import { lookupType } from '../../src/primary/config/protos.ts';

export const T = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
};

const ALL_RESOURCES = new Set([T.listener, T.cluster]);

type O = Record<string, unknown>;

export interface RecordedRequest {
  delta: boolean;
  method: string;
  type_url: string;
  version_info?: string;
  resource_names?: string[];
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce: string;
  error_detail?: { code?: number; message?: string } | null;
  node?: O | null;
  /** Date.now() when it arrived. */
  at: number;
}

export interface SentResponse {
  delta: boolean;
  type_url: string;
  version: string;
  nonce: string;
  names: string[];
  removed: string[];
}

interface Stored {
  bytes: Uint8Array;
  version: string;
}

interface SotwWatch {
  names: Set<string> | null;
  sentVersion: string | null;
}

interface DeltaWatch {
  wildcard: boolean;
  names: Set<string>;
  /** What the client holds: name → version. */
  has: Map<string, string>;
}

interface Stream {
  delta: boolean;
  /** The one type a per-type stream serves; null for ADS. */
  only: string | null;
  write(type: string): void;
  call: grpc.ServerDuplexStream<Buffer, Buffer>;
  sotw: Map<string, SotwWatch>;
  dwatch: Map<string, DeltaWatch>;
}

const SERVICES: Record<string, [string, string, string]> = {
  [T.cluster]: ['envoy.service.cluster.v3.ClusterDiscoveryService', 'StreamClusters', 'DeltaClusters'],
  [T.listener]: ['envoy.service.listener.v3.ListenerDiscoveryService', 'StreamListeners', 'DeltaListeners'],
  [T.route]: ['envoy.service.route.v3.RouteDiscoveryService', 'StreamRoutes', 'DeltaRoutes'],
  [T.endpoint]: ['envoy.service.endpoint.v3.EndpointDiscoveryService', 'StreamEndpoints', 'DeltaEndpoints'],
  [T.secret]: ['envoy.service.secret.v3.SecretDiscoveryService', 'StreamSecrets', 'DeltaSecrets'],
};

const identity = (b: Buffer): Buffer => b;

function msgType(name: string): protobuf.Type {
  return lookupType(`envoy.service.discovery.v3.${name}`)!;
}

/** Encodes a resource given as a protobufjs object of the type's message. */
export function encodeResource(typeUrl: string, obj: O): Uint8Array {
  const t = lookupType(typeUrl.slice(typeUrl.indexOf('/') + 1))!;
  return t.encode(t.fromObject(obj)).finish();
}

export class ControlPlane {
  port = 0;
  readonly requests: RecordedRequest[] = [];
  readonly responses: SentResponse[] = [];
  private server: grpc.Server | null = null;
  private readonly state = new Map<string, Map<string, Stored>>();
  private readonly versions = new Map<string, string>();
  private readonly streams = new Set<Stream>();
  private nonce = 0;
  private readonly waiters: { pred: () => boolean; resolve: () => void }[] = [];
  /** When false, requests are recorded but nothing is sent (a control plane that never answers). */
  answering = true;

  async start(port = 0): Promise<number> {
    const server = new grpc.Server();
    const handler = (delta: boolean, only: string | null) => (call: grpc.ServerDuplexStream<Buffer, Buffer>) => this.onStream(call, delta, only);
    const defs: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
    const impl: grpc.UntypedServiceImplementation = {};
    const add = (path: string, h: grpc.handleBidiStreamingCall<Buffer, Buffer>) => {
      const name = path.slice(path.lastIndexOf('/') + 1);
      defs[name] = { path, requestStream: true, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
      impl[name] = h;
    };
    add('/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources', handler(false, null));
    add('/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources', handler(true, null));
    server.addService(defs, impl);
    for (const [type, [svc, sotw, delta]] of Object.entries(SERVICES)) {
      const d: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
      const i: grpc.UntypedServiceImplementation = {};
      for (const [m, isDelta] of [[sotw, false], [delta, true]] as const) {
        d[m] = { path: `/${svc}/${m}`, requestStream: true, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
        i[m] = handler(isDelta, type);
      }
      server.addService(d, i);
    }
    this.port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    this.server = server;
    return this.port;
  }

  /** Drops every stream and stops listening (the control plane "dies"); state is kept. */
  kill(): void {
    for (const s of this.streams) s.call.destroy(new Error('killed'));
    this.streams.clear();
    this.server?.forceShutdown();
    this.server = null;
  }

  async stop(): Promise<void> {
    this.kill();
  }

  /** Replaces all resources of a type (objects or pre-encoded bytes) and pushes them. */
  set(typeUrl: string, resources: (O | { name: string; bytes: Uint8Array })[], version?: string): string {
    const m = new Map<string, Stored>();
    for (const r of resources) {
      const bytes = 'bytes' in r && r.bytes instanceof Uint8Array ? r.bytes : encodeResource(typeUrl, r as O);
      const name = String((r as O).name ?? (r as O).cluster_name);
      m.set(name, { bytes, version: createHash('sha1').update(bytes).digest('hex').slice(0, 12) });
    }
    const v = version ?? String(Number(this.versions.get(typeUrl) ?? '0') + 1);
    this.state.set(typeUrl, m);
    this.versions.set(typeUrl, v);
    for (const s of this.streams) if (s.only === null || s.only === typeUrl) s.write(typeUrl);
    return v;
  }

  /**
   * Sends exactly these encoded resources to every stream (for malformed responses). With
   * `ttlMs` each is wrapped in a Resource with that TTL; `bytes: null` is a TTL heartbeat.
   */
  pushRaw(typeUrl: string, resources: { name: string; bytes: Uint8Array | null }[], opts: { ttlMs?: number } = {}): void {
    const version = String(Number(this.versions.get(typeUrl) ?? '0') + 1);
    const ttl = opts.ttlMs === undefined ? undefined : { seconds: Math.floor(opts.ttlMs / 1000), nanos: (opts.ttlMs % 1000) * 1e6 };
    const wrapped = resources.map((r) => ({ name: r.name, version, ttl, ...(r.bytes === null ? {} : { resource: { type_url: typeUrl, value: r.bytes } }) }));
    for (const s of this.streams) {
      if (s.only !== null && s.only !== typeUrl) continue;
      const nonce = String(++this.nonce);
      this.responses.push({ delta: s.delta, type_url: typeUrl, version, nonce, names: resources.map((r) => r.name), removed: [] });
      if (s.delta) {
        const res = msgType('DeltaDiscoveryResponse');
        s.call.write(Buffer.from(res.encode(res.fromObject({ system_version_info: version, type_url: typeUrl, nonce, resources: wrapped })).finish()));
      } else {
        const res = msgType('DiscoveryResponse');
        const R = msgType('Resource');
        const list = ttl === undefined
          ? resources.map((r) => ({ type_url: typeUrl, value: r.bytes }))
          : wrapped.map((w) => ({ type_url: 'type.googleapis.com/envoy.service.discovery.v3.Resource', value: R.encode(R.fromObject(w)).finish() }));
        s.call.write(Buffer.from(res.encode(res.fromObject({ version_info: version, type_url: typeUrl, nonce, resources: list })).finish()));
      }
    }
  }

  version(typeUrl: string): string {
    return this.versions.get(typeUrl) ?? '';
  }

  /** Resolves once `pred` holds (checked on every request), or rejects after `ms`. */
  waitFor(pred: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: () => {} };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`control plane: timed out waiting for ${what}; requests:\n${this.requests.slice(-12).map((r) => JSON.stringify(r)).join('\n')}`));
      }, ms);
      w.resolve = () => {
        clearTimeout(t);
        resolve();
      };
      this.waiters.push(w);
    });
  }

  /** The request that answered the last response of a type: an ACK or NACK. */
  answerTo(typeUrl: string): RecordedRequest | undefined {
    const sent = this.responses.filter((r) => r.type_url === typeUrl).at(-1);
    if (sent === undefined) return undefined;
    return this.requests.find((r) => r.type_url === typeUrl && r.response_nonce === sent.nonce);
  }

  /** Waits until the last response of a type got its ACK/NACK; returns it. */
  async answered(typeUrl: string, ms = 5000): Promise<RecordedRequest> {
    await this.waitFor(() => this.answerTo(typeUrl) !== undefined, ms, `answer to ${typeUrl}`);
    return this.answerTo(typeUrl)!;
  }

  private notify(): void {
    for (const w of [...this.waiters]) {
      if (!w.pred()) continue;
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
  }

  private onStream(call: grpc.ServerDuplexStream<Buffer, Buffer>, delta: boolean, only: string | null): void {
    const s: Stream = { delta, only, call, sotw: new Map(), dwatch: new Map(), write: () => {} };
    s.write = (type) => (delta ? this.sendDelta(s, type) : this.sendSotw(s, type, false));
    this.streams.add(s);
    call.on('data', (b: Buffer) => this.onRequest(s, b));
    call.on('error', () => this.streams.delete(s));
    call.on('end', () => {
      this.streams.delete(s);
      call.end();
    });
  }

  private onRequest(s: Stream, b: Buffer): void {
    const type = msgType(s.delta ? 'DeltaDiscoveryRequest' : 'DiscoveryRequest');
    const req = type.toObject(type.decode(b), { defaults: true, longs: Number }) as RecordedRequest & O;
    req.delta = s.delta;
    req.method = s.only ?? 'ads';
    req.at = Date.now();
    this.requests.push(req);
    this.notify();
    const url = req.type_url || s.only || '';
    if (s.delta) {
      let w = s.dwatch.get(url);
      if (w === undefined) {
        const subs = req.resource_names_subscribe ?? [];
        w = { wildcard: subs.length === 0 || subs.includes('*'), names: new Set(), has: new Map(Object.entries(req.initial_resource_versions ?? {})) };
        s.dwatch.set(url, w);
      }
      for (const n of req.resource_names_subscribe ?? []) if (n !== '*') w.names.add(n);
      for (const n of req.resource_names_unsubscribe ?? []) {
        w.names.delete(n);
        w.has.delete(n);
      }
      if (req.response_nonce === '') this.sendDelta(s, url);
      return;
    }
    const names = (req.resource_names ?? []).length === 0 && ALL_RESOURCES.has(url) ? null : new Set(req.resource_names);
    const w = s.sotw.get(url);
    const namesChanged = w === undefined || !sameNames(w.names, names);
    s.sotw.set(url, { names, sentVersion: w?.sentVersion ?? null });
    const isAnswer = req.response_nonce !== '' && !namesChanged;
    if (!isAnswer) this.sendSotw(s, url, namesChanged);
  }

  private sendSotw(s: Stream, url: string, force: boolean): void {
    const w = s.sotw.get(url);
    if (w === undefined || !this.answering) return;
    const version = this.versions.get(url);
    if (version === undefined) return;
    if (!force && w.sentVersion === version) return;
    const all = this.state.get(url) ?? new Map();
    const picked = [...all].filter(([n]) => w.names === null || w.names.has(n));
    if (w.names !== null && w.names.size === 0) return;
    w.sentVersion = version;
    const nonce = String(++this.nonce);
    const res = msgType('DiscoveryResponse');
    const msg = res.fromObject({ version_info: version, type_url: url, nonce, resources: picked.map(([, r]) => ({ type_url: url, value: r.bytes })) });
    this.responses.push({ delta: false, type_url: url, version, nonce, names: picked.map(([n]) => n), removed: [] });
    s.call.write(Buffer.from(res.encode(msg).finish()));
  }

  private sendDelta(s: Stream, url: string): void {
    const w = s.dwatch.get(url);
    if (w === undefined || !this.answering || !this.versions.has(url)) return;
    const all = this.state.get(url) ?? new Map<string, Stored>();
    const wanted = (n: string) => w.wildcard || w.names.has(n);
    const resources: O[] = [];
    const names: string[] = [];
    for (const [n, r] of all) {
      if (!wanted(n) || w.has.get(n) === r.version) continue;
      resources.push({ name: n, version: r.version, resource: { type_url: url, value: r.bytes } });
      names.push(n);
      w.has.set(n, r.version);
    }
    const removed: string[] = [];
    for (const n of [...w.has.keys()]) {
      if (all.has(n)) continue;
      removed.push(n);
      w.has.delete(n);
    }
    if (resources.length === 0 && removed.length === 0) return;
    const nonce = String(++this.nonce);
    const version = this.versions.get(url)!;
    const res = msgType('DeltaDiscoveryResponse');
    this.responses.push({ delta: true, type_url: url, version, nonce, names, removed });
    s.call.write(Buffer.from(res.encode(res.fromObject({ system_version_info: version, type_url: url, nonce, resources, removed_resources: removed })).finish()));
  }
}

function sameNames(a: Set<string> | null, b: Set<string> | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.size !== b.size) return false;
  for (const n of a) if (!b.has(n)) return false;
  return true;
}

// ---------------------------------------------------------------- resource builders

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

export function addr(port: number, host = '127.0.0.1'): O {
  return { socket_address: { address: host, port_value: port } };
}

/** A listener whose HCM takes its routes over RDS (or inline when `routes` is an object). */
export function rdsListener(name: string, port: number, routeConfig: string | O, source: O = { ads: {} }, extra: O = {}): O {
  const hcm: O = {
    '@type': HCM,
    stat_prefix: name,
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } }],
    ...(typeof routeConfig === 'string' ? { rds: { route_config_name: routeConfig, config_source: source } } : { route_config: routeConfig }),
  };
  return { name, address: addr(port), filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }], ...extra };
}

export function routeConfig(name: string, routes: O[]): O {
  return { name, virtual_hosts: [{ name: 'all', domains: ['*'], routes }] };
}

export function toCluster(prefix: string, cluster: string): O {
  return { match: { prefix }, route: { cluster } };
}

export function edsCluster(name: string, source: O = { ads: {} }, extra: O = {}): O {
  return { name, type: 'EDS', connect_timeout: { seconds: 1 }, eds_cluster_config: { eds_config: source }, ...extra };
}

export function staticClusterRes(name: string, ports: number[]): O {
  return { name, type: 'STATIC', connect_timeout: { seconds: 1 }, load_assignment: assignment(name, ports) };
}

export function assignment(name: string, ports: number[]): O {
  return { cluster_name: name, endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: { address: addr(p) } })) }] };
}

/** Appends a field number our protos do not know to an encoded resource (a newer control plane). */
export function withUnknownField(bytes: Uint8Array, field = 9999): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32((field << 3) | 2).string('from-a-newer-api');
  return Buffer.concat([bytes, w.finish()]);
}

/** The static cluster the proxy reaches the control plane through (gRPC needs HTTP/2). */
export function xdsCluster(port: number): O {
  return {
    name: 'xds_cluster',
    type: 'STATIC',
    connect_timeout: '1s',
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    load_assignment: { cluster_name: 'xds_cluster', endpoints: [{ lb_endpoints: [{ endpoint: { address: addr(port) } }] }] },
  };
}

/** ApiConfigSource for the test control plane, retrying fast so reconnect tests stay short. */
export function apiSource(apiType: 'GRPC' | 'DELTA_GRPC', inResource = false): O {
  // Bootstrap JSON spells durations as strings; resources sent as protobuf need {seconds, nanos}.
  const [base, max] = inResource ? [{ nanos: 100_000_000 }, { nanos: 400_000_000 }] : ['0.1s', '0.4s'];
  return {
    api_type: apiType,
    transport_api_version: 'V3',
    grpc_services: [{ envoy_grpc: { cluster_name: 'xds_cluster', retry_policy: { retry_back_off: { base_interval: base, max_interval: max } } } }],
  };
}
