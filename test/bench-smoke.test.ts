// The benchmark scripts work end to end (no timing assertions: CI machines are noisy): a --quick run
// of two cheap scenarios prints the side-by-side table, and every process it started is gone after
// a normal end and after Ctrl-C. The parsers are checked on canned wrk / h2load output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './lib/proxy.ts';
import { parseH2load, parseWrk } from '../bench/lib/load.ts';
import { report } from '../bench/lib/report.ts';
import { parseArgs } from '../bench/lib/args.ts';

/** Processes whose command line mentions `dir` (the run's private work directory) or its ports (wrk, curl). */
function leftovers(dir: string, base: number): string[] {
  const ports = [base, base + 2, base + 100].map((p) => `127.0.0.1:${p}`);
  const out: string[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(dir) || ports.some((p) => cmd.includes(p))) out.push(`${d}: ${cmd}`);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** A random port block below the ephemeral range (bench/run.sh refuses it when a port is taken). */
const pickBase = () => 20000 + Math.floor(Math.random() * 110) * 100;

/** bench/run.sh on a private work dir and port block. */
function bench(args: string[], work: string, base: number, onErr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  const child = spawn('bash', [path.join(ROOT, 'bench/run.sh'), ...args, '--port-base', String(base), '--out', '-'], {
    env: { ...process.env, BENCH_WORK: work },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => {
    err += d;
    onErr?.(err, child);
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, out, err });
    });
  });
}

test('bench --quick prints the side-by-side table and leaves nothing running', { timeout: 180_000 }, async () => {
  const work = mkdtempSync(path.join(tmpdir(), 'orion-bench-smoke-'));
  const args = ['--quick', '--duration', '1', '--warmup', '1', '--scenario', 'h1-keepalive,idle-rss'];
  let base = pickBase();
  let r = await bench(args, work, base);
  if (r.code !== 0 && /is in use/.test(r.err)) r = await bench(args, work, (base = pickBase()));
  assert.equal(r.code, 0, `bench failed:\n${r.err}\n${r.out}`);
  assert.match(r.out, /^\| scenario \| proxy \| result \| unit \| ×nginx \|/m);
  const rows = r.out.split('\n').filter((l) => l.startsWith('| h1-keepalive') || l.startsWith('| idle-rss'));
  const proxies = (sc: string) => rows.filter((l) => l.startsWith(`| ${sc} `)).map((l) => l.split('|')[2].trim());
  assert.deepEqual(proxies('h1-keepalive'), ['direct (no proxy)', 'nginx', 'orion', 'haproxy']);
  assert.deepEqual(proxies('idle-rss'), ['nginx', 'orion', 'haproxy']);
  for (const l of rows) {
    const result = l.split('|')[3].trim();
    // a number, or n/a with the reason the proxy could not run the scenario
    assert.match(result, /^(\d+(\.\d+)?|n\/a \(.+\))$/, l);
  }
  const nginx = rows.find((l) => l.startsWith('| h1-keepalive | nginx'))!;
  assert.ok(Number(nginx.split('|')[3]) > 0, nginx);
  assert.equal(nginx.split('|')[5].trim(), '1.00', 'nginx is the yardstick of the ratios');
  assert.match(r.out, /Targets \(issue 7\):[\s\S]*HTTP\/1\.1 keep-alive ≥ 0\.9× nginx/);
  assert.match(r.out, /idle worker RSS ≤ 60 MB: (\*\*met\*\*|\*\*not met\*\*|not measured)/);
  assert.deepEqual(leftovers(work, base), []);
});

test('Ctrl-C stops every process the bench started', { timeout: 60_000 }, async () => {
  const work = mkdtempSync(path.join(tmpdir(), 'orion-bench-int-'));
  let seenRunning: string[] = [];
  let sent = false;
  const base = pickBase();
  const r = await bench(['--duration', '20', '--warmup', '20', '--scenario', 'routes-10', '--only', 'nginx'], work, base, (text, child) => {
    // interrupt during nginx's warm-up (routes-10 has no direct run first): origin, proxy and wrk all run
    if (sent || !/ {3}nginx\n/.test(text)) return;
    sent = true;
    setTimeout(() => {
      seenRunning = leftovers(work, base);
      child.kill('SIGINT');
    }, 2500);
  });
  assert.ok(sent, `never reached the nginx run:\n${r.err}`);
  for (const what of ['origin.conf', 'nginx/nginx.conf', 'wrk ']) {
    assert.ok(seenRunning.some((l) => l.includes(what)), `${what} should have been running:\n${seenRunning.join('\n')}`);
  }
  assert.equal(r.code, 130, r.err);
  assert.deepEqual(leftovers(work, base), []);
});

test('parsers: wrk and h2load output, targets and n/a rows in the report', () => {
  const w = parseWrk(`Running 2s test @ http://127.0.0.1:19100/
  Latency Distribution
     50%  812.00us
     75%    1.10ms
     90%    1.50ms
     99%    2.95ms
  100000 requests in 2.00s, 12.3MB read
  Socket errors: connect 0, read 3, write 0, timeout 0
  Non-2xx or 3xx responses: 7
Requests/sec:  50000.50
`);
  assert.equal(w.rps, 50000.5);
  assert.equal(w.p50, 0.812);
  assert.equal(w.p99, 2.95);
  assert.deepEqual(w.notes, ['non-2xx 7', 'errors: connect 0, read 3, write 0, timeout 0']);

  const log = path.join(mkdtempSync(path.join(tmpdir(), 'orion-bench-parse-')), 'h2.log');
  writeFileSync(log, Array.from({ length: 100 }, (_, i) => `1795306209067327\t200\t${(i + 1) * 1000}`).join('\n') + '\n');
  const h = parseH2load(`finished in 2.00s, 30000.00 req/s, 1.2MB/s
requests: 60000 total, 60000 started, 60000 done, 59990 succeeded, 10 failed, 0 errored, 0 timeout
status codes: 59990 2xx, 0 3xx, 0 4xx, 10 5xx
`, log);
  assert.equal(h.rps, 30000);
  assert.equal(h.p50, 51);
  assert.equal(h.p99, 100);
  assert.deepEqual(h.notes, ['failed 10, errored 0, timeout 0', 'non-2xx 10']);

  const row = (proxy: string, value: number | null, p99: number | null, na?: string) =>
    ({ scenario: 'h1-keepalive', proxy, unit: 'req/s', value, p50: 1, p99, cpu: 99, rssMb: 20, notes: [], na });
  const text = report({
    rows: [row('nginx', 50000, 2), row('orion', 46000, 2.8), row('haproxy', null, null, 'exited: bad config')],
    started: new Date(0), command: 'bench/run.sh', machine: 'test', layout: 'test', scaleTo: 2, idleConns: 10000, warnings: [],
  });
  assert.match(text, /\| h1-keepalive \| orion \| 46000 \| req\/s \| 0\.92 \| .* \| \*\*met\*\* \(0\.92×, p99 1\.40×\) \|/);
  assert.match(text, /\| h1-keepalive \| haproxy \| n\/a \(exited: bad config\) \|/);

  const o = parseArgs(['--cores', '0-3:4-7', '--quick'], 8, '/x');
  assert.deepEqual([o.proxyCpus, o.loadCpus, o.workers, o.seconds, o.idleConns], [[0, 1, 2, 3], [4, 5, 6, 7], 4, 2, 2000]);
  assert.throws(() => parseArgs(['--cores', '0:9'], 2, '/x'), /CPU 9 does not exist/);
});
