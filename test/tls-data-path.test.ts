// The data path of TLS connections (decrypted bytes read into the worker's shared read buffer):
// downstream, many keep-alive requests on one connection, pipelined requests in one TLS record, a
// large upload and a large download (flow control both ways), and tcp_proxy behind TLS with bytes
// sent in the same flight as the handshake's end, before the upstream is connected; upstream (a
// TLS cluster), a large upload and a large download to a client that stalls, so the upstream TLS
// socket is paused with decrypted bytes still coming.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { startHttpUpstream, type Upstream } from './lib/upstream.ts';
import { bootstrap, staticCluster, vhost } from './lib/config.ts';
import { certFiles, downstreamTls, hcm, listener, makePki, upstreamTls, type Pki } from './lib/h2.ts';
import { startEcho, tcpProxy, type TcpServer } from './lib/l4.ts';

let proxy: Proxy;
let pki: Pki;
let origin: Upstream;
let echo: TcpServer;
let tlsOrigin: https.Server;
const ports = { http: 0, tcp: 0, toTls: 0 };
const BIG = 4 * 1024 * 1024;
const bigBody = Buffer.alloc(BIG, 'abcdefghijklmnopqrstuvwxyz0123456789');

before(async () => {
  pki = await makePki({ server: 'DNS:localhost,IP:127.0.0.1' });
  origin = await startHttpUpstream('origin', (req, res) => {
    if (req.url === '/big') {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(bigBody);
      return;
    }
    res.setHeader('content-type', 'text/plain');
    res.end(`${req.method} ${req.url} ${req.body.length} ${createHash('sha256').update(req.body, 'latin1').digest('hex')}`);
  });
  echo = await startEcho();
  tlsOrigin = https.createServer({ key: readFileSync(pki.key('server')), cert: readFileSync(pki.cert('server')) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      if (req.url === '/big') return res.end(bigBody);
      const body = Buffer.concat(chunks);
      res.end(`${req.method} ${req.url} ${body.length} ${createHash('sha256').update(body).digest('hex')}`);
    });
  });
  await new Promise<void>((r) => tlsOrigin.listen(0, '127.0.0.1', r));
  const tlsOriginPort = (tlsOrigin.address() as net.AddressInfo).port;
  ports.http = await freePort();
  ports.toTls = await freePort();
  ports.tcp = await freePort();
  const adminPort = await freePort();
  const tlsSocket = downstreamTls({ alpn_protocols: ['http/1.1'], tls_certificates: [certFiles(pki, 'server')] });
  const routes = [vhost('main', ['*'], [{ match: { prefix: '/' }, route: { cluster: 'origin' } }])];
  const listeners = [
    listener('https', ports.http, [{ transport_socket: tlsSocket, filters: [hcm(routes)] }]),
    listener('tls_tcp', ports.tcp, [{ transport_socket: tlsSocket, filters: [tcpProxy('tls_tcp', 'echo')] }]),
    listener('to_tls', ports.toTls, [{ filters: [hcm([vhost('up', ['*'], [{ match: { prefix: '/' }, route: { cluster: 'tls_origin' } }])])] }]),
  ];
  const clusters = [
    staticCluster('origin', [origin.port]),
    staticCluster('echo', [echo.port]),
    staticCluster('tls_origin', [tlsOriginPort], { transport_socket: upstreamTls({}, { sni: 'localhost' }) }),
  ];
  proxy = await startProxy(bootstrap(adminPort, listeners, clusters), { adminPort });
});

after(async () => {
  await proxy?.stop();
  await origin?.close();
  await echo?.close();
  tlsOrigin?.closeAllConnections();
  await new Promise((r) => tlsOrigin?.close(r));
});

function connect(port: number): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: [readCa()], ALPNProtocols: ['http/1.1'] }, () => resolve(s));
    s.once('error', reject);
  });
}

let caText: string | null = null;
function readCa(): string {
  caText ??= readFileSync(pki.ca, 'latin1');
  return caText;
}

/** Reads HTTP/1.1 responses (content-length framed) off `s` until `count` have arrived. */
function readResponses(s: tls.TLSSocket, count: number, ms = 10_000): Promise<{ status: number; body: Buffer }[]> {
  return new Promise((resolve, reject) => {
    const out: { status: number; body: Buffer }[] = [];
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.off('data', onData);
      reject(new Error(`timeout after ${out.length} of ${count} responses`));
    }, ms);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        out.push({ status: Number(head.split(' ')[1]), body: Buffer.from(buf.subarray(end + 4, end + 4 + len)) });
        buf = buf.subarray(end + 4 + len);
        if (out.length === count) {
          clearTimeout(timer);
          s.off('data', onData);
          return resolve(out);
        }
      }
    };
    s.on('data', onData);
  });
}

const get = (p: string) => `GET ${p} HTTP/1.1\r\nhost: localhost\r\n\r\n`;

test('200 keep-alive requests on one TLS connection, one at a time', async () => {
  const s = await connect(ports.http);
  try {
    for (let i = 0; i < 200; i++) {
      const r = readResponses(s, 1);
      s.write(get(`/k${i}`));
      const [res] = await r;
      assert.equal(res.status, 200);
      assert.match(res.body.toString(), new RegExp(`^GET /k${i} 0 `));
    }
  } finally {
    s.destroy();
  }
});

test('pipelined requests in one TLS record are answered in order', async () => {
  const s = await connect(ports.http);
  try {
    const r = readResponses(s, 20);
    let all = '';
    for (let i = 0; i < 20; i++) all += get(`/p${i}`);
    s.write(all);
    const res = await r;
    res.forEach((x, i) => assert.match(x.body.toString(), new RegExp(`^GET /p${i} 0 `)));
  } finally {
    s.destroy();
  }
});

test('a 4 MiB upload and a 4 MiB download over TLS arrive intact', async () => {
  const s = await connect(ports.http);
  try {
    const up = readResponses(s, 1, 20_000);
    s.write(`POST /up HTTP/1.1\r\nhost: localhost\r\ncontent-length: ${BIG}\r\n\r\n`);
    s.write(bigBody);
    const [u] = await up;
    assert.equal(u.body.toString(), `POST /up ${BIG} ${createHash('sha256').update(bigBody).digest('hex')}`);
    const down = readResponses(s, 1, 20_000);
    s.write(get('/big'));
    const [d] = await down;
    assert.equal(d.body.length, BIG);
    assert.ok(d.body.equals(bigBody));
  } finally {
    s.destroy();
  }
});

test('eight TLS clients, half of them stalling, download 4 MiB at once intact', async () => {
  const one = async (i: number): Promise<void> => {
    const s = await connect(ports.http);
    try {
      if (i % 2 === 1) {
        // Stall: the proxy's writes to this client queue while the others keep flowing.
        s.pause();
        setTimeout(() => s.resume(), 200 + 50 * i);
      }
      const r = readResponses(s, 1, 20_000);
      s.write(get('/big'));
      const [d] = await r;
      assert.equal(d.body.length, BIG, `client ${i}`);
      assert.ok(d.body.equals(bigBody), `client ${i}: body differs`);
    } finally {
      s.destroy();
    }
  };
  await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(one));
});

test('tcp_proxy behind TLS: bytes sent right after the handshake and 2 MiB more are echoed', async () => {
  const payload = bigBody.subarray(0, 2 * 1024 * 1024);
  const got = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const s = tls.connect({ port: ports.tcp, host: '127.0.0.1', servername: 'localhost', ca: [readCa()] });
    // Written before the handshake completes: leaves in the same flight as the client's Finished.
    s.write('hello ');
    s.write(payload);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`timeout after ${n} bytes`));
    }, 20_000);
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      n += d.length;
      if (n >= payload.length + 6) {
        clearTimeout(timer);
        s.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    s.on('error', reject);
  });
  assert.equal(got.subarray(0, 6).toString(), 'hello ');
  assert.ok(got.subarray(6).equals(payload));
});

/** A plain HTTP/1.1 exchange through the proxy; the reader stalls `stallMs` after the first bytes. */
function plainExchange(port: number, request: Buffer[], stallMs: number): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let stalled = false;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('timeout'));
    }, 20_000);
    s.on('connect', () => {
      for (const b of request) s.write(b);
    });
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      if (!stalled && stallMs > 0) {
        stalled = true;
        s.pause();
        setTimeout(() => s.resume(), stallMs);
      }
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = all.subarray(0, end).toString('latin1');
      const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? -1);
      if (len >= 0 && all.length >= end + 4 + len) {
        clearTimeout(timer);
        s.destroy();
        resolve({ status: Number(head.split(' ')[1]), body: all.subarray(end + 4, end + 4 + len) });
      }
    });
    s.on('error', reject);
  });
}

test('TLS cluster: a 4 MiB download to a stalling client and a 4 MiB upload arrive intact', async () => {
  const down = await plainExchange(ports.toTls, [Buffer.from(get('/big'))], 300);
  assert.equal(down.status, 200);
  assert.equal(down.body.length, BIG);
  assert.ok(down.body.equals(bigBody));
  const head = Buffer.from(`POST /up HTTP/1.1\r\nhost: localhost\r\ncontent-length: ${BIG}\r\n\r\n`);
  const up = await plainExchange(ports.toTls, [head, bigBody], 0);
  assert.equal(up.body.toString(), `POST /up ${BIG} ${createHash('sha256').update(bigBody).digest('hex')}`);
  for (let i = 0; i < 50; i++) {
    const r = await plainExchange(ports.toTls, [Buffer.from(get(`/k${i}`))], 0);
    assert.match(r.body.toString(), new RegExp(`^GET /k${i} 0 `));
  }
});
