// Bodies arrive intact through the HTTP connection manager (cleartext, TLS, HTTP/2) and through tcp_proxy while every socket
// of the worker reads into one shared buffer: fast and slow (stalling) clients download bodies of
// many sizes over keep-alive connections at once, and every byte is checked against the origin's.
// A queued write still pointing into the shared buffer when the next read lands there would show
// up here as a digest mismatch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { startHttpUpstream, type Upstream } from './lib/upstream.ts';
import { bootstrap, httpListener, staticCluster, vhost } from './lib/config.ts';
import { listenerAt, tcpProxy } from './lib/l4.ts';
import { certFiles, downstreamTls, h2connect, hcm, listener, makePki, type Pki } from './lib/h2.ts';

const SIZES = [3_000, 16_384, 70_000, 300_000, 6_000_000];
const bodies = new Map<number, Buffer>();
const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Deterministic bytes that differ at every offset and between sizes. */
function body(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = size >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

let proxy: Proxy;
let origin: Upstream;
let port: number;
let tcpPort: number;
let tlsPort: number;
let pki: Pki;

before(async () => {
  for (const s of SIZES) bodies.set(s, body(s));
  origin = await startHttpUpstream('origin', (req, res) => {
    const size = Number(req.url.slice(1).split('?')[0]);
    const b = bodies.get(size)!;
    if (req.url.includes('chunked')) {
      // Several chunks with the origin's own pacing: the proxy sees bodies split across reads.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let off = 0; off < b.length; off += 50_000) res.write(b.subarray(off, off + 50_000));
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': b.length });
      res.end(b);
    }
  });
  port = await freePort();
  tcpPort = await freePort();
  tlsPort = await freePort();
  pki = await makePki({ server: 'DNS:localhost,IP:127.0.0.1' });
  const adminPort = await freePort();
  const routes = [vhost('all', ['*'], [{ match: { prefix: '/' }, route: { cluster: 'origin' } }])];
  const tls = downstreamTls({ alpn_protocols: ['h2', 'http/1.1'], tls_certificates: [certFiles(pki, 'server')] });
  const listeners = [
    httpListener(port, [vhost('all', ['*'], [{ match: { prefix: '/' }, route: { cluster: 'origin' } }])]),
    listenerAt('tcp', tcpPort, [{ filters: [tcpProxy('tcp', 'origin')] }]),
    listener('tls', tlsPort, [{ transport_socket: tls, filters: [hcm(routes)] }]),
  ];
  proxy = await startProxy(bootstrap(adminPort, listeners, [staticCluster('origin', [origin.port])]), { adminPort, workers: 1 });
});

after(async () => {
  await proxy?.stop();
  await origin?.close();
});

/** One GET; a slow client reads a chunk, then waits, so the proxy's writes to it queue up. */
function fetchBody(port: number, agent: http.Agent, path: string, slow: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const get = agent instanceof https.Agent ? https.get : http.get;
    const req = get({ host: '127.0.0.1', port, path, agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => {
        parts.push(d);
        // Kernel buffers on loopback absorb megabytes: a slow client stops reading for a while
        // now and then, long enough for the proxy's writes to it to queue.
        if (slow && parts.length % 16 === 1) {
          res.pause();
          setTimeout(() => res.resume(), 40);
        }
      });
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(parts)) : reject(new Error(`status ${res.statusCode} for ${path}`))));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function client(port: number, id: number, rounds: number, secure = false): Promise<number> {
  const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(pki.ca), servername: 'localhost' }) : new http.Agent({ keepAlive: true, maxSockets: 1 });
  let checked = 0;
  try {
    for (let r = 0; r < rounds; r++) {
      const size = SIZES[(id + r) % SIZES.length];
      const chunked = (id + r) % 3 === 0;
      const got = await fetchBody(port, agent, `/${size}${chunked ? '?chunked' : ''}`, id % 2 === 0);
      assert.equal(got.length, size, `client ${id} round ${r}: length`);
      assert.equal(digest(got), digest(bodies.get(size)!), `client ${id} round ${r}: ${size} bytes${chunked ? ' chunked' : ''} corrupted`);
      checked++;
    }
  } finally {
    agent.destroy();
  }
  return checked;
}

test('bodies of every size reach fast and slow clients intact under concurrency', { timeout: 120_000 }, async () => {
  const results = await Promise.all(Array.from({ length: 16 }, (_, i) => client(port, i, 10)));
  assert.equal(results.reduce((a, b) => a + b, 0), 160);
});

test('tcp_proxy relays the same downloads intact, HTTP and TCP sessions interleaved', { timeout: 120_000 }, async () => {
  const both = [...Array.from({ length: 8 }, (_, i) => client(tcpPort, i, 8)), ...Array.from({ length: 8 }, (_, i) => client(port, i + 8, 8))];
  const results = await Promise.all(both);
  assert.equal(results.reduce((a, b) => a + b, 0), 128);
});

test('TLS (HTTP/1.1) and HTTP/2 over TLS relay the same downloads intact', { timeout: 120_000 }, async () => {
  const h1 = Array.from({ length: 8 }, (_, i) => client(tlsPort, i, 6, true));
  const h2 = Array.from({ length: 4 }, (_, i) => h2client(i, 8));
  const results = await Promise.all([...h1, ...h2]);
  assert.equal(results.reduce((a, b) => a + b, 0), 8 * 6 + 4 * 8);
});

/** One HTTP/2 connection downloading several bodies at once; odd clients stall their streams. */
async function h2client(id: number, streams: number): Promise<number> {
  const session = await h2connect(`https://localhost:${tlsPort}`, { ca: readFileSync(pki.ca) });
  try {
    const one = (k: number) => new Promise<number>((resolve, reject) => {
      const size = SIZES[(id + k) % SIZES.length];
      const st = session.request({ ':path': `/${size}${k % 3 === 0 ? '?chunked' : ''}` });
      const parts: Buffer[] = [];
      st.on('data', (d: Buffer) => {
        parts.push(d);
        if (id % 2 === 1 && parts.length % 16 === 1) {
          st.pause();
          setTimeout(() => st.resume(), 40);
        }
      });
      st.on('end', () => {
        const got = Buffer.concat(parts);
        if (digest(got) !== digest(bodies.get(size)!)) reject(new Error(`h2 client ${id} stream ${k}: ${size} bytes corrupted (got ${got.length}: ${got.subarray(0, 80).toString('latin1')})`));
        else resolve(1);
      });
      st.on('error', reject);
      st.setTimeout(30_000, () => st.destroy(new Error('timeout')));
    });
    const done = await Promise.all(Array.from({ length: streams }, (_, k) => one(k)));
    return done.length;
  } finally {
    session.close();
  }
}
