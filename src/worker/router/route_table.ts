// The routes of one virtual host, indexed so that finding the first match (Envoy's rule) does
// not scan every route: exact paths in a map, prefixes in a trie, regexes in one alternation that
// the regex engine tries in route order. Routes with more than a path condition (headers, query,
// gRPC, CONNECT, case-insensitive regex) are scanned in order, but only those before the best
// indexed candidate. Small tables are scanned linearly: an index does not pay below a few routes.
import type { MatchInput } from './header_matcher.ts';
import { pathOnly, type RouteEntry } from './route_entry.ts';

const LINEAR_MAX = 8;

class TrieNode {
  next: Map<number, TrieNode> | null = null;
  /** Smallest index of a prefix route ending here. */
  prefix = Infinity;
  /** Smallest index of a path_separated_prefix route ending here. */
  separated = Infinity;
}

class PrefixTrie {
  readonly root = new TrieNode();

  add(value: string, index: number, separated: boolean): void {
    let n = this.root;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      n.next ??= new Map();
      let child = n.next.get(c);
      if (child === undefined) n.next.set(c, (child = new TrieNode()));
      n = child;
    }
    if (separated) n.separated = Math.min(n.separated, index);
    else n.prefix = Math.min(n.prefix, index);
  }

  /** The smallest route index whose prefix matches `full` (separated ones against `path`). */
  best(full: string, path: string): number {
    let best = Infinity;
    let n: TrieNode | undefined = this.root;
    for (let i = 0; ; i++) {
      if (n.prefix < best) best = n.prefix;
      if (n.separated < best && i <= path.length && (i === path.length || path.charCodeAt(i) === 47)) best = n.separated;
      if (i === full.length || n.next === null) return best;
      n = n.next.get(full.charCodeAt(i));
      if (n === undefined) return best;
    }
  }
}

/** Path-only lookups for one case sensitivity. */
class PathIndex {
  readonly exact = new Map<string, number>();
  readonly trie = new PrefixTrie();
  used = false;

  best(full: string, path: string): number {
    const e = this.exact.get(path);
    const t = this.trie.best(full, path);
    return e === undefined || t < e ? t : e;
  }
}

export class RouteTable {
  private readonly routes: RouteEntry[];
  private readonly linear: boolean;
  private readonly cs = new PathIndex();
  private readonly ci = new PathIndex();
  private regex: RegExp | null = null;
  /** Route index of each regex alternative, by its group name `r<i>`. */
  private regexGroups: string[] = [];
  /** Indices of routes that need their full match run, ascending. */
  private readonly others: number[] = [];

  constructor(routes: RouteEntry[]) {
    this.routes = routes;
    this.linear = routes.length <= LINEAR_MAX;
    if (!this.linear) this.build();
  }

  private build(): void {
    const regexes: string[] = [];
    this.routes.forEach((r, i) => {
      const m = r.pathOnlyMatch;
      if (m === null) return void this.others.push(i);
      const idx = m.caseSensitive ? this.cs : this.ci;
      if (m.kind === 'path') idx.exact.has(m.value) || idx.exact.set(m.value, i);
      else if (m.kind === 'prefix') idx.trie.add(m.value, i, false);
      else if (m.kind === 'path_separated_prefix') idx.trie.add(m.value, i, true);
      else if (m.caseSensitive) {
        regexes.push(`(?<r${i}>${m.value})`);
        this.regexGroups.push(`r${i}`);
      } else return void this.others.push(i);
      idx.used = true;
    });
    if (regexes.length > 0) this.regex = compileAlternation(regexes);
    if (regexes.length > 0 && this.regex === null) this.regexFallback();
  }

  /** A pattern set the combined regex cannot hold (e.g. clashing named groups): scan those routes. */
  private regexFallback(): void {
    for (const g of this.regexGroups) this.others.push(Number(g.slice(1)));
    this.others.sort((a, b) => a - b);
    this.regexGroups = [];
  }

  match(input: MatchInput): RouteEntry | null {
    const rs = this.routes;
    if (this.linear || input.head.method === 'CONNECT') {
      for (let i = 0; i < rs.length; i++) if (rs[i].matches(input)) return rs[i];
      return null;
    }
    const best = this.bestIndexed(input.path);
    const others = this.others;
    for (let k = 0; k < others.length && others[k] < best; k++) if (rs[others[k]].matches(input)) return rs[others[k]];
    return best === Infinity ? null : rs[best];
  }

  private bestIndexed(full: string): number {
    const path = pathOnly(full);
    let best = this.cs.used ? this.cs.best(full, path) : Infinity;
    if (this.ci.used) best = Math.min(best, this.ci.best(full.toLowerCase(), path.toLowerCase()));
    if (this.regex !== null) best = Math.min(best, this.regexBest(path));
    return best;
  }

  private regexBest(path: string): number {
    const m = this.regex!.exec(path);
    if (m === null || m.groups === undefined) return Infinity;
    // Alternatives are tried in route order, so the defined group is the first matching route.
    for (const g of this.regexGroups) if (m.groups[g] !== undefined) return Number(g.slice(1));
    return Infinity;
  }
}

function compileAlternation(parts: string[]): RegExp | null {
  try {
    return new RegExp(`^(?:${parts.join('|')})$`);
  } catch {
    return null;
  }
}
