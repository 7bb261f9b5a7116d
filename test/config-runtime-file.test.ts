import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile } from '../src/primary/config/runtime_file.ts';
import type { ConfigIssue } from '../src/shared/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'orion-rt-'));
let n = 0;
function file(text: string, ext = 'yaml'): string {
  const p = join(dir, `f${n++}.${ext}`);
  writeFileSync(p, text);
  return p;
}

function find(issues: ConfigIssue[], path: string, severity: 'error' | 'warning'): ConfigIssue {
  const hit = issues.find((i) => i.path === path && i.severity === severity);
  assert.ok(hit, `no ${severity} at "${path}": ${JSON.stringify(issues)}`);
  return hit;
}

const BOOT = 'static_resources: { clusters: [ { name: c } ] }';

test('an Orion runtime file with all sections', () => {
  const f = file(`
runtime:
  num_cpus: 1500m
  num_runtimes: 2
  event_interval: 31
  affinity_strategy: { type: auto }
logging: { log_level: debug, log_directory: /tmp/logs, log_file: orion.log }
access_logging: { num_instances: 2, queue_length: 1000, log_rotation: daily, max_log_files: 5 }
envoy_bootstrap:
  ${BOOT}
`);
  const r = loadConfigFile(f);
  assert.deepEqual(r.issues, []);
  assert.equal(r.kind, 'orion');
  assert.equal(r.runtime.numCpus, 2);
  assert.equal(r.runtime.numRuntimes, 2);
  assert.deepEqual(r.logging, { logLevel: 'debug', logDirectory: '/tmp/logs', logFile: 'orion.log' });
  assert.deepEqual(r.accessLogging, { numInstances: 2, queueLength: 1000, logRotation: 'daily', maxLogFiles: 5 });
  assert.deepEqual(r.bootstrap, { static_resources: { clusters: [{ name: 'c' }] } });
  for (const k of ['num_runtimes', 'event_interval', 'affinity_strategy']) assert.ok(r.notes.some((x) => x.includes(`runtime.${k}`) && x.includes('no effect')), k);
  assert.ok(!r.notes.some((x) => x.includes('num_cpus')));
});

test('a plain Envoy bootstrap, in JSON', () => {
  const r = loadConfigFile(file(JSON.stringify({ admin: {}, static_resources: { clusters: [{ name: 'c' }] } }), 'json'));
  assert.equal(r.kind, 'envoy');
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.bootstrap, { admin: {}, static_resources: { clusters: [{ name: 'c' }] } });
});

test('both bootstrap and envoy_bootstrap is an error', () => {
  const r = loadConfigFile(file(`envoy_bootstrap: { ${BOOT} }\nbootstrap: { listeners: [] }\n`));
  assert.match(find(r.issues, 'bootstrap', 'error').message, /both/);
});

test("Orion's native bootstrap is refused with a pointer to envoy_bootstrap", () => {
  const r = loadConfigFile(file('runtime: { num_cpus: 1 }\nbootstrap: { listeners: [] }\n'));
  assert.match(find(r.issues, 'bootstrap', 'error').message, /not supported; use "envoy_bootstrap"/);
});

test('missing envoy_bootstrap in a runtime file is an error', () => {
  const r = loadConfigFile(file('logging: { log_level: info }\n'));
  find(r.issues, 'envoy_bootstrap', 'error');
});

test('unknown keys warn; bad values are errors with paths', () => {
  const r = loadConfigFile(file(`
runtime: { num_cpus: lots, turbo: true }
logging: { log_level: loud }
access_logging: { log_rotation: weekly, queue_length: -1 }
envoy_bootstrap: { ${BOOT} }
extra: 1
`));
  find(r.issues, 'extra', 'warning');
  find(r.issues, 'runtime.turbo', 'warning');
  find(r.issues, 'runtime.num_cpus', 'error');
  find(r.issues, 'logging.log_level', 'error');
  find(r.issues, 'access_logging.log_rotation', 'error');
  find(r.issues, 'access_logging.queue_length', 'error');
});

test('--with-envoy-bootstrap replaces the embedded bootstrap', () => {
  const main = file(`logging: { log_level: warn }\nenvoy_bootstrap: { ${BOOT} }\n`);
  const other = file('static_resources: { clusters: [ { name: other } ] }\n');
  const r = loadConfigFile(main, { withEnvoyBootstrap: other });
  assert.deepEqual(r.issues, []);
  assert.equal(r.logging.logLevel, 'warn');
  assert.deepEqual(r.bootstrap, { static_resources: { clusters: [{ name: 'other' }] } });
});

test('--config-yaml merges over the bootstrap (lists append, scalars replace)', () => {
  const r = loadConfigFile(file(`admin: { address: { socket_address: { address: 127.0.0.1, port_value: 1 } } }\n${BOOT}\n`), {
    configYaml: 'admin: { address: { socket_address: { port_value: 2 } } }\nstatic_resources: { clusters: [ { name: d } ] }',
  });
  assert.deepEqual(r.bootstrap, {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 2 } } },
    static_resources: { clusters: [{ name: 'c' }, { name: 'd' }] },
  });
});

test('YAML syntax errors and unreadable files are reported, not thrown', () => {
  const bad = loadConfigFile(file('a: [1\nb: 2\n'));
  assert.match(find(bad.issues, '', 'error').message, /line 2/);
  const missing = loadConfigFile(join(dir, 'nope.yaml'));
  assert.match(find(missing.issues, '', 'error').message, /ENOENT/);
  const scalar = loadConfigFile(file('42\n'));
  find(scalar.issues, '', 'error');
});
