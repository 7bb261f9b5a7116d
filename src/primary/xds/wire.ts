// xDS messages on the wire: DiscoveryRequest/Response and their delta forms, encoded and decoded
// with the Envoy protos Orion already loads. Responses keep each resource as raw bytes: they are
// decoded (and translated) on the translator thread, not here.
import protobuf from 'protobufjs';
import { lookupType } from '../config/protos.ts';
import type { Obj } from '../config/translate/context.ts';

let types: { req: protobuf.Type; res: protobuf.Type; dreq: protobuf.Type; dres: protobuf.Type; resource: protobuf.Type } | null = null;

function t(): NonNullable<typeof types> {
  if (types !== null) return types;
  const get = (n: string) => lookupType(`envoy.service.discovery.v3.${n}`)!;
  types = { req: get('DiscoveryRequest'), res: get('DiscoveryResponse'), dreq: get('DeltaDiscoveryRequest'), dres: get('DeltaDiscoveryResponse'), resource: get('Resource') };
  return types;
}

/** google.rpc.Status; Envoy reports rejected configs with code INTERNAL. */
export interface ErrorDetail {
  code: number;
  message: string;
}

export const GRPC_INTERNAL = 13;

export interface DiscoveryRequest {
  version_info: string;
  node?: Obj;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail?: ErrorDetail;
}

export interface DeltaDiscoveryRequest {
  node?: Obj;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail?: ErrorDetail;
}

/** A resource as received: its bytes (the Any's value) and what the wrapper said about it. */
export interface RawResource {
  typeUrl: string;
  name: string;
  /** Delta and wrapped resources carry a version; SotW resources take the response's. */
  version: string;
  /** null for a delta TTL heartbeat (a Resource without a body). */
  bytes: Uint8Array | null;
  ttlMs: number | null;
  /** File-based sources: the resource as parsed YAML/JSON (then `bytes` is empty). */
  json?: Obj;
}

export interface DiscoveryResponse {
  version_info: string;
  type_url: string;
  nonce: string;
  resources: RawResource[];
}

export interface DeltaDiscoveryResponse {
  system_version_info: string;
  type_url: string;
  nonce: string;
  resources: RawResource[];
  removed_resources: string[];
}

export function encodeRequest(r: DiscoveryRequest): Buffer {
  const T = t().req;
  return Buffer.from(T.encode(T.fromObject(r)).finish());
}

export function encodeDeltaRequest(r: DeltaDiscoveryRequest): Buffer {
  const T = t().dreq;
  return Buffer.from(T.encode(T.fromObject(r)).finish());
}

interface AnyMsg {
  type_url: string;
  value: Uint8Array;
}

interface ResourceMsg {
  name: string;
  version: string;
  resource?: AnyMsg | null;
  ttl?: { seconds?: number | protobuf.Long; nanos?: number } | null;
}

export function decodeResponse(buf: Uint8Array): DiscoveryResponse {
  const m = t().res.decode(buf) as unknown as { version_info: string; type_url: string; nonce: string; resources: AnyMsg[] };
  const resources = m.resources.map((a) => fromAny(a, m.version_info, m.type_url));
  return { version_info: m.version_info, type_url: m.type_url, nonce: m.nonce, resources };
}

export function decodeDeltaResponse(buf: Uint8Array): DeltaDiscoveryResponse {
  const m = t().dres.decode(buf) as unknown as { system_version_info: string; type_url: string; nonce: string; resources: ResourceMsg[]; removed_resources: string[] };
  return {
    system_version_info: m.system_version_info,
    type_url: m.type_url,
    nonce: m.nonce,
    resources: m.resources.map((r) => fromResource(r, m.type_url)),
    removed_resources: m.removed_resources,
  };
}

const WRAPPER = 'type.googleapis.com/envoy.service.discovery.v3.Resource';

function fromAny(a: AnyMsg, version: string, typeUrl: string): RawResource {
  if (a.type_url === WRAPPER) {
    const r = t().resource.decode(a.value) as unknown as ResourceMsg;
    const raw = fromResource(r, typeUrl);
    return { ...raw, version: raw.version || version };
  }
  return { typeUrl: a.type_url, name: sniffName(a.value), version, bytes: a.value, ttlMs: null };
}

function fromResource(r: ResourceMsg, typeUrl: string): RawResource {
  const ttl = r.ttl ?? null;
  const ttlMs = ttl === null ? null : Number(ttl.seconds ?? 0) * 1000 + Math.round((ttl.nanos ?? 0) / 1e6);
  const body = r.resource ?? null;
  return {
    typeUrl: body?.type_url || typeUrl,
    name: r.name || (body === null ? '' : sniffName(body.value)),
    version: r.version,
    bytes: body === null ? null : body.value,
    ttlMs: ttlMs !== null && ttlMs > 0 ? ttlMs : null,
  };
}

/**
 * Field 1 of every resource type Orion subscribes to is its name (Listener, Cluster,
 * RouteConfiguration, Secret: `name`; ClusterLoadAssignment: `cluster_name`), so the name is
 * read without decoding the whole resource on the primary's loop.
 */
export function sniffName(b: Uint8Array): string {
  const r = protobuf.Reader.create(b);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | 2)) return r.string();
    r.skipType(tag & 7);
  }
  return '';
}

/** The Node Orion sends: the bootstrap's node plus what identifies this client. */
export function nodeMessage(node: Obj, version: string): Obj {
  const out: Obj = {
    id: node.id ?? '',
    cluster: node.cluster ?? '',
    user_agent_name: 'orion-proxy',
    user_agent_version: version,
    client_features: [],
  };
  if (node.metadata !== undefined) out.metadata = toStruct(node.metadata as Obj);
  if (node.locality !== undefined) out.locality = node.locality;
  return out;
}

/** JSON → google.protobuf.Struct in protobufjs object form. */
export function toStruct(o: Obj): Obj {
  const fields: Obj = {};
  for (const [k, v] of Object.entries(o)) fields[k] = toValue(v);
  return { fields };
}

// protobufjs bundles struct.proto with camelCase field names, whatever keepCase says.
function toValue(v: unknown): Obj {
  if (v === null || v === undefined) return { nullValue: 0 };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: toStruct(v as Obj) };
}
