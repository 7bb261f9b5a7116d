// Side-by-side benchmark: every scenario of bench/lib/scenarios.ts against orion, nginx, haproxy
// (and Envoy when ENVOY_BIN is set), same origin, same load generator, same pinned cores, one run.
// Run through bench/run.sh (installs the programs, raises the fd limit); see bench/README.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR, run } from './lib/load.ts';
import { cpuBusySeconds, cpuSeconds, exited, installCleanup, isStopping, launch, portBindable, rss, sleep, stop, waitPort, waitPortFree, type Group } from './lib/procs.ts';
import { SCENARIOS, type Check, type LoadCtx, type Scenario } from './lib/scenarios.ts';
import type { Env, Setup } from './lib/setup.ts';
import { orionConfig } from './lib/orion_config.ts';
import { nginxConfig, originConfig, STREAM_MODULE } from './lib/nginx_config.ts';
import { haproxyConfig } from './lib/haproxy_config.ts';
import { report, type Row } from './lib/report.ts';
import { parseArgs, USAGE, type Opts } from './lib/args.ts';

const ROOT = path.dirname(BENCH_DIR);
const NODE = process.execPath;
const PROXIES = ['nginx', 'orion', 'haproxy', 'envoy'] as const; // nginx first: the yardstick
type ProxyName = (typeof PROXIES)[number];

let opts: Opts;
try {
  opts = parseArgs(process.argv.slice(2), os.availableParallelism());
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (opts.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (opts.list) {
  for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(18)} ${s.how}\n`);
  process.exit(0);
}
installCleanup();

const work = opts.work;
mkdirSync(path.join(work, 'www'), { recursive: true });
const env: Env = {
  ports: { origin: opts.portBase, grpcOrigin: opts.portBase + 2, proxy: opts.portBase + 100, admin: opts.portBase + 901 },
  work,
  cert: path.join(work, 'cert.pem'),
  key: path.join(work, 'key.pem'),
  pem: path.join(work, 'cert+key.pem'),
};
const scenarios = SCENARIOS.filter((s) => !opts.scenarios || opts.scenarios.includes(s.name));
const unknown = (opts.scenarios ?? []).filter((n) => !SCENARIOS.some((s) => s.name === n));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown scenario ${unknown.join(', ')} (--list shows them)\n`);
  process.exit(2);
}
const proxies = PROXIES.filter((p) => (!opts.proxies || opts.proxies.includes(p)) && (p !== 'envoy' || process.env.ENVOY_BIN));
const cpuList = (cpus: number[]) => cpus.join(',');
const loadCpus = cpuList(opts.loadCpus);
const log = (m: string) => process.stderr.write(`${m}\n`);

// ------------------------------------------------------------------ fixtures

function prepareFiles(): void {
  writeFileSync(path.join(work, 'www/16k'), Buffer.alloc(16384, 'x'));
  writeFileSync(path.join(work, 'www/1m'), Buffer.alloc(1 << 20, 'x'));
  writeFileSync(path.join(work, 'upload.bin'), Buffer.alloc(16384, 'x'));
  // one gRPC message: uncompressed, 5 bytes, field 1 = "abc"
  writeFileSync(path.join(work, 'grpc-request.bin'), Buffer.from([0, 0, 0, 0, 5, 0x0a, 0x03, 0x61, 0x62, 0x63]));
  if (scenarios.some((s) => s.setup(1).front === 'tls')) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', env.key, '-out', env.cert], { stdio: 'ignore' });
    writeFileSync(env.pem, readFileSync(env.cert, 'latin1') + readFileSync(env.key, 'latin1'));
  }
}

// ------------------------------------------------------------------ proxies

function unavailable(p: ProxyName, s: Setup): string | null {
  if (p === 'nginx' && s.front === 'tcp' && !existsSync(STREAM_MODULE)) return 'nginx stream module missing (libnginx-mod-stream)';
  return null;
}

/** Proxy CPUs for a worker count: the proxy cores first; past them, the load cores are shared. */
function proxyCpus(workers: number): { cpus: string; list: number[]; shared: boolean } {
  const own = opts.proxyCpus.slice(0, workers);
  const extra = opts.loadCpus.filter((c) => !own.includes(c)).slice(0, workers - own.length);
  const list = [...own, ...extra];
  return { cpus: cpuList(list), list, shared: extra.length > 0 || own.some((c) => opts.loadCpus.includes(c)) };
}

function startProxy(p: ProxyName, s: Setup): Group {
  const dir = path.join(work, p);
  mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'out.log');
  const { cpus } = proxyCpus(s.workers);
  switch (p) {
    case 'orion': {
      const file = path.join(dir, 'bootstrap.json');
      writeFileSync(file, orionConfig(s, env));
      return launch(p, cpus, logFile, NODE, [path.join(ROOT, 'src/orion.js'), '-c', file, '--drain-time-s', '0'], { ORION_CPU_LIMIT: String(s.workers) });
    }
    case 'envoy': {
      const file = path.join(dir, 'bootstrap.json');
      writeFileSync(file, orionConfig(s, env));
      return launch(p, cpus, logFile, process.env.ENVOY_BIN!, ['-c', file, '--concurrency', String(s.workers), '--disable-hot-restart', '-l', 'error']);
    }
    case 'nginx': {
      const file = path.join(dir, 'nginx.conf');
      writeFileSync(file, nginxConfig(s, env));
      return launch(p, cpus, logFile, 'nginx', ['-c', file, '-e', path.join(dir, 'error.log')]);
    }
    case 'haproxy': {
      const file = path.join(dir, 'haproxy.cfg');
      writeFileSync(file, haproxyConfig(s, env));
      return launch(p, cpus, logFile, 'haproxy', ['-f', file]);
    }
  }
}

function curlArgs(c: Check, base: string): string[] {
  const a = ['-sS', '-o', '/dev/null', '-m', '3', '-w', '%{http_code} %{http_version}', '-D', '-'];
  if (c.proto === 'h2c' || c.proto === 'grpc') a.push('--http2-prior-knowledge');
  if (c.proto === 'tls-h1') a.push('-k', '--http1.1');
  if (c.proto === 'tls-h2') a.push('-k', '--http2');
  if (c.body === 'grpc') a.push('-X', 'POST', '--data-binary', `@${path.join(work, 'grpc-request.bin')}`, '-H', 'content-type: application/grpc', '-H', 'te: trailers');
  if (c.body === 'upload') a.push('-X', 'POST', '--data-binary', `@${path.join(work, 'upload.bin')}`);
  a.push(`${base}${c.path}`);
  return a;
}

function baseUrl(c: Check, port: number): string {
  return `${c.proto.startsWith('tls') ? 'https' : 'http'}://127.0.0.1:${port}`;
}

/** null when one request through the proxy is served as the scenario needs, else why not. */
async function checkOnce(c: Check, port: number): Promise<string | null> {
  const { out } = await run('curl', curlArgs(c, baseUrl(c, port)), 5000);
  const tail = out.trim().split('\n').pop() ?? '';
  const [code, version] = tail.split(' ');
  if (code !== '200') {
    const curlError = /curl: \(\d+\) .*/.exec(out)?.[0];
    return `check: ${c.path} ${code === '000' && curlError ? curlError : `answered ${code || out.trim().slice(0, 80)}`}`;
  }
  if ((c.proto === 'h2c' || c.proto === 'tls-h2' || c.proto === 'grpc') && version !== '2') return `check: HTTP/${version} instead of HTTP/2`;
  if (c.proto === 'grpc' && !/^grpc-status: 0\s*$/im.test(out)) return 'check: no grpc-status 0 trailer';
  if (c.miss) {
    const miss = await run('curl', curlArgs({ ...c, path: c.miss }, baseUrl(c, port)), 5000);
    const missCode = miss.out.trim().split('\n').pop()?.split(' ')[0];
    if (missCode !== '404') return `check: ${c.miss} (no route) answered ${missCode} instead of 404`;
  }
  return null;
}

/** Why the proxy did not come up, from the tail of its output. */
function startFailure(g: Group): string {
  let text = '';
  try {
    text = readFileSync(g.log, 'utf8');
  } catch {
    // no log
  }
  const lines = text.trim().split('\n').filter(Boolean);
  const err = lines.find((l) => /"level":(50|60)|error|ERROR|ALERT|emerg|refused|not supported/i.test(l)) ?? lines.at(-1) ?? '';
  let msg = err;
  try {
    const j = JSON.parse(err) as { msg?: string; err?: { message?: string }; problems?: unknown };
    msg = [j.msg, j.err?.message, j.problems ? JSON.stringify(j.problems) : ''].filter(Boolean).join(': ');
  } catch {
    // plain text
  }
  return `${exited(g) ? 'exited' : 'not serving'}: ${msg.replace(/\s+/g, ' ').replace(/\|/g, '/').slice(0, 160)}`;
}

async function up(p: ProxyName, s: Setup, check: Check): Promise<{ g: Group; error: string | null }> {
  const g = startProxy(p, s);
  if (!(await waitPort(env.ports.proxy, 20_000, g))) return { g, error: startFailure(g) };
  const deadline = Date.now() + 10_000;
  let why: string | null = 'check not run';
  while (Date.now() < deadline && !exited(g)) {
    why = await checkOnce(check, env.ports.proxy);
    if (why === null) return { g, error: null };
    await sleep(200);
  }
  return { g, error: exited(g) ? startFailure(g) : `${why}${warning(g)}` };
}

/** The proxy's first warning, if any: often why it serves but not this scenario (an unsupported field). */
function warning(g: Group): string {
  let text = '';
  try {
    text = readFileSync(g.log, 'utf8');
  } catch {
    return '';
  }
  const line = text.split('\n').find((l) => /"level":(40|50)|\[warn|WARNING|\[error/i.test(l));
  if (!line) return '';
  let msg = line;
  try {
    const j = JSON.parse(line) as Record<string, unknown>;
    msg = [j.msg, j.path ?? j.field, j.err && (j.err as { message?: string }).message].filter(Boolean).join(' ');
  } catch {
    // plain text
  }
  return `; log: ${msg.replace(/\s+/g, ' ').replace(/\|/g, '/').slice(0, 120)}`;
}

async function down(g: Group): Promise<void> {
  await stop(g);
  await waitPortFree(env.ports.proxy, 5000);
}

// ------------------------------------------------------------------ measurements

const rows: Row[] = [];

function loadCtx(url: string, seconds: number): LoadCtx {
  return { url, seconds, loadCpus, loadThreads: opts.loadCpus.length, conns: opts.connections, work, benchDir: BENCH_DIR };
}

function row(s: Scenario, proxy: string, part: Partial<Row>): Row {
  const r: Row = { scenario: s.name, proxy, unit: s.unit, value: null, p50: null, p99: null, cpu: null, rssMb: null, notes: [], ...part };
  rows.push(r);
  return r;
}

async function measureLoad(s: Scenario, p: ProxyName, setup: Setup): Promise<void> {
  const { g, error } = await up(p, setup, s.check);
  try {
    if (error) return void row(s, p, { na: error });
    const url = baseUrl(s.check, env.ports.proxy);
    await s.load!(loadCtx(url, opts.warmup));
    const pin = proxyCpus(setup.workers);
    const c0 = cpuSeconds(g);
    const b0 = cpuBusySeconds(pin.list);
    const t0 = performance.now();
    const r = await s.load!(loadCtx(url, opts.seconds));
    const elapsed = (performance.now() - t0) / 1000;
    const used = cpuSeconds(g) - c0;
    const cpu = (used / elapsed) * 100;
    // On a shared machine other programs may run on the proxy's CPUs: say so next to the number.
    const others = ((cpuBusySeconds(pin.list) - b0 - used) / elapsed) * 100;
    const mem = rss(g);
    const notes = [...r.notes];
    if (!pin.shared && others > 10) notes.push(`noisy: other processes took ${Math.round(others)}% of CPU ${pin.cpus}`);
    if (s.scale && s.scale !== 1) notes.push(`${Math.round(r.rps)} req/s`);
    if (pin.shared) notes.push('load generator shares the proxy CPUs');
    if (exited(g)) notes.push('proxy exited during the run');
    row(s, p, { value: r.rps * (s.scale ?? 1), p50: r.p50, p99: r.p99, cpu, rssMb: mem.totalMb, notes, workers: setup.workers });
  } finally {
    await down(g);
  }
}

async function measureIdleRss(s: Scenario, p: ProxyName, setup: Setup): Promise<void> {
  const { g, error } = await up(p, setup, s.check);
  try {
    if (error) return void row(s, p, { na: error });
    await sleep(1500);
    const m = rss(g);
    const notes = [m.workers > 1 || m.leaderMb !== m.workerMb ? `${m.workers} worker process(es) + ${m.leaderMb.toFixed(1)} MB primary/master` : 'single process'];
    row(s, p, { value: m.workerMb, rssMb: m.totalMb, notes });
  } finally {
    await down(g);
  }
}

async function measureIdleConns(s: Scenario, p: ProxyName, setup: Setup): Promise<void> {
  const { g, error } = await up(p, setup, s.check);
  let client: Group | null = null;
  try {
    if (error) return void row(s, p, { na: error });
    await sleep(1000);
    // workers only: connections live there, and the primary's GC swings would drown the signal
    const before = rss(g).workersMb;
    const out = path.join(work, 'idle-conns.out');
    client = launch('idle-conns', loadCpus, out, NODE, [path.join(BENCH_DIR, 'lib/idle_conns.ts'), String(env.ports.proxy), String(opts.idleConns)]);
    const deadline = Date.now() + 120_000;
    let res: { held: number; failed: number; ms: number } | null = null;
    while (!res && Date.now() < deadline && !exited(client)) {
      await sleep(250);
      const line = readFileSync(out, 'utf8').split('\n').find((l) => l.startsWith('{'));
      if (line) res = JSON.parse(line) as { held: number; failed: number; ms: number };
    }
    if (!res) return void row(s, p, { na: `idle client: ${readFileSync(out, 'utf8').trim().slice(-160) || 'timed out'}` });
    await sleep(1500);
    const m = rss(g);
    const notes = [`${res.held} connections held; workers ${before.toFixed(1)} → ${m.workersMb.toFixed(1)} MB`];
    if (res.failed) notes.push(`${res.failed} failed`);
    row(s, p, { value: m.workersMb - before, rssMb: m.totalMb, notes });
  } finally {
    if (client) await stop(client);
    await down(g);
  }
}

async function measureXds(s: Scenario, workers: number): Promise<void> {
  const script = path.join(BENCH_DIR, 'xds_push.ts');
  if (!existsSync(script)) return void row(s, 'orion', { na: 'bench/xds_push.ts missing' });
  const out = path.join(work, 'xds-push.out');
  const g = launch('xds-push', proxyCpus(workers).cpus, out, NODE, [script, '--clusters', String(opts.xdsClusters), '--workers', String(workers)]);
  const deadline = Date.now() + 300_000;
  while (!exited(g) && Date.now() < deadline) await sleep(250);
  await stop(g);
  const text = readFileSync(out, 'utf8');
  const json = text.split('\n').reverse().find((l) => l.startsWith('{') && l.includes('fullPushMs'));
  if (!json) return void row(s, 'orion', { na: `xds_push failed: ${text.trim().split('\n').slice(-2).join(' ').slice(0, 160)}` });
  const j = JSON.parse(json) as { clusters: number; fullPushMs: number; oneClusterMs?: number; routesMs?: number };
  const notes = [`${j.clusters} clusters, ${workers} worker(s)`];
  if (j.oneClusterMs !== undefined) notes.push(`1 cluster changed: ${j.oneClusterMs} ms`);
  if (j.routesMs !== undefined) notes.push(`${j.clusters} routes: ${j.routesMs} ms`);
  row(s, 'orion', { value: j.fullPushMs, notes });
  for (const p of proxies) if (p !== 'orion') row(s, p, { na: 'no xDS' });
}

async function direct(s: Scenario): Promise<void> {
  const port = s.direct === 'grpc-origin' ? env.ports.grpcOrigin : env.ports.origin;
  const url = baseUrl(s.check, port);
  const r = await s.load!(loadCtx(url, opts.seconds));
  row(s, 'direct (no proxy)', { value: r.rps * (s.scale ?? 1), p50: r.p50, p99: r.p99, notes: r.notes });
}

// ------------------------------------------------------------------ origins

const origins = new Map<string, Group>();

/** Starts the origins, and restarts one that died (noted in the report) so one crash costs one row, not the run. */
async function ensureOrigins(): Promise<void> {
  const want: [string, number, () => Group][] = [
    ['origin', env.ports.origin, () =>
      launch('origin', loadCpus, path.join(work, 'origin.log'), 'nginx', ['-c', writeConf('origin.conf', originConfig(env, opts.loadCpus.length)), '-e', path.join(work, 'origin.err')])],
  ];
  if (scenarios.some((s) => s.setup(1).upstream === 'grpc')) {
    want.push(['grpc-origin', env.ports.grpcOrigin, () =>
      launch('grpc-origin', loadCpus, path.join(work, 'grpc-origin.log'), NODE, [path.join(BENCH_DIR, 'lib/grpc_backend.ts'), String(env.ports.grpcOrigin)])]);
  }
  for (const [name, port, start] of want) {
    const old = origins.get(name);
    if (old && !exited(old)) continue;
    if (old) {
      restarts.push(`${name} exited and was restarted: ${readFileSync(old.log, 'utf8').trim().split('\n').slice(-3).join(' ').slice(0, 200)}`);
      await stop(old);
      await waitPortFree(port, 5000);
    }
    const g = start();
    origins.set(name, g);
    if (!(await waitPort(port, 10_000, g))) throw new Error(`${name} did not start: ${readFileSync(g.log, 'utf8').slice(-300)}`);
  }
}
const restarts: string[] = [];

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const ports = [env.ports.origin, env.ports.grpcOrigin, env.ports.proxy, env.ports.admin];
  for (const port of ports) {
    if (!(await portBindable(port))) throw new Error(`port ${port} is in use (choose another --port-base)`);
  }
  prepareFiles();
  const scaleTo = Math.max(2, opts.proxyCpus.length);
  await ensureOrigins();
  const started = new Date();
  for (const s of scenarios) {
    const workers = s.workers ? s.workers(opts.workers, scaleTo) : opts.workers;
    const setup: Setup = { ...s.setup(workers), workers };
    log(`== ${s.name} (${workers} worker${workers > 1 ? 's' : ''}, CPU ${proxyCpus(workers).cpus}; load on CPU ${loadCpus})`);
    if (s.kind === 'xds') {
      if (proxies.includes('orion')) await measureXds(s, workers);
      continue;
    }
    if (s.direct && s.kind === 'load') {
      log('   direct');
      await ensureOrigins();
      await direct(s);
    }
    for (const p of proxies) {
      log(`   ${p}`);
      await ensureOrigins();
      const why = unavailable(p, setup);
      if (why) {
        row(s, p, { na: why });
        continue;
      }
      if (s.kind === 'load') await measureLoad(s, p, setup);
      else if (s.kind === 'idle-rss') await measureIdleRss(s, p, setup);
      else await measureIdleConns(s, p, setup);
    }
  }
  for (const g of origins.values()) await stop(g);

  const text = report({
    rows,
    started,
    command: ['bench/run.sh', ...process.argv.slice(2)].join(' '),
    machine: machine(),
    layout: `${opts.workers} worker(s) on CPU ${proxyCpus(opts.workers).cpus}; origin + load generator on CPU ${loadCpus}; ${opts.warmup} s warm-up + ${opts.seconds} s measured per run`,
    scaleTo,
    idleConns: opts.idleConns,
    warnings: restarts,
  });
  process.stdout.write(text);
  if (opts.out) appendFileSync(opts.out, `\n${text}`);
}

function writeConf(name: string, text: string): string {
  const f = path.join(work, name);
  writeFileSync(f, text);
  return f;
}

function version(cmd: string, args: string[], re: RegExp): string {
  // nginx -v and wrk -v print to stderr, and wrk exits 1 after printing it
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return re.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? '?';
}

function machine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? '?';
  const nginx = version('nginx', ['-v'], /nginx\/(\S+)/);
  const haproxy = version('haproxy', ['-v'], /version (\S+)/);
  const wrkV = version('wrk', ['-v'], /wrk (\S+)/);
  const h2 = version('h2load', ['--version'], /nghttp2\/(\S+)/);
  return `${os.availableParallelism()} × ${cpu}; node ${process.version}; nginx ${nginx}; haproxy ${haproxy}; wrk ${wrkV}; h2load ${h2}`;
}

// After an interrupt the signal handler owns the exit (130, once everything is stopped).
main().then(
  () => isStopping() || process.exit(0),
  (e: unknown) => {
    if (isStopping()) return;
    process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
