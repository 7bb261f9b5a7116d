import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { resolveWorkerCount, parseCpuCount } from '../src/primary/cpu_limit.ts';
import { OrionError } from '../src/shared/errors.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/cgroup/${name}`, import.meta.url));
const base = { env: {}, availableParallelism: 8 };

function badLimit(name: string, value: string) {
  return (e: unknown) => e instanceof OrionError && e.code === 'ORION_BAD_CPU_LIMIT' && e.message.includes(name) && e.message.includes(JSON.stringify(value));
}

test('cgroup v2 quota rounds up', () => {
  assert.deepEqual(resolveWorkerCount({ ...base, cgroupRoot: fixture('v2-limited') }), { count: 2, source: 'cgroup_v2' });
});

test('cgroup v2 "max" falls through to the machine', () => {
  assert.deepEqual(resolveWorkerCount({ ...base, cgroupRoot: fixture('v2-max') }), { count: 8, source: 'machine' });
});

test('cgroup v1 quota/period, including the cpu,cpuacct mount', () => {
  assert.deepEqual(resolveWorkerCount({ ...base, cgroupRoot: fixture('v1-limited') }), { count: 3, source: 'cgroup_v1' });
  assert.deepEqual(resolveWorkerCount({ ...base, cgroupRoot: fixture('v1-cpuacct') }), { count: 1, source: 'cgroup_v1' });
});

test('cgroup v1 quota -1 is unlimited', () => {
  assert.deepEqual(resolveWorkerCount({ ...base, cgroupRoot: fixture('v1-unlimited') }), { count: 8, source: 'machine' });
});

test('no cgroup files means the machine count', () => {
  assert.deepEqual(resolveWorkerCount({ ...base, cgroupRoot: fixture('none') }), { count: 8, source: 'machine' });
});

test('detected quota never exceeds the machine', () => {
  assert.deepEqual(resolveWorkerCount({ env: {}, availableParallelism: 2, cgroupRoot: fixture('v1-limited') }), { count: 2, source: 'cgroup_v1' });
});

test('precedence: ORION_CPU_LIMIT > ORION_GATEWAY_CORES > cli > config > cgroup', () => {
  const all = { cgroupRoot: fixture('v2-limited'), availableParallelism: 8, cliNumCpus: 5, configNumCpus: 6 };
  assert.deepEqual(resolveWorkerCount({ ...all, env: { ORION_CPU_LIMIT: '3', ORION_GATEWAY_CORES: '4' } }), { count: 3, source: 'ORION_CPU_LIMIT' });
  assert.deepEqual(resolveWorkerCount({ ...all, env: { ORION_GATEWAY_CORES: '4' } }), { count: 4, source: 'ORION_GATEWAY_CORES' });
  assert.deepEqual(resolveWorkerCount({ ...all, env: {} }), { count: 5, source: 'cli' });
  assert.deepEqual(resolveWorkerCount({ ...all, env: {}, cliNumCpus: undefined }), { count: 6, source: 'config' });
});

test('explicit values are not capped by the machine', () => {
  assert.deepEqual(resolveWorkerCount({ env: { ORION_CPU_LIMIT: '16' }, availableParallelism: 2 }), { count: 16, source: 'ORION_CPU_LIMIT' });
});

test('fractions and millicores round up', () => {
  assert.equal(parseCpuCount('1.5', 'X'), 2);
  assert.equal(parseCpuCount(' 2 ', 'X'), 2);
  assert.equal(parseCpuCount('1500m', 'X'), 2);
  assert.equal(parseCpuCount('250m', 'X'), 1);
  assert.equal(parseCpuCount(0.5, 'X'), 1);
});

test('invalid values throw ORION_BAD_CPU_LIMIT naming the source', () => {
  for (const v of ['abc', '0', '-1', '', '0m', '1.5.2', '2x', '99999']) {
    assert.throws(() => resolveWorkerCount({ ...base, env: { ORION_CPU_LIMIT: v } }), badLimit('ORION_CPU_LIMIT', v));
    assert.throws(() => resolveWorkerCount({ ...base, env: { ORION_GATEWAY_CORES: v } }), badLimit('ORION_GATEWAY_CORES', v));
    assert.throws(() => resolveWorkerCount({ ...base, cliNumCpus: v }), badLimit('--num-cpus', v));
    assert.throws(() => resolveWorkerCount({ ...base, configNumCpus: v }), badLimit('runtime.num_cpus', v));
  }
  assert.throws(() => resolveWorkerCount({ ...base, configNumCpus: 0 }), badLimit('runtime.num_cpus', '0'));
  assert.throws(() => resolveWorkerCount({ ...base, cliNumCpus: NaN }), badLimit('--num-cpus', 'NaN'));
});
