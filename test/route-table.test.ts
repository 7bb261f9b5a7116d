// One conformance table for route matching, run against both matchers: the plain first-match scan
// and the indexed route table (exact map, prefix trie, regex alternation). Every request must pick
// the same route from both, in Envoy's first-match order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteConfig } from '../src/worker/router/route_config.ts';
import { RequestHead } from '../src/worker/http/http1/parser.ts';
import type { RouteConfigSnap, RouteMatchSnap, RouteSnap } from '../src/shared/snapshot.ts';

const empty = { requestToAdd: [], requestToRemove: [], responseToAdd: [], responseToRemove: [] };

function route(name: string, m: Partial<RouteMatchSnap>): RouteSnap {
  return {
    name,
    headers: empty,
    typedPerFilterConfig: {},
    match: { kind: 'prefix', value: '/', caseSensitive: true, headers: [], queryParameters: [], grpc: false, ...m },
    action: { kind: 'direct_response', status: 200, body: null },
  };
}

function config(routes: RouteSnap[]): RouteConfig {
  const snap: RouteConfigSnap = {
    name: 'rc', headers: empty, mostSpecificHeaderMutationsWins: false, internalOnlyHeaders: [],
    virtualHosts: [{ name: 'vh', domains: ['*'], headers: empty, requireTls: 'none', typedPerFilterConfig: {}, routes }],
  };
  return new RouteConfig(snap);
}

function input(path: string, method = 'GET', headers: string[] = []) {
  const head = new RequestHead();
  head.method = method;
  head.headers = headers;
  return { head, authority: 'x', path, scheme: 'http' };
}

/** Envoy routing cases: [path, method, headers, expected route name or null]. */
const ROUTES: RouteSnap[] = [
  route('exact-a', { kind: 'path', value: '/a' }),
  route('hdr-b', { kind: 'prefix', value: '/b', headers: [{ name: 'x-v', match: { kind: 'exact', value: '1', ignoreCase: false }, present: null, range: null, invert: false, treatMissingAsEmpty: false }] }),
  route('prefix-b', { kind: 'prefix', value: '/b' }),
  route('regex-items', { kind: 'safe_regex', value: '/items/[0-9]+' }),
  route('sep-api', { kind: 'path_separated_prefix', value: '/api' }),
  route('ci-case', { kind: 'prefix', value: '/case', caseSensitive: false }),
  route('ci-exact', { kind: 'path', value: '/exact', caseSensitive: false }),
  route('regex-ci', { kind: 'safe_regex', value: '/rx[a-z]+', caseSensitive: false }),
  route('prefix-items-long', { kind: 'prefix', value: '/items/long' }),
  route('query', { kind: 'prefix', value: '/q', queryParameters: [{ name: 'k', match: null, present: true }] }),
  route('prefix-q', { kind: 'prefix', value: '/q' }),
  route('connect', { kind: 'connect', value: '' }),
  route('exact-a-dup', { kind: 'path', value: '/a' }),
  route('catch-all', { kind: 'prefix', value: '/' }),
];

const CASES: [string, string, string[], string | null][] = [
  ['/a', 'GET', [], 'exact-a'],
  ['/a?x=1', 'GET', [], 'exact-a'],
  ['/ab', 'GET', [], 'catch-all'],
  ['/b/x', 'GET', ['x-v', '1'], 'hdr-b'],
  ['/b/x', 'GET', ['x-v', '2'], 'prefix-b'],
  ['/items/42', 'GET', [], 'regex-items'],
  ['/items/long', 'GET', [], 'prefix-items-long'],
  ['/items/4x', 'GET', [], 'catch-all'],
  ['/api', 'GET', [], 'sep-api'],
  ['/api/v1', 'GET', [], 'sep-api'],
  ['/apix', 'GET', [], 'catch-all'],
  ['/api?x=/', 'GET', [], 'sep-api'],
  ['/CASE/1', 'GET', [], 'ci-case'],
  ['/EXACT', 'GET', [], 'ci-exact'],
  ['/RXabc', 'GET', [], 'regex-ci'],
  ['/q?k=1', 'GET', [], 'query'],
  ['/q', 'GET', [], 'prefix-q'],
  ['host:443', 'CONNECT', [], 'connect'],
  ['/', 'GET', [], 'catch-all'],
];

test('the indexed table and the linear scan agree on every case, in first-match order', () => {
  const indexed = config(ROUTES);
  const linear = config(ROUTES.slice(0, 8)); // ≤ 8 routes: scanned linearly
  for (const [path, method, headers, want] of CASES) {
    assert.equal(indexed.route(input(path, method, headers))?.name ?? null, want, `indexed ${method} ${path}`);
  }
  // The first 8 routes alone, through both matchers.
  const big = config([...ROUTES.slice(0, 8), ...Array.from({ length: 20 }, (_, i) => route(`pad${i}`, { kind: 'path', value: `/pad/${i}` }))]);
  for (const [path, method, headers] of CASES) {
    const a = linear.route(input(path, method, headers))?.name ?? null;
    const b = big.route(input(path, method, headers))?.name ?? null;
    assert.equal(b, a, `${method} ${path}`);
  }
});

test('1,000 exact/prefix/regex routes: the last one is found, earlier ones win ties', () => {
  const routes: RouteSnap[] = [];
  for (let i = 0; i < 1000; i++) {
    const kind = i % 3 === 0 ? 'path' : i % 3 === 1 ? 'prefix' : 'safe_regex';
    routes.push(route(`r${i}`, { kind, value: kind === 'safe_regex' ? `/re/${i}/[a-z]+` : `/p/${i}` }));
  }
  const rc = config(routes);
  assert.equal(rc.route(input('/p/999'))?.name, 'r999');
  assert.equal(rc.route(input('/p/1/more'))?.name, 'r1');
  assert.equal(rc.route(input('/re/998/abc'))?.name, 'r998');
  assert.equal(rc.route(input('/p/10'))?.name, 'r1', 'prefix /p/1 (route 1) precedes exact /p/10');
  assert.equal(rc.route(input('/nothing')), null);
});
