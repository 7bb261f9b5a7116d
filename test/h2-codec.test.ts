// The downstream HTTP/2 codec (src/worker/http/http2): HPACK against RFC 7541's examples and
// Huffman for every octet; then through the real CLI: header octets from a node:http2 client
// (nghttp2, Huffman), large bodies both ways with small flow-control windows, a client without a
// dynamic table, 431 for oversized header lists, and raw frames — malformed ones must end the
// connection with GOAWAY and the right code, stream-level ones reset only their stream, and the
// worker keeps serving throughout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { startHttpUpstream, type Upstream } from './lib/upstream.ts';
import { bootstrap, staticCluster, vhost } from './lib/config.ts';
import { h2connect, h2request, hcm, listener } from './lib/h2.ts';
import { HpackDecoder, HpackEncoder, HPACK_ERROR, huffmanEncode } from '../src/worker/http/http2/hpack.ts';

// ---------------------------------------------------------------- HPACK

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

function fields(d: HpackDecoder): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < d.count; i++) out.push([d.names[i], d.values[i]]);
  return out;
}

test('HPACK: RFC 7541 C.3 and C.4 request examples (dynamic table, Huffman)', () => {
  const expected: [string, string][][] = [
    [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
    [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
    [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
  ];
  const plain = ['8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', '8286 84be 5808 6e6f 2d63 6163 6865', '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'];
  const huff = ['8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', '8286 84be 5886 a8eb 1064 9cbf', '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'];
  for (const blocks of [plain, huff]) {
    const d = new HpackDecoder(4096);
    blocks.forEach((b, i) => {
      const buf = hex(b);
      assert.equal(d.decode(buf, 0, buf.length), expected[i].length);
      assert.deepEqual(fields(d), expected[i]);
    });
  }
});

test('HPACK: Huffman round trip of every octet; invalid codes and padding are errors', () => {
  let all = '';
  for (let c = 0; c < 256; c++) all += String.fromCharCode(c);
  for (const v of [all, 'a', 'www.example.com', '\xff\xfe\x00x']) {
    const h = huffmanEncode(v);
    const n = Buffer.from('x-v', 'latin1');
    const block = Buffer.concat([Buffer.from([0x00, n.length]), n, lengthPrefixed(h, true)]);
    const d = new HpackDecoder(4096);
    assert.equal(d.decode(block, 0, block.length), 1);
    assert.equal(d.values[0], v);
  }
  const bad = (b: Buffer) => new HpackDecoder(4096).decode(b, 0, b.length);
  // Padding of 8 bits (a whole 0xff byte after the last symbol), and padding with a 0 bit.
  assert.equal(bad(Buffer.concat([Buffer.from([0x00, 0x01, 0x78]), lengthPrefixed(Buffer.concat([huffmanEncode('a'), Buffer.from([0xff])]), true)])), HPACK_ERROR);
  assert.equal(bad(Buffer.from([0x00, 0x01, 0x78, 0x81, 0x00])), HPACK_ERROR);
  assert.equal(bad(Buffer.from([0x80])), HPACK_ERROR, 'index 0');
  assert.equal(bad(Buffer.from([0xbe])), HPACK_ERROR, 'index beyond the dynamic table');
  assert.equal(bad(Buffer.from([0x82, 0x3f, 0xe1, 0x1f])), HPACK_ERROR, 'table size update after a field');
  assert.equal(bad(Buffer.from([0x3f, 0xe1, 0xff, 0x03])), HPACK_ERROR, 'table size update beyond the limit');
  assert.equal(bad(Buffer.from([0x00, 0x7f])), HPACK_ERROR, 'truncated length');
  assert.equal(bad(Buffer.from([0x00, 0x05, 0x61])), HPACK_ERROR, 'string past the block');
});

test('HPACK: encoder and decoder stay in step through evictions and a table size change', () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder(4096);
  const buf = Buffer.alloc(64 * 1024);
  for (let round = 0; round < 200; round++) {
    if (round === 50) enc.setLimit(256);
    if (round === 120) enc.setLimit(0);
    if (round === 150) enc.setLimit(8192);
    const want: [string, string][] = [[':status', round % 3 === 0 ? '200' : '503']];
    for (let k = 0; k < 6; k++) want.push([`x-h${(round * 7 + k) % 13}`, `v${(round * 31 + k) % 17}`.repeat(1 + (k % 3))]);
    let p = enc.begin(buf, 0);
    p = enc.status(buf, p, Number(want[0][1]));
    for (const [n, v] of want.slice(1)) p = enc.field(buf, p, n, v);
    assert.equal(dec.decode(buf, 0, p), want.length, `round ${round}`);
    assert.deepEqual(fields(dec), want);
  }
});

/** An HPACK string literal: H bit, length as a 7-bit-prefix integer, octets. */
function lengthPrefixed(b: Buffer, huffman: boolean): Buffer {
  const h = huffman ? 0x80 : 0;
  if (b.length < 127) return Buffer.concat([Buffer.from([h | b.length]), b]);
  const len = [h | 127];
  let v = b.length - 127;
  while (v >= 128) {
    len.push((v & 127) | 128);
    v >>= 7;
  }
  len.push(v);
  return Buffer.concat([Buffer.from(len), b]);
}

// ---------------------------------------------------------------- through the proxy

let proxy: Proxy;
let port: number;
let upstream: Upstream;
let bodySeen: { len: number; sha: string }[] = [];

before(async () => {
  upstream = await startHttpUpstream('codec', (req, res) => {
    const u = new URL(req.url, 'http://x');
    if (u.pathname === '/big') {
      const n = Number(u.searchParams.get('n'));
      res.setHeader('content-type', 'application/octet-stream');
      res.end(pattern(n));
      return;
    }
    if (u.pathname === '/sink') {
      const b = Buffer.from(req.body, 'latin1');
      bodySeen.push({ len: b.length, sha: sha(b) });
      res.end(JSON.stringify({ len: b.length, sha: sha(b) }));
      return;
    }
    if (u.pathname === '/bighead') {
      res.setHeader('x-big', 'h'.repeat(Number(u.searchParams.get('n'))));
      res.end('big head');
      return;
    }
    if (u.pathname === '/slow') {
      setTimeout(() => res.end('slow'), Number(u.searchParams.get('ms') ?? 300));
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, method: req.method, headers: req.headers, body: req.body }));
  });
  port = await freePort();
  const adminPort = await freePort();
  const vhosts = [vhost('main', ['*'], [{ match: { prefix: '/' }, route: { cluster: 'codec' } }])];
  const listeners = [
    listener('h2', port, [{
      filters: [hcm(vhosts, {
        codec_type: 'HTTP2',
        max_request_headers_kb: 4,
        http2_protocol_options: { max_concurrent_streams: 5, initial_stream_window_size: 65535, initial_connection_window_size: 65535 },
      })],
    }]),
  ];
  proxy = await startProxy(bootstrap(adminPort, listeners, [staticCluster('codec', [upstream.port])]), { adminPort });
});

after(async () => {
  await proxy?.stop();
  await upstream?.close();
});

function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 10)) & 0xff;
  return b;
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

test('every octet a client may put in a header value reaches the HTTP/1.1 upstream; the dynamic table turns over', async () => {
  const s = await h2connect(`http://127.0.0.1:${port}`);
  try {
    let chars = '\t';
    for (let c = 0x20; c < 0x7f; c++) chars += String.fromCharCode(c);
    for (let c = 0x80; c < 0x100; c++) chars += String.fromCharCode(c);
    const value = 'a' + chars + 'z';
    for (let i = 0; i < 40; i++) {
      // Distinct values of ~300 bytes: the client's 4 KiB table evicts all the time.
      const r = await h2request(s, { ':path': `/echo/${i}`, 'x-all': value, 'x-round': `r${i}-`.repeat(60), cookie: ['a=1', `b=${i}`] });
      assert.equal(r.status, 200);
      const got = JSON.parse(r.body);
      assert.equal(got.url, `/echo/${i}`);
      assert.equal(got.headers['x-all'], value);
      assert.equal(got.headers['x-round'], `r${i}-`.repeat(60));
      assert.equal(got.headers.cookie, `a=1; b=${i}`);
    }
  } finally {
    s.close();
  }
});

test('large bodies both ways through 64 KiB windows, several streams at once', async () => {
  bodySeen = [];
  // The client's windows are small too: the proxy must queue and wait for WINDOW_UPDATEs.
  const s = await h2connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 16384 } });
  try {
    // Four streams: within the listener's max_concurrent_streams (5).
    const sizes = [3 * 1024 * 1024 + 17, 200 * 1024 + 3];
    const downs = sizes.map(async (n) => {
      const req = s.request({ ':path': `/big?n=${n}` });
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      await new Promise<void>((resolve, reject) => {
        req.on('end', () => resolve());
        req.on('error', reject);
      });
      const got = Buffer.concat(chunks);
      assert.equal(got.length, n);
      assert.equal(sha(got), sha(pattern(n)));
    });
    const ups = sizes.map(async (n) => {
      const body = pattern(n);
      const r = await h2request(s, { ':path': '/sink', ':method': 'POST' }, body, 20000);
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { len: n, sha: sha(body) });
    });
    await Promise.all([...downs, ...ups]);
  } finally {
    s.close();
  }
});

test('a client without a dynamic table (SETTINGS_HEADER_TABLE_SIZE 0) decodes every response', async () => {
  const s = await h2connect(`http://127.0.0.1:${port}`, { settings: { headerTableSize: 0 } });
  try {
    for (let i = 0; i < 5; i++) {
      const r = await h2request(s, { ':path': `/t0/${i}` });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(JSON.parse(r.body).url, `/t0/${i}`);
    }
  } finally {
    s.close();
  }
});

test('response headers larger than a frame go out as HEADERS + CONTINUATION', async () => {
  const s = await h2connect(`http://127.0.0.1:${port}`);
  try {
    const r = await h2request(s, { ':path': '/bighead?n=40000' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-big'], 'h'.repeat(40000));
    assert.equal(r.body, 'big head');
  } finally {
    s.close();
  }
});

test('a header list over max_request_headers_kb gets 431; the connection goes on', async () => {
  const s = await h2connect(`http://127.0.0.1:${port}`);
  try {
    const big = await h2request(s, { ':path': '/big-headers', 'x-big': 'b'.repeat(6000) });
    assert.equal(big.status, 431);
    const ok = await h2request(s, { ':path': '/after' });
    assert.equal(ok.status, 200);
  } finally {
    s.close();
  }
});

// ---- raw frames

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
}

/** A header block of literals without indexing (no HPACK state involved). */
function block(fieldsList: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [n, v] of fieldsList) {
    const nb = Buffer.from(n, 'latin1');
    const vb = Buffer.from(v, 'latin1');
    parts.push(Buffer.from([0x00, nb.length]), nb, Buffer.from([vb.length]), vb);
  }
  return Buffer.concat(parts);
}

function get(path: string, extra: [string, string][] = [], method = 'GET'): Buffer {
  return block([[':method', method], [':scheme', 'http'], [':path', path], [':authority', 'raw'], ...extra]);
}

class RawClient {
  readonly frames: Frame[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private readonly sock: net.Socket;

  constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 9) {
        const len = this.buf.readUIntBE(0, 3);
        if (this.buf.length < 9 + len) break;
        this.frames.push({ type: this.buf[3], flags: this.buf[4], id: this.buf.readUInt32BE(5) & 0x7fffffff, payload: this.buf.subarray(9, 9 + len) });
        this.buf = this.buf.subarray(9 + len);
      }
      this.wake?.();
    });
    sock.on('end', () => sock.end());
    sock.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    sock.on('error', () => {});
  }

  static async open(handshake = true): Promise<RawClient> {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const c = new RawClient(sock);
    if (handshake) c.write(Buffer.concat([PREFACE, frame(4, 0, 0)]));
    return c;
  }

  write(b: Buffer): void {
    this.sock.write(b);
  }

  /** The first frame (in arrival order) matching `pred`, waiting up to `ms`. */
  async next(pred: (f: Frame) => boolean, ms = 3000): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = this.frames.find(pred);
      if (f !== undefined) return f;
      if (this.closed || Date.now() > deadline) throw new Error(`no such frame (closed=${this.closed}); got ${this.frames.map((x) => `${x.type}/${x.id}`).join(' ')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  async whenClosed(ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection not closed');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  destroy(): void {
    this.sock.destroy();
  }
}

const GOAWAY = 7;
const RST = 3;

async function expectGoaway(c: RawClient, code: number, what: string): Promise<void> {
  try {
    const g = await c.next((f) => f.type === GOAWAY).catch((e: Error) => assert.fail(`${what}: ${e.message}`));
    assert.equal(g.payload.readUInt32BE(4), code, `${what}: GOAWAY code`);
    await c.whenClosed();
  } finally {
    c.destroy();
  }
}

test('malformed frames end the connection with GOAWAY and the right error code; the worker keeps serving', async () => {
  const before = await protocolErrors();
  const cases: [string, Buffer, number][] = [
    ['DATA on stream 0', frame(0, 0, 0, Buffer.from('x')), 1],
    ['a frame over SETTINGS_MAX_FRAME_SIZE', frame(0, 0, 1, Buffer.alloc(16385)), 6],
    ['an undecodable header block', frame(1, 5, 1, Buffer.from([0x80])), 9],
    ['CONTINUATION without HEADERS', frame(9, 4, 1, get('/')), 1],
    ['HEADERS then something else before END_HEADERS', Buffer.concat([frame(1, 0, 1, get('/')), frame(6, 0, 0, Buffer.alloc(8))]), 1],
    ['SETTINGS of 5 bytes', frame(4, 0, 0, Buffer.alloc(5)), 6],
    ['WINDOW_UPDATE of 0 on the connection', frame(8, 0, 0, Buffer.alloc(4)), 1],
    ['PUSH_PROMISE from a client', frame(5, 4, 1, Buffer.alloc(4)), 1],
    ['an even stream id', frame(1, 5, 2, get('/')), 1],
    ['a DATA frame on an idle stream', frame(0, 1, 9, Buffer.from('x')), 1],
    ['PING of 7 bytes', frame(6, 0, 0, Buffer.alloc(7)), 6],
    ['a WINDOW_UPDATE past 2^31-1', frame(8, 0, 0, Buffer.from([0x7f, 0xff, 0xff, 0xff])), 3],
  ];
  for (const [what, bytes, code] of cases) {
    const c = await RawClient.open();
    c.write(bytes);
    await expectGoaway(c, code, what);
  }
  // No SETTINGS first: the preface must be followed by SETTINGS.
  const noSettings = await RawClient.open(false);
  noSettings.write(Buffer.concat([PREFACE, frame(6, 0, 0, Buffer.alloc(8))]));
  await expectGoaway(noSettings, 1, 'PING before SETTINGS');
  // Not the preface at all: closed.
  const junk = await RawClient.open(false);
  junk.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n'));
  await expectGoaway(junk, 1, 'bad preface');
  // Same worker, still serving: its counters were not lost to a restart.
  assert.equal((await protocolErrors()) - before, cases.length + 2);
  const s = await h2connect(`http://127.0.0.1:${port}`);
  try {
    assert.equal((await h2request(s, { ':path': '/alive' })).status, 200);
  } finally {
    s.close();
  }
});

async function protocolErrors(): Promise<number> {
  const text = await (await proxy.admin('/stats?filter=downstream_cx_protocol_error')).text();
  return Number(/http\.ingress_http\.downstream_cx_protocol_error: (\d+)/.exec(text)?.[1] ?? -1);
}

test('malformed requests reset their stream only; PING, padding and PRIORITY on the same connection', async () => {
  const c = await RawClient.open();
  try {
    const bad: [number, Buffer][] = [
      [1, get('/', [['X-Upper', 'v']])],
      [3, get('/', [['connection', 'keep-alive']])],
      [5, block([[':method', 'GET'], [':scheme', 'http'], [':authority', 'raw']])],
      [7, get('/', [['x-crlf', 'a\r\nb']])],
      [9, get('/', [['te', 'gzip']])],
      [11, block([[':method', 'GET'], ['x-a', 'b'], [':scheme', 'http'], [':path', '/'], [':authority', 'raw']])],
    ];
    for (const [id, b] of bad) c.write(frame(1, 5, id, b));
    for (const [id] of bad) {
      const r = await c.next((f) => f.type === RST && f.id === id);
      assert.equal(r.payload.readUInt32BE(0), 1, `stream ${id}: PROTOCOL_ERROR`);
    }
    c.write(frame(6, 0, 0, Buffer.from('pingpong')));
    const pong = await c.next((f) => f.type === 6 && f.flags === 1);
    assert.equal(pong.payload.toString(), 'pingpong');
    // A padded HEADERS with priority, a PRIORITY frame, and a padded DATA frame carrying the body.
    const hb = get('/sink', [['content-length', '5']], 'POST');
    const pad = 3;
    c.write(frame(1, 0x4 | 0x8 | 0x20, 13, Buffer.concat([Buffer.from([pad]), Buffer.from([0, 0, 0, 0, 16]), hb, Buffer.alloc(pad)])));
    c.write(frame(2, 0, 13, Buffer.from([0, 0, 0, 0, 16])));
    c.write(frame(0, 0x1 | 0x8, 13, Buffer.concat([Buffer.from([2]), Buffer.from('hello'), Buffer.alloc(2)])));
    const data = await c.next((f) => f.type === 0 && f.id === 13 && (f.flags & 1) === 1);
    assert.deepEqual(JSON.parse(data.payload.toString()), { len: 5, sha: sha(Buffer.from('hello')) });
    // content-length that the body contradicts: the stream is reset.
    c.write(frame(1, 4, 15, get('/sink', [['content-length', '2']], 'POST')));
    c.write(frame(0, 1, 15, Buffer.from('toolong')));
    const r = await c.next((f) => f.type === RST && f.id === 15);
    assert.equal(r.payload.readUInt32BE(0), 1);
    // A header block split over HEADERS and two CONTINUATION frames.
    const split = get('/split', [['x-long', 'l'.repeat(100)]]);
    c.write(frame(1, 1, 17, split.subarray(0, 10)));
    c.write(frame(9, 0, 17, split.subarray(10, 60)));
    c.write(frame(9, 4, 17, split.subarray(60)));
    const sp = await c.next((f) => f.type === 0 && f.id === 17 && (f.flags & 1) === 1);
    assert.equal(JSON.parse(sp.payload.toString()).headers['x-long'], 'l'.repeat(100));
    assert.equal(c.frames.some((f) => f.type === GOAWAY), false, 'no GOAWAY for stream errors');
  } finally {
    c.destroy();
  }
});

test('streams beyond max_concurrent_streams are refused; a client reset cancels its stream only', async () => {
  const c = await RawClient.open();
  try {
    for (let id = 1; id <= 11; id += 2) c.write(frame(1, 5, id, get('/slow?ms=400')));
    const refused = await c.next((f) => f.type === RST && f.id === 11);
    assert.equal(refused.payload.readUInt32BE(0), 7, 'REFUSED_STREAM');
    // The client gives up on stream 1; the others complete.
    c.write(frame(3, 0, 1, Buffer.from([0, 0, 0, 8])));
    for (const id of [3, 5, 7, 9]) {
      const d = await c.next((f) => f.type === 0 && f.id === id && (f.flags & 1) === 1);
      assert.equal(d.payload.toString(), 'slow');
    }
    assert.equal(c.frames.some((f) => f.id === 1 && f.type === 0), false, 'nothing more on the reset stream');
  } finally {
    c.destroy();
  }
});
