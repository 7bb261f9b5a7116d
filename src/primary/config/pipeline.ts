// The primary's entry points to the config pipeline: a one-thread translator pool for serving
// and reloads, and `validate` for `--mode validate`.
import { Piscina } from 'piscina';
import type { ConfigIssue } from '../../shared/errors.ts';
import { loadConfigFile, type LoadOptions } from './runtime_file.ts';
import translateTask, { type TranslateArgs, type TranslateOutput } from './translate_task.ts';

export type { TranslateArgs, TranslateOutput };

export interface Translator {
  translate(args: TranslateArgs): Promise<TranslateOutput>;
  /** Stops the worker thread (it also exits by itself when idle). */
  close(): Promise<void>;
}

export interface TranslatorOptions {
  /** Idle time after which the thread exits, so it never keeps the process alive. */
  idleTimeoutMs?: number;
}

export function createTranslator(opts: TranslatorOptions = {}): Translator {
  const pool = new Piscina<TranslateArgs, TranslateOutput>({
    filename: new URL('./translate_task.ts', import.meta.url).href,
    minThreads: 0,
    maxThreads: 1,
    idleTimeout: opts.idleTimeoutMs ?? 1000,
  });
  return {
    translate: (args) => pool.run(args),
    close: () => pool.destroy(),
  };
}

export interface ValidateOptions extends LoadOptions {
  strict?: boolean;
  /** Where report lines go (default: stdout). */
  out?: (line: string) => void;
}

/** `--mode validate`: prints `<path>: <message>` for every problem; returns the exit code. */
export function validate(file: string, opts: ValidateOptions = {}): number {
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const loaded = loadConfigFile(file, opts);
  const issues: ConfigIssue[] = [...loaded.issues];
  if (!loaded.issues.some((i) => i.severity === 'error')) {
    issues.push(...translateTask({ bootstrap: loaded.bootstrap, strict: opts.strict === true, version: 0, drainTimeMs: 0 }).issues);
  }
  for (const i of issues) out(formatIssue(i));
  const errors = issues.filter((i) => i.severity === 'error').length;
  out(errors === 0 ? `${file}: configuration OK` : `${file}: ${errors} error(s)`);
  return errors === 0 ? 0 : 1;
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.path === '' ? '<root>' : i.path}: ${i.severity === 'warning' ? 'warning: ' : ''}${i.message}`;
}
