// Translation of the upstream-resilience config into the snapshot: LB policies (including Peak
// EWMA from its own proto), common_lb_config, health checks, outlier detection defaults, circuit
// breakers with retry budgets, the breaker state machine extension, ORIGINAL_DST options, route
// priority — and the field-path errors for what cannot be served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot, type BuildResult } from '../src/primary/config/build.ts';
import type { ClusterSnap, RouteActionSnap } from '../src/shared/snapshot.ts';

type O = Record<string, unknown>;
const C = 'static_resources.clusters[0]';

function build(cluster: O, route: O = {}): BuildResult {
  return buildSnapshot({
    static_resources: {
      listeners: [{
        name: 'l',
        address: { socket_address: { address: '127.0.0.1', port_value: 8000 } },
        filter_chains: [{
          filters: [{
            name: 'hcm',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'in',
              route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', ...route } }] }] },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
            },
          }],
        }],
      }],
      clusters: [{
        name: 'c',
        connect_timeout: '1s',
        load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9000 } } } }] }] },
        ...cluster,
      }],
    },
  }, { version: 1, drainTimeMs: 0, strict: false });
}

const snap = (r: BuildResult): ClusterSnap => r.snapshot.clusters[0];
const errors = (r: BuildResult) => r.issues.filter((i) => i.severity === 'error').map((i) => `${i.path}: ${i.message}`);
const warnings = (r: BuildResult) => r.issues.filter((i) => i.severity === 'warning').map((i) => i.path);

test('Peak EWMA from its own proto through load_balancing_policy', () => {
  const r = build({
    load_balancing_policy: { policies: [{ typed_extension_config: { name: 'ewma', typed_config: { '@type': 'type.googleapis.com/orion.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma', half_life: '2s', choice_count: 3 } } }] },
  });
  assert.deepEqual(errors(r), []);
  assert.deepEqual([snap(r).lbPolicy, snap(r).lbConfig], ['peak_ewma', { halfLifeMs: 2000, defaultRttMs: 30, errorPenaltyMs: 1000, choiceCount: 3 }]);
});

test('common_lb_config: panic threshold (an explicit 0 is 0) and locality weighting; overprovisioning factor', () => {
  const r = build({
    common_lb_config: { healthy_panic_threshold: { value: 0 }, locality_weighted_lb_config: {} },
    load_assignment: { cluster_name: 'c', policy: { overprovisioning_factor: 200 }, endpoints: [] },
  });
  assert.deepEqual(errors(r), []);
  assert.deepEqual([snap(r).healthyPanicThreshold, snap(r).localityWeightedLb, snap(r).overprovisioningFactor], [0, true, 200]);
  const d = snap(build({}));
  assert.deepEqual([d.healthyPanicThreshold, d.localityWeightedLb, d.overprovisioningFactor], [50, false, 140]);
});

test('MAGLEV table_size must be prime', () => {
  assert.deepEqual(errors(build({ lb_policy: 'MAGLEV', maglev_lb_config: { table_size: 65536 } })), [`${C}.maglev_lb_config.table_size: 65536 must be a prime number no larger than 5000011`]);
});

test('health checks: HTTP with defaults, TCP payloads, gRPC; required fields and unsupported kinds', () => {
  const hc = (x: O) => ({ health_checks: [{ timeout: '1s', interval: '5s', unhealthy_threshold: 2, healthy_threshold: 3, ...x }] });
  const http = snap(build(hc({ http_health_check: { path: '/hz', expected_statuses: [{ start: 200, end: 300 }] }, no_traffic_interval: '2s' }))).healthChecks![0];
  assert.deepEqual([http.kind, http.intervalMs, http.timeoutMs, http.noTrafficIntervalMs, http.unhealthyThreshold, http.healthyThreshold], ['http', 5000, 1000, 2000, 2, 3]);
  assert.deepEqual([http.http!.path, http.http!.host, http.http!.method, http.http!.expectedStatuses], ['/hz', '', 'GET', [[200, 300]]]);
  const tcp = snap(build(hc({ tcp_health_check: { send: { text: '50494E47' }, receive: [{ text: '504f4e47' }] } }))).healthChecks![0];
  assert.deepEqual([Buffer.from(tcp.tcp!.send!).toString(), tcp.tcp!.receive.map((b) => Buffer.from(b).toString())], ['PING', ['PONG']]);
  const grpc = snap(build(hc({ grpc_health_check: { service_name: 's' } }))).healthChecks![0];
  assert.deepEqual([grpc.kind, grpc.grpc!.serviceName], ['grpc', 's']);
  assert.deepEqual(errors(build({ health_checks: [{ http_health_check: { path: '/' } }] })).sort(), [
    `${C}.health_checks[0].healthy_threshold: is required`,
    `${C}.health_checks[0].interval: is required`,
    `${C}.health_checks[0].timeout: is required`,
    `${C}.health_checks[0].unhealthy_threshold: is required`,
  ]);
  assert.deepEqual(errors(build(hc({ tcp_health_check: { send: { text: 'xyz' } } }))), [`${C}.health_checks[0].tcp_health_check.send.text: must be a non-empty hex string`]);
  assert.deepEqual(errors(build(hc({ custom_health_check: { name: 'x' } }))), [`${C}.health_checks[0].custom_health_check: custom health checkers are not supported`]);
});

test('outlier detection: Envoy defaults, explicit zeros kept, percentages checked', () => {
  const od = snap(build({ outlier_detection: {} })).outlierDetection!;
  assert.deepEqual(
    [od.consecutive5xx, od.intervalMs, od.baseEjectionTimeMs, od.maxEjectionTimeMs, od.maxEjectionPercent, od.enforcingConsecutive5xx, od.enforcingConsecutiveGatewayFailure, od.enforcingFailurePercentage, od.successRateStdevFactor, od.successfulActiveHealthCheckUnejectHost],
    [5, 10000, 30000, 300000, 10, 100, 0, 0, 1900, true],
  );
  const z = snap(build({ outlier_detection: { enforcing_consecutive_5xx: 0, max_ejection_percent: 100 } })).outlierDetection!;
  assert.deepEqual([z.enforcingConsecutive5xx, z.maxEjectionPercent], [0, 100]);
  assert.ok(errors(build({ outlier_detection: { max_ejection_percent: 101 } })).some((e) => e.startsWith(`${C}.outlier_detection.max_ejection_percent`)));
});

test('circuit breakers: per priority, retry budget, track_remaining; the last threshold of a priority wins', () => {
  const r = build({ circuit_breakers: { thresholds: [{ max_requests: 5, retry_budget: { budget_percent: { value: 25 } }, track_remaining: true }, { priority: 'HIGH', max_connections: 7 }] } });
  assert.deepEqual(errors(r), []);
  const [d, h] = snap(r).circuitBreakers;
  assert.deepEqual(d, { priority: 'default', maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 5, maxRetries: 3, retryBudget: { budgetPercent: 25, minRetryConcurrency: 3 }, trackRemaining: true });
  assert.deepEqual([h.priority, h.maxConnections], ['high', 7]);
});

test('breaker state machine extension; a breaker that can never open is an error', () => {
  const ext = (x: O) => ({ typed_extension_protocol_options: { b: { '@type': 'type.googleapis.com/orion.extensions.upstreams.circuit_breaker.v1.CircuitBreaker', ...x } } });
  const r = build(ext({ consecutive_failures: 3, open_duration: '2s', half_open_max_requests: 2, failure_rate: { threshold: 40 } }));
  assert.deepEqual(errors(r), []);
  assert.ok(!warnings(r).some((p) => p.includes('typed_extension_protocol_options')), 'no unsupported warning for the extension');
  assert.deepEqual(snap(r).breaker, {
    consecutiveFailures: 3, failureRateThreshold: 40, minimumRequests: 20, windowMs: 10000, openDurationMs: 2000,
    halfOpenMaxRequests: 2, successThreshold: 2, failureStatuses: [], message: 'upstream circuit breaker is open',
  });
  assert.deepEqual(errors(build(ext({ consecutive_failures: 0 }))), [`${C}.typed_extension_protocol_options.b: the breaker can never open: set consecutive_failures or failure_rate.threshold`]);
});

test('ORIGINAL_DST options and route priority', () => {
  const r = build({ type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', load_assignment: undefined, original_dst_lb_config: { use_http_header: true, upstream_port_override: 8080 } }, { priority: 'HIGH' });
  assert.deepEqual(errors(r), []);
  assert.deepEqual(snap(r).originalDst, { useHttpHeader: true, httpHeaderName: 'x-envoy-original-dst-host', portOverride: 8080, cleanupIntervalMs: 5000 });
  const action = r.snapshot.routeConfigs[Object.keys(r.snapshot.routeConfigs)[0]].virtualHosts[0].routes[0].action as RouteActionSnap;
  assert.equal(action.priority, 'high');
});
