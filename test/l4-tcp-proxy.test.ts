// tcp_proxy end to end: a large payload relayed byte for byte with half-close in both orders,
// weighted clusters, connect failures (clean downstream close, retries with
// max_connect_attempts), idle_timeout, max_downstream_connection_duration and connection_limit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { freePort, startProxy, type Proxy } from './lib/proxy.ts';
import { bootstrapJson, cluster, exchange, listenerAt, startNamed, startTcpServer, tcpProxy, waitStats, type TcpServer } from './lib/l4.ts';

const PAYLOAD = 8 * 1024 * 1024;

let sink: TcpServer;
let slow: TcpServer;
let slowReceived: { hash: string; bytes: number } | null = null;
let a: TcpServer;
let b: TcpServer;
let proxy: Proxy;
const ports: Record<string, number> = {};
let deadPort: number;
let sinkReceived: { hash: string; bytes: number; endBeforeReply: boolean } | null = null;

/** Reads the client's whole stream; after its FIN answers with a different deterministic payload. */
function startSink(): Promise<TcpServer> {
  return startTcpServer((s) => {
    const h = createHash('sha256');
    let n = 0;
    s.on('data', (d) => {
      h.update(d);
      n += d.length;
    });
    s.on('end', () => {
      sinkReceived = { hash: h.digest('hex'), bytes: n, endBeforeReply: true };
      const reply = answer();
      let i = 0;
      const pump = (): void => {
        while (i < reply.length) {
          const chunk = reply.subarray(i, i + 65536);
          i += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    });
  });
}

function answer(): Buffer {
  const b = Buffer.alloc(PAYLOAD / 2);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

before(async () => {
  sink = await startSink();
  // Reads nothing for 400 ms, then everything: the proxy must stop reading the client meanwhile.
  slow = await startTcpServer((s) => {
    s.pause();
    const h = createHash('sha256');
    let n = 0;
    s.on('data', (d) => {
      h.update(d);
      n += d.length;
    });
    s.on('end', () => {
      slowReceived = { hash: h.digest('hex'), bytes: n };
      s.end();
    });
    setTimeout(() => s.resume(), 400);
  });
  a = await startNamed('A');
  b = await startNamed('B');
  const dead = net.createServer();
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  deadPort = (dead.address() as net.AddressInfo).port;
  await new Promise((r) => dead.close(r));
  for (const n of ['big', 'slow', 'weighted', 'dead', 'retry', 'idle', 'duration', 'limit']) ports[n] = await freePort();
  const adminPort = await freePort();
  const listeners = [
    listenerAt('big', ports.big, [{ filters: [tcpProxy('big', 'sink')] }]),
    listenerAt('slow', ports.slow, [{ filters: [tcpProxy('slow', 'slow')] }], { per_connection_buffer_limit_bytes: 32768 }),
    listenerAt('weighted', ports.weighted, [{ filters: [tcpProxy('weighted', '', { cluster: undefined, weighted_clusters: { clusters: [{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }] } })] }]),
    listenerAt('dead', ports.dead, [{ filters: [tcpProxy('dead', 'dead')] }]),
    listenerAt('retry', ports.retry, [{ filters: [tcpProxy('retry', 'half_dead', { max_connect_attempts: 3 })] }]),
    listenerAt('idle', ports.idle, [{ filters: [tcpProxy('idle', 'a', { idle_timeout: '0.3s' })] }]),
    listenerAt('duration', ports.duration, [{ filters: [tcpProxy('duration', 'a', { max_downstream_connection_duration: '0.3s' })] }]),
    listenerAt('limit', ports.limit, [{
      filters: [
        { name: 'envoy.filters.network.connection_limit', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit', stat_prefix: 'lim', max_connections: 1 } },
        tcpProxy('limit', 'a'),
      ],
    }]),
  ];
  const clusters = [
    cluster('sink', [sink.port]),
    cluster('slow', [slow.port]),
    cluster('a', [a.port]),
    cluster('b', [b.port]),
    cluster('dead', [deadPort]),
    // Round robin over a dead and a live host: one failed attempt, then the live one.
    cluster('half_dead', [deadPort, a.port]),
  ];
  proxy = await startProxy(bootstrapJson(adminPort, listeners, clusters), { adminPort, args: ['--drain-time-s', '1'] });
});

after(async () => {
  await proxy?.stop();
  for (const s of [sink, slow, a, b]) await s?.close();
});

test('an 8 MiB payload is relayed byte-exact; the client FIN reaches the upstream, which then answers 4 MiB', async () => {
  const sent = randomBytes(PAYLOAD);
  const want = createHash('sha256').update(sent).digest('hex');
  const res = await new Promise<{ hash: string; bytes: number; gotEnd: boolean }>((resolve, reject) => {
    const c = net.connect({ port: ports.big, host: '127.0.0.1', allowHalfOpen: true });
    const h = createHash('sha256');
    let n = 0;
    let gotEnd = false;
    const t = setTimeout(() => reject(new Error(`timed out after ${n} bytes`)), 20000);
    c.on('data', (d) => {
      h.update(d);
      n += d.length;
    });
    c.on('end', () => {
      gotEnd = true;
      c.end();
    });
    c.on('close', () => {
      clearTimeout(t);
      resolve({ hash: h.digest('hex'), bytes: n, gotEnd });
    });
    c.on('error', reject);
    // Write in pieces with backpressure, then half-close.
    let i = 0;
    const pump = (): void => {
      while (i < sent.length) {
        const chunk = sent.subarray(i, i + 100_000);
        i += chunk.length;
        if (!c.write(chunk)) return void c.once('drain', pump);
      }
      c.end();
    };
    c.on('connect', pump);
  });
  assert.ok(sinkReceived !== null, 'upstream never saw the FIN');
  assert.equal(sinkReceived.bytes, PAYLOAD);
  assert.equal(sinkReceived.hash, want);
  assert.equal(res.bytes, PAYLOAD / 2);
  assert.equal(res.hash, createHash('sha256').update(answer()).digest('hex'));
  assert.ok(res.gotEnd, 'the upstream FIN did not reach the client');
  const s = await waitStats(proxy, (x) => x['tcp.big.downstream_cx_rx_bytes_total'] === PAYLOAD);
  assert.equal(s['tcp.big.downstream_cx_rx_bytes_total'], PAYLOAD);
  assert.equal(s['tcp.big.downstream_cx_tx_bytes_total'], PAYLOAD / 2);
  assert.equal(s['cluster.sink.upstream_cx_tx_bytes_total'], PAYLOAD);
});

test('backpressure: a stalled upstream pauses reading from the client, then everything arrives', async () => {
  const sent = randomBytes(24 * 1024 * 1024);
  await new Promise<void>((resolve, reject) => {
    const c = net.connect({ port: ports.slow, host: '127.0.0.1', allowHalfOpen: true });
    const t = setTimeout(() => reject(new Error('timed out')), 20000);
    c.on('end', () => c.end());
    c.on('close', () => {
      clearTimeout(t);
      resolve();
    });
    c.on('error', reject);
    c.on('connect', () => c.end(sent));
  });
  assert.ok(slowReceived !== null);
  assert.equal(slowReceived.bytes, sent.length);
  assert.equal(slowReceived.hash, createHash('sha256').update(sent).digest('hex'));
  const s = await waitStats(proxy, (x) => (x['tcp.slow.downstream_flow_control_resumed_reading_total'] ?? 0) >= 1);
  assert.ok(s['tcp.slow.downstream_flow_control_paused_reading_total'] >= 1);
  assert.ok(s['tcp.slow.downstream_flow_control_resumed_reading_total'] >= 1);
});

test('upstream FIN first: the client gets it and can still send, which the upstream receives', async () => {
  const srv = await startTcpServer((s) => {
    s.end('bye-first\n');
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('end', () => (lateData = got));
  });
  let lateData = '';
  const adminPort = await freePort();
  const port = await freePort();
  const p = await startProxy(bootstrapJson(adminPort, [listenerAt('late', port, [{ filters: [tcpProxy('late', 'srv')] }])], [cluster('srv', [srv.port])]), { adminPort, args: ['--drain-time-s', '1'] });
  try {
    const out = await new Promise<string>((resolve) => {
      const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      let got = '';
      c.on('data', (d) => (got += d));
      c.on('end', () => c.end('sent after the upstream FIN'));
      c.on('close', () => resolve(got));
      c.on('error', () => {});
    });
    assert.equal(out, 'bye-first\n');
    for (let i = 0; i < 40 && lateData === ''; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(lateData, 'sent after the upstream FIN');
  } finally {
    await p.stop();
    await srv.close();
  }
});

test('weighted_clusters split connections by weight (1:3)', async () => {
  const seen = { A: 0, B: 0 };
  for (let i = 0; i < 200; i++) {
    const r = await exchange(ports.weighted, [], { until: (x) => x.includes(10) });
    const name = r.data.toString().trim() as 'A' | 'B';
    seen[name]++;
  }
  assert.equal(seen.A + seen.B, 200);
  const share = seen.B / 200;
  assert.ok(share > 0.62 && share < 0.88, `B got ${seen.B} of 200`);
});

test('a failed upstream connect closes the downstream cleanly; max_connect_attempts retries on the next host', async () => {
  const dead = await exchange(ports.dead, ['hello'], { ms: 3000 });
  assert.ok(dead.closed);
  assert.equal(dead.data.length, 0);
  // Two connections: whichever host round robin starts with, one of them meets the dead host first.
  for (let i = 0; i < 2; i++) {
    const retried = await exchange(ports.retry, ['ping'], { until: (x) => x.toString().includes('ping') });
    assert.equal(retried.data.toString(), 'A\nping');
  }
  const s = await waitStats(proxy, (x) => (x['cluster.dead.upstream_cx_connect_fail'] ?? 0) >= 1 && (x['cluster.half_dead.upstream_cx_connect_fail'] ?? 0) >= 1);
  assert.equal(s['cluster.dead.upstream_cx_connect_fail'], 1);
  assert.ok(s['cluster.half_dead.upstream_cx_connect_fail'] >= 1);
});

test('idle_timeout and max_downstream_connection_duration close connections and count', async () => {
  const t0 = Date.now();
  const idle = await exchange(ports.idle, [], { ms: 3000 });
  const idleMs = Date.now() - t0;
  assert.ok(idle.closed);
  assert.equal(idle.data.toString(), 'A\n');
  assert.ok(idleMs >= 250 && idleMs < 1500, `closed after ${idleMs} ms`);
  // Traffic keeps a connection alive past the idle timeout; the duration cap closes it anyway.
  const t1 = Date.now();
  const busy = await exchange(ports.duration, ['x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'], { gapMs: 60, ms: 3000 });
  const busyMs = Date.now() - t1;
  assert.ok(busy.closed);
  assert.ok(busyMs >= 250 && busyMs < 1500, `closed after ${busyMs} ms`);
  const s = await waitStats(proxy, (x) => (x['tcp.idle.idle_timeout'] ?? 0) >= 1 && (x['tcp.duration.max_downstream_connection_duration'] ?? 0) >= 1);
  assert.equal(s['tcp.idle.idle_timeout'], 1);
  assert.equal(s['tcp.duration.max_downstream_connection_duration'], 1);
});

test('connection_limit: a second concurrent connection is closed and counted', async () => {
  const first = net.connect(ports.limit, '127.0.0.1');
  first.on('error', () => {});
  await new Promise((r) => first.once('data', r));
  const second = await exchange(ports.limit, [], { ms: 2000 });
  assert.ok(second.closed);
  assert.equal(second.data.length, 0);
  first.destroy();
  await new Promise((r) => setTimeout(r, 100));
  const third = await exchange(ports.limit, [], { until: (x) => x.includes(10) });
  assert.equal(third.data.toString(), 'A\n');
  const s = await waitStats(proxy, (x) => (x['connection_limit.lim.limited_connections'] ?? 0) >= 1);
  assert.equal(s['connection_limit.lim.limited_connections'], 1);
});
