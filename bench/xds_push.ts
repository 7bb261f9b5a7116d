// xDS push latency: a SotW ADS control plane (test/lib/xds_server.ts) pushes 10,000 EDS clusters
// with their endpoints, then changes one of them, then pushes one route config of 10,000 routes.
// Each figure runs from the control plane's push to the primary's "snapshot live on all
// workers" log line that follows the proxy's ACK (every worker applied the snapshot).
//   node bench/xds_push.ts [--clusters 10000] [--workers 2] [--debug] [--log FILE] [--node-flags "..."] [--no-settle]
// --debug prints the proxy's stage timings and the CPU each of its threads used; --log keeps the
// proxy's stdout; --node-flags are given to the proxy's node (e.g. "--trace-gc").
// Before each figure the proxy is left to go idle (workers build pushed clusters when idle);
// --no-settle measures each push right after the previous one is live.
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, NODE, ROOT, stopProcess, writeConfig } from '../test/lib/proxy.ts';
import { ControlPlane, T, apiSource, assignment, edsCluster, encodeResource, rdsListener, routeConfig, toCluster, xdsCluster } from '../test/lib/xds_server.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('clusters', 10_000);
const WORKERS = arg('workers', 2);

const cp = new ControlPlane();
await cp.start();
const [adminPort, port] = [await freePort(), await freePort()];
cp.set(T.cluster, []);
cp.set(T.endpoint, []);
cp.set(T.listener, [rdsListener('http', port, 'routes')]);
cp.set(T.route, [routeConfig('routes', [toCluster('/', 'c0')])]);
const boot = {
  node: { id: 'bench' },
  admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
  dynamic_resources: { ads_config: apiSource('GRPC'), cds_config: { ads: {} }, lds_config: { ads: {} } },
  static_resources: { clusters: [xdsCluster(cp.port)] },
};
const debug = process.argv.includes('--debug');
const nodeFlags = process.argv.indexOf('--node-flags') > 0 ? process.argv[process.argv.indexOf('--node-flags') + 1].split(' ') : [];
const proc = spawn(NODE, [...nodeFlags, path.join(ROOT, 'src/orion.js'), '-c', writeConfig(JSON.stringify(boot)), ...(debug ? ['-l', 'debug'] : [])], {
  env: { ...process.env, ORION_CPU_LIMIT: String(WORKERS) },
  stdio: ['ignore', 'pipe', 'pipe'],
});
const live: { at: number; ms: number }[] = [];
let lastPush: number | null = null;
let buf = '';
const logFile = process.argv.indexOf('--log') > 0 ? process.argv[process.argv.indexOf('--log') + 1] : null;
proc.stdout!.on('data', (d: Buffer) => {
  if (logFile !== null) appendFileSync(logFile, d);
  buf += d.toString();
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    if (line.includes('snapshot live on all workers')) live.push({ at: Date.now(), ms: JSON.parse(line).ms });
    if (debug && /xDS update processed|xDS response decoded|snapshot composed|snapshot live/.test(line)) {
      const o = JSON.parse(line);
      const { level: _l, time: _t, pid: _p, worker: _w, msg, ...rest } = o;
      console.log(`  ${Date.now() - (lastPush ?? Date.now())} ms: ${msg} ${JSON.stringify(rest)}`);
    }
  }
});
proc.stderr!.pipe(process.stderr);

async function until(cond: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** CPU time (user + sys, ms) of the proxy's threads by `pid/tid comm` (primary and workers). */
function proxyThreadsCpu(): Map<string, number> {
  const out = new Map<string, number>();
  const pids = [proc.pid!];
  try {
    for (const t of readdirSync(`/proc/${proc.pid}/task`)) {
      const kids = readFileSync(`/proc/${proc.pid}/task/${t}/children`, 'utf8').trim();
      if (kids !== '') pids.push(...kids.split(/\s+/).map(Number));
    }
    for (const pid of pids) {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
        const comm = f.slice(f.indexOf('(') + 1, f.lastIndexOf(')'));
        out.set(`${pid === proc.pid ? 'primary' : `worker ${pid}`}/${tid} ${comm}`, (Number(rest[11]) + Number(rest[12])) * 10);
      }
    }
  } catch {}
  return out;
}

function proxyCpuMs(): number {
  let ms = 0;
  for (const v of proxyThreadsCpu().values()) ms += v;
  return ms;
}

/**
 * Waits until the proxy is idle (under 10 ms of CPU in 250 ms), so one figure does not include
 * what is left of the previous one (workers build pushed clusters when idle).
 */
async function settle(): Promise<void> {
  const deadline = Date.now() + 10_000;
  let before = proxyCpuMs();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const now = proxyCpuMs();
    if (now - before < 10) return;
    before = now;
  }
}

/** Pushes, waits for the ACK of `ackType`, then for the next snapshot to be live everywhere. */
async function measure(label: string, push: () => void, ackType: string): Promise<number> {
  if (!process.argv.includes('--no-settle')) await settle();
  const seen = cp.requests.length;
  const threads0 = proxyThreadsCpu();
  const cpu0 = proxyCpuMs();
  const t0 = Date.now();
  lastPush = t0;
  push();
  await until(() => cp.requests.slice(seen).some((r) => r.type_url === ackType && r.response_nonce !== '' && cp.answerTo(ackType) === r));
  const ack = cp.answerTo(ackType)!;
  if (ack.error_detail) throw new Error(`${label}: NACK ${ack.error_detail.message}`);
  await until(() => live.some((l) => l.at >= ack.at));
  const done = live.find((l) => l.at >= ack.at)!;
  const total = done.at - t0;
  console.log(`${label}: ${total} ms (ACK after ${ack.at - t0} ms; workers applied in ${done.ms} ms; proxy CPU ${proxyCpuMs() - cpu0} ms)`);
  if (debug) {
    const per = [...proxyThreadsCpu()].map(([k, v]) => [k, v - (threads0.get(k) ?? 0)] as const).filter(([, v]) => v > 0);
    console.log(`  CPU by thread: ${per.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  }
  return total;
}

await until(() => live.length > 0);
// Encoded before the clock starts: the control plane's own encoding is not the proxy's cost.
const enc = (type: string, objs: Record<string, unknown>[]) => objs.map((o) => ({ name: String(o.name ?? o.cluster_name), bytes: encodeResource(type, o) }));
const clusters = enc(T.cluster, Array.from({ length: N }, (_, i) => edsCluster(`c${i}`)));
const endpoints = enc(T.endpoint, Array.from({ length: N }, (_, i) => assignment(`c${i}`, [20000 + (i % 5000), 30000 + (i % 5000)])));
const full = await measure(`${N} clusters + endpoints (SotW ADS, ${WORKERS} workers)`, () => {
  cp.set(T.endpoint, endpoints);
  cp.set(T.cluster, clusters);
}, T.endpoint);
const changed = clusters.slice();
changed[N >> 1] = enc(T.cluster, [edsCluster(`c${N >> 1}`, { ads: {} }, { connect_timeout: { seconds: 3 } })])[0];
const one = await measure(`1 of ${N} clusters changed`, () => cp.set(T.cluster, changed), T.cluster);
const routes = enc(T.route, [routeConfig('routes', Array.from({ length: N }, (_, i) => toCluster(`/r${i}/`, `c${i}`)))]);
const rds = await measure(`route config of ${N} routes`, () => cp.set(T.route, routes), T.route);
console.log(JSON.stringify({ clusters: N, workers: WORKERS, fullPushMs: full, oneClusterMs: one, routesMs: rds }));
await stopProcess(proc);
await cp.stop();
process.exit(0);
