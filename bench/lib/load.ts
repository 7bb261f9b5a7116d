// Load generators and their output: wrk for HTTP/1.1 (plain and TLS), h2load for HTTP/2 and gRPC
// (percentiles from its per-request log, since h2load prints only min/mean/max), curl for the
// one-request check that a proxy really serves a scenario before it is measured.
import { runTracked } from './procs.ts';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

export interface LoadResult {
  rps: number;
  p50: number | null;
  p99: number | null;
  /** problems seen (errors, non-2xx); empty when the run was clean */
  notes: string[];
}

export const run = runTracked;

function ms(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v);
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60000;
}

export function parseWrk(out: string): LoadResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p50 = /^\s+50%\s+(\S+)/m.exec(out);
  const p99 = /^\s+99%\s+(\S+)/m.exec(out);
  const notes: string[] = [];
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  if (non2xx) notes.push(`non-2xx ${non2xx[1]}`);
  const errs = /Socket errors:\s*(.*)/.exec(out);
  if (errs) notes.push(`errors: ${errs[1].trim()}`);
  if (!rps) notes.push(`wrk failed: ${out.trim().split('\n').slice(-2).join(' ')}`);
  return { rps: rps ? Number(rps[1]) : 0, p50: p50 ? ms(p50[1]) : null, p99: p99 ? ms(p99[1]) : null, notes };
}

export interface WrkOpts {
  cpus: string;
  threads: number;
  conns: number;
  seconds: number;
  headers?: string[];
  script?: string;
  env?: NodeJS.ProcessEnv;
}

export async function wrk(url: string, o: WrkOpts): Promise<LoadResult> {
  const args = ['-c', o.cpus, 'wrk', `-t${Math.min(o.threads, o.conns)}`, `-c${o.conns}`, `-d${o.seconds}s`, '--timeout', '5s', '--latency'];
  for (const h of o.headers ?? []) args.push('-H', h);
  if (o.script) args.push('-s', o.script);
  args.push(url);
  const { out } = await run('taskset', args, (o.seconds + 30) * 1000, o.env);
  return parseWrk(out);
}

export interface H2Opts {
  cpus: string;
  threads: number;
  clients: number;
  streams: number;
  seconds: number;
  headers?: string[];
  dataFile?: string;
  logFile: string;
}

export function percentile(sorted: Float64Array, q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function parseH2load(out: string, log: string): LoadResult {
  const notes: string[] = [];
  const fin = /finished in [\d.]+s, ([\d.]+) req\/s/.exec(out);
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  if (req && (req[5] !== '0' || req[6] !== '0' || req[7] !== '0')) notes.push(`failed ${req[5]}, errored ${req[6]}, timeout ${req[7]}`);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (codes && codes.slice(2).some((c) => c !== '0')) notes.push(`non-2xx ${Number(codes[2]) + Number(codes[3]) + Number(codes[4])}`);
  if (!fin) notes.push(`h2load failed: ${out.trim().split('\n').slice(-2).join(' ')}`);
  // log lines: start time (µs since epoch) \t status \t duration (µs)
  let durations = new Float64Array(0);
  try {
    const lines = readFileSync(log, 'latin1').split('\n');
    durations = new Float64Array(lines.length);
    let n = 0;
    for (const l of lines) {
      const t = l.lastIndexOf('\t');
      if (t > 0) durations[n++] = Number(l.slice(t + 1)) / 1000;
    }
    durations = durations.subarray(0, n).sort();
  } catch {
    // no log: no percentiles
  }
  return { rps: fin ? Number(fin[1]) : 0, p50: percentile(durations, 0.5), p99: percentile(durations, 0.99), notes };
}

export async function h2load(url: string, o: H2Opts): Promise<LoadResult> {
  rmSync(o.logFile, { force: true });
  const args = ['-c', o.cpus, 'h2load', '-t', String(Math.min(o.threads, o.clients)), '-c', String(o.clients), '-m', String(o.streams), '-D', String(o.seconds), `--log-file=${o.logFile}`];
  for (const h of o.headers ?? []) args.push('-H', h);
  if (o.dataFile) args.push('-d', o.dataFile);
  args.push(url);
  const { out } = await run('taskset', args, (o.seconds + 30) * 1000);
  const r = parseH2load(out, o.logFile);
  rmSync(o.logFile, { force: true });
  return r;
}

export const BENCH_DIR = path.dirname(path.dirname(new URL(import.meta.url).pathname));
