// The downstream HTTP/2 codec against hostile clients (raw frames over node:net through the real
// CLI): Envoy's flood limits (outbound control frames piling up unread, empty frames, PRIORITY and
// WINDOW_UPDATE floods), rapid reset (CVE-2023-44487), CONTINUATION floods, HPACK abuse, and
// malformed requests that must be refused, never forwarded. The worker keeps serving throughout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { startHttpUpstream, type Upstream } from './lib/upstream.ts';
import { bootstrap, staticCluster, vhost } from './lib/config.ts';
import { h2connect, h2request, hcm, listener } from './lib/h2.ts';
import { HpackDecoder } from '../src/worker/http/http2/hpack.ts';

let proxy: Proxy;
let port: number;
/** A listener with a short idle_timeout. */
let idlePort: number;
/** What the upstream's /stream handler managed to write (it respects backpressure). */
const streamed = { bytes: 0, closed: false };
const STREAM_TOTAL = 128 * 1024 * 1024;
let upstream: Upstream;
/** Accepts and never answers: requests routed there stay open until reset. */
let hold: net.Server;
const held = new Set<net.Socket>();

before(async () => {
  upstream = await startHttpUpstream('hard', (req, res) => {
    const u = new URL(req.url, 'http://x');
    if (u.pathname === '/big') {
      res.end(Buffer.alloc(Number(u.searchParams.get('n')), 0x61));
      return;
    }
    if (u.pathname === '/stream') {
      streamed.bytes = 0;
      streamed.closed = false;
      const chunk = Buffer.alloc(65536, 0x62);
      const pump = (): void => {
        while (streamed.bytes < STREAM_TOTAL) {
          streamed.bytes += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => (streamed.closed = true));
      pump();
      return;
    }
    res.end(`ok ${req.url}`);
  });
  hold = net.createServer((s) => {
    held.add(s);
    s.on('error', () => {});
    s.on('close', () => held.delete(s));
  });
  await new Promise<void>((r) => hold.listen(0, '127.0.0.1', r));
  port = await freePort();
  idlePort = await freePort();
  const adminPort = await freePort();
  const vhosts = [vhost('main', ['*'], [
    { match: { prefix: '/hold' }, route: { cluster: 'hold' } },
    { match: { prefix: '/' }, route: { cluster: 'hard' } },
  ])];
  const listeners = [
    listener('h2', port, [{
      filters: [hcm(vhosts, {
        codec_type: 'HTTP2',
        // A small control-frame budget makes the flood quick to provoke (and shows the option is honoured).
        http2_protocol_options: { max_outbound_control_frames: 100 },
      })],
    }]),
    listener('h2idle', idlePort, [{
      filters: [hcm(vhosts, { codec_type: 'HTTP2', common_http_protocol_options: { idle_timeout: '0.4s' } })],
    }]),
  ];
  const clusters = [staticCluster('hard', [upstream.port]), staticCluster('hold', [(hold.address() as net.AddressInfo).port])];
  proxy = await startProxy(bootstrap(adminPort, listeners, clusters), { adminPort });
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
  for (const s of held) s.destroy();
  await new Promise<void>((r) => (hold ? hold.close(() => r()) : r()));
});

// ---------------------------------------------------------------- raw frames

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const DATA = 0;
const HEADERS = 1;
const PRIORITY = 2;
const RST = 3;
const SETTINGS = 4;
const PING = 6;
const GOAWAY = 7;
const WINDOW_UPDATE = 8;
const CONTINUATION = 9;

function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

/** A header block of literals without indexing. */
function block(list: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [n, v] of list) {
    const nb = Buffer.from(n, 'latin1');
    const vb = Buffer.from(v, 'latin1');
    parts.push(Buffer.from([0x00, nb.length]), nb, Buffer.from([vb.length]), vb);
  }
  return Buffer.concat(parts);
}

function req(path: string, extra: [string, string][] = [], method = 'GET'): Buffer {
  return block([[':method', method], [':scheme', 'http'], [':path', path], [':authority', 'raw'], ...extra]);
}

class RawClient {
  readonly frames: Frame[] = [];
  closed = false;
  readonly sock: net.Socket;
  private buf = Buffer.alloc(0);

  constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 9) {
        const len = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + len) break;
        // Big DATA payloads are not kept (only their headers matter here).
        const type = this.buf[3];
        this.frames.push({ type, flags: this.buf[4], id: this.buf.readUInt32BE(5) & 0x7fffffff, payload: type === DATA ? Buffer.alloc(0) : this.buf.subarray(9, 9 + len) });
        this.buf = this.buf.subarray(9 + len);
      }
    });
    sock.on('end', () => sock.end());
    sock.on('close', () => (this.closed = true));
    sock.on('error', () => {});
  }

  /** Connects; `settings`: our SETTINGS entries ([id, value]). */
  static async open(settings: [number, number][] = [], to = port): Promise<RawClient> {
    const sock = net.connect(to, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const c = new RawClient(sock);
    const p = Buffer.alloc(6 * settings.length);
    settings.forEach(([k, v], i) => {
      p.writeUInt16BE(k, 6 * i);
      p.writeUInt32BE(v, 6 * i + 2);
    });
    c.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, p)]));
    return c;
  }

  write(b: Buffer): void {
    this.sock.write(b);
  }

  async next(pred: (f: Frame) => boolean, ms = 3000): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = this.frames.find(pred);
      if (f !== undefined) return f;
      if (this.closed || Date.now() > deadline) throw new Error(`no such frame (closed=${this.closed}); got ${this.frames.map((x) => `${x.type}/${x.id}`).join(' ')}`);
      await sleep(20);
    }
  }

  async whenClosed(ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection not closed');
      await sleep(20);
    }
  }

  destroy(): void {
    this.sock.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function expectGoaway(c: RawClient, code: number, what: string): Promise<void> {
  try {
    const g = await c.next((f) => f.type === GOAWAY).catch((e: Error) => assert.fail(`${what}: ${e.message}`));
    assert.equal(g.payload.readUInt32BE(4), code, `${what}: GOAWAY code`);
    await c.whenClosed();
  } finally {
    c.destroy();
  }
}

async function stat(name: string): Promise<number> {
  const text = await (await proxy.admin(`/stats?filter=${encodeURIComponent(name)}`)).text();
  const m = new RegExp(`^${name.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}

async function stillServing(): Promise<void> {
  const s = await h2connect(`http://127.0.0.1:${port}`);
  try {
    const r = await h2request(s, { ':path': '/alive' });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok /alive');
  } finally {
    s.close();
  }
}

// ---------------------------------------------------------------- floods

test('a client that never reads and floods PINGs: replies pile up to max_outbound_control_frames, then the connection is closed', async () => {
  const before = await stat('http2.outbound_control_flood');
  // Huge windows, a 32 MiB response, and no reading: the socket backs up.
  const c = await RawClient.open([[4, 0x7fffffff]]);
  try {
    c.sock.pause();
    c.write(frame(WINDOW_UPDATE, 0, 0, u32(0x7fffffff - 65535)));
    c.write(frame(HEADERS, 5, 1, req('/big?n=33554432')));
    await sleep(400);
    // 300 PINGs, 3 at a time: their ACKs cannot go out.
    for (let k = 0; k < 100; k++) {
      c.write(Buffer.concat([frame(PING, 0, 0, Buffer.alloc(8, k)), frame(PING, 0, 0, Buffer.alloc(8, k)), frame(PING, 0, 0, Buffer.alloc(8, k))]));
      if (k % 10 === 9) await sleep(10);
    }
    const deadline = Date.now() + 3000;
    while ((await stat('http2.outbound_control_flood')) === before) {
      if (Date.now() > deadline) assert.fail('no outbound_control_flood');
      await sleep(50);
    }
    // The proxy closed it: reading again gets to the end quickly.
    c.sock.resume();
    await c.whenClosed(5000);
  } finally {
    c.destroy();
  }
  await stillServing();
});

test('max_consecutive_inbound_frames_with_empty_payload (1): two empty DATA frames end the connection', async () => {
  const before = await stat('http2.inbound_empty_frames_flood');
  const c = await RawClient.open();
  c.write(frame(HEADERS, 4, 1, req('/sink', [], 'POST')));
  c.write(Buffer.concat([frame(DATA, 0, 1), frame(DATA, 0, 1)]));
  await expectGoaway(c, 11, 'empty DATA');
  assert.equal(await stat('http2.inbound_empty_frames_flood'), before + 1);
  // One empty DATA frame, then one with END_STREAM: fine.
  const ok = await RawClient.open();
  try {
    ok.write(frame(HEADERS, 4, 1, req('/sink', [], 'POST')));
    ok.write(Buffer.concat([frame(DATA, 0, 1), frame(DATA, 1, 1)]));
    const h = await ok.next((f) => f.type === HEADERS && f.id === 1);
    assert.equal(h.flags & 4, 4);
    assert.equal(ok.frames.some((f) => f.type === GOAWAY), false);
  } finally {
    ok.destroy();
  }
  // Empty CONTINUATION frames count too.
  const cont = await RawClient.open();
  cont.write(Buffer.concat([frame(HEADERS, 0, 1, req('/x')), frame(CONTINUATION, 0, 1), frame(CONTINUATION, 0, 1)]));
  await expectGoaway(cont, 11, 'empty CONTINUATION');
});

test('max_inbound_priority_frames_per_stream (100): a PRIORITY flood ends the connection', async () => {
  const before = await stat('http2.inbound_priority_frames_flood');
  const c = await RawClient.open();
  const prio = frame(PRIORITY, 0, 3, Buffer.from([0, 0, 0, 0, 16]));
  c.write(Buffer.concat(new Array(150).fill(prio)));
  await expectGoaway(c, 11, 'PRIORITY flood');
  assert.equal(await stat('http2.inbound_priority_frames_flood'), before + 1);
});

test('max_inbound_window_update_frames_per_data_frame_sent: WINDOW_UPDATEs with no data sent end the connection', async () => {
  const before = await stat('http2.inbound_window_update_frames_flood');
  const c = await RawClient.open();
  c.write(Buffer.concat(new Array(20).fill(frame(WINDOW_UPDATE, 0, 0, u32(1)))));
  await expectGoaway(c, 11, 'WINDOW_UPDATE flood');
  assert.equal(await stat('http2.inbound_window_update_frames_flood'), before + 1);
  await stillServing();
});

test('rapid reset (CVE-2023-44487): streams opened and reset before any response get the connection closed', async () => {
  const before = await stat('http.ingress_http.downstream_rq_too_many_premature_resets');
  const c = await RawClient.open();
  try {
    const parts: Buffer[] = [];
    for (let k = 0; k < 400; k++) {
      const id = 1 + 2 * k;
      parts.push(frame(HEADERS, 5, id, req(`/hold/${k}`)), frame(RST, 0, id, u32(8)));
    }
    c.write(Buffer.concat(parts));
    await c.whenClosed(5000);
  } finally {
    c.destroy();
  }
  assert.equal(await stat('http.ingress_http.downstream_rq_too_many_premature_resets'), before + 1);
  assert.ok((await stat('http2.rx_reset')) >= 250);
  await stillServing();
});

test('resets the client provokes (WINDOW_UPDATE of 0 on each new stream) count as premature too', async () => {
  const before = await stat('http.ingress_http.downstream_rq_too_many_premature_resets');
  const c = await RawClient.open();
  try {
    const parts: Buffer[] = [];
    for (let k = 0; k < 400; k++) {
      const id = 1 + 2 * k;
      parts.push(frame(HEADERS, 5, id, req(`/hold/${k}`)), frame(WINDOW_UPDATE, 0, id, u32(0)));
    }
    c.write(Buffer.concat(parts));
    await c.whenClosed(5000);
  } finally {
    c.destroy();
  }
  assert.equal(await stat('http.ingress_http.downstream_rq_too_many_premature_resets'), before + 1);
  await stillServing();
});

test('a few client resets are fine: the connection goes on', async () => {
  const c = await RawClient.open();
  try {
    for (let k = 0; k < 20; k++) c.write(Buffer.concat([frame(HEADERS, 5, 1 + 2 * k, req(`/hold/${k}`)), frame(RST, 0, 1 + 2 * k, u32(8))]));
    c.write(frame(HEADERS, 5, 101, req('/after')));
    const h = await c.next((f) => f.type === HEADERS && f.id === 101);
    assert.ok(h);
    assert.equal(c.closed, false);
  } finally {
    c.destroy();
  }
});

test('a CONTINUATION flood (one header block without end) is cut off', async () => {
  const c = await RawClient.open();
  const chunk = Buffer.alloc(16000, 0x82); // ':method: GET' over and over (each a field)
  const parts = [frame(HEADERS, 0, 1, req('/'))];
  for (let k = 0; k < 16; k++) parts.push(frame(CONTINUATION, 0, 1, chunk));
  c.write(Buffer.concat(parts));
  await expectGoaway(c, 11, 'CONTINUATION flood');
});

test('HPACK: a decoder keeps at most maxFields fields of a block but counts them all', () => {
  const d = new HpackDecoder(4096);
  d.maxFields = 10;
  const b = Buffer.alloc(5000, 0x82);
  assert.equal(d.decode(b, 0, b.length), 5000);
  assert.equal(d.count, 5000);
  assert.ok(d.names.length <= 10, `names kept: ${d.names.length}`);
});

test('HPACK abuse is a COMPRESSION_ERROR: table size update beyond our setting, huge integers, EOS, long padding', async () => {
  const cases: [string, Buffer][] = [
    ['size update beyond SETTINGS_HEADER_TABLE_SIZE', Buffer.concat([Buffer.from([0x3f, 0xe1, 0x3f]), req('/')])],
    ['an integer of 10 octets', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])],
    ['an index past 2^31', Buffer.from([0xff, 0x80, 0x80, 0x80, 0x80, 0x10])],
    ['Huffman with EOS', Buffer.from([0x00, 0x01, 0x78, 0x84, 0xff, 0xff, 0xff, 0xff])],
    ['Huffman padding of 8 bits', Buffer.from([0x00, 0x01, 0x78, 0x82, 0x1f, 0xff])],
    ['a string longer than the block', Buffer.from([0x00, 0x7f, 0x80, 0x01, 0x61])],
  ];
  for (const [what, hb] of cases) {
    const c = await RawClient.open();
    c.write(frame(HEADERS, 5, 1, hb));
    await expectGoaway(c, 9, what);
  }
  await stillServing();
});

test('frames arriving a few bytes at a time (headers, padded DATA, trailers, PING) are parsed right', async () => {
  const c = await RawClient.open();
  try {
    c.sock.setNoDelay(true);
    const body = Buffer.from('dribbled body');
    const bytes = Buffer.concat([
      frame(HEADERS, 4, 1, req('/drip', [['x-pad', 'p'.repeat(120)]], 'POST')),
      frame(DATA, 8, 1, Buffer.concat([Buffer.from([3]), body.subarray(0, 5), Buffer.alloc(3)])),
      frame(DATA, 0, 1, body.subarray(5)),
      frame(PING, 0, 0, Buffer.from('dripping')),
      frame(HEADERS, 5, 1, block([['x-trailer', 't']])),
    ]);
    for (let k = 0; k < bytes.length; k += 3) {
      c.write(bytes.subarray(k, k + 3));
      await sleep(1);
    }
    const pong = await c.next((f) => f.type === PING && f.flags === 1);
    assert.equal(pong.payload.toString(), 'dripping');
    await c.next((f) => f.type === DATA && f.id === 1 && (f.flags & 1) === 1);
    assert.equal(c.frames.some((f) => f.type === GOAWAY || f.type === RST), false);
  } finally {
    c.destroy();
  }
  const got = upstream.received.find((r) => r.url === '/drip');
  assert.equal(got?.body, 'dribbled body');
});

// ---------------------------------------------------------------- backpressure, idle, drain

test('a client that never reads: the upstream is paused (the proxy does not buffer the response)', async () => {
  const c = await RawClient.open([[4, 0x7fffffff]]);
  try {
    c.sock.pause();
    c.write(frame(WINDOW_UPDATE, 0, 0, u32(0x7fffffff - 65535)));
    c.write(frame(HEADERS, 5, 1, req('/stream')));
    await sleep(1500);
    // Socket buffers on both hops hold some MB; the rest must still be at the upstream.
    assert.ok(streamed.bytes > 0 && streamed.bytes < 64 * 1024 * 1024, `upstream wrote ${streamed.bytes} bytes`);
  } finally {
    c.destroy();
  }
  const deadline = Date.now() + 3000;
  while (!streamed.closed && Date.now() < deadline) await sleep(20);
  assert.ok(streamed.closed, 'the upstream request ends with the client');
});

test('a zero stream window: nothing is sent, the upstream waits; a WINDOW_UPDATE lets data through', async () => {
  const c = await RawClient.open([[4, 0]]);
  try {
    c.write(frame(HEADERS, 5, 1, req('/stream')));
    await c.next((f) => f.type === HEADERS && f.id === 1);
    await sleep(800);
    assert.equal(c.frames.some((f) => f.type === DATA), false);
    assert.ok(streamed.bytes < 64 * 1024 * 1024, `upstream wrote ${streamed.bytes} bytes`);
    c.write(frame(WINDOW_UPDATE, 0, 1, u32(40000)));
    await c.next((f) => f.type === DATA && f.id === 1);
    // A stream window pushed past 2^31-1: that stream is reset with FLOW_CONTROL_ERROR.
    c.write(Buffer.concat([frame(WINDOW_UPDATE, 0, 1, u32(0x7fffffff)), frame(WINDOW_UPDATE, 0, 1, u32(0x7fffffff))]));
    const r = await c.next((f) => f.type === RST && f.id === 1);
    assert.equal(r.payload.readUInt32BE(0), 3);
    assert.equal(c.frames.some((f) => f.type === GOAWAY), false);
  } finally {
    c.destroy();
  }
});

test('idle_timeout: an HTTP/2 connection without streams gets GOAWAY (last stream id) and is closed', async () => {
  const c = await RawClient.open([], idlePort);
  try {
    c.write(frame(HEADERS, 5, 1, req('/one')));
    await c.next((f) => f.type === DATA && f.id === 1 && (f.flags & 1) === 1);
    // PINGs are no activity.
    c.write(frame(PING, 0, 0, Buffer.alloc(8)));
    const g = await c.next((f) => f.type === GOAWAY, 3000);
    assert.equal(g.payload.readUInt32BE(0), 1, 'last stream id');
    assert.equal(g.payload.readUInt32BE(4), 0, 'NO_ERROR');
    await c.whenClosed();
  } finally {
    c.destroy();
  }
  // A client that never sends the preface is closed too.
  const sock = net.connect(idlePort, '127.0.0.1');
  sock.on('error', () => {});
  sock.resume();
  const closed = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 3000);
    sock.on('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
  sock.destroy();
  assert.ok(closed, 'silent connection closed');
});

// ---------------------------------------------------------------- malformed requests and frames

test('empty padded HEADERS and DATA frames (no Pad Length octet) are FRAME_SIZE_ERRORs', async () => {
  const h = await RawClient.open();
  h.write(frame(HEADERS, 4 | 8, 1));
  await expectGoaway(h, 6, 'empty padded HEADERS');
  const d = await RawClient.open();
  d.write(frame(HEADERS, 4, 1, req('/sink', [], 'POST')));
  d.write(frame(DATA, 1 | 8, 1));
  await expectGoaway(d, 6, 'empty padded DATA');
});

test(':path must be origin form (or * for OPTIONS): anything else is reset and never forwarded', async () => {
  const seen = upstream.received.length;
  const c = await RawClient.open();
  try {
    const bad: [number, Buffer][] = [
      [1, req('foo')],
      [3, req('http://evil.example/x')],
      [5, req('*')],
      [7, req('?q=1')],
    ];
    for (const [id, b] of bad) c.write(frame(HEADERS, 5, id, b));
    for (const [id] of bad) {
      const r = await c.next((f) => f.type === RST && f.id === id);
      assert.equal(r.payload.readUInt32BE(0), 1, `stream ${id}: PROTOCOL_ERROR`);
    }
    // OPTIONS * is a valid request; `te: Trailers` too (the value is case-insensitive).
    c.write(frame(HEADERS, 5, 9, req('*', [], 'OPTIONS')));
    c.write(frame(HEADERS, 5, 11, req('/te', [['te', 'Trailers']])));
    const o = await c.next((f) => f.type === HEADERS && f.id === 9);
    assert.ok(o);
    const t = await c.next((f) => f.type === DATA && f.id === 11 && (f.flags & 1) === 1);
    assert.ok(t);
    assert.equal(c.frames.some((f) => f.type === RST && (f.id === 9 || f.id === 11) && f.payload.readUInt32BE(0) === 1), false);
  } finally {
    c.destroy();
  }
  const urls = upstream.received.slice(seen).map((r) => r.url);
  for (const u of ['foo', 'http://evil.example/x', '?q=1']) assert.equal(urls.includes(u), false, `${u} forwarded`);
});

test('a stream depending on itself is a stream PROTOCOL_ERROR; trailers and stream-state errors', async () => {
  const c = await RawClient.open();
  try {
    c.write(frame(PRIORITY, 0, 1, Buffer.from([0, 0, 0, 1, 16])));
    const r = await c.next((f) => f.type === RST && f.id === 1);
    assert.equal(r.payload.readUInt32BE(0), 1);
    // Trailers with a pseudo-header: reset.
    c.write(frame(HEADERS, 4, 3, req('/sink', [], 'POST')));
    c.write(frame(HEADERS, 5, 3, block([[':path', '/x']])));
    const t = await c.next((f) => f.type === RST && f.id === 3);
    assert.equal(t.payload.readUInt32BE(0), 1);
    // HEADERS after END_STREAM: STREAM_CLOSED.
    c.write(frame(HEADERS, 5, 5, req('/hold/a')));
    c.write(frame(HEADERS, 5, 5, block([['x-t', '1']])));
    const s = await c.next((f) => f.type === RST && f.id === 5);
    assert.equal(s.payload.readUInt32BE(0), 5);
    // DATA after END_STREAM: STREAM_CLOSED.
    c.write(frame(HEADERS, 5, 7, req('/hold/b')));
    c.write(frame(DATA, 0, 7, Buffer.from('late')));
    const late = await c.next((f) => f.type === RST && f.id === 7);
    assert.equal(late.payload.readUInt32BE(0), 5);
    // Good trailers end a request.
    c.write(frame(HEADERS, 4, 9, req('/sink', [], 'POST')));
    c.write(frame(DATA, 0, 9, Buffer.from('body')));
    c.write(frame(HEADERS, 5, 9, block([['x-trailer', 'v']])));
    const d = await c.next((f) => f.type === DATA && f.id === 9 && (f.flags & 1) === 1);
    assert.ok(d);
    assert.equal(c.frames.some((f) => f.type === GOAWAY), false);
  } finally {
    c.destroy();
  }
});
