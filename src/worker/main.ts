// Worker process entry: receives snapshots from the primary, serves them, answers stats requests,
// and drains on shutdown. Shared-nothing: each worker binds its own listener sockets.
import { unpack } from 'msgpackr';
import type { ToPrimary, ToWorker } from '../shared/ipc.ts';
import { applyDelta, type SnapshotDelta, type WireSnapshot } from '../shared/snapshot_delta.ts';
import { DataPlane } from './data_plane.ts';
import { stats } from './stats/store.ts';
import { log } from './log.ts';
import { setLevel } from '../shared/logger.ts';
import './upstream/load_balancer.ts';

const plane = new DataPlane();
let received: WireSnapshot | null = null;
let applying: Promise<unknown> = Promise.resolve();

function send(m: ToPrimary): void {
  process.send?.(m);
}

function onMessage(m: ToWorker): void {
  switch (m.t) {
    case 'snapshot':
    case 'snapshot_delta': {
      // Deltas chain on the last snapshot received (not the last applied), as they were sent.
      const snap = m.t === 'snapshot' ? (unpack(m.bytes) as WireSnapshot) : applyDelta(received!, unpack(m.bytes) as SnapshotDelta);
      received = snap;
      applying = applying.then(() => plane.apply(snap)).then((errors) => send({ t: 'applied', version: snap.version, errors }));
      return;
    }
    case 'stats':
      return send({ t: 'stats', id: m.id, dump: stats.dump() });
    case 'drain_listeners':
      return plane.listeners.drainAll();
    case 'shutdown':
      return shutdown(m.drainTimeMs);
    case 'log_level':
      setLevel(log, m.level);
      return;
    case 'host_health':
      return plane.clusters.setHostHealth(m.cluster, m.hosts);
  }
}

function shutdown(drainTimeMs: number): void {
  plane.listeners.drainAll();
  const deadline = Date.now() + drainTimeMs;
  const check = setInterval(() => {
    if (plane.listeners.activeConnections() === 0 || Date.now() >= deadline) {
      clearInterval(check);
      process.exit(0);
    }
  }, 50);
}

process.on('message', onMessage);
// Ctrl-C reaches the whole process group: workers wait for the primary's orderly shutdown.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => shutdown(5000));
process.on('disconnect', () => shutdown(0));
process.on('uncaughtException', (err) => {
  // State may be inconsistent after an unexpected throw: exit and let the primary replace us.
  log.fatal({ err }, 'worker crashed');
  process.exit(70);
});
