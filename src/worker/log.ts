// The worker's logger; replaced at start-up by one configured from the snapshot's logging settings.
import pino from 'pino';

export let log: pino.Logger = pino({ level: process.env.ORION_LOG_LEVEL ?? 'info', base: { worker: process.env.ORION_WORKER_ID ?? '0' } });

export function setLogger(l: pino.Logger): void {
  log = l;
}
