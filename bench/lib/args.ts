// Command line of bench/run.sh.
import path from 'node:path';

export const USAGE = `Usage: bench/run.sh [options]
  --quick                 2 s runs after a 1 s warm-up, 2,000 idle connections, 1,000 xDS clusters
  --duration S            measured seconds per run (default 8); --warmup S (default min(S, 5))
  --connections N         override every scenario's connection count
  --workers N             proxy workers / threads (default 1, or the number of --cores proxy CPUs)
  --cores P:L             CPU lists for the proxy and for origin + load generator, e.g. 0-3:4-7
                          (default: the proxy on CPUs 0..N-1, everything else for the load)
  --scenario A[,B]        scenarios to run (default: all; --list shows them)
  --only P[,Q]            proxies: orion,nginx,haproxy,envoy (default: all; envoy needs ENVOY_BIN)
  --idle-conns N          connections of idle-10k (default 10000)
  --xds-clusters N        clusters of xds-push (default 10000)
  --port-base N           origin on N, gRPC origin N+2, proxy N+100, orion admin N+901 (default 19000)
  --out FILE              append the report to FILE (default bench/RESULTS.md; '-' for none)
  --list                  list the scenarios and exit
Env: ENVOY_BIN=/path/to/envoy adds Envoy, run on the same bootstrap as orion.
`;

export interface Opts {
  help: boolean;
  list: boolean;
  seconds: number;
  warmup: number;
  connections: number | null;
  workers: number;
  proxyCpus: number[];
  loadCpus: number[];
  scenarios: string[] | null;
  proxies: string[] | null;
  idleConns: number;
  xdsClusters: number;
  portBase: number;
  out: string | null;
  work: string;
}

/** "0-3,6" → [0,1,2,3,6] */
export function cpuSet(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`bad CPU list '${spec}'`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new Error(`bad CPU range '${part}'`);
    for (let c = a; c <= b; c++) if (!out.includes(c)) out.push(c);
  }
  return out;
}

function positive(flag: string, v: string | undefined): number {
  if (v === undefined || !/^[1-9]\d*$/.test(v)) throw new Error(`${flag} needs a positive integer, got '${v ?? ''}'`);
  return Number(v);
}

export function parseArgs(argv: string[], ncpu: number, benchDir = path.dirname(path.dirname(new URL(import.meta.url).pathname))): Opts {
  let seconds = 8;
  let warmup: number | null = null;
  let quick = false;
  let workers: number | null = null;
  let cores: string | null = null;
  let idle: number | null = null;
  let xds: number | null = null;
  const o: Opts = {
    help: false, list: false, seconds, warmup: 0, connections: null, workers: 1, proxyCpus: [], loadCpus: [], scenarios: null, proxies: null,
    idleConns: 10_000, xdsClusters: 10_000, portBase: 19000, out: path.join(benchDir, 'RESULTS.md'), work: process.env.BENCH_WORK ?? '/tmp/orion-bench',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    switch (a) {
      case '--quick': quick = true; break;
      case '--duration': seconds = positive(a, next()); break;
      case '--warmup': warmup = positive(a, next()); break;
      case '--connections': o.connections = positive(a, next()); break;
      case '--workers': workers = positive(a, next()); break;
      case '--cores': cores = next() ?? ''; break;
      case '--scenario': o.scenarios = (next() ?? '').split(',').filter(Boolean); break;
      case '--only': o.proxies = (next() ?? '').split(',').filter(Boolean); break;
      case '--idle-conns': idle = positive(a, next()); break;
      case '--xds-clusters': xds = positive(a, next()); break;
      case '--port-base': o.portBase = positive(a, next()); break;
      case '--out': { const f = next(); if (!f) throw new Error('--out needs a file'); o.out = f === '-' ? null : path.resolve(f); break; }
      case '--list': o.list = true; break;
      case '-h': case '--help': o.help = true; break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  if (quick && !argv.includes('--duration')) seconds = 2;
  o.seconds = seconds;
  o.warmup = warmup ?? (quick ? 1 : Math.min(seconds, 5));
  o.idleConns = idle ?? (quick ? 2000 : 10_000);
  o.xdsClusters = xds ?? (quick ? 1000 : 10_000);
  if (cores !== null) {
    const [p, l] = cores.split(':');
    if (!p || !l) throw new Error(`--cores needs PROXY:LOAD CPU lists, got '${cores}'`);
    o.proxyCpus = cpuSet(p);
    o.loadCpus = cpuSet(l);
    o.workers = workers ?? o.proxyCpus.length;
  } else {
    o.workers = workers ?? 1;
    const all = Array.from({ length: ncpu }, (_, i) => i);
    o.proxyCpus = all.slice(0, Math.min(o.workers, ncpu));
    o.loadCpus = o.workers < ncpu ? all.slice(o.workers) : all;
  }
  for (const c of [...o.proxyCpus, ...o.loadCpus]) if (c >= ncpu) throw new Error(`CPU ${c} does not exist (${ncpu} CPUs)`);
  if (o.portBase + 901 > 65535) throw new Error('--port-base too high');
  const known = ['orion', 'nginx', 'haproxy', 'envoy'];
  for (const p of o.proxies ?? []) if (!known.includes(p)) throw new Error(`unknown proxy '${p}' (${known.join(', ')})`);
  return o;
}
