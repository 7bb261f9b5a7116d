// One compiled Envoy route: its match and its action, plus everything the router needs per
// request precomputed (merged header mutations, timeout list, redirect pieces, reply body).
import type {
  DirectResponseSnap,
  HashPolicySnap,
  HeaderMutationSnap,
  RedirectSnap,
  RouteActionSnap,
  RouteSnap,
} from '../../shared/snapshot.ts';
import { HeaderMatcher, QueryParamMatcher, headerValue, type MatchInput } from './header_matcher.ts';
import { HeaderMutation } from './header_mutation.ts';
import type { FormatContext } from './formatter.ts';
import { timerList, type TimerList } from '../timer_list.ts';

export class RouteEntry {
  readonly name: string;
  readonly action: RouteActionSnap | DirectResponseSnap | RedirectSnap;
  readonly requestMutation: HeaderMutation;
  readonly responseMutation: HeaderMutation;
  /** For route actions with a timeout; null when disabled. */
  readonly timeout: TimerList | null;
  readonly timeoutMs: number;
  /** x-envoy-expected-rq-timeout-ms, formatted once. */
  readonly timeoutHeaderValue: string;
  /** Direct-response body as latin1 (bytes preserved), '' when none. */
  readonly directBody: string;
  readonly typedPerFilterConfig: Record<string, unknown>;
  /** The configured prefix for prefix-style matches (prefix_rewrite replaces exactly this). */
  readonly matchPrefix: string | null;
  readonly regexRewrite: RegExp | null;
  readonly regexSubstitution: string;
  /** null when the route has no hash policy (the common case: no per-request hashing). */
  readonly hashPolicies: HashPolicySnap[] | null;
  readonly perTryTimeoutMs: number;
  readonly autoHostRewrite: boolean;
  /** Per-try timeout, else the route's own idle timeout (null: the connection manager's applies). */
  private readonly attemptTimer: TimerList | null;
  private readonly idleDisabled: boolean;
  /** Per weighted cluster: [request, response] header mutations, null when it has none. */
  private readonly weightedHeaders: ([HeaderMutation, HeaderMutation] | null)[];
  private readonly kind: RouteSnap['match']['kind'];
  private readonly value: string;
  private readonly caseSensitive: boolean;
  private readonly regex: RegExp | null;
  private readonly regexSource: string;
  private readonly headers: HeaderMatcher[];
  private readonly queryParams: QueryParamMatcher[];
  private readonly grpc: boolean;

  constructor(s: RouteSnap, vhostHeaders: HeaderMutationSnap, configHeaders: HeaderMutationSnap, mostSpecificWins: boolean) {
    this.name = s.name;
    this.action = s.action;
    const levels = [s.headers, vhostHeaders, configHeaders];
    this.requestMutation = HeaderMutation.merge(levels, 'request', mostSpecificWins);
    this.responseMutation = HeaderMutation.merge(levels, 'response', mostSpecificWins);
    this.timeoutMs = s.action.kind === 'route' ? s.action.timeoutMs : 0;
    this.timeout = this.timeoutMs > 0 ? timerList(this.timeoutMs) : null;
    this.timeoutHeaderValue = String(this.timeoutMs);
    this.directBody = s.action.kind === 'direct_response' && s.action.body !== null ? Buffer.from(s.action.body).toString('latin1') : '';
    this.typedPerFilterConfig = s.typedPerFilterConfig;
    this.kind = s.match.kind;
    this.caseSensitive = s.match.caseSensitive;
    this.value = this.caseSensitive ? s.match.value : s.match.value.toLowerCase();
    this.regex = s.match.kind === 'safe_regex' ? new RegExp(`^(?:${s.match.value})$`, this.caseSensitive ? '' : 'i') : null;
    this.regexSource = s.match.kind === 'safe_regex' ? s.match.value : '';
    this.headers = s.match.headers.map((h) => new HeaderMatcher(h));
    this.queryParams = s.match.queryParameters.map((q) => new QueryParamMatcher(q));
    this.grpc = s.match.grpc;
    const k = s.match.kind;
    this.matchPrefix = k === 'prefix' || k === 'path_separated_prefix' || k === 'path' ? s.match.value : null;
    const rr = s.action.kind === 'route' ? s.action.regexRewrite : null;
    this.regexRewrite = rr === null ? null : new RegExp(rr.pattern, 'g');
    this.regexSubstitution = rr === null ? '' : rr.substitution.replace(/\\(\d)/g, '$$$1');
    const a = s.action.kind === 'route' ? s.action : null;
    this.hashPolicies = a !== null && a.hashPolicy.length > 0 ? a.hashPolicy : null;
    this.perTryTimeoutMs = a?.retryPolicy?.perTryTimeoutMs ?? 0;
    this.autoHostRewrite = a?.autoHostRewrite ?? false;
    const idleMs = a?.idleTimeoutMs ?? -1;
    this.attemptTimer = this.perTryTimeoutMs > 0 ? timerList(this.perTryTimeoutMs) : idleMs > 0 ? timerList(idleMs) : null;
    this.idleDisabled = idleMs === 0;
    this.weightedHeaders = (a?.weightedClusters ?? []).map((w) =>
      w.headers === null ? null : [HeaderMutation.merge([w.headers], 'request', false), HeaderMutation.merge([w.headers], 'response', false)],
    );
  }

  /** The timer an upstream attempt arms: per-try, else route idle, else the connection manager's. */
  upstreamTimer(hcmIdle: TimerList | null): TimerList | null {
    if (this.attemptTimer !== null) return this.attemptTimer;
    return this.idleDisabled ? null : hcmIdle;
  }

  /** Weighted cluster i was picked: its request headers now, its response headers later. */
  applyWeightedClusterHeaders(stream: { head: { headers: string[] }; extraResponseMutation: HeaderMutation | null } & FormatContext, i: number): void {
    const m = this.weightedHeaders[i];
    if (m === null || m === undefined) return;
    m[0].apply(stream.head.headers, stream);
    stream.extraResponseMutation = m[1];
  }

  /**
   * The path condition when it is the route's only condition (what the route table can index),
   * else null. `value` is lower-cased for case-insensitive routes; for safe_regex it is the source.
   */
  get pathOnlyMatch(): { kind: RouteSnap['match']['kind']; value: string; caseSensitive: boolean } | null {
    if (this.kind === 'connect' || this.headers.length > 0 || this.queryParams.length > 0 || this.grpc) return null;
    return { kind: this.kind, value: this.kind === 'safe_regex' ? this.regexSource : this.value, caseSensitive: this.caseSensitive };
  }

  matches(input: MatchInput): boolean {
    if (!this.matchPath(input)) return false;
    for (let i = 0; i < this.headers.length; i++) if (!this.headers[i].matches(input)) return false;
    if (this.grpc && !isGrpc(input)) return false;
    if (this.queryParams.length > 0) return this.matchQuery(input.path);
    return true;
  }

  private matchPath(input: MatchInput): boolean {
    const method = input.head.method;
    if (this.kind === 'connect') return method === 'CONNECT';
    if (method === 'CONNECT') return false;
    const full = this.caseSensitive ? input.path : input.path.toLowerCase();
    switch (this.kind) {
      case 'prefix':
        return full.startsWith(this.value);
      case 'path':
        return pathOnly(full) === this.value;
      case 'path_separated_prefix': {
        const p = pathOnly(full);
        return p.startsWith(this.value) && (p.length === this.value.length || p.charCodeAt(this.value.length) === 47);
      }
      case 'safe_regex':
        return this.regex!.test(pathOnly(input.path));
    }
  }

  private matchQuery(path: string): boolean {
    const q = path.indexOf('?');
    const params = new URLSearchParams(q < 0 ? '' : path.slice(q + 1));
    for (const m of this.queryParams) if (!m.matches(params)) return false;
    return true;
  }
}

/** The path without query string or fragment. */
export function pathOnly(p: string): string {
  let q = p.indexOf('?');
  const f = p.indexOf('#');
  if (f >= 0 && (q < 0 || f < q)) q = f;
  return q < 0 ? p : p.slice(0, q);
}

function isGrpc(input: MatchInput): boolean {
  const ct = headerValue(input, 'content-type');
  return ct !== null && ct.startsWith('application/grpc');
}
