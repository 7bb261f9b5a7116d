// Envoy-style tag extraction: turns `cluster.backend.upstream_rq_200` into the tag-extracted name
// `cluster.upstream_rq` plus tags [envoy.response_code=200, envoy.cluster_name=backend]. Every
// rule looks at the full original name; the parts the matching rules claim are cut out at the
// end. Results are cached per name because the same names come back on every scrape.
import type { StatsTagsConfig } from './context.ts';
import { DEFAULT_TAG_RULES, type TagRule } from './default_tags.ts';

export interface Tag {
  name: string;
  value: string;
}

export interface ExtractedName {
  /** The name with the tag parts removed. */
  name: string;
  tags: Tag[];
}

interface Match {
  value: string;
  start: number;
  end: number;
}

interface Extractor {
  readonly name: string;
  /** First dotted token a name needs for this extractor to apply; '' applies to all names. */
  readonly prefix: string;
  match(stat: string, tokens: string[]): Match | null;
}

const CACHE_LIMIT = 100_000;

export class TagExtractor {
  private readonly unprefixed: Extractor[] = [];
  private readonly byPrefix = new Map<string, Extractor[]>();
  private readonly duplicated = new Set<string>();
  private readonly cache = new Map<string, ExtractedName>();

  constructor(config: StatsTagsConfig = {}) {
    if (config.useAllDefaultTags !== false) for (const r of DEFAULT_TAG_RULES) this.add(fromRule(r));
    for (const t of config.statsTags ?? []) this.addCustom(t);
  }

  extract(stat: string): ExtractedName {
    let out = this.cache.get(stat);
    if (out === undefined) {
      // Names are bounded by config, but cluster churn could still grow the cache forever.
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      out = this.compute(stat);
      this.cache.set(stat, out);
    }
    return out;
  }

  private compute(stat: string): ExtractedName {
    const tokens = stat.split('.');
    const tags: Tag[] = [];
    const cuts: [number, number][] = [];
    const seen = new Set<string>();
    const apply = (x: Extractor): void => {
      // Only the first matching rule of a tag name counts (HCM prefix has two rules).
      if (this.duplicated.has(x.name) && seen.has(x.name)) return;
      const m = x.match(stat, tokens);
      if (m === null) return;
      tags.push({ name: x.name, value: m.value });
      if (m.end > m.start) cuts.push([m.start, m.end]);
      seen.add(x.name);
    };
    for (const x of this.unprefixed) apply(x);
    for (const x of this.byPrefix.get(tokens[0]) ?? []) apply(x);
    return { name: removeRanges(stat, cuts), tags };
  }

  private add(x: Extractor): void {
    if (this.hasName(x.name)) this.duplicated.add(x.name);
    if (x.prefix === '') this.unprefixed.push(x);
    else {
      let list = this.byPrefix.get(x.prefix);
      if (list === undefined) this.byPrefix.set(x.prefix, (list = []));
      list.push(x);
    }
  }

  private hasName(name: string): boolean {
    if (this.unprefixed.some((x) => x.name === name)) return true;
    for (const list of this.byPrefix.values()) if (list.some((x) => x.name === name)) return true;
    return false;
  }

  private addCustom(t: { tagName: string; regex?: string; fixedValue?: string }): void {
    if (t.tagName === '') throw new Error('stats_tags: tag_name cannot be empty');
    if (t.fixedValue !== undefined) return this.add(fixed(t.tagName, t.fixedValue));
    if (t.regex !== undefined && t.regex !== '') return this.add(fromRule({ name: t.tagName, regex: posixClasses(t.regex) }));
    // No regex: pull in Envoy's default rules of that name (useful with useAllDefaultTags=false).
    const defaults = DEFAULT_TAG_RULES.filter((r) => r.name === t.tagName);
    if (defaults.length === 0) throw new Error(`stats_tags: no regex and no default rule for tag '${t.tagName}'`);
    for (const r of defaults) this.add(fromRule(r));
  }
}

function fromRule(r: TagRule): Extractor {
  if (r.tokens !== undefined) return tokenExtractor(r.name, r.tokens);
  return regexExtractor(r);
}

function regexExtractor(r: TagRule): Extractor {
  let re: RegExp;
  try {
    re = new RegExp(r.regex ?? '', 'd');
  } catch (e) {
    throw new Error(`stats_tags: invalid regex for tag '${r.name}': ${(e as Error).message}`);
  }
  return {
    name: r.name,
    prefix: regexPrefix(r.regex ?? ''),
    match(stat) {
      if (r.substr !== undefined && !stat.includes(r.substr)) return null;
      const m = re.exec(stat);
      if (m === null || m.indices === undefined || m[1] === undefined || m[1] === '') return null;
      const value = m[2] !== undefined && m[2] !== '' ? m[2] : m[1];
      if (r.negative !== undefined && value === r.negative) return null;
      const [start, end] = m.indices[1] as [number, number];
      return { value, start, end };
    },
  };
}

/** The literal first token of an anchored regex (`^cluster\.` -> cluster), else ''. */
export function regexPrefix(src: string): string {
  const m = /^\^([A-Za-z0-9_]+)(\\\.|\(\?=\\\.\)|\$$)/.exec(src);
  return m === null ? '' : m[1];
}

function tokenExtractor(name: string, pattern: string): Extractor {
  const pat = pattern.split('.');
  const first = pat[0];
  return {
    name,
    prefix: first === '$' || first === '*' || first === '**' ? '' : first,
    match(_stat, tokens) {
      const at = matchTokens(pat, 0, tokens, 0);
      if (at < 0) return null;
      let start = 0;
      for (let i = 0; i < at; i++) start += tokens[i].length + 1;
      let end = start + tokens[at].length;
      // Take the dot after the value, or the one before it when the value is the last token.
      if (at < tokens.length - 1) end++;
      else if (start > 0) start--;
      return { value: tokens[at], start, end };
    },
  };
}

/** Index of the token that `$` matched, or -1. `**` at the end needs at least one token. */
function matchTokens(pat: string[], p: number, input: string[], i: number): number {
  for (; p < pat.length; p++, i++) {
    const want = pat[p];
    if (want === '**') {
      if (p === pat.length - 1) return i < input.length ? -2 : -1;
      for (let j = i; j <= input.length; j++) {
        const r = matchTokens(pat, p + 1, input, j);
        if (r !== -1) return r;
      }
      return -1;
    }
    if (i >= input.length) return -1;
    if (want === '$') {
      const rest = matchTokens(pat, p + 1, input, i + 1);
      return rest === -1 ? -1 : i;
    }
    if (want !== '*' && want !== input[i]) return -1;
  }
  return i === input.length ? -2 : -1;
}

function fixed(name: string, value: string): Extractor {
  return { name, prefix: '', match: () => ({ value, start: 0, end: 0 }) };
}

// Envoy's custom tag regexes use C++ std::regex, whose bracket expressions accept POSIX classes
// that JS lacks; Istio's bootstrap relies on `[_.[:digit:]]`.
const POSIX: Record<string, string> = {
  digit: '0-9',
  alpha: 'A-Za-z',
  alnum: 'A-Za-z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  xdigit: '0-9A-Fa-f',
  space: String.raw`\s`,
  word: String.raw`\w`,
};

export function posixClasses(src: string): string {
  return src.replace(/\[:([a-z]+):\]/g, (all, cls: string) => POSIX[cls] ?? all);
}

function removeRanges(s: string, cuts: [number, number][]): string {
  if (cuts.length === 0) return s;
  cuts.sort((a, b) => a[0] - b[0]);
  let out = '';
  let pos = 0;
  for (const [start, end] of cuts) {
    if (start > pos) out += s.slice(pos, start);
    pos = Math.max(pos, end);
  }
  return out + s.slice(pos);
}
