// The scenario table: what each scenario asks of the proxies (a Setup), how a proxy is checked to
// really serve it (one request), and how it is loaded and measured. One entry per table row group.
import path from 'node:path';
import { h2load, wrk, type LoadResult } from './load.ts';
import { HIT_PATH, type Setup } from './setup.ts';

export interface LoadCtx {
  /** base URL of what is measured: the proxy, or the origin for the "direct" row */
  url: string;
  seconds: number;
  loadCpus: string;
  loadThreads: number;
  /** --connections override */
  conns: number | null;
  work: string;
  benchDir: string;
}

/** How to tell, with one curl request, that a proxy serves the scenario end to end. */
export interface Check {
  proto: 'h1' | 'h2c' | 'tls-h1' | 'tls-h2' | 'grpc';
  path: string;
  /** POST this file's bytes */
  body?: 'grpc' | 'upload';
  /** a path no route matches: must answer 404, so the route table is really in use */
  miss?: string;
}

export type Kind = 'load' | 'idle-rss' | 'idle-conns' | 'xds';

export interface Scenario {
  name: string;
  kind: Kind;
  /** unit of the result column */
  unit: 'req/s' | 'conn/s' | 'MiB/s' | 'MB' | '+MB' | 'ms';
  setup: (workers: number) => Omit<Setup, 'workers'>;
  check: Check;
  /** for kind 'load': one measured run; the result column is rps × scale */
  load?: (c: LoadCtx) => Promise<LoadResult>;
  scale?: number;
  /** also load the origin directly (a "direct (no proxy)" row): the ceiling of origin + load generator */
  direct?: 'origin' | 'grpc-origin';
  /** worker count instead of --workers (scaling) */
  workers?: (base: number, scaleTo: number) => number;
  /** one-line description for bench/README.md and --list */
  how: string;
}

const MIB = 1 << 20;
const h1: Omit<Setup, 'workers'> = { front: 'h1', upstream: 'h1' };

function wrkLoad(p: string, conns: number, extra: { headers?: string[]; postBytes?: number } = {}) {
  return (c: LoadCtx) =>
    wrk(`${c.url}${p}`, {
      cpus: c.loadCpus,
      threads: c.loadThreads,
      conns: c.conns ?? conns,
      seconds: c.seconds,
      headers: extra.headers,
      script: extra.postBytes ? path.join(c.benchDir, 'wrk/post.lua') : undefined,
      env: extra.postBytes ? { BENCH_BODY_BYTES: String(extra.postBytes) } : {},
    });
}

function h2Load(p: string, clients: number, streams: number, grpc = false) {
  return (c: LoadCtx) =>
    h2load(`${c.url}${p}`, {
      cpus: c.loadCpus,
      threads: c.loadThreads,
      clients: c.conns ?? clients,
      streams,
      seconds: c.seconds,
      logFile: path.join(c.work, 'h2load.log'),
      ...(grpc ? { headers: ['content-type: application/grpc', 'te: trailers'], dataFile: path.join(c.work, 'grpc-request.bin') } : {}),
    });
}

const CLOSE = ['Connection: close'];

export const SCENARIOS: Scenario[] = [
  {
    name: 'h1-keepalive', kind: 'load', unit: 'req/s', setup: () => h1, check: { proto: 'h1', path: '/' }, direct: 'origin',
    load: wrkLoad('/', 64), how: 'wrk, 64 keep-alive connections, GET / → 12-byte response',
  },
  {
    name: 'h1-newconn', kind: 'load', unit: 'conn/s', setup: () => h1, check: { proto: 'h1', path: '/' }, direct: 'origin',
    load: wrkLoad('/', 64, { headers: CLOSE }), how: 'wrk, 64 connections, `Connection: close`: one TCP connection per request',
  },
  {
    name: 'body-16k-down', kind: 'load', unit: 'MiB/s', scale: 16384 / MIB, setup: () => h1, check: { proto: 'h1', path: '/16k' }, direct: 'origin',
    load: wrkLoad('/16k', 64), how: 'wrk, 64 connections, GET of a 16 KiB static file; MiB/s of body',
  },
  {
    name: 'body-16k-up', kind: 'load', unit: 'MiB/s', scale: 16384 / MIB, setup: () => h1, check: { proto: 'h1', path: '/upload', body: 'upload' }, direct: 'origin',
    load: wrkLoad('/upload', 64, { postBytes: 16384 }), how: 'wrk + bench/wrk/post.lua, 64 connections, POST 16 KiB, 3-byte reply',
  },
  {
    name: 'body-1m-down', kind: 'load', unit: 'MiB/s', scale: 1, setup: () => h1, check: { proto: 'h1', path: '/1m' }, direct: 'origin',
    load: wrkLoad('/1m', 16), how: 'wrk, 16 connections, GET of a 1 MiB static file',
  },
  {
    name: 'body-1m-up', kind: 'load', unit: 'MiB/s', scale: 1, setup: () => h1, check: { proto: 'h1', path: '/upload', body: 'upload' }, direct: 'origin',
    load: wrkLoad('/upload', 16, { postBytes: MIB }), how: 'wrk + bench/wrk/post.lua, 16 connections, POST 1 MiB',
  },
  {
    name: 'routes-10', kind: 'load', unit: 'req/s', setup: () => ({ ...h1, routes: { count: 10, regex: false } }), check: { proto: 'h1', path: HIT_PATH, miss: '/nowhere/1' },
    load: wrkLoad(HIT_PATH, 64), how: '10 routes alternating exact path / prefix, the last (a prefix) hit; wrk as h1-keepalive',
  },
  {
    name: 'routes-1000', kind: 'load', unit: 'req/s', setup: () => ({ ...h1, routes: { count: 1000, regex: false } }), check: { proto: 'h1', path: HIT_PATH, miss: '/nowhere/1' },
    load: wrkLoad(HIT_PATH, 64), how: '1,000 routes alternating exact path / prefix, the last (a prefix) hit (target: within 10% of routes-10)',
  },
  {
    name: 'routes-1000-regex', kind: 'load', unit: 'req/s', setup: () => ({ ...h1, routes: { count: 1000, regex: true } }), check: { proto: 'h1', path: HIT_PATH, miss: '/nowhere/1' },
    load: wrkLoad(HIT_PATH, 64), how: '1,000 routes alternating prefix / safe_regex, the last (a regex) hit',
  },
  {
    name: 'h2-mux', kind: 'load', unit: 'req/s', setup: () => ({ front: 'h2c', upstream: 'h1' }), check: { proto: 'h2c', path: '/' },
    load: h2Load('/', 4, 100), how: 'h2load h2c (prior knowledge), 4 connections × 100 streams, GET /; HTTP/1.1 upstream',
  },
  {
    name: 'tls-h1', kind: 'load', unit: 'req/s', setup: () => ({ front: 'tls', upstream: 'h1' }), check: { proto: 'tls-h1', path: '/' },
    load: wrkLoad('/', 64), how: 'wrk over TLS (ECDSA P-256, keep-alive), 64 connections, GET /',
  },
  {
    name: 'tls-h2', kind: 'load', unit: 'req/s', setup: () => ({ front: 'tls', upstream: 'h1' }), check: { proto: 'tls-h2', path: '/' },
    load: h2Load('/', 4, 100), how: 'h2load over TLS (ALPN h2), 4 connections × 100 streams, GET /',
  },
  {
    name: 'tcp-throughput', kind: 'load', unit: 'MiB/s', scale: 1, setup: () => ({ front: 'tcp', upstream: 'h1' }), check: { proto: 'h1', path: '/1m' },
    load: wrkLoad('/1m', 16), how: 'L4 relay (orion tcp_proxy, nginx stream, haproxy mode tcp); wrk GET 1 MiB over 16 connections',
  },
  {
    name: 'tcp-connrate', kind: 'load', unit: 'conn/s', setup: () => ({ front: 'tcp', upstream: 'h1' }), check: { proto: 'h1', path: '/' },
    load: wrkLoad('/', 64, { headers: CLOSE }), how: 'L4 relay; wrk with `Connection: close`, 64 connections: proxied connections per second',
  },
  {
    name: 'grpc-unary', kind: 'load', unit: 'req/s', setup: () => ({ front: 'h2c', upstream: 'grpc' }), check: { proto: 'grpc', path: '/bench.Bench/Unary', body: 'grpc' },
    direct: 'grpc-origin', load: h2Load('/bench.Bench/Unary', 4, 100, true),
    how: 'h2load POSTing a gRPC frame (4 × 100 streams) through h2c to an h2c gRPC origin answering message + grpc-status trailer',
  },
  {
    name: 'scale-1w', kind: 'load', unit: 'req/s', setup: () => h1, check: { proto: 'h1', path: '/' }, workers: () => 1,
    load: wrkLoad('/', 64), how: 'h1-keepalive with 1 worker',
  },
  {
    name: 'scale-Nw', kind: 'load', unit: 'req/s', setup: () => h1, check: { proto: 'h1', path: '/' }, workers: (_b, n) => n,
    load: wrkLoad('/', 64), how: 'h1-keepalive with N workers (target ≥ 0.9 × N × scale-1w)',
  },
  {
    name: 'idle-rss', kind: 'idle-rss', unit: 'MB', setup: () => h1, check: { proto: 'h1', path: '/' },
    how: 'RSS per worker process after start-up and one request (orion/nginx: mean over workers; haproxy: its process)',
  },
  {
    name: 'idle-10k', kind: 'idle-conns', unit: '+MB', setup: () => h1, check: { proto: 'h1', path: '/' },
    how: 'RSS growth of the worker processes with 10,000 idle keep-alive connections, each after one request (bench/lib/idle_conns.ts)',
  },
  {
    name: 'xds-push', kind: 'xds', unit: 'ms', setup: () => h1, check: { proto: 'h1', path: '/' },
    how: 'orion only: bench/xds_push.ts, SotW ADS push of 10,000 EDS clusters until live on every worker',
  },
];
