// Shared state and helpers for translating a normalized (decoded) Envoy bootstrap into a Snapshot.
// Input objects come from decode(): snake_case keys, only set fields, already type-checked, so
// helpers here only apply Envoy's defaults and never re-validate types.
import { hash } from 'node:crypto';
import { pack } from 'msgpackr';
import type { RouteConfigSnap } from '../../../shared/snapshot.ts';
import { Issues, join } from '../issues.ts';
import type { XdsRefs } from './config_source.ts';

export type Obj = Record<string, unknown>;

export interface Ctx {
  issues: Issues;
  /** Unsupported fields become errors (--strict). */
  strict: boolean;
  routeConfigs: Record<string, RouteConfigSnap>;
  /** Names of statically defined clusters (route targets are checked against them). */
  clusterNames: Set<string>;
  /** Clusters may also arrive over CDS, so unknown names are not suspicious. */
  dynamicClusters: boolean;
  /** Directory relative file names (direct_response bodies) resolve against: Envoy uses the cwd. */
  baseDir: string;
  /** RDS/EDS/SDS resources the translated config refers to; the xDS client subscribes to them. */
  xds: XdsRefs;
  /** The caller hashes the packed result itself: clusters leave `hash` empty (xDS translation). */
  callerHashes?: boolean;
}

export function newCtx(strict: boolean, baseDir = process.cwd()): Ctx {
  return { issues: new Issues(), strict, routeConfigs: {}, clusterNames: new Set(), dynamicClusters: false, baseDir, xds: { rds: [], eds: [], sds: [] } };
}

export { join };

export function obj(v: unknown): Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}

export function list(v: unknown): Obj[] {
  return Array.isArray(v) ? (v as Obj[]) : [];
}

export function strList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function str(v: unknown, def = ''): string {
  return typeof v === 'string' ? v : def;
}

export function num(v: unknown, def: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : def;
}

export function bool(v: unknown, def: boolean): boolean {
  return typeof v === 'boolean' ? v : def;
}

/** A normalized Duration ({seconds, nanos}) in ms; sub-millisecond non-zero rounds up, not to 0 (= disabled). */
export function durationMs(v: unknown, def: number): number {
  if (typeof v !== 'object' || v === null) return def;
  const d = v as { seconds?: number; nanos?: number };
  const ms = (d.seconds ?? 0) * 1000 + (d.nanos ?? 0) / 1e6;
  return ms > 0 ? Math.ceil(ms) : ms < 0 ? 0 : 0;
}

/** The message name in a normalized Any's type URL; '' when missing. */
export function anyType(v: unknown): string {
  const url = obj(v)['@type'];
  return typeof url === 'string' ? url.slice(url.lastIndexOf('/') + 1) : '';
}

/** The fields of a normalized Any without its '@type'. */
export function anyBody(v: unknown): Obj {
  const { '@type': _t, ...rest } = obj(v);
  return rest;
}

/**
 * Reports every set field of `o` that the caller does not handle. `rejected` fields cannot be
 * served correctly when ignored, so they are errors; all others are warnings (errors in strict
 * mode) and listed in `unsupported`.
 */
export function checkRest(ctx: Ctx, o: Obj, path: string, handled: readonly string[], rejected: Record<string, string> = {}): void {
  for (const k of Object.keys(o)) {
    if (k === '@type' || handled.includes(k)) continue;
    const p = join(path, k);
    const why = rejected[k];
    if (why !== undefined) ctx.issues.error(p, why);
    else unsupported(ctx, p);
  }
}

export function unsupported(ctx: Ctx, path: string, what = 'is not supported yet and is ignored'): void {
  if (ctx.strict) {
    ctx.issues.unsupported.push(path);
    ctx.issues.error(path, `${what.replace(/ and is ignored$/, '')} (--strict)`);
  } else {
    ctx.issues.unsupportedField(path, what);
  }
}

/**
 * Change-detection key for a translated object: a hash of it as msgpack (what workers receive;
 * Uint8Array bodies included). Translation builds objects in a fixed key order, so the same
 * input always gives the same key.
 */
export function stableHash(v: unknown): string {
  return hash('sha1', pack(v), 'hex');
}
