// Envoy's HeaderMatcher and QueryParameterMatcher, compiled once per config.
import type { HeaderMatcherSnap, QueryParamMatcherSnap } from '../../shared/snapshot.ts';
import type { RequestHead } from '../http/http1/parser.ts';
import { compileStringMatch, type StringPredicate } from './string_matcher.ts';

/** What route matching reads of a request: the parsed head plus derived pseudo headers. */
export interface MatchInput {
  head: RequestHead;
  authority: string;
  path: string;
  scheme: string;
}

export class HeaderMatcher {
  private readonly name: string;
  private readonly pred: StringPredicate | null;
  private readonly present: boolean | null;
  private readonly range: { start: number; end: number } | null;
  private readonly invert: boolean;
  private readonly missingAsEmpty: boolean;

  constructor(s: HeaderMatcherSnap) {
    this.name = s.name;
    this.pred = s.match === null ? null : compileStringMatch(s.match);
    this.present = s.present;
    this.range = s.range;
    this.invert = s.invert;
    this.missingAsEmpty = s.treatMissingAsEmpty;
  }

  matches(input: MatchInput): boolean {
    return this.evaluate(headerValue(input, this.name));
  }

  /** Against a plain header list (response headers for retriable_headers). */
  matchesHeaders(h: string[]): boolean {
    return this.evaluate(this.name.charCodeAt(0) === 58 ? null : joinedValue(h, this.name));
  }

  private evaluate(v: string | null): boolean {
    if (v === null && this.missingAsEmpty) v = '';
    return this.test(v) !== this.invert;
  }

  private test(v: string | null): boolean {
    if (this.present !== null) return (v !== null) === this.present;
    if (v === null) return false;
    if (this.pred !== null) return this.pred(v);
    if (this.range !== null) {
      if (!/^-?\d+$/.test(v)) return false;
      const n = Number(v);
      return n >= this.range.start && n < this.range.end;
    }
    return true;
  }
}

/** A header's value; repeated headers are joined with ',' as Envoy does for matching. */
export function headerValue(input: MatchInput, name: string): string | null {
  if (name.charCodeAt(0) === 58 /* : */) return pseudoHeader(input, name);
  return joinedValue(input.head.headers, name);
}

function joinedValue(h: string[], name: string): string | null {
  let out: string | null = null;
  for (let i = 0; i < h.length; i += 2) {
    if (h[i] === name) out = out === null ? h[i + 1] : out + ',' + h[i + 1];
  }
  return out;
}

function pseudoHeader(input: MatchInput, name: string): string | null {
  switch (name) {
    case ':method':
      return input.head.method;
    case ':path':
      return input.path;
    case ':authority':
      return input.authority;
    case ':scheme':
      return input.scheme;
    default:
      return null;
  }
}

export class QueryParamMatcher {
  private readonly name: string;
  private readonly pred: StringPredicate | null;
  private readonly present: boolean | null;

  constructor(s: QueryParamMatcherSnap) {
    this.name = s.name;
    this.pred = s.match === null ? null : compileStringMatch(s.match);
    this.present = s.present;
  }

  matches(query: URLSearchParams): boolean {
    const v = query.get(this.name);
    if (this.present !== null) return (v !== null) === this.present;
    if (v === null) return false;
    return this.pred === null ? true : this.pred(v);
  }
}
