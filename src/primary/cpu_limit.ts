// How many workers to start. Explicit settings win over detection, and a bad explicit value is an
// error rather than a fallback: a typo in a CPU limit should stop start-up, not silently oversubscribe.
import { readFileSync } from 'node:fs';
import { availableParallelism as machineParallelism } from 'node:os';
import { join } from 'node:path';
import { OrionError } from '../shared/errors.ts';

export type WorkerCountSource = 'ORION_CPU_LIMIT' | 'ORION_GATEWAY_CORES' | 'cli' | 'config' | 'cgroup_v2' | 'cgroup_v1' | 'machine';

export interface WorkerCountInput {
  env: Record<string, string | undefined>;
  cliNumCpus?: number | string;
  configNumCpus?: number | string;
  cgroupRoot?: string;
  availableParallelism?: number;
}

export interface WorkerCount {
  count: number;
  source: WorkerCountSource;
}

// Guards against typos such as "16000" meant as millicores; far beyond any machine we run on.
const MAX_CPUS = 1024;
const DECIMAL = /^\d+(\.\d+)?$/;
const MILLICORES = /^(\d+)m$/;

/** Parses a CPU count ("2", "1.5", "1500m", or a number), rounding up; `name` labels errors. */
export function parseCpuCount(value: number | string, name: string): number {
  const n = typeof value === 'number' ? value : parseCpuString(value.trim());
  if (!Number.isFinite(n) || n <= 0 || n > MAX_CPUS) {
    throw new OrionError('ORION_BAD_CPU_LIMIT', `${name}=${JSON.stringify(String(value))} is not a CPU count (want a positive number such as 2, 1.5 or 1500m, at most ${MAX_CPUS})`);
  }
  return Math.ceil(n);
}

function parseCpuString(s: string): number {
  if (DECIMAL.test(s)) return Number(s);
  const m = MILLICORES.exec(s);
  return m ? Number(m[1]) / 1000 : NaN;
}

export function resolveWorkerCount(input: WorkerCountInput): WorkerCount {
  const { env, cliNumCpus, configNumCpus } = input;
  // An empty variable is treated as set: `ORION_CPU_LIMIT=` is more likely a broken template than intent.
  if (env.ORION_CPU_LIMIT !== undefined) return { count: parseCpuCount(env.ORION_CPU_LIMIT, 'ORION_CPU_LIMIT'), source: 'ORION_CPU_LIMIT' };
  if (env.ORION_GATEWAY_CORES !== undefined) return { count: parseCpuCount(env.ORION_GATEWAY_CORES, 'ORION_GATEWAY_CORES'), source: 'ORION_GATEWAY_CORES' };
  if (cliNumCpus !== undefined) return { count: parseCpuCount(cliNumCpus, '--num-cpus'), source: 'cli' };
  if (configNumCpus !== undefined) return { count: parseCpuCount(configNumCpus, 'runtime.num_cpus'), source: 'config' };
  return detect(input.cgroupRoot ?? '/sys/fs/cgroup', input.availableParallelism ?? machineParallelism());
}

// A quota above the CPUs we may run on cannot be used, so detection never exceeds the machine.
function detect(root: string, machine: number): WorkerCount {
  const v2 = cgroupV2Cpus(root);
  if (v2 !== undefined) return { count: Math.min(v2, machine), source: 'cgroup_v2' };
  const v1 = cgroupV1Cpus(root);
  if (v1 !== undefined) return { count: Math.min(v1, machine), source: 'cgroup_v1' };
  return { count: machine, source: 'machine' };
}

/** CPUs allowed by cgroup v2 `cpu.max` ("QUOTA PERIOD"), or undefined when absent or unlimited. */
export function cgroupV2Cpus(root: string): number | undefined {
  const text = readSmall(join(root, 'cpu.max'));
  if (text === undefined) return undefined;
  const [quota, period] = text.split(/\s+/);
  if (quota === 'max') return undefined;
  return quotaToCpus(Number(quota), Number(period ?? 100000));
}

/** CPUs allowed by cgroup v1 CFS quota, or undefined when absent or unlimited (-1). */
export function cgroupV1Cpus(root: string): number | undefined {
  // Distributions mount the v1 cpu controller either alone or co-mounted with cpuacct.
  for (const dir of ['cpu', 'cpu,cpuacct']) {
    const quota = readSmall(join(root, dir, 'cpu.cfs_quota_us'));
    const period = readSmall(join(root, dir, 'cpu.cfs_period_us'));
    if (quota === undefined || period === undefined) continue;
    return quotaToCpus(Number(quota), Number(period));
  }
  return undefined;
}

// Kernel files are trusted but not blindly: unreadable numbers mean "no limit detected".
function quotaToCpus(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return Math.max(1, Math.ceil(quota / period));
}

function readSmall(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}
