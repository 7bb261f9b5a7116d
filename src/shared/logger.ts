// Process logger. Levels are accepted in pino's and Envoy's spellings because operators copy
// Envoy command lines; every line carries `worker` so interleaved output from many processes can be split.
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type pino from 'pino';
import { OrionError } from './errors.ts';

export type Logger = pino.Logger;
/** What code shared by both processes needs of a logger (a worker's may not have loaded pino yet). */
export interface LevelHolder {
  level: string;
}

// Loaded on first use: a worker that never logs does not pay for pino (~2.5 MB per process).
const requireCjs = createRequire(import.meta.url);
let pinoModule: typeof pino | null = null;
const loadPino = (): typeof pino => (pinoModule ??= requireCjs('pino') as typeof pino);
export type LevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface LoggerOptions {
  level?: string;
  /** Log file name; relative to `directory` when that is given. */
  file?: string;
  directory?: string;
  workerId?: number | 'primary';
}

const LEVELS: Record<string, LevelName> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  silent: 'silent',
  off: 'silent',
};

/**
 * Maps a level to pino's name, or undefined when unknown. Also takes an env-filter string such as
 * `orion=debug,info`: per-target levels are not supported, so the bare default wins, else the first target's.
 */
export function normalizeLevel(input: string): LevelName | undefined {
  const parts = input.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const bare = parts.filter((p) => !p.includes('='));
  const chosen = bare.length > 0 ? bare[bare.length - 1] : parts[0]?.slice(parts[0].indexOf('=') + 1);
  return chosen === undefined ? undefined : LEVELS[chosen.trim().toLowerCase()];
}

function requireLevel(input: string): LevelName {
  const level = normalizeLevel(input);
  if (level === undefined) throw new OrionError('ORION_BAD_LOG_LEVEL', `unknown log level ${JSON.stringify(input)} (want trace, debug, info, warning, error, critical or off)`);
  return level;
}

function logPath(opts: LoggerOptions): string | undefined {
  if (opts.file !== undefined) return opts.directory !== undefined ? join(opts.directory, opts.file) : opts.file;
  return opts.directory !== undefined ? join(opts.directory, 'orion.log') : undefined;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const workerId = opts.workerId ?? 'primary';
  // The primary logs rarely and must not lose its last words on a crash; workers must never block
  // the event loop on a slow terminal or disk, and pino flushes their buffer on exit.
  const sync = workerId === 'primary';
  const level = requireLevel(opts.level ?? 'info');
  const pino = loadPino();
  const dest = pino.destination({ dest: logPath(opts) ?? 1, sync, mkdir: true });
  return pino(
    {
      level,
      base: { pid: process.pid, worker: workerId },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
}

/** Changes the level at run time; false (and no change) when the level is not recognised. */
export function setLevel(logger: LevelHolder, level: string): boolean {
  const name = normalizeLevel(level);
  if (name === undefined) return false;
  logger.level = name;
  return true;
}
