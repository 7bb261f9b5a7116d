// What the connection manager and router do to a request's headers before it goes upstream:
// target resolution, x-forwarded-*, x-request-id, route rewrites and header mutations, and the
// Location of redirects. Envoy's rules, applied once per request.
import { randomUUID } from 'node:crypto';
import type { RedirectSnap, RouteActionSnap } from '../../shared/snapshot.ts';
import type { ActiveStream } from './active_stream.ts';
import type { RouteEntry } from '../router/route_entry.ts';
import { getHeader, indexOfHeader, setHeader } from '../router/header_mutation.ts';

/** Resolves :authority and :path and adds the connection manager's headers; false → 400. */
export function prepareRequest(s: ActiveStream): boolean {
  const head = s.head;
  const t = head.target;
  if (t.charCodeAt(0) === 47 /* / */) {
    s.path = t;
    s.authority = head.host;
  } else if (!resolveOtherForm(s, t)) {
    return false;
  }
  if (s.authority === '' && head.minor === 1) return false;
  s.upstreamAuthority = s.authority;
  s.upstreamPath = s.path;
  addConnectionManagerHeaders(s);
  return true;
}

function resolveOtherForm(s: ActiveStream, t: string): boolean {
  if (t === '*') {
    s.path = '*';
    s.authority = s.head.host;
    return s.head.method === 'OPTIONS';
  }
  const m = /^(https?):\/\/([^/?#]+)(.*)$/i.exec(t);
  if (m !== null) {
    s.scheme = m[1].toLowerCase();
    s.authority = m[2];
    s.path = m[3] === '' ? '/' : m[3];
    return s.path.charCodeAt(0) === 47;
  }
  if (s.head.method === 'CONNECT') {
    s.authority = t;
    s.path = '';
    return true;
  }
  return false;
}

function addConnectionManagerHeaders(s: ActiveStream): void {
  const hcm = s.hcm;
  const h = s.head.headers;
  const edge = hcm.useRemoteAddress;
  if (edge && !hcm.skipXffAppend) {
    const xff = getHeader(h, 'x-forwarded-for');
    setHeader(h, 'x-forwarded-for', xff === null ? s.remoteAddress : xff + ',' + s.remoteAddress);
  }
  if (edge || indexOfHeader(h, 'x-forwarded-proto') < 0) setHeader(h, 'x-forwarded-proto', s.scheme);
  if (hcm.generateRequestId) {
    const i = indexOfHeader(h, 'x-request-id');
    if (i < 0) h.push('x-request-id', randomUUID());
    else if (edge && !hcm.preserveExternalRequestId) h[i + 1] = randomUUID();
  }
}

/** Route-level rewrites and header mutations for a request going to a cluster. */
export function applyRouteAction(s: ActiveStream, route: RouteEntry, a: RouteActionSnap): void {
  if (a.prefixRewrite !== null && route.matchPrefix !== null) {
    s.upstreamPath = a.prefixRewrite + s.path.slice(route.matchPrefix.length);
  } else if (route.regexRewrite !== null) {
    const q = s.path.indexOf('?');
    const p = q < 0 ? s.path : s.path.slice(0, q);
    s.upstreamPath = p.replace(route.regexRewrite, route.regexSubstitution) + (q < 0 ? '' : s.path.slice(q));
  }
  if (a.hostRewriteLiteral !== null) s.upstreamAuthority = a.hostRewriteLiteral;
  else if (a.hostRewriteHeader !== null) {
    const v = getHeader(s.head.headers, a.hostRewriteHeader);
    if (v !== null && v !== '') s.upstreamAuthority = v;
  }
  const rm = route.requestMutation;
  if (!rm.empty) rm.apply(s.head.headers, s);
  if (route.timeoutMs > 0) setHeader(s.head.headers, 'x-envoy-expected-rq-timeout-ms', route.timeoutHeaderValue);
}

/** The Location of a redirect route, from the request URL and the redirect's replacements. */
export function redirectLocation(s: ActiveStream, r: RedirectSnap): string {
  const scheme = r.schemeRedirect ?? s.scheme;
  let [host, port] = splitHostPort(s.authority);
  if (r.hostRedirect !== null) [host, port] = splitHostPort(r.hostRedirect);
  if (r.portRedirect > 0) port = String(r.portRedirect);
  else if (scheme !== s.scheme && (port === '80' || port === '443')) port = '';
  const q = s.path.indexOf('?');
  const origPath = q < 0 ? s.path : s.path.slice(0, q);
  const query = q < 0 || r.stripQuery ? '' : s.path.slice(q);
  let path = origPath + query;
  if (r.pathRedirect !== null) path = r.pathRedirect.includes('?') ? r.pathRedirect : r.pathRedirect + query;
  else if (r.prefixRewrite !== null && s.route !== null && s.route.matchPrefix !== null) {
    path = r.prefixRewrite + origPath.slice(s.route.matchPrefix.length) + query;
  }
  return `${scheme}://${host}${port === '' ? '' : ':' + port}${path}`;
}

function splitHostPort(a: string): [string, string] {
  const close = a.lastIndexOf(']');
  const colon = a.lastIndexOf(':');
  if (colon > close && colon >= 0) return [a.slice(0, colon), a.slice(colon + 1)];
  return [a, ''];
}

/**
 * Whether an upgrade (WebSocket, …) may pass: the route's upgrade_configs decide when they name
 * the type, else the connection manager's. Envoy answers a refused upgrade with 403.
 */
export function upgradeAllowed(s: ActiveStream, a: RouteActionSnap): boolean {
  const type = s.head.upgrade.toLowerCase();
  for (const u of a.upgradeConfigs) if (u.upgradeType === type) return u.enabled;
  return s.hcm.upgradeTypes.includes(type);
}
