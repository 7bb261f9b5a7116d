// gRPC through the real CLI with @grpc/grpc-js on both sides: unary, server-, client- and
// bidi-streaming, metadata and trailers, error statuses (trailers-only responses), and the
// gRPC-shaped local replies Envoy sends: 14 UNAVAILABLE for a dead upstream, 4 DEADLINE_EXCEEDED
// for the route timeout and for grpc-timeout (with max_stream_duration.grpc_timeout_header_max).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { bootstrap, staticCluster, vhost } from './lib/config.ts';
import { explicitHttp2, h2connect, h2request, hcm, listener, tempFile } from './lib/h2.ts';

const PROTO = `
syntax = "proto3";
package orion.test;
service Echo {
  rpc Unary (Msg) returns (Msg);
  rpc ServerStream (Msg) returns (stream Msg);
  rpc ClientStream (stream Msg) returns (Msg);
  rpc Bidi (stream Msg) returns (stream Msg);
  rpc Slow (Msg) returns (Msg);
}
message Msg { string text = 1; int32 n = 2; }
`;

interface Msg {
  text: string;
  n: number;
}
type Client = grpc.Client & Record<string, (...a: unknown[]) => unknown>;

let proxy: Proxy;
let port: number;
let server: grpc.Server;
let EchoClient: grpc.ServiceClientConstructor;
const clients: grpc.Client[] = [];

function client(path = ''): Client {
  const c = new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), path === '' ? {} : { 'grpc.default_authority': path }) as unknown as Client;
  clients.push(c);
  return c;
}

function unary(c: Client, method: string, req: Partial<Msg>, md = new grpc.Metadata()): Promise<{ err: grpc.ServiceError | null; res: Msg | undefined; trailers: grpc.Metadata | null; headers: grpc.Metadata | null }> {
  return new Promise((resolve) => {
    let trailers: grpc.Metadata | null = null;
    let headers: grpc.Metadata | null = null;
    const call = (c[method] as (r: unknown, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, r?: Msg) => void) => grpc.ClientUnaryCall)(req, md, (err, res) => {
      setImmediate(() => resolve({ err, res, trailers, headers }));
    });
    call.on('metadata', (m) => (headers = m));
    call.on('status', (s) => (trailers = s.metadata));
  });
}

before(async () => {
  const def = loader.loadSync(tempFile('echo.proto', PROTO));
  const pkg = grpc.loadPackageDefinition(def) as unknown as { orion: { test: { Echo: grpc.ServiceClientConstructor } } };
  EchoClient = pkg.orion.test.Echo;
  server = new grpc.Server();
  server.addService(EchoClient.service, {
    Unary: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      if (call.request.text === 'fail') return cb({ code: grpc.status.NOT_FOUND, details: 'no such thing' });
      call.sendMetadata(new grpc.Metadata());
      const t = new grpc.Metadata();
      t.set('x-trailer', 'bye');
      cb(null, { text: `echo:${call.request.text}:${String(call.metadata.get('x-client')[0] ?? '')}`, n: 0 }, t);
    },
    ServerStream: (call: grpc.ServerWritableStream<Msg, Msg>) => {
      for (let i = 0; i < call.request.n; i++) call.write({ text: `s${i}`, n: i });
      call.end();
    },
    ClientStream: (call: grpc.ServerReadableStream<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      let all = '';
      call.on('data', (m: Msg) => (all += m.text));
      call.on('end', () => cb(null, { text: all, n: all.length }));
    },
    Bidi: (call: grpc.ServerDuplexStream<Msg, Msg>) => {
      call.on('data', (m: Msg) => call.write({ text: `b:${m.text}`, n: m.n }));
      call.on('end', () => call.end());
    },
    Slow: (_call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      setTimeout(() => cb(null, { text: 'late', n: 0 }), 1500);
    },
  });
  const upPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  port = await freePort();
  const deadPort = await freePort();
  const adminPort = await freePort();
  const vhosts = [
    vhost('dead', ['dead'], [{ match: { prefix: '/' }, route: { cluster: 'dead' } }]),
    vhost('grpc', ['*'], [
      // grpc-timeout is honoured (no cap); the route timeout is long.
      { match: { prefix: '/orion.test.Echo/Slow', headers: [{ name: 'x-mode', string_match: { exact: 'grpc-timeout' } }] }, route: { cluster: 'grpc', timeout: '10s', max_stream_duration: { grpc_timeout_header_max: '0s' } } },
      // grpc-timeout is ignored (no grpc_timeout_header_max): the 300 ms route timeout applies.
      { match: { prefix: '/orion.test.Echo/Slow' }, route: { cluster: 'grpc', timeout: '0.3s' } },
      { match: { prefix: '/', grpc: {} }, route: { cluster: 'grpc' } },
    ]),
  ];
  const clusters = [staticCluster('grpc', [upPort], explicitHttp2()), staticCluster('dead', [deadPort], explicitHttp2())];
  proxy = await startProxy(bootstrap(adminPort, [listener('grpc', port, [{ filters: [hcm(vhosts)] }])], clusters), { adminPort });
});

after(async () => {
  for (const c of clients) c.close();
  await proxy?.stop();
  server?.forceShutdown();
});

test('unary: response, headers and trailing metadata relayed', async () => {
  const md = new grpc.Metadata();
  md.set('x-client', 'c1');
  const r = await unary(client(), 'Unary', { text: 'hi' }, md);
  assert.equal(r.err, null);
  assert.equal(r.res?.text, 'echo:hi:c1');
  assert.deepEqual(r.trailers?.get('x-trailer'), ['bye']);
  assert.deepEqual(r.headers?.get('server'), ['envoy']);
});

test('unary error status (a trailers-only response) reaches the client', async () => {
  const r = await unary(client(), 'Unary', { text: 'fail' });
  assert.equal(r.err?.code, grpc.status.NOT_FOUND);
  assert.equal(r.err?.details, 'no such thing');
});

test('server streaming', async () => {
  const call = (client().ServerStream as (r: Msg) => grpc.ClientReadableStream<Msg>)({ text: '', n: 5 });
  const got: string[] = [];
  await new Promise<void>((resolve, reject) => {
    call.on('data', (m: Msg) => got.push(m.text));
    call.on('end', () => resolve());
    call.on('error', reject);
  });
  assert.deepEqual(got, ['s0', 's1', 's2', 's3', 's4']);
});

test('client streaming', async () => {
  const res = await new Promise<Msg>((resolve, reject) => {
    const call = (client().ClientStream as (cb: (e: grpc.ServiceError | null, r?: Msg) => void) => grpc.ClientWritableStream<Msg>)((e, r) => (e ? reject(e) : resolve(r!)));
    for (const t of ['a', 'b', 'c']) call.write({ text: t, n: 0 });
    call.end();
  });
  assert.deepEqual([res.text, res.n], ['abc', 3]);
});

test('bidi streaming: each reply is awaited before the next message (no buffering in the proxy)', async () => {
  const call = (client().Bidi as () => grpc.ClientDuplexStream<Msg, Msg>)();
  const got: string[] = [];
  await new Promise<void>((resolve, reject) => {
    call.on('data', (m: Msg) => {
      got.push(m.text);
      if (got.length < 4) call.write({ text: `m${got.length}`, n: got.length });
      else call.end();
    });
    call.on('end', () => resolve());
    call.on('error', reject);
    call.write({ text: 'm0', n: 0 });
  });
  assert.deepEqual(got, ['b:m0', 'b:m1', 'b:m2', 'b:m3']);
});

test('a dead upstream is UNAVAILABLE (HTTP 200, grpc-status 14), not a bare 503', async () => {
  const r = await unary(client('dead'), 'Unary', { text: 'x' });
  assert.equal(r.err?.code, grpc.status.UNAVAILABLE);
  assert.match(r.err?.details ?? '', /upstream connect error/);
  // The same on the wire, without a gRPC library in between.
  const s = await h2connect(`http://127.0.0.1:${port}`);
  try {
    const raw = await h2request(s, { ':method': 'POST', ':path': '/orion.test.Echo/Unary', ':authority': 'dead', 'content-type': 'application/grpc', te: 'trailers' }, Buffer.alloc(5));
    assert.equal(raw.status, 200);
    assert.equal(raw.headers['grpc-status'], '14');
    assert.equal(raw.headers['content-type'], 'application/grpc');
  } finally {
    s.close();
  }
});

test('route timeout is DEADLINE_EXCEEDED (grpc-status 4); grpc-timeout is ignored without grpc_timeout_header_max', async () => {
  const s = await h2connect(`http://127.0.0.1:${port}`);
  try {
    const t0 = Date.now();
    const r = await h2request(s, { ':method': 'POST', ':path': '/orion.test.Echo/Slow', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '5S' }, Buffer.alloc(5));
    assert.equal(r.status, 200);
    assert.equal(r.headers['grpc-status'], '4');
    assert.equal(r.headers['grpc-message'], 'upstream request timeout');
    const ms = Date.now() - t0;
    assert.ok(ms >= 250 && ms < 1400, `route timeout after ${ms} ms`);
  } finally {
    s.close();
  }
});

test('grpc-timeout bounds the stream when grpc_timeout_header_max is set', async () => {
  const s = await h2connect(`http://127.0.0.1:${port}`);
  try {
    const t0 = Date.now();
    const r = await h2request(s, { ':method': 'POST', ':path': '/orion.test.Echo/Slow', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '200m', 'x-mode': 'grpc-timeout' }, Buffer.alloc(5));
    assert.equal(r.headers['grpc-status'], '4');
    const ms = Date.now() - t0;
    assert.ok(ms >= 150 && ms < 1400, `grpc-timeout after ${ms} ms`);
    // The grpc-js client sees the proxy's deadline as its own status.
    const md = new grpc.Metadata();
    md.set('x-mode', 'grpc-timeout');
    const viaLib = await new Promise<grpc.ServiceError | null>((resolve) =>
      (client().Slow as (r: Msg, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void)({ text: '', n: 0 }, md, { deadline: Date.now() + 400 }, (e) => resolve(e)));
    assert.equal(viaLib?.code, grpc.status.DEADLINE_EXCEEDED);
  } finally {
    s.close();
  }
});
