// The running server as the primary sees it: lifecycle state (Envoy's PRE_INITIALIZING →
// INITIALIZING → LIVE → DRAINING), the workers, the admin endpoint and shutdown.
import type { CliOptions } from './cli_args.ts';
import type { Logger } from '../shared/logger.ts';
import { setLevel } from '../shared/logger.ts';
import type { Supervisor } from './supervisor.ts';
import { loadConfig, type LoadedConfig } from './config_loader.ts';
import { startAdmin } from './admin/admin_server.ts';
import type { AdminContext } from './admin/context.ts';
import { buildAdminContext } from './admin_context.ts';

export type ServerState = 'PRE_INITIALIZING' | 'INITIALIZING' | 'LIVE' | 'DRAINING';

export interface ServerDeps {
  opts: CliOptions;
  loaded: LoadedConfig;
  supervisor: Supervisor;
  log: Logger;
  version: string;
}

export class Server {
  state: ServerState = 'PRE_INITIALIZING';
  healthCheckFailed = false;
  readonly startedAt = Date.now();
  readonly deps: ServerDeps;
  readonly done: Promise<number>;
  private resolveDone!: (code: number) => void;
  private admin: { close(): Promise<void>; port: number } | null = null;
  private snapshotVersion = 1;
  /** The config being served; replaced by a successful reload. */
  current: LoadedConfig;

  constructor(deps: ServerDeps) {
    this.deps = deps;
    this.current = deps.loaded;
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  get log(): Logger {
    return this.deps.log;
  }

  async start(): Promise<void> {
    const { supervisor, loaded } = this.deps;
    this.state = 'INITIALIZING';
    supervisor.whenApplied((v) => {
      if (this.state === 'INITIALIZING' && v >= this.snapshotVersion && supervisor.allApplied(this.snapshotVersion)) {
        this.state = 'LIVE';
        this.log.info({ workers: supervisor.workerCount }, 'all workers serving');
      }
    });
    supervisor.publish(this.snapshotVersion, loaded.snapshotBytes);
    supervisor.start();
    if (loaded.admin !== null) {
      const ctx: AdminContext = buildAdminContext(this);
      this.admin = await startAdmin(ctx, loaded.admin.host, loaded.admin.port);
      this.log.info({ address: `${loaded.admin.host}:${this.admin.port}` }, 'admin listening');
    }
    process.on('SIGTERM', () => this.shutdown('SIGTERM'));
    process.on('SIGINT', () => this.shutdown('SIGINT'));
    process.on('SIGHUP', () => void this.reload());
  }

  /**
   * Re-reads the config file (SIGHUP). A config with errors is refused and the current one keeps
   * serving; a good one becomes the next snapshot: new connections use it, in-flight requests
   * finish on the old one, removed listeners drain.
   */
  async reload(): Promise<boolean> {
    if (this.state === 'DRAINING') return false;
    let next: LoadedConfig;
    try {
      next = await loadConfig(this.deps.opts, this.current.translator, this.snapshotVersion + 1);
    } catch (err) {
      this.log.error({ err: String(err) }, 'reload failed; keeping the current config');
      return false;
    }
    const errors = next.issues.filter((i) => i.severity === 'error');
    if (errors.length > 0) {
      for (const i of errors) this.log.error({ path: i.path }, `reload rejected: ${i.message}`);
      return false;
    }
    this.current = next;
    this.snapshotVersion++;
    this.deps.supervisor.publish(this.snapshotVersion, next.snapshotBytes);
    this.log.info({ version: this.snapshotVersion }, 'configuration reloaded');
    return true;
  }

  /** Stops accepting, lets in-flight requests finish up to the drain time, then exits 0. */
  shutdown(reason: string): void {
    if (this.state === 'DRAINING') return;
    this.state = 'DRAINING';
    const drainMs = this.deps.opts.drainTimeS * 1000;
    this.log.info({ reason, drainMs }, 'draining');
    this.deps.supervisor.shutdown(drainMs).then(async () => {
      await this.admin?.close();
      this.log.info('stopped');
      this.resolveDone(0);
      // Nothing else should hold the loop, but a stuck handle must not keep a drained proxy alive.
      setTimeout(() => process.exit(0), 200).unref();
    });
  }

  drainListeners(inboundOnly: boolean): void {
    this.deps.supervisor.broadcast({ t: 'drain_listeners', inboundOnly });
  }

  setLogLevel(level: string): boolean {
    if (!setLevel(this.log, level)) return false;
    this.deps.supervisor.broadcast({ t: 'log_level', level: this.log.level });
    return true;
  }
}
