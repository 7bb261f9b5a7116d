// Micro-benchmark of the JavaScript side of one proxied HTTP/1.1 request, without sockets: parse
// the request head, match the route, build the upstream head, parse the response head and build
// the downstream head. Kernel and libuv costs are excluded on purpose: this isolates what our code
// adds per request, and is stable enough to judge an optimisation on a busy machine.
// Run: node bench/micro_http1.ts [iterations]
import { findHeadEnd, parseRequestHead, parseResponseHead, RequestHead, ResponseHead } from '../src/worker/http/http1/parser.ts';
import { RouteConfig } from '../src/worker/router/route_config.ts';
import type { RouteConfigSnap } from '../src/shared/snapshot.ts';
import { isHopByHopRequest, isHopByHopResponse } from '../src/worker/http/hop_by_hop.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const empty = { requestToAdd: [], requestToRemove: [], responseToAdd: [], responseToRemove: [] };
const rc: RouteConfigSnap = {
  name: 'rc',
  headers: empty,
  mostSpecificHeaderMutationsWins: false,
  internalOnlyHeaders: [],
  virtualHosts: [{
    name: 'vh', domains: ['*'], headers: empty, requireTls: 'none', typedPerFilterConfig: {},
    routes: [{
      name: 'r', headers: empty, typedPerFilterConfig: {},
      match: { kind: 'prefix', value: '/', caseSensitive: true, headers: [], queryParameters: [], grpc: false },
      action: { kind: 'direct_response', status: 200, body: null },
    }],
  }],
};
const routes = new RouteConfig(rc);
const req = Buffer.from('GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:19100\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n', 'latin1');
const res = Buffer.from('HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 21 Nov 2026 23:28:58 GMT\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\nhello world\n', 'latin1');

function once(): number {
  const e = findHeadEnd(req, 0);
  const h = new RequestHead();
  parseRequestHead(req.latin1Slice(0, e), h, 100);
  const route = routes.route({ head: h, authority: h.host, path: h.target, scheme: 'http' });
  let up = h.method + ' ' + h.target + ' HTTP/1.1\r\nhost: ' + h.host + '\r\n';
  for (let i = 0; i < h.headers.length; i += 2) if (!isHopByHopRequest(h.headers[i])) up += h.headers[i] + ': ' + h.headers[i + 1] + '\r\n';
  const re = findHeadEnd(res, 0);
  const r = new ResponseHead();
  parseResponseHead(res.latin1Slice(0, re), r, 100);
  let down = 'HTTP/1.1 200 OK\r\n';
  for (let i = 0; i < r.headers.length; i += 2) if (!isHopByHopResponse(r.headers[i])) down += r.headers[i] + ': ' + r.headers[i + 1] + '\r\n';
  down += 'content-length: 12\r\n\r\n' + res.latin1Slice(re, res.length);
  return up.length + down.length + (route === null ? 0 : 1);
}

let sink = 0;
for (let i = 0; i < 100_000; i++) sink += once();
const t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) sink += once();
const ns = Number(process.hrtime.bigint() - t0) / N;
process.stdout.write(`http1 request+response JS path: ${ns.toFixed(0)} ns/request (${N} iterations, sink ${sink % 7})\n`);
