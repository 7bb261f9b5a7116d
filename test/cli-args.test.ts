import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, USAGE } from '../src/primary/cli_args.ts';
import { OrionError } from '../src/shared/errors.ts';

function badArg(fragment: string) {
  return (e: unknown) => e instanceof OrionError && e.code === 'ORION_BAD_ARG' && e.message.includes(fragment);
}

test('defaults', () => {
  assert.deepEqual(parseArgs([]), {
    configPath: undefined,
    configYaml: undefined,
    envoyBootstrapPath: undefined,
    mode: 'serve',
    numCpus: undefined,
    logLevel: undefined,
    logPath: undefined,
    drainTimeS: 5,
    strict: false,
    baseId: undefined,
    serviceCluster: undefined,
    serviceNode: undefined,
    serviceZone: undefined,
    help: false,
    version: false,
  });
});

test('full command line', () => {
  const o = parseArgs(['-c', 'a.yaml', '--with-envoy-bootstrap', 'b.yaml', '--mode', 'validate', '-C', '3', '--log-level', 'warning', '--drain-time-s', '2.5', '--strict', '--base-id', '7', '--config-yaml', 'admin: {}', '--log-path', '/tmp/o.log', '--service-node', 'n1']);
  assert.equal(o.configPath, 'a.yaml');
  assert.equal(o.envoyBootstrapPath, 'b.yaml');
  assert.equal(o.mode, 'validate');
  assert.equal(o.numCpus, 3);
  assert.equal(o.logLevel, 'warning');
  assert.equal(o.drainTimeS, 2.5);
  assert.equal(o.strict, true);
  assert.equal(o.baseId, 7);
  assert.equal(o.configYaml, 'admin: {}');
  assert.equal(o.logPath, '/tmp/o.log');
  assert.equal(o.serviceNode, 'n1');
});

test('Envoy aliases', () => {
  assert.equal(parseArgs(['--config-path', 'e.yaml']).configPath, 'e.yaml');
  assert.equal(parseArgs(['--config=e.yaml', '--config-path=e.yaml']).configPath, 'e.yaml');
  assert.equal(parseArgs(['--concurrency', '4']).numCpus, 4);
  assert.equal(parseArgs(['--num-cpus=1.5']).numCpus, 2);
  assert.equal(parseArgs(['-C', '1500m']).numCpus, 2);
  assert.equal(parseArgs(['-l', 'critical']).logLevel, 'critical');
  assert.equal(parseArgs(['--disable-hot-restart']).mode, 'serve');
});

test('help and version', () => {
  assert.equal(parseArgs(['-h']).help, true);
  assert.equal(parseArgs(['--help']).help, true);
  assert.equal(parseArgs(['--version']).version, true);
  assert.match(USAGE, /--num-cpus/);
  assert.match(USAGE, /--concurrency/);
});

test('bad values throw ORION_BAD_ARG', () => {
  assert.throws(() => parseArgs(['--mode', 'run']), badArg('--mode "run"'));
  assert.throws(() => parseArgs(['-C', 'abc']), badArg('--num-cpus'));
  assert.throws(() => parseArgs(['--num-cpus', '0']), badArg('--num-cpus'));
  assert.throws(() => parseArgs(['--concurrency', '-1']), badArg('--concurrency'));
  assert.throws(() => parseArgs(['--drain-time-s', 'soon']), badArg('--drain-time-s'));
  assert.throws(() => parseArgs(['--drain-time-s', '-1']), badArg('--drain-time-s'));
  assert.throws(() => parseArgs(['--base-id', '1.5']), badArg('--base-id'));
  assert.throws(() => parseArgs(['--log-level', 'loud']), badArg('--log-level'));
  assert.throws(() => parseArgs(['-c', '']), badArg('--config must not be empty'));
});

test('env-filter log levels are accepted', () => {
  assert.equal(parseArgs(['--log-level', 'orion=debug,info']).logLevel, 'orion=debug,info');
});

test('conflicting aliases are rejected', () => {
  assert.throws(() => parseArgs(['-c', 'a.yaml', '--config-path', 'b.yaml']), badArg('conflicts'));
  assert.throws(() => parseArgs(['-C', '2', '--concurrency', '3']), badArg('conflicts'));
  assert.equal(parseArgs(['-C', '2', '--concurrency', '2']).numCpus, 2);
});

test('unknown flags, missing values and positionals are rejected', () => {
  assert.throws(() => parseArgs(['--bogus']), badArg('bogus'));
  assert.throws(() => parseArgs(['-c']), badArg('-c'));
  assert.throws(() => parseArgs(['stray.yaml']), badArg('stray.yaml'));
  assert.throws(() => parseArgs(['--strict=yes']), badArg('strict'));
});
