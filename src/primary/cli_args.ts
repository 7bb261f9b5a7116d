// Command line. Accepts Envoy's spellings of the flags it shares with Envoy so existing launch
// scripts keep working; anything unknown or malformed stops start-up with ORION_BAD_ARG.
import { parseArgs as parseNodeArgs } from 'node:util';
import { OrionError } from '../shared/errors.ts';
import { normalizeLevel } from '../shared/logger.ts';
import { parseCpuCount } from './cpu_limit.ts';

export type Mode = 'serve' | 'validate';

export interface CliOptions {
  /** -c / --config / --config-path: orion runtime config or Envoy bootstrap file. */
  configPath?: string;
  /** --config-yaml: inline YAML applied on top of the file (Envoy semantics). */
  configYaml?: string;
  envoyBootstrapPath?: string;
  mode: Mode;
  /** -C / --num-cpus, or Envoy's --concurrency; already rounded up. */
  numCpus?: number;
  /** As given (Envoy or pino spelling); validated. */
  logLevel?: string;
  logPath?: string;
  drainTimeS: number;
  strict: boolean;
  /** Envoy compatibility only: there is no shared-memory hot restart to separate. */
  baseId?: number;
  serviceCluster?: string;
  serviceNode?: string;
  serviceZone?: string;
  help: boolean;
  version: boolean;
}

export const USAGE = `Usage: orion [options]

  -c, --config FILE            runtime config or Envoy bootstrap (alias: --config-path)
      --config-yaml YAML       inline bootstrap YAML, merged over --config
      --with-envoy-bootstrap FILE
                               Envoy bootstrap to serve alongside the runtime config
      --mode serve|validate    validate: check the config and exit (default: serve)
  -C, --num-cpus N             worker count; fractions and millicores round up (alias: --concurrency)
  -l, --log-level LEVEL        trace|debug|info|warning|error|critical|off
      --log-path FILE          write logs to FILE instead of stdout
      --drain-time-s N         seconds to drain listeners on shutdown (default: 5)
      --strict                 treat unsupported config fields as errors
      --service-cluster NAME   node.cluster for xDS
      --service-node NAME      node.id for xDS
      --service-zone NAME      node.locality.zone for xDS
      --base-id N              accepted for Envoy compatibility; ignored
      --disable-hot-restart    accepted for Envoy compatibility; ignored
  -h, --help                   show this text
      --version                print the version

Environment: ORION_CPU_LIMIT or ORION_GATEWAY_CORES override the worker count.
`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  'config-path': { type: 'string' },
  'config-yaml': { type: 'string' },
  'with-envoy-bootstrap': { type: 'string' },
  mode: { type: 'string' },
  'num-cpus': { type: 'string', short: 'C' },
  concurrency: { type: 'string' },
  'log-level': { type: 'string', short: 'l' },
  'log-path': { type: 'string' },
  'drain-time-s': { type: 'string' },
  strict: { type: 'boolean' },
  'base-id': { type: 'string' },
  'disable-hot-restart': { type: 'boolean' },
  'service-cluster': { type: 'string' },
  'service-node': { type: 'string' },
  'service-zone': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseNodeArgs<{ options: typeof OPTIONS; strict: true }>>['values'];

function bad(message: string): OrionError {
  return new OrionError('ORION_BAD_ARG', message);
}

export function parseArgs(argv: string[]): CliOptions {
  let values: Values;
  try {
    ({ values } = parseNodeArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (e) {
    throw bad(`${(e as Error).message} (see --help)`);
  }
  return {
    configPath: oneOf(values, 'config', 'config-path'),
    configYaml: nonEmpty(values, 'config-yaml'),
    envoyBootstrapPath: nonEmpty(values, 'with-envoy-bootstrap'),
    mode: mode(values.mode),
    numCpus: numCpus(values),
    logLevel: logLevel(values['log-level']),
    logPath: nonEmpty(values, 'log-path'),
    drainTimeS: values['drain-time-s'] === undefined ? 5 : number('--drain-time-s', values['drain-time-s'], 0),
    strict: values.strict ?? false,
    baseId: values['base-id'] === undefined ? undefined : integer('--base-id', values['base-id']),
    serviceCluster: nonEmpty(values, 'service-cluster'),
    serviceNode: nonEmpty(values, 'service-node'),
    serviceZone: nonEmpty(values, 'service-zone'),
    help: values.help ?? false,
    version: values.version ?? false,
  };
}

type StringKey = { [K in keyof Values]-?: Values[K] extends string | undefined ? K : never }[keyof Values];

// An empty path or name is almost always an unset shell variable; say so instead of failing later.
function nonEmpty(values: Values, key: StringKey): string | undefined {
  const v = values[key];
  if (v === '') throw bad(`--${key} must not be empty`);
  return v;
}

// Aliases given together must agree; silently preferring one would hide a broken launch script.
function oneOf(values: Values, a: StringKey, b: StringKey): string | undefined {
  const va = nonEmpty(values, a);
  const vb = nonEmpty(values, b);
  if (va !== undefined && vb !== undefined && va !== vb) throw bad(`--${a} ${JSON.stringify(va)} conflicts with --${b} ${JSON.stringify(vb)}`);
  return va ?? vb;
}

function mode(v: string | undefined): Mode {
  if (v === undefined || v === 'serve' || v === 'validate') return v ?? 'serve';
  throw bad(`--mode ${JSON.stringify(v)} is not one of serve, validate`);
}

function numCpus(values: Values): number | undefined {
  const cpus = cpuFlag('--num-cpus', values['num-cpus']);
  const concurrency = cpuFlag('--concurrency', values.concurrency);
  if (cpus !== undefined && concurrency !== undefined && cpus !== concurrency) throw bad(`--num-cpus ${cpus} conflicts with --concurrency ${concurrency}`);
  return cpus ?? concurrency;
}

function cpuFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  try {
    return parseCpuCount(v, flag);
  } catch (e) {
    throw bad((e as Error).message);
  }
}

function logLevel(v: string | undefined): string | undefined {
  if (v !== undefined && normalizeLevel(v) === undefined) throw bad(`--log-level ${JSON.stringify(v)} is not one of trace, debug, info, warning, error, critical, off`);
  return v;
}

function number(flag: string, v: string, min: number): number {
  const n = /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN;
  if (!(n >= min)) throw bad(`${flag} ${JSON.stringify(v)} is not a number >= ${min}`);
  return n;
}

function integer(flag: string, v: string): number {
  const n = number(flag, v, 0);
  if (!Number.isSafeInteger(n)) throw bad(`${flag} ${JSON.stringify(v)} is not a whole number`);
  return n;
}
