// Outlier detection through the real CLI with two workers: workers report outcomes, the primary
// decides once for the whole proxy. Consecutive 5xx eject after exactly N failures counted across
// both workers, the ejection lasts base_ejection_time (returned at the next interval) and grows
// with repeated ejections; max_ejection_percent caps ejections; failure percentage and success
// rate eject at the interval; /clusters shows /failed_outlier_check and success rates.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { bootstrap, httpListener, staticCluster, vhost } from './lib/config.ts';
import { startCtlUpstream, waitFor, hostField, stats, spread, get, type CtlUpstream } from './lib/upstream_ctl.ts';

const INTERVAL_MS = 400;
const BASE_MS = 1000;
let ok1: CtlUpstream;
let ok2: CtlUpstream;
let bad: CtlUpstream;
let bad2: CtlUpstream;
let solo: CtlUpstream;
let proxy: Proxy;
let port = 0;

before(async () => {
  ok1 = await startCtlUpstream('ok1');
  ok2 = await startCtlUpstream('ok2');
  bad = await startCtlUpstream('bad');
  bad2 = await startCtlUpstream('bad2');
  solo = await startCtlUpstream('solo');
  bad.status = 503;
  bad2.status = 503;
  solo.status = 502;
  port = await freePort();
  const adminPort = await freePort();
  const od = (extra: Record<string, unknown>) => ({
    outlier_detection: { interval: `${INTERVAL_MS / 1000}s`, base_ejection_time: `${BASE_MS / 1000}s`, ...extra },
  });
  const routes = ['od', 'solo', 'cap', 'fp', 'sr'].map((c) => ({ match: { prefix: `/${c}` }, route: { cluster: c } }));
  const clusters = [
    staticCluster('od', [ok1.port, bad.port], od({ consecutive_5xx: 3, max_ejection_percent: 50 })),
    staticCluster('solo', [solo.port], od({ consecutive_5xx: 6, max_ejection_percent: 100 })),
    staticCluster('cap', [ok1.port, bad.port, bad2.port], od({ consecutive_5xx: 2, max_ejection_percent: 30 })),
    staticCluster('fp', [ok1.port, ok2.port, bad.port], od({
      consecutive_5xx: 1000, failure_percentage_threshold: 50, enforcing_failure_percentage: 100,
      failure_percentage_minimum_hosts: 3, failure_percentage_request_volume: 5, max_ejection_percent: 50,
      success_rate_request_volume: 5,
    })),
    staticCluster('sr', [ok1.port, ok2.port, bad.port], od({
      consecutive_5xx: 1000, success_rate_minimum_hosts: 3, success_rate_request_volume: 5, success_rate_stdev_factor: 1000,
      max_ejection_percent: 50,
    })),
  ];
  proxy = await startProxy(bootstrap(adminPort, [httpListener(port, [vhost('all', ['*'], routes)])], clusters), { adminPort, workers: 2 });
});

after(async () => {
  await proxy?.stop();
  for (const u of [ok1, ok2, bad, bad2, solo]) await u?.close();
});

const flags = (cluster: string, p: number) => hostField(proxy, cluster, p, 'health_flags');
const ejected = async (cluster: string, p: number) => (await flags(cluster, p)) === '/failed_outlier_check';

test('consecutive 5xx are counted across workers: ejection after exactly N, one decision for the proxy', async () => {
  // Fresh connections land on either worker; only the merged count reaches 6.
  for (let i = 0; i < 5; i++) assert.equal((await get(port, '/solo')).status, 502);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await flags('solo', solo.port), 'healthy', 'five failures must not eject');
  await get(port, '/solo');
  assert.ok(await waitFor(() => ejected('solo', solo.port), 1000), 'the sixth failure ejects');
  const st = await stats(proxy, 'cluster\\.solo\\.outlier_detection\\.');
  assert.equal(st['cluster.solo.outlier_detection.ejections_enforced_total'], 1);
  assert.equal(st['cluster.solo.outlier_detection.ejections_detected_consecutive_5xx'], 1);
  assert.equal(st['cluster.solo.outlier_detection.ejections_enforced_consecutive_5xx'], 1);
  assert.equal(st['cluster.solo.outlier_detection.ejections_active'], 1);
});

test('ejection and return: base_ejection_time, then twice as long on the second ejection', async () => {
  const s = await spread(port, '/od', 8);
  assert.ok(await waitFor(() => ejected('od', bad.port), 1000), `not ejected after ${JSON.stringify(s)}`);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await spread(port, '/od', 10), { ok1: 10 }, 'both workers avoid the ejected host');
  assert.ok(await waitFor(async () => !(await ejected('od', bad.port)), 3000), 'never returned');
  const first = Date.now() - t0;
  // Returned at the first interval sweep after base_ejection_time.
  assert.ok(first >= BASE_MS - 100 && first <= BASE_MS + INTERVAL_MS + 300, `first ejection lasted ${first} ms`);
  await spread(port, '/od', 8);
  assert.ok(await waitFor(() => ejected('od', bad.port), 1000), 'not ejected again');
  const t1 = Date.now();
  assert.ok(await waitFor(async () => !(await ejected('od', bad.port)), 4000), 'never returned the second time');
  const second = Date.now() - t1;
  assert.ok(second >= 2 * BASE_MS - 100 && second <= 2 * BASE_MS + INTERVAL_MS + 300, `second ejection lasted ${second} ms`);
});

test('max_ejection_percent: a second outlier overflows instead of being ejected', async () => {
  await spread(port, '/cap', 12);
  assert.ok(await waitFor(async () => (await ejected('cap', bad.port)) || (await ejected('cap', bad2.port)), 1000));
  await new Promise((r) => setTimeout(r, 200));
  await spread(port, '/cap', 12);
  await new Promise((r) => setTimeout(r, 200));
  const both = (await ejected('cap', bad.port)) && (await ejected('cap', bad2.port));
  assert.equal(both, false, 'only one of three hosts may be ejected at 30%');
  const st = await stats(proxy, 'cluster\\.cap\\.outlier_detection\\.');
  assert.ok(st['cluster.cap.outlier_detection.ejections_overflow'] >= 1, JSON.stringify(st));
  assert.equal(st['cluster.cap.outlier_detection.ejections_active'], 1);
});

test('failure percentage ejects at the interval; /clusters shows success rates', async () => {
  await spread(port, '/fp', 30);
  assert.ok(await waitFor(() => ejected('fp', bad.port), INTERVAL_MS * 3), 'failure percentage did not eject');
  const st = await stats(proxy, 'cluster\\.fp\\.outlier_detection\\.');
  assert.equal(st['cluster.fp.outlier_detection.ejections_enforced_failure_percentage'], 1);
  assert.equal(await hostField(proxy, 'fp', ok1.port, 'success_rate'), '100');
  assert.equal(await hostField(proxy, 'fp', bad.port, 'success_rate'), '0');
});

test('success rate: a host far below the mean is ejected', async () => {
  await spread(port, '/sr', 30);
  assert.ok(await waitFor(() => ejected('sr', bad.port), INTERVAL_MS * 3), 'success rate did not eject');
  const st = await stats(proxy, 'cluster\\.sr\\.outlier_detection\\.');
  assert.equal(st['cluster.sr.outlier_detection.ejections_enforced_success_rate'], 1);
  assert.equal(await flags('sr', ok1.port), 'healthy');
});
