// The HCM's http_filters list, resolved through the HTTP filter registry. A filter we do not
// implement would change request handling if silently skipped, so it is an error unless the
// config marks it is_optional (Envoy's own rule for unknown filters).
import type { HttpFilterSnap } from '../../../shared/snapshot.ts';
import { anyBody, anyType, bool, checkRest, join, list, str, type Ctx, type Obj } from './context.ts';
import { LEGACY_NAMES, ROUTER_TYPE, httpFilters, registerHttpFilter } from './registry.ts';

const FILTER_HANDLED = ['name', 'typed_config', 'is_optional', 'disabled'];
const FILTER_REJECTED = { config_discovery: 'filter config discovery (ECDS) is not supported' };

export function httpFilterList(v: unknown, path: string, ctx: Ctx): HttpFilterSnap[] {
  const given = list(v);
  // Envoy adds a router when http_filters is empty.
  if (given.length === 0) return [routerSnap()];
  const out: HttpFilterSnap[] = [];
  const at: string[] = [];
  given.forEach((f, i) => {
    const snap = httpFilter(f, join(path, i), ctx);
    if (snap === null) return;
    out.push(snap);
    at.push(join(path, i));
  });
  checkTerminal(out, at, path, ctx);
  return out;
}

function httpFilter(f: Obj, path: string, ctx: Ctx): HttpFilterSnap | null {
  checkRest(ctx, f, path, FILTER_HANDLED, FILTER_REJECTED);
  const name = str(f.name);
  const typeName = f.typed_config !== undefined ? anyType(f.typed_config) : (LEGACY_NAMES[name] ?? '');
  const isOptional = bool(f.is_optional, false);
  const t = httpFilters.get(typeName);
  if (t === undefined) {
    const what = `HTTP filter "${name}"${typeName !== '' ? ` (${typeName})` : ''} is not supported`;
    if (isOptional) ctx.issues.warn(path, `${what}; dropped because is_optional is set`);
    else ctx.issues.error(path, `${what} (mark it is_optional: true to run without it)`);
    return null;
  }
  if (f.typed_config === undefined) ctx.issues.warn(path, `no typed_config; "${name}" resolved by its legacy name`);
  const config = t.translate(anyBody(f.typed_config), join(path, 'typed_config'), ctx);
  return { name, typeName, isOptional, disabled: bool(f.disabled, false), config };
}

/** The router must be the last filter, and only the last one may be terminal. */
function checkTerminal(out: HttpFilterSnap[], at: string[], path: string, ctx: Ctx): void {
  out.forEach((f, i) => {
    const terminal = httpFilters.get(f.typeName)?.terminal === true;
    const last = i === out.length - 1;
    if (terminal && !last) ctx.issues.error(at[i], `terminal filter "${f.name}" must be the last HTTP filter`);
    if (!terminal && last) ctx.issues.error(at[i], `the last HTTP filter must be terminal (a router), but "${f.name}" is not`);
  });
  if (out.length === 0) ctx.issues.error(path, 'no usable HTTP filters: a router is required');
}

function routerSnap(): HttpFilterSnap {
  return { name: 'envoy.filters.http.router', typeName: ROUTER_TYPE, isOptional: false, disabled: false, config: routerConfig({}) };
}

export interface RouterConfig {
  suppressEnvoyHeaders: boolean;
  dynamicStats: boolean;
  respectExpectedRqTimeout: boolean;
  strictCheckHeaders: string[];
}

function routerConfig(c: Obj): RouterConfig {
  return {
    suppressEnvoyHeaders: bool(c.suppress_envoy_headers, false),
    dynamicStats: bool(c.dynamic_stats, true),
    respectExpectedRqTimeout: bool(c.respect_expected_rq_timeout, false),
    strictCheckHeaders: Array.isArray(c.strict_check_headers) ? (c.strict_check_headers as string[]) : [],
  };
}

registerHttpFilter(ROUTER_TYPE, {
  terminal: true,
  translate(c, path, ctx) {
    checkRest(ctx, c, path, ['suppress_envoy_headers', 'dynamic_stats', 'respect_expected_rq_timeout', 'strict_check_headers']);
    return routerConfig(c);
  },
});
