// What a scenario asks of every proxy, independent of how each proxy spells it. The generators in
// orion_config.ts, nginx_config.ts and haproxy_config.ts turn one Setup into each proxy's config.

export type Front = 'h1' | 'h2c' | 'tls' | 'tcp';

export interface Routes {
  /** how many routes the table holds; the request hits the last one */
  count: number;
  /** false: alternating exact path / prefix routes, the hit one a prefix; true: alternating
   * prefix / safe_regex routes, the hit one a regex */
  regex: boolean;
}

export interface Setup {
  /** h1: HTTP/1.1; h2c: HTTP/2 with prior knowledge; tls: TLS with ALPN h2 + http/1.1; tcp: L4 relay */
  front: Front;
  /** h1: the nginx origin over HTTP/1.1 keep-alive; grpc: the gRPC origin over h2c */
  upstream: 'h1' | 'grpc';
  routes?: Routes;
  workers: number;
}

export interface Ports {
  origin: number;
  grpcOrigin: number;
  proxy: number;
  admin: number;
}

export interface Env {
  ports: Ports;
  /** directory for generated configs, logs and scratch files */
  work: string;
  cert: string;
  key: string;
  /** cert + key in one file, the way haproxy takes them */
  pem: string;
}

export const HIT_PATH = '/hit/12345';

export type RouteKind = 'exact' | 'prefix' | 'regex';

/** The route table of a Setup, in match order; only the last one matches HIT_PATH. */
export function routeTable(r: Routes): { kind: RouteKind; value: string }[] {
  const out: { kind: RouteKind; value: string }[] = [];
  for (let i = 0; i < r.count - 1; i++) {
    if (i % 2 === 0) out.push({ kind: 'prefix', value: `/svc${i}/` });
    else if (r.regex) out.push({ kind: 'regex', value: `^/re${i}/[a-z]+/[0-9]+$` });
    else out.push({ kind: 'exact', value: `/svc${i}/index` });
  }
  out.push(r.regex ? { kind: 'regex', value: '^/hit/[0-9]+$' } : { kind: 'prefix', value: '/hit/' });
  return out;
}
