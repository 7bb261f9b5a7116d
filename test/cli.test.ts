// The `orion` command itself: --help/--version, the Node version gate, --mode validate with field
// paths, bad worker counts, and the default config users try first (`npm start`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { runCli, startProxy, writeConfig, ROOT, stopProcess } from './lib/proxy.ts';
import { readFileSync } from 'node:fs';
import { request } from './lib/upstream.ts';

test('--help and --version', async () => {
  const h = await runCli(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.out, /--config/);
  const v = await runCli(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.out, /^orion-proxy \d+\.\d+\.\d+/);
});

test('an older Node fails fast with a clear message', () => {
  const old = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => {
    try {
      return Number(execFileSync(p, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' })) < 24;
    } catch {
      return false;
    }
  });
  if (old === undefined) return; // no older Node on this machine to try
  let out = '';
  let code = 0;
  try {
    execFileSync(old, [path.join(ROOT, 'src/orion.js'), '--version'], { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    const err = e as { status: number; stderr: string };
    code = err.status;
    out = err.stderr;
  }
  assert.equal(code, 1);
  assert.match(out, /needs Node\.js >= 24/);
});

test('--mode validate prints the field path of every problem and exits 1', async () => {
  const bad = writeConfig(JSON.stringify({
    static_resources: {
      listeners: [{ name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 'eighty' } }, filter_chains: [] }],
      clusters: [{ name: 'c', connect_timeout: '5x', type: 'STATIC' }],
    },
  }), 'bad.json');
  const r = await runCli(['--mode', 'validate', '-c', bad]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /static_resources\.listeners\[0\]\.address\.socket_address\.port_value/);
  assert.match(r.out, /static_resources\.clusters\[0\]\.connect_timeout/);
  const good = await runCli(['--mode', 'validate', '-c', path.join(ROOT, 'conf/orion-runtime.yaml')]);
  assert.equal(good.code, 0, good.out);
});

test('serving a broken config exits non-zero naming the field, and starts nothing', async () => {
  const bad = writeConfig('static_resources:\n  clusters:\n    - name: c\n      type: STRICTEST_DNS\n');
  const r = await runCli(['-c', bad]);
  assert.equal(r.code, 1);
  assert.match(r.out, /static_resources\.clusters\[0\]\.type/);
});

test('invalid ORION_CPU_LIMIT is an error, not a silent default', async () => {
  const r = await runCli(['-c', path.join(ROOT, 'conf/orion-runtime.yaml')], { ORION_CPU_LIMIT: 'lots' });
  assert.notEqual(r.code, 0);
  assert.match(r.out, /ORION_CPU_LIMIT/);
});

test('default config: meow on :8000, LIVE on :9901', { timeout: 30000 }, async () => {
  const text = readFileSync(path.join(ROOT, 'conf/orion-runtime.yaml'), 'utf8');
  const proxy = await startProxy(text, { adminPort: 9901, workers: 2, env: { POD_NAME: 'pod-a', POD_NAMESPACE: 'ns-a' } });
  try {
    const r = await request(8000, '/direct-response');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'meow! 🐱');
    const ready = await proxy.admin('/ready');
    assert.equal(await ready.text(), 'LIVE\n');
    const info = (await (await proxy.admin('/server_info')).json()) as { node: { id: string; cluster: string } };
    assert.deepEqual([info.node.id, info.node.cluster], ['pod-a', 'ns-a'], 'POD_NAME/POD_NAMESPACE set the node');
  } finally {
    await stopProcess(proxy.proc);
  }
});
