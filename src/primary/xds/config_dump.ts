// The dynamic half of admin.v3.ConfigDump: each xDS resource as JSON with its version_info and
// last_updated, warming and rejected (error_state) versions, and secrets with keys redacted.
// Resources are kept as received and decoded only when a dump is asked for.
import type { Obj } from '../config/translate/context.ts';
import { decode, normalizeMessage } from '../config/decode.ts';
import { decodeTracked } from '../config/from_message.ts';
import { lookupType } from '../config/protos.ts';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET, TYPES } from './resource_types.ts';
import type { Entry, Failure, Version, XdsStore } from './store.ts';

export interface DynamicDump {
  clusters: { version_info: string; dynamic_active_clusters: Obj[]; dynamic_warming_clusters: Obj[] };
  listeners: { version_info: string; dynamic_listeners: Obj[] };
  routes: { dynamic_route_configs: Obj[] };
  endpoints: { dynamic_endpoint_configs: Obj[] };
  secrets: { dynamic_active_secrets: Obj[]; dynamic_warming_secrets: Obj[] };
}

export function dynamicDump(store: XdsStore, includeEds: boolean): DynamicDump {
  const clusters = [...store.entries.cds.values()];
  const listeners = [...store.entries.lds.values()];
  return {
    clusters: {
      version_info: store.typeVersions.get(CLUSTER) ?? '',
      dynamic_active_clusters: clusters.filter((e) => e.active !== null).map((e) => ({ ...state(e.active!, 'cluster', CLUSTER), ...errorState(e, CLUSTER) })),
      dynamic_warming_clusters: clusters.filter((e) => e.warming !== null).map((e) => state(e.warming!, 'cluster', CLUSTER)),
    },
    listeners: {
      version_info: store.typeVersions.get(LISTENER) ?? '',
      dynamic_listeners: listeners.map((e) => {
        const out: Obj = { name: e.name };
        if (e.active !== null) out.active_state = state(e.active, 'listener', LISTENER);
        if (e.warming !== null) out.warming_state = state(e.warming, 'listener', LISTENER);
        return { ...out, ...errorState(e, LISTENER) };
      }),
    },
    routes: {
      dynamic_route_configs: [...store.entries.rds.values()].filter((e) => e.active !== null).map((e) => ({ ...state(e.active!, 'route_config', ROUTE), ...errorState(e, ROUTE) })),
    },
    endpoints: {
      dynamic_endpoint_configs: includeEds ? [...store.entries.eds.values()].filter((e) => e.active !== null).map((e) => state(e.active!, 'endpoint_config', ENDPOINT)) : [],
    },
    secrets: {
      dynamic_active_secrets: [...store.entries.sds.values()].filter((e) => e.active !== null).map((e) => ({ name: e.name, ...state(e.active!, 'secret', SECRET) })),
      dynamic_warming_secrets: [],
    },
  };
}

function state(v: Version, field: string, typeUrl: string): Obj {
  let body = render(v.raw, typeUrl);
  if (typeUrl === SECRET) body = redactSecret(body);
  const out: Obj = { version_info: v.version, [field]: body, last_updated: new Date(v.lastUpdated).toISOString() };
  if (v.t.unsupported.length > 0) out.orion_unsupported_fields = v.t.unsupported;
  return out;
}

/** Envoy's UpdateFailureState for the last rejected version of a resource. */
function errorState(e: Entry, typeUrl: string): Obj {
  const f: Failure | null = e.failure;
  if (f === null) return {};
  let failed = render(f.raw, typeUrl);
  if (typeUrl === SECRET) failed = redactSecret(failed);
  return { error_state: { failed_configuration: failed, last_update_attempt: new Date(f.lastAttempt).toISOString(), details: f.details, version_info: f.version } };
}

function render(raw: Uint8Array | Obj, typeUrl: string): Obj {
  const type = lookupType(TYPES[typeUrl].proto)!;
  let value: Obj;
  try {
    value = raw instanceof Uint8Array ? normalizeMessage(type, decodeTracked(type, raw).message).value : decode(type, raw).value;
  } catch {
    value = {};
  }
  return { '@type': typeUrl, ...(jsonSafe(value) as Obj) };
}

/** Bytes become base64 strings, as in proto JSON. */
export function jsonSafe(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v !== null && typeof v === 'object') {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonSafe(x);
    return out;
  }
  return v;
}

const SENSITIVE: [string, string][] = [
  ['tls_certificate', 'private_key'],
  ['tls_certificate', 'password'],
  ['tls_certificate', 'pkcs12'],
  ['generic_secret', 'secret'],
  ['session_ticket_keys', 'keys'],
];

/** Key material is shown as "[redacted]", as Envoy does for fields marked sensitive. */
export function redactSecret(s: Obj): Obj {
  const out: Obj = { ...s };
  for (const [part, field] of SENSITIVE) {
    const p = out[part];
    if (p === null || typeof p !== 'object' || !(field in (p as Obj))) continue;
    out[part] = { ...(p as Obj), [field]: redact((p as Obj)[field]) };
  }
  return out;
}

function redact(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(redact);
  if (v !== null && typeof v === 'object') {
    const out: Obj = {};
    for (const k of Object.keys(v)) out[k] = redact((v as Obj)[k]);
    return out;
  }
  return '[redacted]';
}
