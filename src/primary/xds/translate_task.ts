// Piscina task: xDS resources (protobuf bytes, or JSON from files) → translated snapshot pieces,
// off the primary's event loop. Each resource is decoded, validated and translated on its own,
// so one bad resource never hides the others, and each result is packed once for reuse.
import { hash } from 'node:crypto';
import { Piscina } from 'piscina';
import type { ConfigIssue } from '../../shared/errors.ts';
import type { ClusterSnap } from '../../shared/snapshot.ts';
import { decode, normalizeMessage, type DecodeResult } from '../config/decode.ts';
import { decodeTracked, reportUnknownFields } from '../config/from_message.ts';
import { Issues } from '../config/issues.ts';
import { lookupType } from '../config/protos.ts';
import { newCtx, str, type Ctx, type Obj } from '../config/translate/context.ts';
import { cluster, hasHealthConfig } from '../config/translate/cluster.ts';
import { listener } from '../config/translate/listener.ts';
import { routeConfig } from '../config/translate/route.ts';
import { loadAssignment } from '../config/translate/endpoints.ts';
import { secret } from '../config/translate/secret.ts';
import { addressString } from '../config/translate/address.ts';
import type { XdsRefs } from '../config/translate/config_source.ts';
import '../config/translate/builtins.ts';
import { pack } from 'msgpackr';
import { Bytes, mapBody } from './msgpack_parts.ts';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET, TYPES } from './resource_types.ts';

export interface XdsTranslateArgs {
  typeUrl: string;
  strict: boolean;
  /** Resource bytes, back to back: resource i is arena[ends[i - 1] (0 for the first) .. ends[i]). */
  arena: Uint8Array;
  ends: Uint32Array;
  /** File sources: each resource as parsed YAML/JSON (then it has no bytes); absent for gRPC. */
  json?: Obj[];
}

/** [offset, length] into the output arena. */
export type Span = [number, number];

/**
 * Only what is set travels back: 10,000 items are structured-cloned to the primary's loop. Each
 * item's packed translation is at `spans[2i]` (offset) and `spans[2i + 1]` (length) in the arena:
 * clusters: their template (see PackedCluster); route configs: a map body without `hash`,
 * `count` entries; listeners, secrets: a whole packed value; endpoints: packed
 * LocalityEndpointsSnap[].
 */
export interface TranslatedItem {
  /** The resource's own name (cluster_name for endpoints). */
  name: string;
  count: number;
  hash: string;
  /** `path: message`, relative to the resource; any error means the resource is rejected. */
  errors?: string[];
  warnings?: string[];
  unsupported?: string[];
  unknownFields?: number;
  /** Only the non-empty reference lists. */
  refs?: Partial<XdsRefs>;
  /** Listeners: their inline route configs. */
  inline?: { name: string; body: Span; count: number; hash: string }[];
  /** Listeners: `host:port`, for address conflict checks. */
  address?: string;
  /** Clusters with active health checks or outlier detection (the primary's health manager tracks them). */
  health?: true;
  /** Clusters whose stat name is not their name (alt_stat_name). */
  statName?: string;
}

export interface XdsTranslateOutput {
  arena: Uint8Array;
  spans: Uint32Array;
  items: TranslatedItem[];
}

/** The task: the output's buffers are moved (not copied) to the primary's thread. */
export default function run(args: XdsTranslateArgs | { warmup: number }): unknown {
  if ('warmup' in args) return warmup(args.warmup);
  const out = translateXds(args);
  return Piscina.move({ [Piscina.transferableSymbol]: [out.arena.buffer, out.spans.buffer], [Piscina.valueSymbol]: out } as never);
}

export function translateXds(args: XdsTranslateArgs): XdsTranslateOutput {
  const info = TYPES[args.typeUrl];
  const type = lookupType(info.proto)!;
  const out = new Bytes();
  const n = args.ends.length;
  const spans = new Uint32Array(n * 2);
  const items: TranslatedItem[] = [];
  for (let i = 0; i < n; i++) {
    const issues = new Issues();
    let d: DecodeResult;
    const json = args.json?.[i];
    if (json !== undefined) {
      d = decode(type, json, { strict: args.strict });
    } else {
      const bytes = args.arena.subarray(i === 0 ? 0 : args.ends[i - 1], args.ends[i]);
      try {
        const t = decodeTracked(type, bytes);
        reportUnknownFields(issues, '', type, t.unknown, args.strict);
        d = normalizeMessage(type, t.message, { strict: args.strict });
      } catch (e) {
        d = { value: {}, issues: [{ path: '', message: `cannot decode ${info.proto}: ${(e as Error).message}`, severity: 'error' }] };
      }
    }
    issues.list.push(...d.issues);
    spans[2 * i] = out.length;
    items.push(translateOne(args.typeUrl, d.value, issues, args.strict, out, spans, i));
  }
  return { arena: out.finish(), spans, items };
}

/** Translates resource i; its packed body goes to `out`, where `spans` says. */
function translateOne(typeUrl: string, v: Obj, decodeIssues: Issues, strict: boolean, out: Bytes, spans: Uint32Array, i: number): TranslatedItem {
  const ctx: Ctx = newCtx(strict);
  ctx.dynamicClusters = true;
  ctx.callerHashes = true;
  const item: TranslatedItem = { name: str(typeUrl === ENDPOINT ? v.cluster_name : v.name), count: 0, hash: '' };
  // A resource that does not even decode is not translated (its errors say why).
  if (!decodeIssues.hasErrors()) {
    const body = (b: Uint8Array) => {
      spans[2 * i] = out.push(b);
      spans[2 * i + 1] = b.length;
    };
    translateBody(typeUrl, v, ctx, item, out, body);
  }
  const all = decodeIssues.list.length === 0 ? ctx.issues.list : [...decodeIssues.list, ...ctx.issues.list];
  for (const i of all) {
    const list = i.severity === 'error' ? (item.errors ??= []) : (item.warnings ??= []);
    list.push(formatIssue(i));
    if (i.message.startsWith('unknown field')) item.unknownFields = (item.unknownFields ?? 0) + 1;
  }
  const unsupported = [...decodeIssues.unsupported, ...ctx.issues.unsupported];
  if (unsupported.length > 0) item.unsupported = unsupported;
  const { rds, eds, sds } = ctx.xds;
  if (rds.length + eds.length + sds.length > 0) {
    item.refs = {};
    if (rds.length > 0) item.refs.rds = rds;
    if (eds.length > 0) item.refs.eds = eds;
    if (sds.length > 0) item.refs.sds = sds;
  }
  return item;
}

function translateBody(typeUrl: string, v: Obj, ctx: Ctx, item: TranslatedItem, out: Bytes, body: (b: Uint8Array) => void): void {
  switch (typeUrl) {
    case CLUSTER: {
      const snap = cluster(v, '', ctx);
      // The cluster's template (see PackedCluster): name, stat name, hash and an EDS cluster's
      // endpoints travel beside it. Its hash is that of the packed template (packed once, hashed once).
      const { hash: _h, name: _n, statName, localities, ...rest } = snap;
      const template = pack(ctx.xds.eds.length > 0 ? rest : ({ ...rest, localities } satisfies Omit<ClusterSnap, 'hash' | 'name' | 'statName'>));
      body(template);
      item.hash = sha1(template);
      if (statName !== item.name) item.statName = statName;
      if (hasHealthConfig(snap)) item.health = true;
      return;
    }
    case LISTENER: {
      const snap = listener(v, '', ctx, 0);
      if (snap === null) return;
      // pack() output is only valid until the next pack: body() copies it into the arena first.
      body(pack(snap));
      item.hash = snap.hash;
      item.address = snap.internal === true ? '' : addressString(snap.address);
      for (const [name, rc] of Object.entries(ctx.routeConfigs)) {
        const rb = mapBody(rc, true);
        (item.inline ??= []).push({ name, body: [out.push(rb.bytes), rb.bytes.length], count: rb.count, hash: sha1(rb.bytes) });
      }
      return;
    }
    case ROUTE: {
      const rb = mapBody(routeConfig(v, '', ctx, false), true);
      body(rb.bytes);
      item.count = rb.count;
      item.hash = sha1(rb.bytes);
      return;
    }
    case ENDPOINT: {
      const b = pack(loadAssignment(v, '', ctx, true));
      body(b);
      item.hash = sha1(b);
      return;
    }
    case SECRET: {
      const snap = secret(v, '', ctx);
      body(pack(snap));
      item.hash = snap.hash;
      return;
    }
  }
}

function sha1(b: Uint8Array): string {
  return hash('sha1', b, 'hex').slice(0, 20);
}

function formatIssue(i: ConfigIssue): string {
  return `${i.path === '' ? '<root>' : i.path}: ${i.message}`;
}

/**
 * Translates made-up resources so the thread has loaded the protos and V8 has optimized the
 * translators before a real push: a cold thread takes about twice as long on 10,000 clusters.
 */
function warmup(n: number): null {
  const enc = (url: string, o: Obj) => {
    const t = lookupType(TYPES[url].proto)!;
    return t.encode(t.fromObject(o)).finish();
  };
  const addr = (port: number) => ({ socket_address: { address: '10.0.0.1', port_value: port } });
  const hcm = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'w',
    rds: { route_config_name: 'w', config_source: { ads: {} } },
    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
  };
  const batches: [string, Uint8Array[]][] = [
    [CLUSTER, Array.from({ length: n }, (_, i) => enc(CLUSTER, { name: `w${i}`, type: 'EDS', connect_timeout: { seconds: 1 }, eds_cluster_config: { eds_config: { ads: {} } } }))],
    [ENDPOINT, Array.from({ length: n }, (_, i) => enc(ENDPOINT, { cluster_name: `w${i}`, endpoints: [{ lb_endpoints: [{ endpoint: { address: addr(1000 + i) } }] }] }))],
    [LISTENER, Array.from({ length: n >> 3 }, (_, i) => enc(LISTENER, { name: `w${i}`, address: addr(2000 + i), filter_chains: [{ filters: [{ name: 'hcm', typed_config: hcm }] }] }))],
    [ROUTE, Array.from({ length: n >> 3 }, (_, i) => enc(ROUTE, { name: `w${i}`, virtual_hosts: [{ name: 'v', domains: [`h${i}`], routes: [{ match: { prefix: '/' }, route: { cluster: 'w' } }] }] }))],
  ];
  for (const [typeUrl, list] of batches) {
    const ends = new Uint32Array(list.length);
    let at = 0;
    list.forEach((b, i) => (ends[i] = at += b.length));
    translateXds({ typeUrl, strict: false, arena: Buffer.concat(list), ends });
  }
  return null;
}
