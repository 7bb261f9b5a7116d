// xDS over ADS against a real gRPC control plane, state of the world and delta: initial sync,
// every resource type added/changed/removed, NACKs naming the resource and field, surviving a
// dead control plane, Istio-style unknown fields, and the admin view (config dump, stats).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startProxy, type Proxy } from './lib/proxy.ts';
import { request, startHttpUpstream, type Upstream } from './lib/upstream.ts';
import { hostField, spread, startCtlUpstream, waitFor } from './lib/upstream_ctl.ts';
import {
  ControlPlane, T, apiSource, assignment, edsCluster, encodeResource, rdsListener, routeConfig, staticClusterRes, toCluster, withUnknownField, xdsCluster,
} from './lib/xds_server.ts';

async function eventually(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await cond()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 40));
  }
  assert.fail(`timed out: ${what}${last ? ` (${String(last)})` : ''}`);
}

async function upstreamOf(port: number, path = '/'): Promise<string> {
  const r = await request(port, path, { timeoutMs: 2000 });
  return r.status === 200 ? String(r.headers['x-upstream'] ?? r.body) : `status ${r.status}`;
}

async function stats(p: Proxy): Promise<Record<string, number>> {
  const text = await (await p.admin('/stats')).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([^:]+): (\d+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

function suite(apiType: 'GRPC' | 'DELTA_GRPC'): void {
  const delta = apiType === 'DELTA_GRPC';
  describe(`ADS ${delta ? 'delta' : 'state of the world'}`, { concurrency: false }, () => {
    let a: Upstream;
    let b: Upstream;
    let cp: ControlPlane;
    let proxy: Proxy;
    let port: number;
    let port2: number;

    before(async () => {
      a = await startHttpUpstream('a');
      b = await startHttpUpstream('b');
      cp = new ControlPlane();
      await cp.start();
      [port, port2] = [await freePort(), await freePort()];
      cp.set(T.cluster, [edsCluster('svc')]);
      cp.set(T.endpoint, [assignment('svc', [a.port])]);
      cp.set(T.listener, [rdsListener('http', port, 'routes')]);
      cp.set(T.route, [routeConfig('routes', [toCluster('/', 'svc')])]);
      const adminPort = await freePort();
      const boot = {
        node: { id: 'node-1', cluster: 'test-cluster', metadata: { ISTIO_VERSION: '1.22.0', LABELS: { app: 'x' } }, locality: { zone: 'z1' } },
        admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
        dynamic_resources: { ads_config: apiSource(apiType), cds_config: { ads: {}, resource_api_version: 'V3' }, lds_config: { ads: {}, resource_api_version: 'V3' } },
        static_resources: { clusters: [xdsCluster(cp.port)] },
      };
      proxy = await startProxy(JSON.stringify(boot), { adminPort, workers: 2 });
    });

    after(async () => {
      await proxy?.stop();
      await cp?.stop();
      await a?.close();
      await b?.close();
    });

    test('initial sync: node sent as Envoy sends it, every type ACKed, traffic flows', async () => {
      assert.equal(await upstreamOf(port), 'a');
      const first = cp.requests[0];
      assert.equal(first.type_url, T.cluster, 'clusters are requested first');
      const node = first.node as Record<string, unknown>;
      assert.equal(node.id, 'node-1');
      assert.equal(node.cluster, 'test-cluster');
      assert.equal(node.user_agent_name, 'orion-proxy');
      assert.deepEqual((node.locality as Record<string, unknown>).zone, 'z1');
      assert.ok(JSON.stringify(node.metadata).includes('1.22.0'));
      for (const t of [T.cluster, T.endpoint, T.listener, T.route]) {
        const ack = await cp.answered(t);
        assert.equal(ack.error_detail ?? null, null, `${t} ACKed`);
        if (!delta) assert.equal(ack.version_info, cp.version(t));
      }
      const eds = cp.requests.find((r) => r.type_url === T.endpoint)!;
      assert.deepEqual(delta ? eds.resource_names_subscribe : eds.resource_names, ['svc']);
    });

    test('endpoints change: traffic follows within one push', async () => {
      cp.set(T.endpoint, [assignment('svc', [b.port])]);
      await eventually('traffic moves to b', async () => (await upstreamOf(port)) === 'b');
      assert.equal((await cp.answered(T.endpoint)).error_detail ?? null, null);
    });

    test('a cluster and a route are added, then the cluster is removed', async () => {
      cp.set(T.cluster, [edsCluster('svc'), staticClusterRes('direct', [a.port])]);
      cp.set(T.route, [routeConfig('routes', [toCluster('/d', 'direct'), toCluster('/', 'svc')])]);
      await eventually('the new route reaches the new cluster', async () => (await upstreamOf(port, '/d')) === 'a');
      assert.equal(await upstreamOf(port, '/'), 'b');
      cp.set(T.cluster, [edsCluster('svc')]);
      await eventually('the removed cluster is gone (503)', async () => (await upstreamOf(port, '/d')) === 'status 503');
      assert.equal(await upstreamOf(port, '/'), 'b');
    });

    test('clusters that never carried a request have their stats in /stats (workers build packed clusters before a dump)', async () => {
      const idle = Array.from({ length: 50 }, (_, i) => `idle${i}`);
      cp.set(T.endpoint, [assignment('svc', [b.port]), ...idle.map((n, i) => assignment(n, [a.port, 40000 + i]))]);
      cp.set(T.cluster, [edsCluster('svc'), ...idle.map((n) => edsCluster(n, { ads: {} }, { circuit_breakers: { thresholds: [{ max_connections: { value: 7 }, track_remaining: true }] } }))]);
      await eventually('the idle clusters are active', async () => (await stats(proxy))['cluster_manager.active_clusters'] === 52);
      const s = await stats(proxy);
      for (const n of idle) {
        assert.ok(s[`cluster.${n}.membership_total`] > 0, n);
        assert.equal(s[`cluster.${n}.upstream_rq_total`], 0, n);
        assert.equal(s[`cluster.${n}.circuit_breakers.default.cx_open`], 0, n);
        // Each of the 2 workers allows ceil(7 / 2) connections.
        assert.equal(s[`cluster.${n}.circuit_breakers.default.remaining_cx`], 8, n);
      }
      assert.equal(await upstreamOf(port, '/'), 'b');
      cp.set(T.cluster, [edsCluster('svc')]);
      await eventually('the idle clusters are gone', async () => (await stats(proxy))['cluster_manager.active_clusters'] === 2);
    });

    test('an xDS cluster with active health checks and alt_stat_name: the primary checks it, traffic avoids a failed host, stats use the stat name', async () => {
      const [c, d] = [await startCtlUpstream('c'), await startCtlUpstream('d')];
      try {
        const ms = (n: number) => ({ seconds: 0, nanos: n * 1e6 });
        const checks = [{ timeout: ms(500), interval: ms(100), no_traffic_interval: ms(100), unhealthy_threshold: { value: 1 }, healthy_threshold: { value: 1 }, http_health_check: { path: '/health' } }];
        const checked = edsCluster('checked', { ads: {} }, { alt_stat_name: 'checked_stats', health_checks: checks, common_lb_config: { healthy_panic_threshold: { value: 0 } } });
        cp.set(T.endpoint, [assignment('svc', [b.port]), assignment('checked', [c.port, d.port])]);
        cp.set(T.cluster, [edsCluster('svc'), checked]);
        cp.set(T.route, [routeConfig('routes', [toCluster('/hc', 'checked'), toCluster('/', 'svc')])]);
        assert.ok(await waitFor(async () => (await hostField(proxy, 'checked', c.port, 'health_flags')) === 'healthy', 5000), 'c checked healthy');
        d.health = 503;
        assert.ok(await waitFor(async () => (await hostField(proxy, 'checked', d.port, 'health_flags')) === '/failed_active_hc', 5000), 'd failed');
        await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(await spread(port, '/hc', 10), { c: 10 });
        const s = await stats(proxy);
        assert.ok(s['cluster.checked_stats.upstream_rq_total'] >= 10, JSON.stringify(Object.keys(s).filter((k) => k.includes('checked'))));
        assert.equal(s['cluster.checked.upstream_rq_total'], undefined);
      } finally {
        cp.set(T.route, [routeConfig('routes', [toCluster('/', 'svc')])]);
        cp.set(T.cluster, [edsCluster('svc')]);
        await c.close();
        await d.close();
      }
      await eventually('the checked cluster is gone', async () => (await stats(proxy))['cluster_manager.active_clusters'] === 2);
    });

    test('a listener is added, changed and removed', async () => {
      const inline = routeConfig('inline', [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'one' } } }]);
      cp.set(T.listener, [rdsListener('http', port, 'routes'), rdsListener('second', port2, inline)]);
      await eventually('second listener serves', async () => (await request(port2, '/')).body === 'one');
      const changed = routeConfig('inline', [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'two' } } }]);
      cp.set(T.listener, [rdsListener('http', port, 'routes'), rdsListener('second', port2, changed)]);
      await eventually('second listener changed', async () => (await request(port2, '/')).body === 'two');
      cp.set(T.listener, [rdsListener('http', port, 'routes')]);
      await eventually('second listener removed', async () => {
        try {
          await request(port2, '/', { timeoutMs: 500 });
          return false;
        } catch {
          return true;
        }
      });
      assert.equal(await upstreamOf(port), 'b');
    });

    test('RDS subscriptions follow the listeners that reference them', async () => {
      const main = routeConfig('routes', [toCluster('/d', 'direct'), toCluster('/', 'svc')]);
      cp.set(T.route, [main, routeConfig('r2', [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'from r2' } } }])]);
      cp.set(T.listener, [rdsListener('http', port, 'routes'), rdsListener('second', port2, 'r2')]);
      await eventually('second listener serves r2', async () => (await request(port2, '/')).body === 'from r2');
      const rds = () => cp.requests.filter((r) => r.type_url === T.route);
      assert.ok(rds().some((r) => (delta ? r.resource_names_subscribe : r.resource_names)?.includes('r2')), 'r2 subscribed');
      cp.set(T.listener, [rdsListener('http', port, 'routes')]);
      await cp.waitFor(() => (delta
        ? rds().some((r) => r.resource_names_unsubscribe?.includes('r2'))
        : JSON.stringify(rds().at(-1)?.resource_names) === '["routes"]'), 5000, 'r2 unsubscribed');
      assert.equal(await upstreamOf(port), 'b');
    });

    test('a bad cluster is NACKed with the previous version and the field; traffic keeps the old config', async () => {
      const good = cp.version(T.cluster);
      cp.set(T.cluster, [edsCluster('svc'), { name: 'bad', type: 'STATIC', connect_timeout: {}, load_assignment: assignment('bad', [a.port]) }]);
      const nack = await cp.answered(T.cluster);
      assert.ok(nack.error_detail?.message, 'NACK carries error_detail');
      assert.match(nack.error_detail!.message!, /Cluster bad: connect_timeout: must be greater than 0/);
      if (!delta) assert.equal(nack.version_info, good, 'NACK names the last good version');
      assert.equal(await upstreamOf(port), 'b');
      const s = await stats(proxy);
      assert.ok(s['cluster_manager.cds.update_rejected'] >= 1, JSON.stringify(s));
      // A duplicate name rejects the whole response.
      cp.pushRaw(T.cluster, [edsCluster('svc'), edsCluster('svc')].map((c) => ({ name: 'svc', bytes: encodeResource(T.cluster, c) })));
      assert.match((await cp.answered(T.cluster)).error_detail?.message ?? '', /duplicate Cluster name "svc"/);
      cp.set(T.cluster, [edsCluster('svc')]);
      assert.equal((await cp.answered(T.cluster)).error_detail ?? null, null, 'fixed config ACKed');
    });

    test('Istio-style resources with unknown fields and optional extensions are accepted with a warning', async () => {
      const istio = rdsListener('http', port, 'routes', { ads: {} }, { traffic_direction: 'INBOUND' });
      const hcm = ((istio.filter_chains as Record<string, unknown>[])[0].filters as Record<string, Record<string, unknown>>[])[0].typed_config;
      hcm.http_filters = [
        { name: 'istio.metadata_exchange', is_optional: true, typed_config: { type_url: 'type.googleapis.com/io.istio.http.peer_metadata.Config', value: Buffer.from([]) } },
        ...(hcm.http_filters as unknown[]),
      ];
      cp.set(T.listener, [{ name: 'http', bytes: withUnknownField(encodeResource(T.listener, istio)) }]);
      const ack = await cp.answered(T.listener);
      assert.equal(ack.error_detail ?? null, null, `accepted: ${JSON.stringify(ack.error_detail)}`);
      assert.equal(await upstreamOf(port), 'b');
      const s = await stats(proxy);
      assert.ok(s['server.dynamic_unknown_fields'] >= 1, 'unknown fields are counted');
      assert.match(proxy.output(), /unknown field number\(s\) 9999/);
    });

    test('config dump shows dynamic resources with versions; xDS stats are kept', async () => {
      const dump = (await (await proxy.admin('/config_dump?include_eds')).json()) as { configs: Record<string, unknown>[] };
      const byType = (t: string) => dump.configs.find((c) => String(c['@type']).endsWith(t)) as Record<string, unknown>;
      const clusters = byType('ClustersConfigDump');
      assert.equal(clusters.version_info, cp.version(T.cluster));
      const dyn = clusters.dynamic_active_clusters as Record<string, Record<string, unknown>>[];
      assert.deepEqual(dyn.map((c) => c.cluster.name), ['svc']);
      assert.ok(dyn[0].version_info && dyn[0].last_updated);
      assert.equal(dyn[0].cluster['@type'], T.cluster);
      const listeners = byType('ListenersConfigDump').dynamic_listeners as Record<string, Record<string, Record<string, unknown>>>[];
      assert.equal(listeners[0].active_state.listener.name, 'http');
      assert.ok((listeners[0].active_state.orion_unsupported_fields as unknown as string[]).includes('traffic_direction'), 'unsupported fields are listed');
      assert.ok(listeners[0].active_state.last_updated);
      const routes = byType('RoutesConfigDump').dynamic_route_configs as Record<string, Record<string, unknown>>[];
      assert.equal(routes[0].route_config.name, 'routes');
      const eps = byType('EndpointsConfigDump').dynamic_endpoint_configs as Record<string, Record<string, unknown>>[];
      assert.equal(eps[0].endpoint_config.cluster_name, 'svc');
      const res = (await (await proxy.admin('/config_dump?resource=dynamic_active_clusters')).json()) as { configs: Record<string, unknown>[] };
      assert.equal(res.configs.length, 1);
      const s = await stats(proxy);
      assert.equal(s['control_plane.connected_state'], 1);
      for (const k of ['cluster_manager.cds.update_success', 'cluster_manager.cds.update_attempt', 'listener_manager.lds.update_success', 'http.http.rds.routes.update_success', 'cluster.svc.update_success']) {
        assert.ok(s[k] >= 1, `${k} = ${s[k]}`);
      }
      assert.equal(s['cluster_manager.active_clusters'], 2, 'xds_cluster and svc');
      assert.equal(s['listener_manager.total_listeners_active'], 1);
      assert.ok(s['cluster_manager.cds.version'] > 0);
    });

    test('resource TTL: a heartbeat renews an assignment; one not renewed in time is removed', async () => {
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      cp.pushRaw(T.endpoint, [{ name: 'svc', bytes: encodeResource(T.endpoint, assignment('svc', [a.port])) }], { ttlMs: 1000 });
      await eventually('endpoints with a TTL', async () => (await upstreamOf(port)) === 'a');
      await sleep(500);
      cp.pushRaw(T.endpoint, [{ name: 'svc', bytes: null }], { ttlMs: 1000 });
      await sleep(700);
      assert.equal(await upstreamOf(port), 'a', 'renewed by the heartbeat');
      await eventually('expired: the cluster has no endpoints', async () => (await upstreamOf(port)) === 'status 503', 3000);
      cp.set(T.endpoint, [assignment('svc', [b.port, b.port])]);
      await eventually('a normal update restores it', async () => (await upstreamOf(port)) === 'b');
    });

    test('a worker that restarts gets the current snapshot from the primary', async () => {
      const info = (await (await proxy.admin('/server_info')).json()) as { command_line_options: { worker_pids: number[] } };
      const [pid] = info.command_line_options.worker_pids;
      process.kill(pid, 'SIGKILL');
      await eventually('replaced', async () => {
        const i = (await (await proxy.admin('/server_info')).json()) as { command_line_options: { worker_pids: number[] } };
        return !i.command_line_options.worker_pids.includes(pid) && i.command_line_options.worker_pids.every((p) => p > 0);
      });
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) seen.add(await upstreamOf(port));
      assert.deepEqual([...seen], ['b'], 'every worker serves the latest endpoints');
    });

    test('control plane killed: traffic continues; it returns: reconnect, re-subscribe, ACK, updates flow', async () => {
      const cdsVersion = cp.version(T.cluster);
      const seen = cp.requests.length;
      cp.kill();
      await eventually('disconnected', async () => (await stats(proxy))['control_plane.connected_state'] === 0);
      assert.equal(await upstreamOf(port), 'b');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await upstreamOf(port), 'b');
      await cp.start(cp.port);
      await cp.waitFor(() => cp.requests.slice(seen).some((r) => r.type_url === T.cluster), 8000, 'CDS re-subscription');
      const resub = cp.requests.slice(seen).find((r) => r.type_url === T.cluster)!;
      assert.equal(resub.response_nonce, '');
      if (delta) assert.ok(Object.keys(resub.initial_resource_versions ?? {}).includes('svc'), 'delta sends the versions it holds');
      else assert.equal(resub.version_info, cdsVersion, 'SotW sends the version it holds');
      cp.set(T.endpoint, [assignment('svc', [a.port])]);
      await eventually('updates flow again', async () => (await upstreamOf(port)) === 'a', 8000);
      assert.equal((await cp.answered(T.endpoint)).error_detail ?? null, null);
      await eventually('connected again', async () => (await stats(proxy))['control_plane.connected_state'] === 1);
    });
  });
}

suite('GRPC');
suite('DELTA_GRPC');
