// Helpers for L4 tests: raw TCP servers and clients that see exact bytes and closes, Envoy config
// fragments for tcp_proxy / listener filters / internal listeners, and stat reads.
import net from 'node:net';
import type { Proxy } from './proxy.ts';

export interface TcpServer {
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

/** A TCP server; `onConn` gets each connection (allowHalfOpen: the test decides when to end). */
export async function startTcpServer(onConn: (s: net.Socket) => void, host = '127.0.0.1'): Promise<TcpServer> {
  const sockets = new Set<net.Socket>();
  const srv: TcpServer = { port: 0, accepted: 0, close: async () => {} };
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    srv.accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onConn(s);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  srv.port = (server.address() as net.AddressInfo).port;
  srv.close = () => new Promise((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  });
  return srv;
}

/** Echoes bytes; ends its side when the client ends (half-close). */
export function startEcho(): Promise<TcpServer> {
  return startTcpServer((s) => {
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end());
  });
}

/** Says `name\n` as soon as a client connects, then echoes. */
export function startNamed(name: string): Promise<TcpServer> {
  return startTcpServer((s) => {
    s.write(`${name}\n`);
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end());
  });
}

export interface Exchange {
  data: Buffer;
  /** The peer closed (end or close) before the deadline. */
  closed: boolean;
}

/**
 * Connects, writes each part (with `gapMs` between parts), optionally half-closes, and collects
 * everything until the proxy closes or `ms` passes.
 */
export function exchange(port: number, parts: (string | Buffer)[], opts: { end?: boolean; ms?: number; gapMs?: number; until?: (b: Buffer) => boolean } = {}): Promise<Exchange> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      resolve({ data: Buffer.concat(chunks), closed });
    };
    const t = setTimeout(() => finish(false), opts.ms ?? 3000);
    s.on('data', (d) => {
      chunks.push(d);
      if (opts.until?.(Buffer.concat(chunks))) finish(false);
    });
    s.on('end', () => finish(true));
    s.on('close', () => finish(true));
    s.on('error', () => {});
    s.on('connect', async () => {
      for (let i = 0; i < parts.length; i++) {
        if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        if (!s.destroyed) s.write(parts[i]);
      }
      if (opts.end) s.end();
    });
  });
}

/** Counter and gauge values from /stats?format=json, by name. */
export async function statValues(p: Proxy): Promise<Record<string, number>> {
  const r = await p.admin('/stats?format=json');
  const j = (await r.json()) as { stats: { name: string; value?: number }[] };
  const out: Record<string, number> = {};
  for (const s of j.stats) if (typeof s.value === 'number') out[s.name] = s.value;
  return out;
}

/** Polls until `pred(stats)` holds (stats reach the primary asynchronously). */
export async function waitStats(p: Proxy, pred: (s: Record<string, number>) => boolean, ms = 4000): Promise<Record<string, number>> {
  const deadline = Date.now() + ms;
  let s = await statValues(p);
  while (!pred(s) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    s = await statValues(p);
  }
  return s;
}

// ---------------------------------------------------------------- config fragments

export const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
export const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
export const INTERNAL_LISTENER_EXT = {
  name: 'envoy.bootstrap.internal_listener',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener' },
};

export function tcpProxy(statPrefix: string, cluster: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'tcp', typed_config: { '@type': TCP_PROXY, stat_prefix: statPrefix, cluster, ...extra } };
}

/** An HCM whose every request gets `status` with `body` (or goes to `cluster` when given). */
export function hcm(statPrefix: string, routes: Record<string, unknown>[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': HCM,
      stat_prefix: statPrefix,
      route_config: { name: 'r', virtual_hosts: [{ name: 'all', domains: ['*'], routes }] },
      http_filters: [ROUTER],
      ...extra,
    },
  };
}

export function direct(body: string, match: Record<string, unknown> = { prefix: '/' }): Record<string, unknown> {
  return { match, direct_response: { status: 200, body: { inline_string: body } } };
}

export function listenerAt(name: string, port: number, filterChains: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, address: { socket_address: { address: '127.0.0.1', port_value: port } }, filter_chains: filterChains, ...extra };
}

export function cluster(name: string, ports: number[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: ports.map((p) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: p } } } })) }],
    },
    ...extra,
  };
}

export function internalCluster(name: string, listener: string, extra: Record<string, unknown> = {}, endpointExtra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { envoy_internal_address: { server_listener_name: listener } } }, ...endpointExtra }] }],
    },
    ...extra,
  };
}

export function bootstrapJson(adminPort: number, listeners: unknown[], clusters: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    static_resources: { listeners, clusters },
    ...extra,
  }, null, 2);
}
