import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unpack } from 'msgpackr';
import { createTranslator, validate } from '../src/primary/config/pipeline.ts';
import { loadConfigFile } from '../src/primary/config/runtime_file.ts';
import translateTask from '../src/primary/config/translate_task.ts';
import type { DirectResponseSnap, HcmFilterSnap, Snapshot } from '../src/shared/snapshot.ts';

const DEFAULT_CONF = new URL('../conf/orion-runtime.yaml', import.meta.url).pathname;

function directBody(s: Snapshot): Uint8Array {
  const hcm = (s.listeners[0].filterChains[0].filters[0] as HcmFilterSnap).hcm;
  return (s.routeConfigs[hcm.routeConfigName].virtualHosts[0].routes[0].action as DirectResponseSnap).body!;
}

test('the snapshot survives a msgpackr round trip unchanged (bytes included)', () => {
  const boot = loadConfigFile(DEFAULT_CONF).bootstrap;
  const out = translateTask({ bootstrap: boot, strict: false, version: 7, drainTimeMs: 1234 });
  assert.deepEqual(out.issues, []);
  const snap = unpack(out.snapshotBytes) as Snapshot;
  assert.equal(snap.version, 7);
  assert.equal(snap.drainTimeMs, 1234);
  const body = directBody(snap);
  assert.ok(body instanceof Uint8Array);
  assert.equal(Buffer.from(body).toString('utf8'), 'meow! 🐱');
  // Packing again from the unpacked copy gives the same bytes: nothing was lost or altered.
  const again = translateTask({ bootstrap: boot, strict: false, version: 7, drainTimeMs: 1234 });
  assert.deepEqual(Buffer.from(again.snapshotBytes), Buffer.from(out.snapshotBytes));
  assert.deepEqual(JSON.parse(JSON.stringify(snap, bytesAsArray)), JSON.parse(JSON.stringify(unpack(again.snapshotBytes), bytesAsArray)));
  assert.ok(!JSON.stringify(snap).includes('undefined'));
});

function bytesAsArray(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array ? [...v] : v;
}

test('the translator pool runs the task on a worker thread and reports issues', { timeout: 30_000 }, async () => {
  const tr = createTranslator({ idleTimeoutMs: 200 });
  try {
    const boot = loadConfigFile(DEFAULT_CONF).bootstrap;
    const ok = await tr.translate({ bootstrap: boot, strict: false, version: 2, drainTimeMs: 10 });
    assert.deepEqual(ok.admin, { host: '127.0.0.1', port: 9901 });
    assert.ok(ok.snapshotBytes instanceof Uint8Array);
    assert.equal((unpack(ok.snapshotBytes) as Snapshot).clusters[0].name, 'cluster_http');
    assert.equal((ok.bootstrapDump as any).static_resources.clusters[0].connect_timeout.seconds, 5);
    const bad = await tr.translate({ bootstrap: { static_resources: { clusters: [{ name: 'c', connect_timeout: 'soon' }] } }, strict: false, version: 3, drainTimeMs: 10 });
    assert.deepEqual(bad.issues.filter((i) => i.severity === 'error').map((i) => i.path), ['static_resources.clusters[0].connect_timeout']);
  } finally {
    await tr.close();
  }
});

test('validate prints "<path>: <message>" for every problem and returns 0/1', () => {
  const lines: string[] = [];
  assert.equal(validate(DEFAULT_CONF, { out: (l) => lines.push(l) }), 0);
  assert.match(lines.at(-1)!, /configuration OK/);

  const dir = mkdtempSync(join(tmpdir(), 'orion-validate-'));
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, [
    'static_resources:',
    '  clusters:',
    '    - name: c',
    '      connect_timeout: 5x',
    '      lb_policy: FASTEST',
    '      surprise: 1',
  ].join('\n'));
  const out: string[] = [];
  assert.equal(validate(f, { out: (l) => out.push(l) }), 1);
  assert.ok(out.includes('static_resources.clusters[0].connect_timeout: invalid duration "5x": expected seconds with an "s" suffix, e.g. "5s" or "0.25s"'), out.join('\n'));
  assert.ok(out.some((l) => l.startsWith('static_resources.clusters[0].lb_policy: ')));
  assert.ok(out.some((l) => l.startsWith('static_resources.clusters[0].surprise: warning: ')));
  assert.match(out.at(-1)!, /2 error\(s\)/);

  const both = join(dir, 'both.yaml');
  writeFileSync(both, 'envoy_bootstrap: {}\nbootstrap: {}\n');
  const out2: string[] = [];
  assert.equal(validate(both, { out: (l) => out2.push(l) }), 1);
  assert.ok(out2.some((l) => l.startsWith('bootstrap: both')), out2.join('\n'));

  const lenient = join(dir, 'lenient.yaml');
  // (cluster metadata is served since internal_upstream passes it through; this field is not)
  writeFileSync(lenient, 'static_resources: { clusters: [ { name: c, track_cluster_stats: { timeout_budgets: true } } ] }\n');
  const out3: string[] = [];
  assert.equal(validate(lenient, { out: (l) => out3.push(l) }), 0);
  assert.equal(validate(lenient, { strict: true, out: (l) => out3.push(l) }), 1);
});
