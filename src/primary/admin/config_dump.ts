// /config_dump's ?resource, ?mask and ?name_regex applied to the JSON dump the primary builds.
// Envoy checks mask paths against proto descriptors; without them a path counts as valid for a
// config when its first field is present, which differs only for empty (omitted) fields.
import type { ConfigDumpJson } from './context.ts';

type Obj = Record<string, unknown>;

export interface DumpQuery {
  resource: string | null;
  mask: string | null;
  nameRegex: RegExp | null;
}

export type DumpResult = { status: 200; json: ConfigDumpJson } | { status: 400 | 404; text: string };

// Repeated config dump field -> its element message (the `@type` of each element in ?resource).
const ELEMENT_TYPES: Record<string, string> = {
  static_clusters: 'StaticCluster',
  dynamic_active_clusters: 'DynamicCluster',
  dynamic_warming_clusters: 'DynamicCluster',
  static_listeners: 'StaticListener',
  dynamic_listeners: 'DynamicListener',
  static_route_configs: 'StaticRouteConfig',
  dynamic_route_configs: 'DynamicRouteConfig',
  inline_scoped_route_configs: 'InlineScopedRouteConfigs',
  dynamic_scoped_route_configs: 'DynamicScopedRouteConfigs',
  static_secrets: 'StaticSecret',
  dynamic_active_secrets: 'DynamicSecret',
  dynamic_warming_secrets: 'DynamicSecret',
  static_endpoint_configs: 'StaticEndpointConfig',
  dynamic_endpoint_configs: 'DynamicEndpointConfig',
};

export function filterConfigDump(dump: ConfigDumpJson, q: DumpQuery): DumpResult {
  const configs = dump.configs.map((c) => filterNames(c, q.nameRegex));
  if (q.resource !== null) return resourceDump(configs, q.resource, q.mask);
  if (q.mask === null) return { status: 200, json: { configs } };
  const paths = maskPaths(q.mask);
  const kept = configs.filter((c) => paths.every((p) => p.split('.')[0] in c)).map((c) => trim(c, paths));
  if (kept.length === 0) {
    return { status: 400, text: `FieldMask ${q.mask} could not be successfully applied to any configs.` };
  }
  return { status: 200, json: { configs: kept } };
}

function resourceDump(configs: Obj[], resource: string, mask: string | null): DumpResult {
  const owner = configs.find((c) => resource in c);
  if (owner === undefined) return { status: 404, text: `${resource} not found in config dump` };
  const list = owner[resource];
  if (!Array.isArray(list)) {
    return { status: 400, text: `${resource} is not a repeated field. Use ?mask=${resource} to get only this field` };
  }
  const element = ELEMENT_TYPES[resource];
  const type = typeof owner['@type'] === 'string' && element ? `${owner['@type']}.${element}` : undefined;
  const paths = mask === null ? null : maskPaths(mask);
  const out = (list as Obj[]).map((el) => {
    const body = paths === null ? el : trim(el, paths);
    return type === undefined ? body : { '@type': type, ...body };
  });
  return { status: 200, json: { configs: out } };
}

function maskPaths(mask: string): string[] {
  return mask.split(',').map((p) => p.trim()).filter((p) => p !== '');
}

/** Keeps only the masked fields (and every `@type`, which says what the object is). */
function trim(obj: Obj, paths: string[]): Obj {
  const out: Obj = {};
  if ('@type' in obj) out['@type'] = obj['@type'];
  const heads = new Map<string, string[]>();
  for (const p of paths) {
    const [head, ...rest] = p.split('.');
    const sub = heads.get(head) ?? [];
    if (rest.length > 0) sub.push(rest.join('.'));
    else sub.push('');
    heads.set(head, sub);
  }
  for (const [head, subs] of heads) {
    if (!(head in obj)) continue;
    const v = obj[head];
    const deeper = subs.filter((s) => s !== '');
    out[head] = subs.includes('') || deeper.length === 0 ? v : trimValue(v, deeper);
  }
  return out;
}

function trimValue(v: unknown, paths: string[]): unknown {
  if (Array.isArray(v)) return v.map((x) => trimValue(x, paths));
  if (v !== null && typeof v === 'object') return trim(v as Obj, paths);
  return v;
}

/** Drops resources whose name does not match, from every repeated field of a config. */
function filterNames(config: Obj, re: RegExp | null): Obj {
  if (re === null) return config;
  const out: Obj = {};
  for (const [k, v] of Object.entries(config)) {
    out[k] = Array.isArray(v) ? v.filter((el) => matchesName(el, re)) : v;
  }
  return out;
}

function matchesName(el: unknown, re: RegExp): boolean {
  const name = resourceName(el);
  return name === undefined || re.test(name);
}

// Resources sit either directly in the element or one level down (cluster, listener, ...).
function resourceName(el: unknown): string | undefined {
  if (el === null || typeof el !== 'object') return undefined;
  const o = el as Obj;
  if (typeof o.name === 'string') return o.name;
  for (const v of Object.values(o)) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) continue;
    const inner = v as Obj;
    if (typeof inner.name === 'string') return inner.name;
    if (typeof inner.cluster_name === 'string') return inner.cluster_name;
  }
  return undefined;
}
