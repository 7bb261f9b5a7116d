// Starts the real CLI (`node src/orion.js`) as a child process on a config written to a temp file,
// waits until the admin endpoint says LIVE, and stops it (SIGTERM, then SIGKILL) afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const NODE = process.execPath;

export interface Proxy {
  proc: ChildProcess;
  adminPort: number;
  output(): string;
  admin(p: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export function writeConfig(text: string, name = 'config.yaml'): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orion-test-'));
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

export async function startProxy(configText: string, opts: { adminPort: number; env?: Record<string, string>; args?: string[]; workers?: number; timeoutMs?: number }): Promise<Proxy> {
  const file = writeConfig(configText);
  const env = { ...process.env, ORION_CPU_LIMIT: String(opts.workers ?? 1), ...opts.env };
  const proc = spawn(NODE, [path.join(ROOT, 'src/orion.js'), '-c', file, ...(opts.args ?? [])], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const admin = (p: string, init?: RequestInit) => fetch(`http://127.0.0.1:${opts.adminPort}${p}`, { ...init, signal: AbortSignal.timeout(5000) });
  const proxy: Proxy = {
    proc,
    adminPort: opts.adminPort,
    output: () => out,
    admin,
    stop: () => stopProcess(proc),
  };
  await waitLive(proxy, opts.timeoutMs ?? 15000);
  return proxy;
}

async function waitLive(p: Proxy, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.proc.exitCode !== null) throw new Error(`proxy exited with ${p.proc.exitCode}:\n${p.output()}`);
    try {
      const r = await p.admin('/ready');
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await p.stop();
  throw new Error(`proxy not LIVE within ${timeoutMs} ms:\n${p.output()}`);
}

export function stopProcess(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 8000): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
    proc.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
    proc.kill(signal);
  });
}

/** Runs the CLI to completion (for --mode validate, --help, bad configs). */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 20000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const proc = spawn(NODE, [path.join(ROOT, 'src/orion.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}
