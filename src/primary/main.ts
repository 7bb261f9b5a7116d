// The primary: reads the command line and config, translates the Envoy bootstrap into a
// snapshot (off its event loop), forks the workers and fans the snapshot out, serves the admin
// API, and drains everything on SIGTERM/SIGINT or POST /quitquitquit.
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { parseArgs, USAGE } from './cli_args.ts';
import { resolveWorkerCount } from './cpu_limit.ts';
import { createLogger, normalizeLevel, type Logger } from '../shared/logger.ts';
import { OrionError } from '../shared/errors.ts';
import { Supervisor } from './supervisor.ts';
import { Server } from './server.ts';
import { loadConfig, type LoadedConfig } from './config_loader.ts';
import { validate } from './config/pipeline.ts';

export const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

export async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (err) {
    if (err instanceof OrionError) {
      process.stderr.write(`orion: ${err.message}\n`);
      return err.code === 'ORION_BAD_ARG' ? 2 : 1;
    }
    throw err;
  }
}

async function run(argv: string[]): Promise<number> {
  const opts = parseArgs(argv);
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (opts.version) {
    process.stdout.write(`orion-proxy ${VERSION} (node ${process.version})\n`);
    return 0;
  }
  if (opts.mode === 'validate') {
    if (opts.configPath === undefined) throw new OrionError('ORION_NO_CONFIG', '--mode validate needs -c/--config FILE');
    return validate(opts.configPath, { strict: opts.strict, withEnvoyBootstrap: opts.envoyBootstrapPath, configYaml: opts.configYaml });
  }
  const loaded = await loadConfig(opts);
  const level = opts.logLevel ?? loaded.logging.logLevel ?? 'info';
  const log = createLogger({ level, workerId: 'primary', file: loaded.logging.logFile, directory: loaded.logging.logDirectory });
  if (!reportIssues(loaded, log)) return 1;
  const workers = resolveWorkerCount({
    env: process.env,
    cliNumCpus: opts.numCpus,
    configNumCpus: loaded.runtime.numCpus,
    availableParallelism: os.availableParallelism(),
  });
  log.info({ workers: workers.count, source: workers.source, version: VERSION }, 'starting orion-proxy');
  for (const note of loaded.notes) log.info(note);
  const supervisor = new Supervisor({
    workers: workers.count,
    log,
    logLevel: normalizeLevel(level) ?? 'info',
    logFile: loaded.logging.logFile,
    logDirectory: loaded.logging.logDirectory,
  });
  const server = new Server({ opts, loaded, supervisor, log, version: VERSION });
  await server.start();
  return server.done;
}

function reportIssues(loaded: LoadedConfig, log: Logger): boolean {
  let ok = true;
  for (const i of loaded.issues) {
    if (i.severity === 'error') {
      ok = false;
      log.error({ path: i.path }, i.message);
    } else log.warn({ path: i.path }, i.message);
  }
  return ok;
}
