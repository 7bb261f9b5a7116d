// Worker process entry: receives snapshots from the primary, serves them, answers stats requests,
// and drains on shutdown. Shared-nothing: each worker binds its own listener sockets.
import { unpack } from 'msgpackr';
import type { ToPrimary, ToWorker } from '../shared/ipc.ts';
import type { SnapshotDelta, WireSnapshot } from '../shared/snapshot_delta.ts';
import { DataPlane } from './data_plane.ts';
import { stats } from './stats/store.ts';
import { log } from './log.ts';
import { setLevel } from '../shared/logger.ts';
import './upstream/load_balancer.ts';

const plane = new DataPlane();
let applying: Promise<unknown> = Promise.resolve();

function send(m: ToPrimary): void {
  process.send?.(m);
}

function onMessage(m: ToWorker): void {
  switch (m.t) {
    case 'snapshot': {
      const snap = unpack(m.bytes) as WireSnapshot;
      applying = applying.then(() => plane.apply(snap)).then((errors) => send({ t: 'applied', version: snap.version, errors }));
      return;
    }
    case 'snapshot_delta': {
      // Deltas apply in the order they were sent, each on the result of the one before.
      const delta = unpack(m.bytes) as SnapshotDelta;
      applying = applying.then(() => plane.applyDelta(delta)).then((errors) => send({ t: 'applied', version: delta.version, errors }));
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
