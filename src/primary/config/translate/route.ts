// RouteConfiguration → RouteConfigSnap: virtual hosts, routes and header mutations.
import type { RouteConfigSnap, RouteSnap, VirtualHostSnap } from '../../../shared/snapshot.ts';
import { bool, checkRest, join, list, num, obj, str, strList, type Ctx, type Obj } from './context.ts';
import { HEADER_FIELDS, headerMutation, typedPerFilterConfig } from './headers.ts';
import { routeMatch } from './route_match.ts';
import { DEFAULT_MAX_DIRECT_BODY, directResponse, redirect, routeAction, routeTargets } from './route_action.ts';

const CONFIG_HANDLED = ['name', 'virtual_hosts', 'internal_only_headers', 'most_specific_header_mutations_wins', 'validate_clusters', 'max_direct_response_body_size_bytes', ...HEADER_FIELDS];
const CONFIG_REJECTED = { vhds: 'VHDS (on-demand virtual hosts) is not supported', cluster_specifier_plugins: 'cluster specifier plugins are not supported' };

/** `inline` marks a route config embedded in an HCM: Envoy validates its clusters by default. */
export function routeConfig(rc: Obj, path: string, ctx: Ctx, inline: boolean): RouteConfigSnap {
  checkRest(ctx, rc, path, CONFIG_HANDLED, CONFIG_REJECTED);
  const maxBody = num(rc.max_direct_response_body_size_bytes, DEFAULT_MAX_DIRECT_BODY);
  const validate = bool(rc.validate_clusters, inline);
  const virtualHosts = list(rc.virtual_hosts).map((v, i) => virtualHost(v, join(join(path, 'virtual_hosts'), i), ctx, maxBody, validate));
  checkUniqueDomains(virtualHosts, path, str(rc.name), ctx);
  return {
    name: str(rc.name),
    virtualHosts,
    headers: headerMutation(rc, path, ctx),
    mostSpecificHeaderMutationsWins: bool(rc.most_specific_header_mutations_wins, false),
    internalOnlyHeaders: strList(rc.internal_only_headers).map((h) => h.toLowerCase()),
  };
}

/** Envoy rejects a route config in which two virtual hosts claim the same domain. */
function checkUniqueDomains(vhosts: VirtualHostSnap[], path: string, name: string, ctx: Ctx): void {
  const owner = new Map<string, number>();
  vhosts.forEach((vh, i) => {
    vh.domains.forEach((d, j) => {
      const prev = owner.get(d);
      if (prev === undefined) owner.set(d, i);
      else ctx.issues.error(join(join(join(join(path, 'virtual_hosts'), i), 'domains'), j), `duplicate domain "${d}" (also in virtual_hosts[${prev}]) in route config "${name}"; domains must be unique`);
    });
  });
}

const VHOST_HANDLED = ['name', 'domains', 'routes', 'require_tls', 'typed_per_filter_config', ...HEADER_FIELDS];
const VHOST_REJECTED = { matcher: 'the generic matcher tree for routes is not supported' };
const REQUIRE_TLS: Record<string, VirtualHostSnap['requireTls']> = { NONE: 'none', EXTERNAL_ONLY: 'external_only', ALL: 'all' };

function virtualHost(v: Obj, path: string, ctx: Ctx, maxBody: number, validate: boolean): VirtualHostSnap {
  checkRest(ctx, v, path, VHOST_HANDLED, VHOST_REJECTED);
  return {
    name: str(v.name),
    domains: strList(v.domains).map((d) => d.toLowerCase()),
    routes: list(v.routes).map((r, i) => route(r, join(join(path, 'routes'), i), ctx, maxBody, validate)),
    headers: headerMutation(v, path, ctx),
    requireTls: REQUIRE_TLS[str(v.require_tls, 'NONE')] ?? 'none',
    typedPerFilterConfig: typedPerFilterConfig(v.typed_per_filter_config),
  };
}

const ROUTE_HANDLED = ['name', 'match', 'route', 'redirect', 'direct_response', 'typed_per_filter_config', ...HEADER_FIELDS];
const ROUTE_REJECTED = {
  filter_action: 'filter_action routes are not supported',
  non_forwarding_action: 'non_forwarding_action routes are not supported',
};

function route(r: Obj, path: string, ctx: Ctx, maxBody: number, validate: boolean): RouteSnap {
  checkRest(ctx, r, path, ROUTE_HANDLED, ROUTE_REJECTED);
  return {
    name: str(r.name),
    match: routeMatch(obj(r.match), join(path, 'match'), ctx),
    action: action(r, path, ctx, maxBody, validate),
    headers: headerMutation(r, path, ctx),
    typedPerFilterConfig: typedPerFilterConfig(r.typed_per_filter_config),
  };
}

function action(r: Obj, path: string, ctx: Ctx, maxBody: number, validate: boolean): RouteSnap['action'] {
  if (r.redirect !== undefined) return redirect(obj(r.redirect), join(path, 'redirect'), ctx);
  if (r.direct_response !== undefined) return directResponse(obj(r.direct_response), join(path, 'direct_response'), ctx, maxBody);
  if (r.route === undefined && r.filter_action === undefined && r.non_forwarding_action === undefined) {
    ctx.issues.error(path, 'a route needs one of route, redirect or direct_response');
  }
  const a = routeAction(obj(r.route), join(path, 'route'), ctx);
  checkTargets(routeTargets(a), join(path, 'route'), ctx, validate);
  return a;
}

/**
 * An unknown cluster makes Envoy reply 503 (NC) at run time, but with validate_clusters (the
 * default for inline route configs) Envoy refuses the config. Clusters can also come from CDS,
 * so this is a warning, and an error only in strict mode.
 */
function checkTargets(names: string[], path: string, ctx: Ctx, validate: boolean): void {
  if (ctx.dynamicClusters) return;
  for (const n of names) {
    if (n === '' || ctx.clusterNames.has(n)) continue;
    const msg = `unknown cluster "${n}"${validate ? ' (Envoy rejects this unless validate_clusters is false)' : ''}; requests will get 503`;
    if (ctx.strict && validate) ctx.issues.error(path, msg);
    else ctx.issues.warn(path, msg);
  }
}
