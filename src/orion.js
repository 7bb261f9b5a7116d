#!/usr/bin/env node
// Entry point. Plain JavaScript on purpose: it must run on any Node to say which one we need,
// before anything TypeScript is loaded (Node runs .ts itself from 22.18/23.6 on; we need 24).
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(
    `orion-proxy needs Node.js >= 24 (this is ${process.version}).\n` +
      `Run it through npm (\`npm start\`), which uses the Node 24 that \`npm install\` put in node_modules/.bin,\n` +
      `or call node_modules/.bin/node src/orion.js directly.\n`,
  );
  process.exit(1);
}
// Stripping types costs each process ~40 MB of WebAssembly memory per start; Node's compile
// cache keeps the stripped output, so workers (which inherit the variable) start lean and fast.
const { enableCompileCache } = await import('node:module');
const { fileURLToPath } = await import('node:url');
const cacheDir = process.env.NODE_COMPILE_CACHE ?? fileURLToPath(new URL('../node_modules/.cache/orion/compile', import.meta.url));
enableCompileCache(cacheDir);
process.env.NODE_COMPILE_CACHE = cacheDir;
await import('./cli.ts');
