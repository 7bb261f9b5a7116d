// Messages between the primary and its workers over node:cluster IPC ('advanced' serialization,
// so Uint8Array travels as bytes). Snapshots travel as msgpackr bytes.
import type { StatsDump } from './stats.ts';

export type ToWorker =
  | { t: 'snapshot'; bytes: Uint8Array }
  | { t: 'stats'; id: number }
  | { t: 'drain_listeners'; inboundOnly: boolean }
  | { t: 'shutdown'; drainTimeMs: number }
  | { t: 'log_level'; level: string };

export type ToPrimary =
  | { t: 'applied'; version: number; errors: string[] }
  | { t: 'stats'; id: number; dump: StatsDump }
  | { t: 'listen_error'; listener: string; message: string };
