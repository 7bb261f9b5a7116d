import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { decode, normalizeMessage } from '../src/primary/config/decode.ts';
import { BOOTSTRAP_TYPE, loadRoot, lookupType, parseProtos, protoLoadInfo } from '../src/primary/config/protos.ts';
import type { ConfigIssue } from '../src/shared/errors.ts';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';
const bootstrapType = (): protobuf.Type => lookupType(BOOTSTRAP_TYPE)!;

function at(issues: ConfigIssue[], path: string, severity: 'error' | 'warning' = 'error'): ConfigIssue {
  const hit = issues.find((i) => i.path === path && i.severity === severity);
  assert.ok(hit, `no ${severity} at ${path}; got:\n${issues.map((i) => `${i.severity} ${i.path}: ${i.message}`).join('\n')}`);
  return hit;
}

function hcmListener(hcm: Record<string, unknown>): Record<string, unknown> {
  return {
    static_resources: {
      listeners: [
        {
          name: 'l0',
          address: { socket_address: { address: '127.0.0.1', port_value: 8000 } },
          filter_chains: [{ filters: [{ name: 'hcm', typed_config: { '@type': `type.googleapis.com/${HCM}`, stat_prefix: 'p', ...hcm } }] }],
        },
      ],
    },
  };
}

const TC = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';

test('protos load, and within a bounded time', () => {
  const root = loadRoot();
  assert.ok(root.lookupType(BOOTSTRAP_TYPE));
  for (const t of [HCM, ROUTER, 'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication', 'xds.type.v3.TypedStruct', 'envoy.extensions.load_balancing_policies.maglev.v3.Maglev']) {
    assert.ok(lookupType(t), t);
  }
  assert.ok(protoLoadInfo().ms < 5000, `proto load took ${protoLoadInfo().ms} ms`);
});

test('the cached descriptor decodes like freshly parsed protos', () => {
  const input = hcmListener({ codec_type: 'HTTP1', stream_idle_timeout: '2.5s', route_config: { virtual_hosts: [{ name: 'v', domains: ['*'] }] } });
  const fresh = parseProtos().lookupType(BOOTSTRAP_TYPE);
  assert.deepEqual(decode(fresh, input).value, decode(bootstrapType(), input).value);
});

test('snake_case and camelCase input normalize to the same snake_case object', () => {
  const snake = decode(bootstrapType(), hcmListener({ stream_idle_timeout: '1.5s', max_request_headers_kb: 80, route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], request_headers_to_remove: ['x'] }] } }));
  const camel = decode(bootstrapType(), {
    staticResources: {
      listeners: [
        {
          name: 'l0',
          address: { socketAddress: { address: '127.0.0.1', portValue: 8000 } },
          filterChains: [{ filters: [{ name: 'hcm', typedConfig: { '@type': `type.googleapis.com/${HCM}`, statPrefix: 'p', streamIdleTimeout: '1.5s', maxRequestHeadersKb: 80, routeConfig: { virtualHosts: [{ name: 'v', domains: ['*'], requestHeadersToRemove: ['x'] }] } } }] }],
        },
      ],
    },
  });
  assert.deepEqual(camel.issues, []);
  assert.deepEqual(camel.value, snake.value);
  const tc = (snake.value as any).static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  assert.deepEqual(tc.stream_idle_timeout, { seconds: 1, nanos: 500_000_000 });
  assert.equal(tc.max_request_headers_kb, 80); // UInt32Value as a plain number
});

test('wrong types are errors with exact field paths', () => {
  const r = decode(bootstrapType(), {
    static_resources: {
      clusters: [
        { name: 'ok', connect_timeout: '1s' },
        {
          name: 'c',
          connect_timeout: '5x',
          lb_policy: 'ROUND_ROBINX',
          per_connection_buffer_limit_bytes: 'lots',
          load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: { host: 'x' }, port_value: 'http' } } } }] }] },
        },
      ],
    },
  });
  const c1 = 'static_resources.clusters[1]';
  assert.match(at(r.issues, `${c1}.connect_timeout`).message, /invalid duration "5x"/);
  assert.match(at(r.issues, `${c1}.lb_policy`).message, /ROUND_ROBINX/);
  assert.match(at(r.issues, `${c1}.per_connection_buffer_limit_bytes`).message, /expected/);
  const sa = `${c1}.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address`;
  assert.match(at(r.issues, `${sa}.port_value`).message, /expected an integer/);
  assert.match(at(r.issues, `${sa}.address`).message, /expected a string/);
  assert.equal(r.issues.filter((i) => i.path.startsWith('static_resources.clusters[0]')).length, 0);
});

test('validate rules: ranges and required fields', () => {
  const r = decode(bootstrapType(), {
    static_resources: {
      clusters: [{ load_assignment: { cluster_name: 'x', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '1.2.3.4', port_value: 70000 } } } }] }] } }],
    },
  });
  assert.match(at(r.issues, 'static_resources.clusters[0].name').message, /required/);
  assert.match(at(r.issues, 'static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value').message, /at most 65535/);
});

test('unknown fields warn, or fail in strict mode', () => {
  const input = { static_resources: { clusters: [{ name: 'c', no_such_field: 1 }] }, bogus_top: true };
  const lenient = decode(bootstrapType(), input);
  at(lenient.issues, 'static_resources.clusters[0].no_such_field', 'warning');
  at(lenient.issues, 'bogus_top', 'warning');
  assert.ok(!lenient.issues.some((i) => i.severity === 'error'));
  const strict = decode(bootstrapType(), input, { strict: true });
  at(strict.issues, 'static_resources.clusters[0].no_such_field', 'error');
});

test('Any with an unknown type URL is kept opaque with a warning', () => {
  const r = decode(bootstrapType(), {
    static_resources: { listeners: [{ name: 'l', filter_chains: [{ filters: [{ name: 'x', typed_config: { '@type': 'type.googleapis.com/acme.Thing', knob: 3 } }] }] }] },
  });
  const p = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';
  assert.match(at(r.issues, p, 'warning').message, /unknown type URL/);
  assert.deepEqual((r.value as any).static_resources.listeners[0].filter_chains[0].filters[0].typed_config, { '@type': 'type.googleapis.com/acme.Thing', knob: 3 });
});

test('Any without @type is an error', () => {
  const r = decode(bootstrapType(), hcmListener({ http_filters: [{ name: 'r', typed_config: { suppress_envoy_headers: true } }] }));
  at(r.issues, `${TC}.http_filters[0].typed_config.@type`);
});

test('TypedStruct (udpa and xds) unwraps to the inner type and is validated', () => {
  for (const ts of ['udpa.type.v1.TypedStruct', 'xds.type.v3.TypedStruct']) {
    const r = decode(bootstrapType(), hcmListener({
      http_filters: [{ name: 'r', typed_config: { '@type': `type.googleapis.com/${ts}`, type_url: `type.googleapis.com/${ROUTER}`, value: { suppress_envoy_headers: true, dynamic_stats: 'yes' } } }],
    }));
    const f = (r.value as any).static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0];
    assert.deepEqual(f.typed_config, { '@type': `type.googleapis.com/${ROUTER}`, suppress_envoy_headers: true });
    at(r.issues, `${TC}.http_filters[0].typed_config.value.dynamic_stats`);
  }
});

test('oneof conflicts are errors', () => {
  const r = decode(bootstrapType(), hcmListener({
    route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/', path: '/a' }, route: { cluster: 'c' } }] }] },
  }));
  assert.match(at(r.issues, `${TC}.route_config.virtual_hosts[0].routes[0].match.path`).message, /only one of/);
});

test('a field given in both spellings is an error', () => {
  const r = decode(bootstrapType(), { static_resources: { clusters: [{ name: 'c', connect_timeout: '1s', connectTimeout: '2s' }] } });
  at(r.issues, 'static_resources.clusters[0].connect_timeout');
});

test('durations, wrappers, Struct and bytes', () => {
  const r = decode(bootstrapType(), {
    static_resources: {
      clusters: [{
        name: 'c',
        connect_timeout: { seconds: 2, nanos: 5 },
        dns_refresh_rate: '0.002s',
        per_connection_buffer_limit_bytes: '1024',
        metadata: { filter_metadata: { 'envoy.lb': { canary: true, n: [1, 'a', null] } } },
      }],
    },
    node: { id: 'n', metadata: { a: { b: 'c' } } },
  });
  assert.deepEqual(r.issues, []);
  const c = (r.value as any).static_resources.clusters[0];
  assert.deepEqual(c.connect_timeout, { seconds: 2, nanos: 5 });
  assert.deepEqual(c.dns_refresh_rate, { seconds: 0, nanos: 2_000_000 });
  assert.equal(c.per_connection_buffer_limit_bytes, 1024);
  assert.deepEqual(c.metadata.filter_metadata['envoy.lb'], { canary: true, n: [1, 'a', null] });
  assert.deepEqual((r.value as any).node.metadata, { a: { b: 'c' } });
  const bad = decode(bootstrapType(), { static_resources: { clusters: [{ name: 'c', connect_timeout: 5 }] } });
  at(bad.issues, 'static_resources.clusters[0].connect_timeout');
});

test('proto3 defaults are dropped like on the wire; oneof members are kept', () => {
  const r = decode(bootstrapType(), hcmListener({
    use_remote_address: true,
    skip_xff_append: false,
    codec_type: 'AUTO',
    route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '' }, direct_response: { status: 200 } }] }] },
  }));
  const tc = (r.value as any).static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  assert.equal(tc.use_remote_address, true);
  assert.ok(!('skip_xff_append' in tc));
  assert.ok(!('codec_type' in tc));
  assert.equal(tc.route_config.virtual_hosts[0].routes[0].match.prefix, '');
});

test('binary messages (xDS) normalize exactly like YAML input', () => {
  const root = loadRoot();
  const hcmType = root.lookupType(HCM);
  const routerAny = { type_url: `type.googleapis.com/${ROUTER}`, value: root.lookupType(ROUTER).encode({ suppress_envoy_headers: true }).finish() };
  const hcm = hcmType.fromObject({
    stat_prefix: 'p',
    codec_type: 'HTTP1',
    stream_idle_timeout: { seconds: 30 },
    generate_request_id: { value: false },
    http_filters: [{ name: 'r', typed_config: routerAny }],
    route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', timeout: { seconds: 1, nanos: 500000000 } } }] }] },
  });
  const bin = hcmType.decode(hcmType.encode(hcm).finish());
  const fromBinary = normalizeMessage(hcmType, bin);
  const fromYaml = decode(hcmType, {
    stat_prefix: 'p',
    codec_type: 'HTTP1',
    stream_idle_timeout: '30s',
    generate_request_id: false,
    http_filters: [{ name: 'r', typed_config: { '@type': `type.googleapis.com/${ROUTER}`, suppress_envoy_headers: true } }],
    route_config: { virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c', timeout: '1.5s' } }] }] },
  });
  assert.deepEqual(fromBinary.issues, []);
  assert.deepEqual(fromBinary.value, fromYaml.value);
});

test('duration bounds from the validate rules are enforced', () => {
  const r = decode(bootstrapType(), { static_resources: { clusters: [{ name: 'c', dns_refresh_rate: '0.001s' }] } });
  assert.match(at(r.issues, 'static_resources.clusters[0].dns_refresh_rate').message, /greater than 1ms/);
});
