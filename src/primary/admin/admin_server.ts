// Envoy's admin API over node:http, served by the primary. Paths match exactly (query aside);
// state-changing endpoints need POST and answer other methods with 405 as Envoy does; HEAD is
// GET without a body (node drops it); an unknown path gets 404 with the help text.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdminContext } from './context.ts';
import { dataEndpoints } from './data_endpoints.ts';
import { HTML, TEXT, text, type AdminResponse, type Endpoint } from './endpoint.ts';
import { helpText, homePage } from './help.ts';
import { serverEndpoints } from './server_endpoints.ts';
import { TagExtractor } from './tag_extraction.ts';

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

export function adminEndpoints(ctx: AdminContext, tagger: TagExtractor): Endpoint[] {
  const list: Endpoint[] = [...serverEndpoints(ctx), ...dataEndpoints(ctx, tagger)];
  list.push({ path: '/help', help: 'this list of admin commands', mutates: false, handle: () => text(helpText(list)) });
  list.push({
    path: '/',
    help: 'admin home page',
    mutates: false,
    handle: () => ({ status: 200, body: homePage(list), contentType: HTML }),
  });
  return list;
}

export async function startAdmin(ctx: AdminContext, host: string, port: number): Promise<AdminServer> {
  const endpoints = adminEndpoints(ctx, new TagExtractor(ctx.statsTagsConfig?.()));
  const byPath = new Map(endpoints.map((e) => [e.path, e]));
  const server = createServer((req, res) => {
    dispatch(byPath, endpoints, req).then(
      (r) => send(res, r),
      (e: unknown) => send(res, text(`admin handler failed: ${(e as Error)?.message ?? String(e)}\n`, 500)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive clients would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}

async function dispatch(byPath: Map<string, Endpoint>, all: Endpoint[], req: IncomingMessage): Promise<AdminResponse> {
  // Concatenated rather than resolved so a path like `//stats` stays a path, not a host.
  const url = new URL('http://admin.invalid' + (req.url?.startsWith('/') ? req.url : '/'));
  const method = req.method ?? 'GET';
  const e = byPath.get(url.pathname);
  if (e === undefined) return text('invalid path. ' + helpText(all), 404);
  if (e.mutates && !allowed(e, method, url.searchParams)) return text(`Method ${method} not allowed, POST required.`, 405);
  return e.handle({ method, path: url.pathname, query: url.searchParams });
}

function allowed(e: Endpoint, method: string, q: URLSearchParams): boolean {
  if (method === 'POST') return true;
  return (method === 'GET' || method === 'HEAD') && e.readOnly !== undefined && e.readOnly(q);
}

function send(res: ServerResponse, r: AdminResponse): void {
  if (r.after !== undefined) res.once('finish', r.after);
  res.writeHead(r.status, {
    'content-type': r.contentType ?? TEXT,
    'content-length': Buffer.byteLength(r.body),
    'cache-control': 'no-cache, max-age=0',
    'x-content-type-options': 'nosniff',
  });
  res.end(r.body);
}
