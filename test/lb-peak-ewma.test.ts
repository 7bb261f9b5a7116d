// Peak EWMA (Orion's own load_balancing_policy extension) against round robin, through the real
// CLI: three backends, one of them slow. Round robin sends it a third of the requests, so its
// p99 is the slow host's latency; Peak EWMA learns after the first slow answers and routes
// around it, so its p99 stays with the fast hosts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { bootstrap, httpListener, staticCluster, vhost } from './lib/config.ts';
import { startCtlUpstream, get, type CtlUpstream } from './lib/upstream_ctl.ts';

const SLOW_MS = 150;
// Round robin's p99 is the slow host's latency with any sample size (a third of its requests go
// there); Peak EWMA gets a larger sample so that one scheduling stall on a busy test machine
// (which delays at most CONCURRENCY requests) cannot decide its p99.
const N_RR = 120;
const N_EWMA = 1000;
const CONCURRENCY = 4;
let fast1: CtlUpstream;
let fast2: CtlUpstream;
let slow: CtlUpstream;
let proxy: Proxy;
let port = 0;

before(async () => {
  fast1 = await startCtlUpstream('fast1');
  fast2 = await startCtlUpstream('fast2');
  slow = await startCtlUpstream('slow');
  slow.delayMs = SLOW_MS;
  port = await freePort();
  const adminPort = await freePort();
  const ports = [fast1.port, slow.port, fast2.port];
  const ewma = {
    load_balancing_policy: {
      policies: [{
        typed_extension_config: {
          name: 'orion.load_balancing_policies.peak_ewma',
          typed_config: { '@type': 'type.googleapis.com/orion.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma', half_life: '10s' },
        },
      }],
    },
  };
  const routes = [
    { match: { prefix: '/rr' }, route: { cluster: 'rr' } },
    { match: { prefix: '/ewma' }, route: { cluster: 'ewma' } },
  ];
  const clusters = [staticCluster('rr', ports), { ...staticCluster('ewma', ports, ewma), lb_policy: undefined }];
  proxy = await startProxy(bootstrap(adminPort, [httpListener(port, [vhost('all', ['*'], routes)])], clusters), { adminPort, workers: 1 });
});

after(async () => {
  await proxy?.stop();
  for (const u of [fast1, fast2, slow]) await u?.close();
});

async function run(path: string, n: number): Promise<{ p99: number; slowShare: number }> {
  const lat: number[] = [];
  let slowHits = 0;
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) {
      next++;
      const r = await get(port, path);
      assert.equal(r.status, 200);
      lat.push(r.ms);
      if (r.upstream === 'slow') slowHits++;
    }
  }));
  lat.sort((a, b) => a - b);
  return { p99: lat[Math.ceil(0.99 * lat.length) - 1], slowShare: slowHits / lat.length };
}

test('Peak EWMA beats round robin on p99 with one slow backend', { timeout: 60000 }, async () => {
  const rr = await run('/rr', N_RR);
  const ewma = await run('/ewma', N_EWMA);
  assert.ok(rr.slowShare > 0.3, `round robin spreads evenly: ${rr.slowShare}`);
  assert.ok(rr.p99 >= SLOW_MS, `round robin p99 ${rr.p99} ms`);
  // Typically 0.1% and a p99 of a few ms; the bounds leave room for a loaded machine, where stalls
  // of the proxy itself read as latency peaks on whichever hosts had requests in flight.
  const msg = `Peak EWMA: ${(ewma.slowShare * 100).toFixed(1)}% to the slow host, p99 ${ewma.p99.toFixed(1)} ms; round robin p99 ${rr.p99.toFixed(1)} ms`;
  assert.ok(ewma.slowShare < 0.05, msg);
  assert.ok(ewma.p99 < rr.p99 * 0.75, msg);
});
