// The running server as the primary sees it: lifecycle state (Envoy's PRE_INITIALIZING →
// INITIALIZING → LIVE → DRAINING), the workers, the admin endpoint and shutdown.
import { setFlagsFromString } from 'node:v8';
import type { CliOptions } from './cli_args.ts';
import type { Logger } from '../shared/logger.ts';
import { OrionError } from '../shared/errors.ts';
import { setLevel } from '../shared/logger.ts';
import type { Supervisor } from './supervisor.ts';
import { loadConfig, type LoadedConfig } from './config_loader.ts';
import { startAdmin } from './admin/admin_server.ts';
import type { AdminContext } from './admin/context.ts';
import { buildAdminContext } from './admin_context.ts';
import { HealthManager } from './health/health_manager.ts';
import type { Snapshot } from '../shared/snapshot.ts';
import { XdsSession } from './xds/session.ts';
import { unpackSnapshot } from './xds/composer.ts';

/** V8's default is 3,000 invocations before a function is optimized by TurboFan. */
const PRIMARY_TURBOFAN_INVOCATIONS = 30_000;

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
  /** Active health checks and outlier detection, run once here for all workers. */
  readonly health: HealthManager;
  /** The xDS client, when the bootstrap has dynamic resources or xDS references. */
  xds: XdsSession | null = null;
  /**
   * Last snapshot sent to workers (xDS mode), built and decoded only when the admin API asks:
   * after a delta, `full` composes it (as the supervisor does for a worker that starts).
   */
  private published: { version: number; bytes: Uint8Array | null; full: (() => Uint8Array) | null; snapshot: Snapshot | null } | null = null;
  /** When each not yet applied snapshot version was published, to log how long workers took. */
  private readonly publishedAt = new Map<number, number>();

  constructor(deps: ServerDeps) {
    this.deps = deps;
    this.current = deps.loaded;
    this.health = new HealthManager({ broadcast: (m) => deps.supervisor.broadcast(m), log: deps.log });
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  get log(): Logger {
    return this.deps.log;
  }

  async start(): Promise<void> {
    const { supervisor, loaded } = this.deps;
    this.state = 'INITIALIZING';
    supervisor.whenApplied((v) => {
      for (const [pv, t0] of this.publishedAt) {
        if (!supervisor.allApplied(pv)) continue;
        this.publishedAt.delete(pv);
        this.log.info({ version: pv, ms: Math.round(performance.now() - t0) }, 'snapshot live on all workers');
      }
      if (this.published !== null && v >= this.published.version) this.maybeLive();
    });
    supervisor.onFork((send) => {
      for (const m of this.health.initialMessages()) send(m);
    });
    supervisor.onUpstreamReport((r) => this.health.onReport(r));
    this.health.whenInitialized(() => this.maybeLive());
    if (loaded.xds !== null) {
      // The primary runs config work in bursts (a 10,000-cluster push is ~0.3 s of decoding and
      // translating per thread) over very polymorphic code: V8's optimizing compiler spent more
      // CPU recompiling it during the burst than it saved (first 10k push: proxy CPU 1.3-1.4 s
      // → 1.0 s with a 10x later tier-up). Process-wide, set before the translator threads
      // start; workers are forked with the command line's flags and keep the defaults.
      setFlagsFromString(`--invocation-count-for-turbofan=${PRIMARY_TURBOFAN_INVOCATIONS}`);
      // Envoy starts serving only once the initial xDS fetch is done (or timed out): workers
      // start now but get their first snapshot then; /ready says INITIALIZING meanwhile.
      this.xds = new XdsSession({
        xds: loaded.xds,
        staticSnapshot: loaded.snapshot,
        strict: this.deps.opts.strict,
        log: this.log,
        version: this.deps.version,
        onChange: () => this.publishXds(),
      });
      this.xds.start();
      void this.xds.ready.then(() => this.publishXds());
    } else {
      this.publish(this.snapshotVersion, loaded.snapshotBytes);
    }
    supervisor.start();
    if (loaded.admin !== null) {
      const ctx: AdminContext = buildAdminContext(this);
      try {
        this.admin = await startAdmin(ctx, loaded.admin.host, loaded.admin.port);
      } catch (err) {
        await this.deps.supervisor.shutdown(0);
        throw new OrionError('ORION_ADMIN_LISTEN', `admin address ${loaded.admin.host}:${loaded.admin.port}: ${(err as Error).message}`);
      }
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
      next = await loadConfig(this.deps.opts, this.snapshotVersion + 1);
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
    if (this.xds !== null) {
      // The streams keep running; only the static part changes (dynamic_resources changes need a restart).
      this.xds.setStatic(next.snapshot, next.xds?.refs ?? { rds: [], eds: [], sds: [] });
    } else {
      this.snapshotVersion++;
      this.publish(this.snapshotVersion, next.snapshotBytes);
    }
    this.log.info({ version: this.snapshotVersion }, 'configuration reloaded');
    return true;
  }

  /** The snapshot workers serve (or are about to), for the admin API. */
  servingSnapshot(): Snapshot {
    const p = this.published;
    if (this.xds === null || p === null) return this.current.snapshot;
    if (p.snapshot === null) p.snapshot = unpackSnapshot(p.bytes ?? p.full!());
    return p.snapshot;
  }

  private publish(version: number, bytes: Uint8Array): void {
    this.published = { version, bytes, full: null, snapshot: null };
    this.publishedAt.set(version, performance.now());
    this.deps.supervisor.publish(version, bytes);
    this.health.update(this.xds === null ? this.current.snapshot.clusters : this.xds.healthClusters());
  }

  /**
   * LIVE once every worker serves the published snapshot and the first active health checks
   * have answered (Envoy's cluster warming): the first requests never meet hosts of unknown health.
   */
  private maybeLive(): void {
    const p = this.published;
    if (this.state !== 'INITIALIZING' || p === null || !this.health.initialized || !this.deps.supervisor.allApplied(p.version)) return;
    this.state = 'LIVE';
    this.log.info({ workers: this.deps.supervisor.workerCount }, 'all workers serving');
  }

  /**
   * Composes the next snapshot from the static config and the current xDS resources. After the
   * first, workers get only what changed (a SnapshotDelta); a worker that starts gets it whole.
   */
  private publishXds(): void {
    const xds = this.xds;
    if (xds === null || !xds.initialized || this.state === 'DRAINING') return;
    const prev = this.published;
    if (prev !== null) this.snapshotVersion++;
    const version = this.snapshotVersion;
    const t0 = performance.now();
    const delta = prev === null ? null : xds.composeDelta(version, prev.version);
    if (delta === null) {
      const bytes = xds.compose(version);
      this.log.debug({ version, bytes: bytes.length, ms: Math.round(performance.now() - t0) }, 'snapshot composed');
      this.publish(version, bytes);
      return;
    }
    this.log.debug({ version, delta: true, bytes: delta.length, ms: Math.round(performance.now() - t0) }, 'snapshot composed');
    // The primary's own copy (admin API) is built only if asked for; health checks need only
    // the clusters that have them.
    const full = () => xds.compose(version, false);
    this.published = { version, bytes: null, full, snapshot: null };
    this.publishedAt.set(version, performance.now());
    this.deps.supervisor.publishDelta(version, delta, full);
    this.health.update(xds.healthClusters());
  }

  /** Stops accepting, lets in-flight requests finish up to the drain time, then exits 0. */
  shutdown(reason: string): void {
    if (this.state === 'DRAINING') return;
    this.state = 'DRAINING';
    const drainMs = this.deps.opts.drainTimeS * 1000;
    this.log.info({ reason, drainMs }, 'draining');
    this.health.stop();
    const xds = this.xds?.stop();
    this.deps.supervisor.shutdown(drainMs).then(async () => {
      await xds;
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
