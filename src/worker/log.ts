// The worker's logger: same format and destination as the primary's (level, file and directory
// arrive in the environment the supervisor forks the worker with), each line tagged with the
// worker's index.
import { createLogger, type Logger } from '../shared/logger.ts';

const env = process.env;

export const log: Logger = createLogger({
  level: env.ORION_LOG_LEVEL ?? 'info',
  workerId: Number(env.ORION_WORKER_ID ?? 0),
  file: env.ORION_LOG_FILE || undefined,
  directory: env.ORION_LOG_DIRECTORY || undefined,
});
