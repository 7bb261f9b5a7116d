// Envoy's API protos, loaded once with protobufjs from the copies shipped inside
// @grpc/grpc-js-xds (never vendored into this repo). Parsing ~400 .proto files costs a few
// hundred ms, so the resulting descriptor is cached as JSON keyed by both package versions.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

/** This project's own extension protos (under proto/ at the repo root). */
export const OWN_PROTO_FILES: readonly string[] = [
  'orion/extensions/load_balancing_policies/peak_ewma/v1/peak_ewma.proto',
  'orion/extensions/upstreams/circuit_breaker/v1/circuit_breaker.proto',
  'envoy/extensions/filters/listener/kmesh_tlv/v3/kmesh_tlv.proto',
];
const OWN_PROTO_DIR = fileURLToPath(new URL('../../../proto', import.meta.url));

/** Root message plus every extension whose typed_config we know how to decode. */
export const PROTO_FILES: readonly string[] = [
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/network/connection_limit/v3/connection_limit.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/filters/http/rbac/v3/rbac.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/health_check/v3/health_check.proto',
  'envoy/extensions/filters/http/buffer/v3/buffer.proto',
  'envoy/extensions/filters/http/lua/v3/lua.proto',
  'envoy/extensions/filters/http/wasm/v3/wasm.proto',
  'envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto',
  'envoy/extensions/filters/http/jwt_authn/v3/config.proto',
  'envoy/extensions/filters/http/header_to_metadata/v3/header_to_metadata.proto',
  'envoy/extensions/filters/http/set_metadata/v3/set_metadata.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/listener/proxy_protocol/v3/proxy_protocol.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/transport_sockets/internal_upstream/v3/internal_upstream.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/bootstrap/internal_listener/v3/internal_listener.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/maglev/v3/maglev.proto',
  'envoy/extensions/load_balancing_policies/random/v3/random.proto',
  'envoy/extensions/load_balancing_policies/cluster_provided/v3/cluster_provided.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'udpa/type/v1/typed_struct.proto',
  'xds/type/v3/typed_struct.proto',
  // xDS wire messages (DiscoveryRequest/Response, their delta forms, Resource for TTLs).
  'envoy/service/discovery/v3/discovery.proto',
  // Orion's own extensions, from this repo's proto/ directory.
  ...OWN_PROTO_FILES,
];

export const BOOTSTRAP_TYPE = 'envoy.config.bootstrap.v3.Bootstrap';

let cached: protobuf.Root | null = null;
let lastLoadMs = 0;
let lastLoadSource: 'parse' | 'cache' | 'memory' = 'memory';

/** The shared Root (snake_case field names, as in the .proto files). */
export function loadRoot(): protobuf.Root {
  if (cached !== null) return cached;
  const t0 = performance.now();
  const cachePath = descriptorCachePath();
  const fromCache = cachePath !== null ? readCachedRoot(cachePath) : null;
  if (fromCache !== null) {
    cached = fromCache;
    lastLoadSource = 'cache';
  } else {
    cached = parseProtos();
    lastLoadSource = 'parse';
    if (cachePath !== null) writeCachedRoot(cachePath, cached);
  }
  lastLoadMs = performance.now() - t0;
  return cached;
}

/** How long the last cold load took and where it came from (for startup logs and tests). */
export function protoLoadInfo(): { ms: number; source: 'parse' | 'cache' | 'memory' } {
  return { ms: lastLoadMs, source: lastLoadSource };
}

const names = new WeakMap<protobuf.ReflectionObject, string>();

/**
 * A type's fully-qualified name without the leading dot. protobufjs rebuilds `fullName` by
 * walking parents on every read, which dominated decoding 10,000-resource xDS pushes.
 */
export function typeName(t: protobuf.ReflectionObject): string {
  let n = names.get(t);
  if (n === undefined) names.set(t, (n = t.fullName.replace(/^\./, '')));
  return n;
}

/** Looks up a message type by fully-qualified name; null when not loaded. */
export function lookupType(fullName: string): protobuf.Type | null {
  const t = loadRoot().lookup(fullName.replace(/^\./, ''));
  return t instanceof protobuf.Type ? t : null;
}

/** Parses the .proto files (no cache). Exported so tests can check the cache is equivalent. */
export function parseProtos(): protobuf.Root {
  const dirs = includeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => resolveImport(dirs, origin, target);
  root.loadSync(PROTO_FILES as string[], { keepCase: true });
  root.resolveAll();
  return root;
}

function depsDir(): string {
  return join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
}

function includeDirs(): string[] {
  const deps = depsDir();
  const pbGoogle = dirname(require.resolve('protobufjs/package.json'));
  // protobufjs's own dir comes last: it only supplies google/protobuf/descriptor.proto etc.
  return [OWN_PROTO_DIR, ...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d)), pbGoogle];
}

function resolveImport(dirs: string[], origin: string, target: string): string {
  // Bundled well-known types (any, duration, struct, wrappers...) never reach here: protobufjs
  // short-circuits them. descriptor.proto comes from protobufjs's own google/ directory.
  for (const d of dirs) {
    const p = join(d, target);
    if (existsSync(p)) return p;
  }
  return origin === '' ? target : join(dirname(origin), target);
}

function descriptorCachePath(): string | null {
  try {
    const pbDir = dirname(require.resolve('protobufjs/package.json'));
    const nm = dirname(dirname(dirname(require.resolve('@grpc/grpc-js-xds/package.json'))));
    const xdsVer = readVersion(join(depsDir(), '..', 'package.json'));
    const pbVer = readVersion(join(pbDir, 'package.json'));
    // Our own protos change with this repo, not with a package version: their text is in the key.
    const own = OWN_PROTO_FILES.map((f) => readFileSync(join(OWN_PROTO_DIR, f), 'utf8'));
    const files = createHash('sha1').update(PROTO_FILES.join('\n')).update(own.join('\n')).digest('hex').slice(0, 8);
    const key = `${xdsVer}-${pbVer}-${files}`;
    return join(nm, '.cache', 'orion', `envoy-protos-${key}.json`);
  } catch {
    return null;
  }
}

function readVersion(pkgJson: string): string {
  return String((JSON.parse(readFileSync(pkgJson, 'utf8')) as { version?: string }).version ?? '0');
}

function readCachedRoot(path: string): protobuf.Root | null {
  try {
    if (!existsSync(path)) return null;
    const json = JSON.parse(readFileSync(path, 'utf8')) as protobuf.INamespace;
    const root = protobuf.Root.fromJSON(json);
    root.resolveAll();
    return root;
  } catch {
    return null; // a corrupt cache is ignored and rebuilt
  }
}

function writeCachedRoot(path: string, root: protobuf.Root): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    // Write-then-rename so a concurrent reader never sees a half-written file.
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(root.toJSON({ keepComments: false })));
    renameSync(tmp, path);
  } catch {
    // The cache is an optimisation only (read-only installs just parse every time).
  }
}
