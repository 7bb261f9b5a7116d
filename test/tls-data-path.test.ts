// The data path of TLS-terminated connections (decrypted bytes read into the worker's shared read
// buffer): many keep-alive requests on one connection, pipelined requests in one TLS record, a
// large upload to a slow upstream and a large download (flow control both ways), and tcp_proxy
// behind TLS with bytes sent in the same flight as the handshake's end, before the upstream is
// connected.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { startHttpUpstream, type Upstream } from './lib/upstream.ts';
import { bootstrap, staticCluster, vhost } from './lib/config.ts';
import { certFiles, downstreamTls, hcm, listener, makePki, type Pki } from './lib/h2.ts';
import { startEcho, tcpProxy, type TcpServer } from './lib/l4.ts';

let proxy: Proxy;
let pki: Pki;
let origin: Upstream;
let echo: TcpServer;
const ports = { http: 0, tcp: 0 };
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
  ports.http = await freePort();
  ports.tcp = await freePort();
  const adminPort = await freePort();
  const tlsSocket = downstreamTls({ alpn_protocols: ['http/1.1'], tls_certificates: [certFiles(pki, 'server')] });
  const routes = [vhost('main', ['*'], [{ match: { prefix: '/' }, route: { cluster: 'origin' } }])];
  const listeners = [
    listener('https', ports.http, [{ transport_socket: tlsSocket, filters: [hcm(routes)] }]),
    listener('tls_tcp', ports.tcp, [{ transport_socket: tlsSocket, filters: [tcpProxy('tls_tcp', 'echo')] }]),
  ];
  proxy = await startProxy(bootstrap(adminPort, listeners, [staticCluster('origin', [origin.port]), staticCluster('echo', [echo.port])]), { adminPort });
});

after(async () => {
  await proxy?.stop();
  await origin?.close();
  await echo?.close();
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
