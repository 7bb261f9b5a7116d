// Programs the benchmark starts: each in its own process group (detached) pinned with taskset, so
// one signal stops a proxy with all its workers, and CPU time and RSS can be summed per group.
// Every group is remembered until stopped; an exit of any kind (end, error, Ctrl-C) kills the rest.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';

export interface Group {
  name: string;
  proc: ChildProcess;
  pgid: number;
  log: string;
}

const live = new Set<Group>();
/** set once an interrupt started the shutdown: nothing new may start after that */
let stopping = false;

export const isStopping = () => stopping;

function refuseWhenStopping(): void {
  if (stopping) throw new Error('interrupted');
}

export function launch(name: string, cpus: string, log: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Group {
  refuseWhenStopping();
  const fd = openSync(log, 'w');
  const proc = spawn('taskset', ['-c', cpus, cmd, ...args], { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
  closeSync(fd);
  const g: Group = { name, proc, pgid: proc.pid!, log };
  proc.on('error', () => {});
  live.add(g);
  return g;
}

/**
 * Runs a short-lived program (load generator, curl) to completion as its own tracked group, so an
 * interrupt stops it too; resolves with its output and exit code. Killed after `timeoutMs`.
 */
export function runTracked(cmd: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<{ out: string; code: number }> {
  refuseWhenStopping();
  const proc = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const g: Group = { name: cmd, proc, pgid: proc.pid ?? 0, log: '' };
  if (g.pgid > 0) live.add(g);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => g.pgid > 0 && void stop(g, 1000), timeoutMs);
  return new Promise((resolve) => {
    proc.on('error', (e) => (out += String(e)));
    proc.on('close', (code) => {
      clearTimeout(timer);
      live.delete(g);
      resolve({ out, code: code ?? 1 });
    });
  });
}

export function exited(g: Group): boolean {
  return g.proc.exitCode !== null || g.proc.signalCode !== null;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** TERM to the whole group, KILL after `graceMs`, until no member is left. */
export async function stop(g: Group, graceMs = 5000): Promise<void> {
  try {
    process.kill(-g.pgid, 'SIGTERM');
  } catch {
    // already gone
  }
  const deadline = Date.now() + graceMs;
  while (groupAlive(g.pgid) && Date.now() < deadline) await sleep(50);
  if (groupAlive(g.pgid)) {
    try {
      process.kill(-g.pgid, 'SIGKILL');
    } catch {
      // raced with exit
    }
    while (groupAlive(g.pgid)) await sleep(20);
  }
  live.delete(g);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((g) => stop(g, 3000)));
}

function killAllNow(): void {
  for (const g of live) {
    try {
      process.kill(-g.pgid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  live.clear();
}

/** Installs the exit paths: normal exit and crashes kill synchronously, signals stop gracefully. */
export function installCleanup(onSignal: () => void = () => {}): void {
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`\nbench: ${sig}, stopping everything it started\n`);
      onSignal();
      void stopAll().finally(() => process.exit(130));
    });
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ /proc accounting

interface ProcStat {
  pid: number;
  ppid: number;
  pgid: number;
  ticks: number;
}

function readStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let s: string;
    try {
      s = readFileSync(`/proc/${d}/stat`, 'latin1');
    } catch {
      continue;
    }
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    out.push({ pid: Number(d), ppid: Number(f[1]), pgid: Number(f[2]), ticks: Number(f[11]) + Number(f[12]) });
  }
  return out;
}

/** The group's processes: members of the process group plus descendants that left it. */
function members(pgid: number, all = readStats()): ProcStat[] {
  const keep = new Set<number>();
  for (const p of all) if (p.pgid === pgid || p.pid === pgid) keep.add(p.pid);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) if (!keep.has(p.pid) && keep.has(p.ppid)) (keep.add(p.pid), (grew = true));
  }
  return all.filter((p) => keep.has(p.pid));
}

/** CPU seconds used so far by the group (user + system). */
export function cpuSeconds(g: Group): number {
  const hz = 100; // USER_HZ is 100 on every Linux ABI node runs on
  return members(g.pgid).reduce((s, p) => s + p.ticks, 0) / hz;
}

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** RSS in MiB: the whole group, and of the workers (children of the leader; the leader itself when it has none). */
export function rss(g: Group): { totalMb: number; workerMb: number; workersMb: number; workers: number; leaderMb: number } {
  const all = members(g.pgid);
  const total = all.reduce((s, p) => s + rssKb(p.pid), 0);
  // taskset execs the program, so the leader is the proxy's own first process.
  const kids = all.filter((p) => p.ppid === g.pgid);
  const sum = kids.length > 0 ? kids.reduce((s, p) => s + rssKb(p.pid), 0) : rssKb(g.pgid);
  const n = kids.length || 1;
  return { totalMb: total / 1024, workerMb: sum / n / 1024, workersMb: sum / 1024, workers: n, leaderMb: rssKb(g.pgid) / 1024 };
}

/** Busy seconds (all processes) of the given CPUs so far, from /proc/stat. */
export function cpuBusySeconds(cpus: number[]): number {
  let busy = 0;
  for (const line of readFileSync('/proc/stat', 'latin1').split('\n')) {
    const m = /^cpu(\d+) (.*)/.exec(line);
    if (!m || !cpus.includes(Number(m[1]))) continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy
    busy += f.reduce((a, b) => a + b, 0) - f[3] - f[4];
  }
  return busy / 100;
}

// ------------------------------------------------------------------ ports

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** Also fails when something holds the port without listening on 127.0.0.1 (bound to 0.0.0.0). */
export function portBindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function waitPort(port: number, ms: number, g?: Group): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await portOpen(port)) return true;
    if (g && exited(g)) return false;
    await sleep(100);
  }
  return false;
}

export async function waitPortFree(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && (await portOpen(port))) await sleep(100);
}
