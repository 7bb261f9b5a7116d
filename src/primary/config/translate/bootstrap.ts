// Bootstrap → Snapshot: static clusters first (routes are checked against their names), then
// listeners with their HCMs and inline route configs, then admin.
import type { ClusterSnap, ListenerSnap, NodeSnap, SecretSnap, Snapshot } from '../../../shared/snapshot.ts';
import type { ConfigIssue } from '../../../shared/errors.ts';
import { addressString, socketAddress } from './address.ts';
import { checkRest, join, list, newCtx, obj, str, type Ctx, type Obj } from './context.ts';
import { cluster } from './cluster.ts';
import { listener } from './listener.ts';
import { bootstrapExtensions, checkInternalUse } from './internal_listener.ts';
import { apiConfigSource, configSource, type ApiSourceSpec, type ConfigSourceSpec, type XdsRefs } from './config_source.ts';
import { secret } from './secret.ts';
import './builtins.ts';

export interface AdminAddress {
  host: string;
  port: number;
}

export interface TranslateOptions {
  version: number;
  drainTimeMs: number;
  /** Unsupported fields are errors. */
  strict?: boolean;
  /** Base for relative file names in the config (Envoy: the working directory). */
  baseDir?: string;
}

export interface TranslateResult {
  snapshot: Snapshot;
  admin: AdminAddress | null;
  issues: ConfigIssue[];
  unsupported: string[];
  /** What the primary's xDS client needs; null when nothing comes over xDS. */
  xds: XdsBootstrap | null;
}

/** dynamic_resources plus the xDS references of static resources (primary-only, never sent to workers). */
export interface XdsBootstrap {
  ads: ApiSourceSpec | null;
  lds: ConfigSourceSpec | null;
  cds: ConfigSourceSpec | null;
  /** RDS/EDS/SDS resources that static listeners and clusters refer to. */
  refs: XdsRefs;
  /** The normalized bootstrap node, sent to control planes. */
  node: Obj;
}

const HANDLED = ['node', 'static_resources', 'dynamic_resources', 'admin', 'bootstrap_extensions'];

/** Translates a normalized (decoded) bootstrap; problems are reported, never thrown. */
export function translateBootstrap(b: Obj, opts: TranslateOptions): TranslateResult {
  const ctx = newCtx(opts.strict === true, opts.baseDir);
  checkRest(ctx, b, '', HANDLED);
  const dynamic = dynamicResources(obj(b.dynamic_resources), ctx);
  const sr = obj(b.static_resources);
  checkRest(ctx, sr, 'static_resources', ['listeners', 'clusters', 'secrets']);
  const clusters = translateClusters(list(sr.clusters), ctx);
  const internalListener = bootstrapExtensions(b.bootstrap_extensions, 'bootstrap_extensions', ctx);
  const listeners = translateListeners(list(sr.listeners), ctx);
  checkInternalUse(internalListener, listeners.map((l) => l[0]), clusters, listeners.map((l) => l[1]), ctx);
  const xds = xdsBootstrap(dynamic, obj(b.node), ctx);
  const snapshot: Snapshot = {
    version: opts.version,
    listeners: listeners.map((l) => l[0]),
    clusters,
    routeConfigs: ctx.routeConfigs,
    node: node(obj(b.node)),
    drainTimeMs: opts.drainTimeMs,
    internalListener,
    secrets: staticSecrets(list(sr.secrets), ctx),
  };
  return { snapshot, admin: admin(b.admin, ctx), issues: ctx.issues.list, unsupported: ctx.issues.unsupported, xds };
}

/** static_resources.secrets: what SdsSecretConfigs without an sds_config refer to by name. */
function staticSecrets(given: Obj[], ctx: Ctx): Record<string, SecretSnap> {
  const out: Record<string, SecretSnap> = {};
  given.forEach((s, i) => {
    const path = join(join('static_resources', 'secrets'), i);
    const snap = secret(s, path, ctx);
    if (snap.name === '') ctx.issues.error(join(path, 'name'), 'a static secret needs a name');
    else if (snap.name in out) ctx.issues.error(join(path, 'name'), `duplicate secret name "${snap.name}"`);
    out[snap.name] = snap;
  });
  return out;
}

function node(n: Obj): NodeSnap {
  return { id: str(n.id), cluster: str(n.cluster) };
}

type Dynamic = Pick<XdsBootstrap, 'ads' | 'lds' | 'cds'> & { given: boolean };

function dynamicResources(d: Obj, ctx: Ctx): Dynamic {
  const path = 'dynamic_resources';
  ctx.dynamicClusters = d.cds_config !== undefined || d.ads_config !== undefined;
  checkRest(ctx, d, path, ['lds_config', 'cds_config', 'ads_config'], {
    lds_resources_locator: 'xDS-TP resource locators are not supported; use lds_config',
    cds_resources_locator: 'xDS-TP resource locators are not supported; use cds_config',
  });
  return {
    given: Object.keys(d).length > 0,
    ads: d.ads_config === undefined ? null : apiConfigSource(obj(d.ads_config), join(path, 'ads_config'), ctx, true),
    lds: d.lds_config === undefined ? null : configSource(obj(d.lds_config), join(path, 'lds_config'), ctx),
    cds: d.cds_config === undefined ? null : configSource(obj(d.cds_config), join(path, 'cds_config'), ctx),
  };
}

/** Checks what only the whole bootstrap can tell: ADS users need ads_config, gRPC services static clusters. */
function xdsBootstrap(d: Dynamic, node: Obj, ctx: Ctx): XdsBootstrap | null {
  const refs = ctx.xds;
  const sources = [d.lds, d.cds, ...refs.rds.map((r) => r.source), ...refs.eds.map((r) => r.source), ...refs.sds.map((r) => r.source)];
  // A purely static bootstrap starts no xDS machinery (its translator threads hold ~100 MB).
  if (!d.given && sources.every((s) => s === null || s === undefined)) return null;
  if (d.ads === null && sources.some((s) => s?.kind === 'ads')) {
    ctx.issues.error('dynamic_resources.ads_config', 'a config source uses ads but dynamic_resources.ads_config is not set');
  }
  const apis = [d.ads, ...sources.map((s) => (s?.kind === 'api' ? s.api : null))];
  for (const api of apis) {
    if (api === null || api.service.kind !== 'envoy' || ctx.clusterNames.has(api.service.clusterName)) continue;
    ctx.issues.error('dynamic_resources', `gRPC service cluster "${api.service.clusterName}" must be a static cluster`);
  }
  for (const s of sources) {
    if (s?.kind === 'self' && (s === d.lds || s === d.cds)) ctx.issues.error('dynamic_resources', 'self config sources cannot be used for lds_config or cds_config');
  }
  return { ads: d.ads, lds: d.lds, cds: d.cds, refs, node };
}

function translateClusters(given: Obj[], ctx: Ctx): ClusterSnap[] {
  const out: ClusterSnap[] = [];
  given.forEach((c, i) => {
    const path = join(join('static_resources', 'clusters'), i);
    const snap = cluster(c, path, ctx);
    if (ctx.clusterNames.has(snap.name)) ctx.issues.error(join(path, 'name'), `duplicate cluster name "${snap.name}"`);
    ctx.clusterNames.add(snap.name);
    out.push(snap);
  });
  return out;
}

/** Listeners with the config path each came from. */
function translateListeners(given: Obj[], ctx: Ctx): [ListenerSnap, string][] {
  const out: [ListenerSnap, string][] = [];
  const names = new Set<string>();
  const addresses = new Map<string, string>();
  given.forEach((l, i) => {
    const path = join(join('static_resources', 'listeners'), i);
    const snap = listener(l, path, ctx, i);
    if (snap === null) return;
    if (names.has(snap.name)) ctx.issues.error(join(path, 'name'), `duplicate listener name "${snap.name}"`);
    names.add(snap.name);
    out.push([snap, path]);
    if (snap.internal === true) return; // no socket address to collide on
    const addr = addressString(snap.address);
    const other = addresses.get(addr);
    if (other !== undefined) ctx.issues.error(join(path, 'address'), `address ${addr} is already used by listener "${other}"`);
    addresses.set(addr, snap.name);
  });
  return out;
}

function admin(a: unknown, ctx: Ctx): AdminAddress | null {
  if (a === undefined) return null;
  const o = obj(a);
  // Admin access logs and profiling do not change what is served.
  checkRest(ctx, o, 'admin', ['address', 'access_log', 'access_log_path', 'profile_path']);
  if (o.address === undefined) return null;
  return socketAddress(obj(o.address), join('admin', 'address'), ctx, { requireIp: true });
}

