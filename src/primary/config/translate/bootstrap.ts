// Bootstrap → Snapshot: static clusters first (routes are checked against their names), then
// listeners with their HCMs and inline route configs, then admin.
import type { ClusterSnap, ListenerSnap, NodeSnap, Snapshot } from '../../../shared/snapshot.ts';
import type { ConfigIssue } from '../../../shared/errors.ts';
import { addressString, socketAddress } from './address.ts';
import { checkRest, join, list, newCtx, obj, str, unsupported, type Ctx, type Obj } from './context.ts';
import { cluster } from './cluster.ts';
import { listener } from './listener.ts';
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
}

const HANDLED = ['node', 'static_resources', 'dynamic_resources', 'admin'];

/** Translates a normalized (decoded) bootstrap; problems are reported, never thrown. */
export function translateBootstrap(b: Obj, opts: TranslateOptions): TranslateResult {
  const ctx = newCtx(opts.strict === true, opts.baseDir);
  checkRest(ctx, b, '', HANDLED);
  dynamicResources(obj(b.dynamic_resources), ctx);
  const sr = obj(b.static_resources);
  checkRest(ctx, sr, 'static_resources', ['listeners', 'clusters']);
  const clusters = translateClusters(list(sr.clusters), ctx);
  const listeners = translateListeners(list(sr.listeners), ctx);
  const snapshot: Snapshot = {
    version: opts.version,
    listeners,
    clusters,
    routeConfigs: ctx.routeConfigs,
    node: node(obj(b.node)),
    drainTimeMs: opts.drainTimeMs,
  };
  return { snapshot, admin: admin(b.admin, ctx), issues: ctx.issues.list, unsupported: ctx.issues.unsupported };
}

function node(n: Obj): NodeSnap {
  return { id: str(n.id), cluster: str(n.cluster) };
}

function dynamicResources(d: Obj, ctx: Ctx): void {
  ctx.dynamicClusters = d.cds_config !== undefined || d.ads_config !== undefined;
  for (const k of Object.keys(d)) unsupported(ctx, join('dynamic_resources', k), 'xDS is not available yet; ignored');
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

function translateListeners(given: Obj[], ctx: Ctx): ListenerSnap[] {
  const out: ListenerSnap[] = [];
  const names = new Set<string>();
  const addresses = new Map<string, string>();
  given.forEach((l, i) => {
    const path = join(join('static_resources', 'listeners'), i);
    const snap = listener(l, path, ctx, i);
    if (snap === null) return;
    if (names.has(snap.name)) ctx.issues.error(join(path, 'name'), `duplicate listener name "${snap.name}"`);
    const addr = addressString(snap.address);
    const other = addresses.get(addr);
    if (other !== undefined) ctx.issues.error(join(path, 'address'), `address ${addr} is already used by listener "${other}"`);
    names.add(snap.name);
    addresses.set(addr, snap.name);
    out.push(snap);
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

