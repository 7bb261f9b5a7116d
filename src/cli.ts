// The `orion` command: the primary process. Workers start from src/worker/main.ts (node:cluster).
import { main } from './primary/main.ts';

process.exitCode = await main(process.argv.slice(2));
