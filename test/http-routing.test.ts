// Envoy routing through the real CLI: virtual host domain rules, route matchers, direct responses,
// redirects and header mutations, against real upstream servers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { startHttpUpstream, rawRequest, request, type SimpleResponse, type Upstream } from './lib/upstream.ts';
import { bootstrap, httpListener, staticCluster, vhost } from './lib/config.ts';

let proxy: Proxy;
let port: number;
const ups: Record<string, Upstream> = {};
const names = ['exact', 'suffix', 'prefixdom', 'wild', 'withport', 'prefix', 'path', 'regex', 'sep', 'ci', 'hdr', 'query', 'method', 'rewrite'];

const route = (cluster: string, match: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ match, route: { cluster, ...extra } });

before(async () => {
  for (const n of names) ups[n] = await startHttpUpstream(n);
  port = await freePort();
  const adminPort = await freePort();
  const vhosts = [
    vhost('exact', ['exact.example.com'], [route('exact', { prefix: '/' })]),
    vhost('suffix', ['*.example.com'], [route('suffix', { prefix: '/' })]),
    vhost('prefixdom', ['api.*'], [route('prefixdom', { prefix: '/' })]),
    vhost('withport', ['port.example.org:8080'], [route('withport', { prefix: '/' })]),
    vhost('narrow', ['noroute.test'], [route('exact', { prefix: '/only' })]),
    vhost('main', ['*'], [
      { match: { path: '/direct-response', headers: [{ name: ':method', string_match: { exact: 'GET' } }] }, direct_response: { status: 200, body: { inline_string: 'meow! 🐱' } } },
      { match: { prefix: '/teapot' }, direct_response: { status: 418 } },
      { match: { prefix: '/old' }, redirect: { path_redirect: '/new', response_code: 'FOUND' } },
      { match: { prefix: '/secure' }, redirect: { https_redirect: true } },
      { match: { prefix: '/moved/' }, redirect: { prefix_rewrite: '/here/', host_redirect: 'other.example.com' } },
      { match: { prefix: '/strip' }, redirect: { path_redirect: '/x', strip_query: true } },
      route('path', { path: '/exact/path' }),
      route('regex', { safe_regex: { regex: '/items/[0-9]+' } }),
      route('sep', { path_separated_prefix: '/sep' }),
      route('ci', { prefix: '/CaSe', case_sensitive: false }),
      route('hdr', { prefix: '/h', headers: [{ name: 'x-env', string_match: { prefix: 'can' } }, { name: 'x-block', present_match: true, invert_match: true }] }),
      route('query', { prefix: '/q', query_parameters: [{ name: 'debug', string_match: { exact: 'on' } }] }),
      route('method', { prefix: '/m', headers: [{ name: ':method', exact_match: 'POST' }] }),
      {
        match: { prefix: '/rewrite/' },
        route: { cluster: 'rewrite', prefix_rewrite: '/v2/', host_rewrite_literal: 'backend.internal' },
        request_headers_to_add: [{ header: { key: 'x-route', value: 'r1' } }, { header: { key: 'x-client', value: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%' } }],
        request_headers_to_remove: ['x-secret'],
        response_headers_to_add: [{ header: { key: 'x-resp-route', value: 'yes' } }],
        response_headers_to_remove: ['x-upstream'],
      },
      route('prefix', { prefix: '/' }),
    ], {
      request_headers_to_add: [{ header: { key: 'x-vhost', value: 'main' } }],
      response_headers_to_add: [{ header: { key: 'x-vhost-resp', value: 'main' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    }),
  ];
  const listeners = [httpListener(port, vhosts, {}, { response_headers_to_add: [{ header: { key: 'x-rc', value: 'rc' } }] })];
  const clusters = names.map((n) => staticCluster(n, [ups[n].port]));
  proxy = await startProxy(bootstrap(adminPort, listeners, clusters), { adminPort });
});

after(async () => {
  await proxy?.stop();
  for (const u of Object.values(ups)) await u.close();
});

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<SimpleResponse> {
  return request(port, path, { method, headers });
}

async function upstreamOf(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<string> {
  const r = await get(path, headers, method);
  if (r.status !== 200) return `status ${r.status}`;
  return r.json<{ upstream: string }>().upstream;
}

test('virtual host selection follows Envoy domain rules', async () => {
  assert.equal(await upstreamOf('/', { host: 'exact.example.com' }), 'exact');
  assert.equal(await upstreamOf('/', { host: 'EXACT.example.com' }), 'exact');
  assert.equal(await upstreamOf('/', { host: 'a.example.com' }), 'suffix');
  assert.equal(await upstreamOf('/', { host: 'api.foo.net' }), 'prefixdom');
  assert.equal(await upstreamOf('/', { host: 'port.example.org:8080' }), 'withport');
  assert.equal(await upstreamOf('/', { host: 'port.example.org' }), 'prefix', 'a domain with a port does not match a host without it');
  assert.equal(await upstreamOf('/', { host: 'example.com' }), 'prefix', '*.example.com needs at least one char before the suffix');
});

test('route matchers: path, safe_regex, path_separated_prefix, case, headers, query, method', async () => {
  assert.equal(await upstreamOf('/exact/path'), 'path');
  assert.equal(await upstreamOf('/exact/path?x=1'), 'path', 'path match ignores the query');
  assert.equal(await upstreamOf('/exact/path/more'), 'prefix');
  assert.equal(await upstreamOf('/items/42'), 'regex');
  assert.equal(await upstreamOf('/items/42x'), 'prefix', 'regex must match the whole path');
  assert.equal(await upstreamOf('/sep'), 'sep');
  assert.equal(await upstreamOf('/sep/a'), 'sep');
  assert.equal(await upstreamOf('/separate'), 'prefix');
  assert.equal(await upstreamOf('/case/x'), 'ci');
  assert.equal(await upstreamOf('/h', { 'x-env': 'canary' }), 'hdr');
  assert.equal(await upstreamOf('/h', { 'x-env': 'prod' }), 'prefix');
  assert.equal(await upstreamOf('/h', { 'x-env': 'canary', 'x-block': '1' }), 'prefix', 'inverted present match');
  assert.equal(await upstreamOf('/q?debug=on'), 'query');
  assert.equal(await upstreamOf('/q?debug=off'), 'prefix');
  assert.equal(await upstreamOf('/m', {}, 'POST'), 'method');
  assert.equal(await upstreamOf('/m'), 'prefix');
});

test('direct response with body and without', async () => {
  const r = await get('/direct-response');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'meow! 🐱');
  assert.equal(r.headers['content-type'], 'text/plain');
  assert.equal(r.headers['x-vhost-resp'], 'main');
  const post = await get('/direct-response', {}, 'POST');
  assert.equal(post.status, 200, 'POST falls through to the catch-all route');
  assert.equal(post.json<{ upstream: string }>().upstream, 'prefix');
  const t = await get('/teapot');
  assert.equal(t.status, 418);
  assert.equal(t.body, '');
});

test('redirects: path, https, prefix+host, strip_query', async () => {
  let r = await get('/old?a=1', { host: 'h.test' });
  assert.equal(r.status, 302);
  assert.equal(r.headers['location'], 'http://h.test/new?a=1');
  r = await get('/secure/x', { host: 'h.test:80' });
  assert.equal(r.status, 301);
  assert.equal(r.headers['location'], 'https://h.test/secure/x');
  r = await get('/moved/a/b', { host: 'h.test' });
  assert.equal(r.headers['location'], 'http://other.example.com/here/a/b');
  r = await get('/strip?q=1', { host: 'h.test' });
  assert.equal(r.headers['location'], 'http://h.test/x');
});

test('header manipulation at route, virtual host and route config level; rewrites', async () => {
  const before = ups.rewrite.received.length;
  const r = await get('/rewrite/a?b=1', { 'x-secret': 's', 'x-keep': 'k' });
  assert.equal(r.status, 200);
  const got = ups.rewrite.received[before];
  assert.equal(got.url, '/v2/a?b=1');
  assert.equal(got.headers.host, 'backend.internal');
  assert.equal(got.headers['x-route'], 'r1');
  assert.equal(got.headers['x-vhost'], 'main');
  assert.equal(got.headers['x-client'], '127.0.0.1');
  assert.equal(got.headers['x-secret'], undefined);
  assert.equal(got.headers['x-keep'], 'k');
  assert.equal(got.headers['x-forwarded-proto'], 'http');
  assert.match(String(got.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  assert.equal(got.headers['x-envoy-expected-rq-timeout-ms'], '15000');
  assert.equal(r.headers['x-resp-route'], 'yes');
  assert.equal(r.headers['x-upstream'], undefined, 'response header removed');
  assert.equal(r.headers['x-vhost-resp'], 'main');
  assert.equal(r.headers['x-rc'], 'rc');
  assert.equal(r.headers['server'], 'envoy');
  assert.match(String(r.headers['x-envoy-upstream-service-time']), /^\d+$/);
});

test('host header is preserved and hop-by-hop headers are not forwarded', async () => {
  const before = ups.prefix.received.length;
  const reply = await rawRequest(port, 'GET /keep HTTP/1.1\r\nHost: Keep.Example:81\r\nConnection: close, x-hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\nX-End: 2\r\n\r\n');
  assert.match(reply, /^HTTP\/1.1 200 OK\r\n/);
  assert.match(reply, /connection: close\r\n/i);
  const got = ups.prefix.received[before];
  assert.equal(got.headers.host, 'Keep.Example:81');
  assert.equal(got.headers['x-hop'], undefined);
  assert.equal(got.headers['keep-alive'], undefined);
  assert.equal(got.headers['te'], undefined);
  assert.equal(got.headers['x-end'], '2');
});

test('no route → 404 with no_route counted, nothing forwarded', async () => {
  const before = ups.exact.received.length;
  const r = await get('/other', { host: 'noroute.test' });
  assert.equal(r.status, 404);
  assert.equal(r.body, '');
  assert.equal(ups.exact.received.length, before);
  assert.equal((await get('/only', { host: 'noroute.test' })).status, 200);
  const stats = await (await proxy.admin('/stats?filter=no_route')).text();
  assert.match(stats, /http\.ingress_http\.no_route: [1-9]/);
});
