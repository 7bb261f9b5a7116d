// A compiled RouteConfiguration: virtual host selection by Envoy's domain rules, then the first
// matching route of that virtual host.
import type { RouteConfigSnap, VirtualHostSnap } from '../../shared/snapshot.ts';
import type { MatchInput } from './header_matcher.ts';
import { RouteEntry } from './route_entry.ts';
import { RouteTable } from './route_table.ts';

export class VirtualHost {
  readonly name: string;
  readonly routes: RouteEntry[];
  private readonly table: RouteTable;

  constructor(s: VirtualHostSnap, config: RouteConfigSnap) {
    this.name = s.name;
    this.routes = s.routes.map((r) => new RouteEntry(r, s.headers, config.headers, config.mostSpecificHeaderMutationsWins));
    this.table = new RouteTable(this.routes);
  }

  route(input: MatchInput): RouteEntry | null {
    return this.table.match(input);
  }
}

type Wild = [string, VirtualHost];

export class RouteConfig {
  readonly name: string;
  private readonly exact = new Map<string, VirtualHost>();
  /** `*.example.com` and `*-svc.example.com`, longest first. */
  private readonly suffixes: Wild[] = [];
  /** `api.*`, longest first. */
  private readonly prefixes: Wild[] = [];
  private wildcard: VirtualHost | null = null;

  constructor(s: RouteConfigSnap) {
    this.name = s.name;
    for (const vs of s.virtualHosts) this.addVirtualHost(new VirtualHost(vs, s), vs.domains);
    this.suffixes.sort((a, b) => b[0].length - a[0].length);
    this.prefixes.sort((a, b) => b[0].length - a[0].length);
  }

  private addVirtualHost(vh: VirtualHost, domains: string[]): void {
    for (const d of domains) {
      if (d === '*') this.wildcard = vh;
      else if (d.startsWith('*')) this.suffixes.push([d.slice(1), vh]);
      else if (d.endsWith('*')) this.prefixes.push([d.slice(0, -1), vh]);
      else this.exact.set(d, vh);
    }
  }

  findVirtualHost(authority: string): VirtualHost | null {
    const host = authority.toLowerCase();
    const vh = this.exact.get(host);
    if (vh !== undefined) return vh;
    // A wildcard must cover at least one character of the host, as in Envoy.
    for (const [suf, v] of this.suffixes) if (host.length > suf.length && host.endsWith(suf)) return v;
    for (const [pre, v] of this.prefixes) if (host.length > pre.length && host.startsWith(pre)) return v;
    return this.wildcard;
  }

  route(input: MatchInput): RouteEntry | null {
    const vh = this.findVirtualHost(input.authority);
    return vh === null ? null : vh.route(input);
  }
}
