// Upstreams whose behaviour a test changes while the proxy runs (health endpoint up/down, 5xx,
// latency), plus helpers to read the proxy's view: /clusters host flags and stats.
import http from 'node:http';
import net from 'node:net';
import type { Proxy } from './proxy.ts';

export interface CtlUpstream {
  name: string;
  port: number;
  /** Status /health answers. */
  health: number;
  /** Status every other path answers. */
  status: number;
  /** Delay before answering any request, ms. */
  delayMs: number;
  /** Statuses for the next requests (other than /health), used before `status`. */
  script: number[];
  /** Requests seen per path (health checks included). */
  hits: Map<string, number>;
  /** Headers of the last request per path. */
  lastHeaders: Map<string, http.IncomingHttpHeaders>;
  close(): Promise<void>;
}

/** An HTTP upstream that answers `x-upstream: <name>` with a JSON body; knobs change it live. */
export async function startCtlUpstream(name: string, port = 0): Promise<CtlUpstream> {
  const u: CtlUpstream = {
    name,
    port: 0,
    health: 200,
    status: 200,
    delayMs: 0,
    script: [],
    hits: new Map(),
    lastHeaders: new Map(),
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    u.hits.set(path, (u.hits.get(path) ?? 0) + 1);
    u.lastHeaders.set(path, req.headers);
    req.resume();
    req.on('end', () => {
      const send = () => {
        const status = path === '/health' ? u.health : u.script.shift() ?? u.status;
        res.writeHead(status, { 'content-type': 'application/json', 'x-upstream': name });
        res.end(JSON.stringify({ upstream: name }));
      };
      if (u.delayMs > 0 && path !== '/health') setTimeout(send, u.delayMs);
      else send();
    });
  });
  server.keepAliveTimeout = 30000;
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  u.port = (server.address() as net.AddressInfo).port;
  u.close = () => new Promise((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  return u;
}

export async function waitFor(cond: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return await cond();
}

/** `cluster::127.0.0.1:port::<field>` from /clusters. */
export async function hostField(p: Proxy, cluster: string, port: number, field: string): Promise<string | null> {
  const text = await (await p.admin('/clusters')).text();
  const m = new RegExp(`^${cluster}::127\\.0\\.0\\.1:${port}::${field}::(.*)$`, 'm').exec(text);
  return m === null ? null : m[1];
}

export async function stats(p: Proxy, filter: string): Promise<Record<string, number>> {
  const text = await (await p.admin(`/stats?filter=${encodeURIComponent(filter)}`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const i = line.lastIndexOf(': ');
    if (i > 0) out[line.slice(0, i)] = Number(line.slice(i + 2));
  }
  return out;
}

/** One request on a fresh connection (so N workers all see traffic); never rejects. */
export function get(port: number, path: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<{ status: number; upstream: string; headers: http.IncomingHttpHeaders; body: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, upstream: String(res.headers['x-upstream'] ?? ''), headers: res.headers, body, ms: performance.now() - t0 }));
    });
    req.on('error', () => resolve({ status: 0, upstream: '', headers: {}, body: '', ms: performance.now() - t0 }));
    req.on('timeout', () => req.destroy());
  });
}

/** Counts which upstream served each of `n` requests. */
export async function spread(port: number, path: string, n: number, headers: (i: number) => Record<string, string> = () => ({})): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await get(port, path, headers(i));
    const k = r.status === 200 ? r.upstream : `status_${r.status}`;
    seen[k] = (seen[k] ?? 0) + 1;
  }
  return seen;
}
