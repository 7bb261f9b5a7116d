// Reads the file given with -c. It is either an Orion runtime file (runtime/logging/access
// logging settings plus an embedded Envoy bootstrap) or a plain Envoy bootstrap; YAML or JSON.
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { ConfigIssue } from '../../shared/errors.ts';
import { normalizeLevel } from '../../shared/logger.ts';
import { parseCpuCount } from '../cpu_limit.ts';
import { Issues, join } from './issues.ts';
import { isPlainObject } from './wkt.ts';

type Obj = Record<string, unknown>;

export interface RuntimeSettings {
  numCpus?: number;
  numRuntimes?: number;
  numServiceThreads?: number;
  eventIntervalMs?: number;
  globalQueueInterval?: number;
  maxIoEventsPerTick?: number;
  affinityStrategy?: unknown;
}

export interface LoggingSettings {
  logLevel?: string;
  logDirectory?: string;
  logFile?: string;
}

export type LogRotation = 'minutely' | 'hourly' | 'daily' | 'never';

export interface AccessLoggingSettings {
  numInstances?: number;
  queueLength?: number;
  logRotation?: LogRotation;
  maxLogFiles?: number;
}

export interface LoadedConfig {
  kind: 'orion' | 'envoy';
  runtime: RuntimeSettings;
  logging: LoggingSettings;
  accessLogging: AccessLoggingSettings;
  /** The Envoy bootstrap as parsed (not yet decoded); {} when missing. */
  bootstrap: Obj;
  /** Informational lines for the start-up log (settings that do nothing on Node, etc.). */
  notes: string[];
  issues: ConfigIssue[];
}

export interface LoadOptions {
  /** --with-envoy-bootstrap: replaces the bootstrap from the main file. */
  withEnvoyBootstrap?: string;
  /** --config-yaml: merged over the bootstrap with proto merge semantics. */
  configYaml?: string;
}

const ORION_KEYS = new Set(['runtime', 'logging', 'access_logging', 'envoy_bootstrap', 'bootstrap']);

/** Loads and classifies a config file; never throws for bad content (see `issues`). */
export function loadConfigFile(file: string, opts: LoadOptions = {}): LoadedConfig {
  const issues = new Issues();
  const doc = readDocument(file, issues, '');
  const out = classify(doc, issues);
  if (opts.withEnvoyBootstrap !== undefined) {
    const b = readDocument(opts.withEnvoyBootstrap, issues, '--with-envoy-bootstrap');
    if (out.kind === 'orion' && Object.keys(out.bootstrap).length > 0) out.notes.push(`envoy_bootstrap replaced by ${opts.withEnvoyBootstrap}`);
    out.bootstrap = isPlainObject(b) ? b : {};
  }
  if (opts.configYaml !== undefined) {
    const overlay = parseText(opts.configYaml, '--config-yaml', issues, '--config-yaml');
    if (isPlainObject(overlay)) out.bootstrap = mergeBootstrap(out.bootstrap, overlay);
  }
  return { ...out, issues: issues.list };
}

/** Parses config text: JSON when it looks like JSON, YAML otherwise. */
export function parseText(text: string, source: string, issues: Issues, path = ''): unknown {
  try {
    if (/^\s*[{[]/.test(text)) {
      try {
        return JSON.parse(text);
      } catch {
        // Flow-style YAML also starts with '{'; let the YAML parser decide.
      }
    }
    return parseYaml(text, { merge: true });
  } catch (e) {
    const where = e instanceof YAMLParseError && e.linePos !== undefined ? ` (line ${e.linePos[0].line}, column ${e.linePos[0].col})` : '';
    issues.error(path, `cannot parse ${source}${where}: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

function readDocument(file: string, issues: Issues, path: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    issues.error(path, `cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return undefined;
  }
  return parseText(text, file, issues, path);
}

type Classified = Omit<LoadedConfig, 'issues'>;

function classify(doc: unknown, issues: Issues): Classified {
  const base: Classified = { kind: 'envoy', runtime: {}, logging: {}, accessLogging: {}, bootstrap: {}, notes: [] };
  if (doc === undefined) return base;
  if (!isPlainObject(doc)) {
    issues.error('', `the config must be a mapping at the top level, got ${doc === null ? 'an empty document' : typeof doc}`);
    return base;
  }
  if (!Object.keys(doc).some((k) => ORION_KEYS.has(k))) return { ...base, bootstrap: doc };
  return orionFile(doc, issues);
}

function orionFile(doc: Obj, issues: Issues): Classified {
  const out: Classified = { kind: 'orion', runtime: {}, logging: {}, accessLogging: {}, bootstrap: {}, notes: [] };
  for (const k of Object.keys(doc)) if (!ORION_KEYS.has(k)) issues.warn(k, `unknown top-level key "${k}" in Orion runtime file (ignored)`);
  out.runtime = runtimeSection(section(doc, 'runtime', issues), issues, out.notes);
  out.logging = loggingSection(section(doc, 'logging', issues), issues);
  out.accessLogging = accessLoggingSection(section(doc, 'access_logging', issues), issues);
  out.bootstrap = bootstrapSection(doc, issues);
  return out;
}

function section(doc: Obj, key: string, issues: Issues): Obj {
  const v = doc[key];
  if (v === undefined || v === null) return {};
  if (isPlainObject(v)) return v;
  issues.error(key, 'expected a mapping');
  return {};
}

function bootstrapSection(doc: Obj, issues: Issues): Obj {
  const hasEnvoy = doc.envoy_bootstrap !== undefined && doc.envoy_bootstrap !== null;
  const hasNative = doc.bootstrap !== undefined && doc.bootstrap !== null;
  if (hasEnvoy && hasNative) {
    issues.error('bootstrap', 'both "bootstrap" and "envoy_bootstrap" are set; give exactly one (Orion serves envoy_bootstrap only)');
  } else if (hasNative) {
    issues.error('bootstrap', 'Orion\'s native "bootstrap" format is not supported; use "envoy_bootstrap" with an Envoy bootstrap');
  } else if (!hasEnvoy) {
    issues.error('envoy_bootstrap', 'missing: an Orion runtime file needs an "envoy_bootstrap" (or use --with-envoy-bootstrap)');
  }
  if (!hasEnvoy) return {};
  return section(doc, 'envoy_bootstrap', issues);
}

type FieldSpec<T> = [key: string, prop: keyof T, check: (v: unknown, path: string, issues: Issues) => unknown];

function readFields<T extends object>(sec: Obj, prefix: string, specs: FieldSpec<T>[], issues: Issues): T {
  const out: Record<string, unknown> = {};
  const known = new Set(specs.map((s) => s[0]));
  for (const k of Object.keys(sec)) if (!known.has(k)) issues.warn(join(prefix, k), `unknown key "${k}" (ignored)`);
  for (const [key, prop, check] of specs) {
    if (sec[key] === undefined || sec[key] === null) continue;
    const v = check(sec[key], join(prefix, key), issues);
    if (v !== undefined) out[prop as string] = v;
  }
  return out as T;
}

const positiveInt = (v: unknown, path: string, issues: Issues): number | undefined => {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  issues.error(path, `expected a positive integer, got ${JSON.stringify(v)}`);
  return undefined;
};

const str = (v: unknown, path: string, issues: Issues): string | undefined => {
  if (typeof v === 'string') return v;
  issues.error(path, `expected a string, got ${JSON.stringify(v)}`);
  return undefined;
};

const any = (v: unknown): unknown => v;

const cpus = (v: unknown, path: string, issues: Issues): number | undefined => {
  try {
    if (typeof v !== 'number' && typeof v !== 'string') throw new Error(`expected a CPU count, got ${JSON.stringify(v)}`);
    return parseCpuCount(v, path);
  } catch (e) {
    issues.error(path, (e as Error).message);
    return undefined;
  }
};

const RUNTIME_FIELDS: FieldSpec<RuntimeSettings>[] = [
  ['num_cpus', 'numCpus', cpus],
  ['num_runtimes', 'numRuntimes', positiveInt],
  ['num_service_threads', 'numServiceThreads', positiveInt],
  ['event_interval', 'eventIntervalMs', positiveInt],
  ['global_queue_interval', 'globalQueueInterval', positiveInt],
  ['max_io_events_per_tick', 'maxIoEventsPerTick', positiveInt],
  ['affinity_strategy', 'affinityStrategy', any],
];

function runtimeSection(sec: Obj, issues: Issues, notes: string[]): RuntimeSettings {
  const r = readFields(sec, 'runtime', RUNTIME_FIELDS, issues);
  // These tune Orion's Tokio runtimes; one Node process per worker has no equivalent knobs.
  for (const [key] of RUNTIME_FIELDS.slice(1)) {
    if (sec[key] !== undefined) notes.push(`runtime.${key} has no effect on Node (accepted for compatibility)`);
  }
  return r;
}

const logLevel = (v: unknown, path: string, issues: Issues): string | undefined => {
  const s = str(v, path, issues);
  if (s !== undefined && normalizeLevel(s) === undefined) {
    issues.error(path, `unknown log level ${JSON.stringify(s)} (want trace, debug, info, warning, error, critical or off)`);
    return undefined;
  }
  return s;
};

function loggingSection(sec: Obj, issues: Issues): LoggingSettings {
  return readFields<LoggingSettings>(sec, 'logging', [
    ['log_level', 'logLevel', logLevel],
    ['log_directory', 'logDirectory', str],
    ['log_file', 'logFile', str],
  ], issues);
}

const ROTATIONS = new Set(['minutely', 'hourly', 'daily', 'never']);

const rotation = (v: unknown, path: string, issues: Issues): LogRotation | undefined => {
  const s = typeof v === 'string' ? v.toLowerCase() : undefined;
  if (s !== undefined && ROTATIONS.has(s)) return s as LogRotation;
  issues.error(path, `expected one of minutely, hourly, daily, never; got ${JSON.stringify(v)}`);
  return undefined;
};

function accessLoggingSection(sec: Obj, issues: Issues): AccessLoggingSettings {
  return readFields<AccessLoggingSettings>(sec, 'access_logging', [
    ['num_instances', 'numInstances', positiveInt],
    ['queue_length', 'queueLength', positiveInt],
    ['log_rotation', 'logRotation', rotation],
    ['max_log_files', 'maxLogFiles', positiveInt],
  ], issues);
}

/**
 * --config-yaml overlay: proto MergeFrom on the parsed documents (nested mappings merge, lists
 * append, scalars replace). Keys are compared as written, so the overlay should use the same
 * spelling (snake_case or camelCase) as the file.
 */
export function mergeBootstrap(base: Obj, overlay: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(overlay)) {
    const b = out[k];
    if (isPlainObject(b) && isPlainObject(v)) out[k] = mergeBootstrap(b, v);
    else if (Array.isArray(b) && Array.isArray(v)) out[k] = [...b, ...v];
    else out[k] = v;
  }
  return out;
}
