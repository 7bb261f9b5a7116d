// The worker's logger: same format and destination as the primary's (level, file and directory
// arrive in the environment the supervisor forks the worker with), each line tagged with the
// worker's index. pino itself is created on the first line at an enabled level: workers usually
// log nothing, and an idle worker is smaller without it.
import { createLogger, normalizeLevel, type Logger, type LoggerOptions } from '../shared/logger.ts';

const env = process.env;

/** pino's numeric levels, to decide without pino whether a call would print. */
const RANK: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

type LogCall = (...args: unknown[]) => void;

class WorkerLogger {
  private readonly opts: LoggerOptions;
  private real: Logger | null = null;
  private name: string;
  private rank: number;

  constructor(opts: LoggerOptions) {
    this.opts = opts;
    this.name = normalizeLevel(opts.level ?? 'info') ?? 'info';
    this.rank = RANK[this.name];
  }

  get level(): string {
    return this.name;
  }

  set level(name: string) {
    this.name = name;
    this.rank = RANK[name] ?? RANK.info;
    if (this.real !== null) this.real.level = name;
  }

  private emit(rank: number, method: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', args: unknown[]): void {
    if (rank < this.rank) return;
    this.real ??= createLogger({ ...this.opts, level: this.name });
    (this.real[method] as LogCall).apply(this.real, args);
  }

  trace(...args: unknown[]): void {
    this.emit(10, 'trace', args);
  }

  debug(...args: unknown[]): void {
    this.emit(20, 'debug', args);
  }

  info(...args: unknown[]): void {
    this.emit(30, 'info', args);
  }

  warn(...args: unknown[]): void {
    this.emit(40, 'warn', args);
  }

  error(...args: unknown[]): void {
    this.emit(50, 'error', args);
  }

  fatal(...args: unknown[]): void {
    this.emit(60, 'fatal', args);
  }
}

export const log = new WorkerLogger({
  level: env.ORION_LOG_LEVEL ?? 'info',
  workerId: Number(env.ORION_WORKER_ID ?? 0),
  file: env.ORION_LOG_FILE || undefined,
  directory: env.ORION_LOG_DIRECTORY || undefined,
});
