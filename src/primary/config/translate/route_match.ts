// RouteMatch and the matchers inside it (headers, query parameters, string matchers).
import type { HeaderMatcherSnap, QueryParamMatcherSnap, RouteMatchSnap, StringMatchSnap } from '../../../shared/snapshot.ts';
import { bool, checkRest, join, list, obj, str, type Ctx, type Obj } from './context.ts';
import { re2ToJs } from './regex.ts';

const MATCH_HANDLED = ['prefix', 'path', 'safe_regex', 'path_separated_prefix', 'connect_matcher', 'case_sensitive', 'headers', 'query_parameters', 'grpc'];
const MATCH_REJECTED = {
  path_match_policy: 'path_match_policy (URI templates) is not supported',
  dynamic_metadata: 'dynamic_metadata matching is not supported; the route would match too broadly',
  filter_state: 'filter_state matching is not supported; the route would match too broadly',
};

export function routeMatch(m: Obj, path: string, ctx: Ctx): RouteMatchSnap {
  checkRest(ctx, m, path, MATCH_HANDLED, MATCH_REJECTED);
  const base = {
    caseSensitive: bool(m.case_sensitive, true),
    headers: list(m.headers).map((h, i) => headerMatcher(h, join(join(path, 'headers'), i), ctx)),
    queryParameters: list(m.query_parameters).map((q, i) => queryMatcher(q, join(join(path, 'query_parameters'), i), ctx)),
    grpc: m.grpc !== undefined,
  };
  if (m.path !== undefined) return { ...base, kind: 'path', value: str(m.path) };
  if (m.safe_regex !== undefined) return { ...base, kind: 'safe_regex', value: regex(m.safe_regex, join(path, 'safe_regex'), ctx) };
  if (m.path_separated_prefix !== undefined) return { ...base, kind: 'path_separated_prefix', value: separatedPrefix(m, path, ctx) };
  if (m.connect_matcher !== undefined) return { ...base, kind: 'connect', value: '' };
  return { ...base, kind: 'prefix', value: str(m.prefix) };
}

function separatedPrefix(m: Obj, path: string, ctx: Ctx): string {
  const v = str(m.path_separated_prefix);
  // Envoy: no query/fragment characters and no trailing slash (the slash is implied).
  if (!/^[^?#]+[^?#/]$/.test(v)) ctx.issues.error(join(path, 'path_separated_prefix'), `"${v}" must not contain ? or # and must not end with /`);
  return v;
}

/** A RegexMatcher ({regex}) translated to JS source; '' (matching nothing useful) after an error. */
export function regex(rm: unknown, path: string, ctx: Ctx): string {
  const src = str(obj(rm).regex);
  const t = re2ToJs(src);
  if (t.error !== null) {
    ctx.issues.error(join(path, 'regex'), `${t.error} (in ${JSON.stringify(src)})`);
    return '(?!)';
  }
  if (t.warning !== null) ctx.issues.warn(join(path, 'regex'), t.warning);
  return t.source;
}

export function stringMatcher(s: Obj, path: string, ctx: Ctx): StringMatchSnap | null {
  checkRest(ctx, s, path, ['exact', 'prefix', 'suffix', 'contains', 'safe_regex', 'ignore_case'], {
    custom: 'custom string matchers are not supported',
  });
  const ignoreCase = bool(s.ignore_case, false);
  if (s.safe_regex !== undefined) return { kind: 'safe_regex', value: regex(s.safe_regex, join(path, 'safe_regex'), ctx), ignoreCase: false };
  for (const kind of ['exact', 'prefix', 'suffix', 'contains'] as const) {
    if (s[kind] !== undefined) return { kind, value: str(s[kind]), ignoreCase };
  }
  if (s.custom !== undefined) return null;
  return { kind: 'exact', value: '', ignoreCase }; // an empty StringMatcher matches the empty string
}

export function headerMatcher(h: Obj, path: string, ctx: Ctx): HeaderMatcherSnap {
  const out: HeaderMatcherSnap = {
    name: str(h.name).toLowerCase(),
    match: null,
    present: null,
    range: null,
    invert: bool(h.invert_match, false),
    treatMissingAsEmpty: bool(h.treat_missing_header_as_empty, false),
  };
  const legacy = legacyHeaderMatch(h, path, ctx);
  if (legacy !== null) out.match = legacy;
  else if (h.string_match !== undefined) out.match = stringMatcher(obj(h.string_match), join(path, 'string_match'), ctx);
  else if (h.range_match !== undefined) out.range = { start: Number(obj(h.range_match).start ?? 0), end: Number(obj(h.range_match).end ?? 0) };
  else if (h.present_match !== undefined) out.present = h.present_match === true;
  else out.present = true; // no specifier: Envoy matches on presence
  return out;
}

function legacyHeaderMatch(h: Obj, path: string, ctx: Ctx): StringMatchSnap | null {
  if (h.exact_match !== undefined) return { kind: 'exact', value: str(h.exact_match), ignoreCase: false };
  if (h.prefix_match !== undefined) return { kind: 'prefix', value: str(h.prefix_match), ignoreCase: false };
  if (h.suffix_match !== undefined) return { kind: 'suffix', value: str(h.suffix_match), ignoreCase: false };
  if (h.contains_match !== undefined) return { kind: 'contains', value: str(h.contains_match), ignoreCase: false };
  if (h.safe_regex_match !== undefined) return { kind: 'safe_regex', value: regex(h.safe_regex_match, join(path, 'safe_regex_match'), ctx), ignoreCase: false };
  return null;
}

function queryMatcher(q: Obj, path: string, ctx: Ctx): QueryParamMatcherSnap {
  const name = str(q.name);
  if (q.string_match !== undefined) return { name, match: stringMatcher(obj(q.string_match), join(path, 'string_match'), ctx), present: null };
  // Neither specifier: the parameter only has to be present.
  return { name, match: null, present: q.present_match === undefined ? true : q.present_match === true };
}
