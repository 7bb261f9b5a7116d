// The primary's side of node:cluster: forks the workers, hands each the current snapshot (also
// to a replacement after a crash, with back-off when a slot crash-loops), gathers their stats and
// drains them on shutdown. The primary never touches a proxied byte.
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { ToPrimary, ToWorker, UpstreamReport } from '../shared/ipc.ts';
import { emptyDump, expandGroups, mergeDump, type StatsDump } from '../shared/stats.ts';
import type { Logger } from '../shared/logger.ts';

const WORKER_ENTRY = fileURLToPath(new URL('../worker/main.ts', import.meta.url));
const STATS_TIMEOUT_MS = 1000;
/** Crashes within this window count towards back-off. */
const CRASH_WINDOW_MS = 10_000;
const MAX_BACKOFF_MS = 5_000;

interface Slot {
  index: number;
  worker: Worker | null;
  appliedVersion: number;
  crashes: number[];
}

interface StatsRequest {
  dump: StatsDump;
  waiting: number;
  done: (d: StatsDump) => void;
  timer: NodeJS.Timeout;
}

export interface SupervisorOptions {
  workers: number;
  log: Logger;
  logLevel: string;
  logFile?: string;
  logDirectory?: string;
  env?: Record<string, string>;
}

export class Supervisor {
  private readonly slots: Slot[] = [];
  private readonly log: Logger;
  private readonly opts: SupervisorOptions;
  /** The current snapshot for workers that start; `full` builds the bytes when only deltas were sent. */
  private snapshot: { version: number; bytes: Uint8Array | null; full?: () => Uint8Array } | null = null;
  private stopping = false;
  private nextStatsId = 1;
  private readonly statsRequests = new Map<number, StatsRequest>();
  private readonly onApplied: ((version: number, errors: string[]) => void)[] = [];
  private readonly forkHooks: ((send: (m: ToWorker) => void) => void)[] = [];
  private reportHandler: ((clusters: UpstreamReport[]) => void) | null = null;

  constructor(opts: SupervisorOptions) {
    this.opts = opts;
    this.log = opts.log;
    cluster.setupPrimary({ exec: WORKER_ENTRY, serialization: 'advanced', silent: false });
  }

  start(): void {
    for (let i = 0; i < this.opts.workers; i++) {
      const slot: Slot = { index: i, worker: null, appliedVersion: -1, crashes: [] };
      this.slots.push(slot);
      this.fork(slot);
    }
  }

  get workerCount(): number {
    return this.slots.length;
  }

  /** Worker pids by slot, for /server_info and tests. */
  pids(): number[] {
    return this.slots.map((s) => s.worker?.process.pid ?? 0);
  }

  /** True once every live worker serves `version`. */
  allApplied(version: number): boolean {
    // Before start() there are no slots yet: nothing serves, whatever every() says of an empty list.
    return this.slots.length === this.opts.workers && this.slots.every((s) => s.appliedVersion >= version);
  }

  whenApplied(fn: (version: number, errors: string[]) => void): void {
    this.onApplied.push(fn);
  }

  /** Runs for every worker started (first or replacement), after it was sent the snapshot. */
  onFork(fn: (send: (m: ToWorker) => void) => void): void {
    this.forkHooks.push(fn);
  }

  /** Receives the workers' upstream outcome reports (outlier detection, health-check pacing). */
  onUpstreamReport(fn: (clusters: UpstreamReport[]) => void): void {
    this.reportHandler = fn;
  }

  publish(version: number, bytes: Uint8Array): void {
    this.snapshot = { version, bytes };
    for (const s of this.slots) this.send(s, { t: 'snapshot', bytes });
  }

  /**
   * Sends a SnapshotDelta to the running workers; a worker started later gets the whole
   * snapshot, built by `full` only then.
   */
  publishDelta(version: number, delta: Uint8Array, full: () => Uint8Array): void {
    this.snapshot = { version, bytes: null, full };
    for (const s of this.slots) this.send(s, { t: 'snapshot_delta', bytes: delta });
  }

  private snapshotBytes(): Uint8Array {
    const s = this.snapshot!;
    if (s.bytes === null) s.bytes = s.full!();
    return s.bytes;
  }

  broadcast(m: ToWorker): void {
    for (const s of this.slots) this.send(s, m);
  }

  private send(s: Slot, m: ToWorker): void {
    if (s.worker !== null && s.worker.isConnected()) s.worker.send(m);
  }

  private fork(slot: Slot): void {
    const w = cluster.fork({
      ...this.opts.env,
      ORION_WORKER_ID: String(slot.index),
      // Workers enforce their share of cluster-wide limits (circuit breakers) with this.
      ORION_WORKER_COUNT: String(this.opts.workers),
      ORION_LOG_LEVEL: this.opts.logLevel,
      ORION_LOG_FILE: this.opts.logFile ?? '',
      ORION_LOG_DIRECTORY: this.opts.logDirectory ?? '',
    });
    slot.worker = w;
    slot.appliedVersion = -1;
    w.on('message', (m: ToPrimary) => this.onMessage(slot, m));
    w.on('exit', (code, signal) => this.onExit(slot, w, code, signal));
    if (this.snapshot !== null) w.send({ t: 'snapshot', bytes: this.snapshotBytes() } satisfies ToWorker);
    for (const fn of this.forkHooks) fn((m) => w.send(m));
  }

  private onMessage(slot: Slot, m: ToPrimary): void {
    switch (m.t) {
      case 'applied':
        slot.appliedVersion = m.version;
        for (const e of m.errors) this.log.error({ worker: slot.index }, e);
        for (const fn of this.onApplied) fn(m.version, m.errors);
        return;
      case 'stats':
        return this.onStats(m.id, m.dump);
      case 'listen_error':
        this.log.error({ worker: slot.index, listener: m.listener }, m.message);
        return;
      case 'upstream_report':
        this.reportHandler?.(m.clusters);
        return;
    }
  }

  private onExit(slot: Slot, w: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== w) return;
    slot.worker = null;
    for (const r of this.statsRequests.values()) this.statsReply(r);
    if (this.stopping) return;
    const now = Date.now();
    slot.crashes = slot.crashes.filter((t) => now - t < CRASH_WINDOW_MS);
    slot.crashes.push(now);
    const delay = slot.crashes.length <= 1 ? 0 : Math.min(MAX_BACKOFF_MS, 100 * 2 ** (slot.crashes.length - 2));
    this.log.warn({ worker: slot.index, code, signal, restartInMs: delay }, 'worker exited; replacing it');
    setTimeout(() => {
      if (!this.stopping) this.fork(slot);
    }, delay);
  }

  /** Sums every live worker's stats; a worker that does not answer in time is left out. */
  collectStats(): Promise<StatsDump> {
    const live = this.slots.filter((s) => s.worker !== null && s.worker.isConnected());
    if (live.length === 0) return Promise.resolve(emptyDump());
    const id = this.nextStatsId++;
    return new Promise((done) => {
      const timer = setTimeout(() => this.finishStats(id), STATS_TIMEOUT_MS);
      this.statsRequests.set(id, { dump: emptyDump(), waiting: live.length, done, timer });
      for (const s of live) this.send(s, { t: 'stats', id });
    });
  }

  private onStats(id: number, dump: StatsDump): void {
    const r = this.statsRequests.get(id);
    if (r === undefined) return;
    mergeDump(r.dump, dump);
    this.statsReply(r, id);
  }

  private statsReply(r: StatsRequest, id?: number): void {
    if (--r.waiting > 0) return;
    if (id !== undefined) this.finishStats(id);
    else for (const [k, v] of this.statsRequests) if (v === r) this.finishStats(k);
  }

  private finishStats(id: number): void {
    const r = this.statsRequests.get(id);
    if (r === undefined) return;
    this.statsRequests.delete(id);
    clearTimeout(r.timer);
    r.done(expandGroups(r.dump));
  }

  /** Workers stop accepting, finish in-flight requests for up to drainTimeMs, and exit. */
  shutdown(drainTimeMs: number): Promise<void> {
    this.stopping = true;
    const exits = this.slots
      .filter((s) => s.worker !== null)
      .map((s) => new Promise<void>((resolve) => {
        const w = s.worker!;
        if (w.isDead()) return resolve();
        w.once('exit', () => resolve());
        const kill = setTimeout(() => w.process.kill('SIGKILL'), drainTimeMs + 2000);
        kill.unref();
        this.send(s, { t: 'shutdown', drainTimeMs });
      }));
    return Promise.all(exits).then(() => undefined);
  }
}
